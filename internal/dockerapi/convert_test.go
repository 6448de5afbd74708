package dockerapi

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestRoundTrip: a docker ServiceSpec becomes kubeswarm's and comes back the same.
func TestRoundTrip(t *testing.T) {
	cases := map[string]swarm.ServiceSpec{
		"seed": {
			Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{"app": "web"}},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{Image: "nginx:latest", Env: []string{"A=1"}, Args: []string{"-g", "daemon off;"},
					StopGracePeriod: ptr.To(20 * time.Second),
					Mounts:          []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/data"}},
					Secrets:         []*swarm.SecretReference{{SecretName: "db", File: &swarm.SecretReferenceFileTarget{Name: "db", UID: "0", GID: "0", Mode: 0o444}}}},
				Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: 500_000_000, MemoryBytes: 64 << 20}},
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, Delay: ptr.To(time.Second), MaxAttempts: ptr.To(uint64(3))},
				Placement:     &swarm.Placement{Constraints: []string{"node.role==worker"}, Preferences: []swarm.PlacementPreference{{Spread: &swarm.SpreadOver{SpreadDescriptor: "node.labels.zone"}}}},
				Networks:      []swarm.NetworkAttachmentConfig{{Target: "front", Aliases: []string{"web"}}},
				ForceUpdate:   2,
			},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(3))}},
			UpdateConfig: &swarm.UpdateConfig{Parallelism: 2, Delay: time.Second, FailureAction: "rollback", Monitor: 5 * time.Second, MaxFailureRatio: 0.5, Order: "start-first"},
			EndpointSpec: &swarm.EndpointSpec{Mode: "vip", Ports: []swarm.PortConfig{{Protocol: "tcp", TargetPort: 80, PublishedPort: 8000, PublishMode: "ingress"}}},
		},
		"global": {
			Annotations:  swarm.Annotations{Name: "agent", Labels: map[string]string{}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "agent:1"}},
			Mode:         swarm.ServiceMode{Global: &swarm.GlobalService{}},
		},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			ks, err := ToKube(in, nil)
			if err != nil {
				t.Fatalf("ToKube: %v", err)
			}
			got := ToDocker(in.Name, &ks, nil)
			if diff := cmp.Diff(in, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestToKubeRules: Swarm's rules answer through swarmsyntax, in the plugin's words.
func TestToKubeRules(t *testing.T) {
	in := swarm.ServiceSpec{
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x"}},
		Mode:         swarm.ServiceMode{Global: &swarm.GlobalService{}},
		EndpointSpec: &swarm.EndpointSpec{Mode: "dnsrr", Ports: []swarm.PortConfig{{TargetPort: 80, PublishedPort: 80}}},
	}
	_, err := ToKube(in, nil)
	if err == nil || err.Error() != "port published with ingress mode can't be used with dnsrr mode" {
		t.Fatalf("got %v", err)
	}
	ks, _ := ToKube(swarm.ServiceSpec{TaskTemplate: in.TaskTemplate}, nil)
	if ks.Mode != swarmv1.ModeReplicated || ptr.Deref(ks.Replicas, 0) != 1 {
		t.Errorf("default mode: %v %v", ks.Mode, ks.Replicas)
	}
}

func TestID(t *testing.T) {
	id := ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10")
	if len(id) != 25 || id != ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10") {
		t.Fatalf("ID = %q", id)
	}
}

// TestNodeIDConstraint: a node.id constraint takes the docker node ID the CLI shows and matches
// the Kubernetes node's UID (the node-id label), and comes back as the docker ID.
func TestNodeIDConstraint(t *testing.T) {
	names := resolver{nodeUID: map[string]string{"dockerid": "kube-uid"}, nodeID: map[string]string{"kube-uid": "dockerid"}}
	in := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: "web", Labels: map[string]string{}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x"}, Placement: &swarm.Placement{Constraints: []string{"node.id==dockerid", "node.id!=other", "node.role==worker"}}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(1))}},
	}
	ks, err := ToKube(in, names)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"node.id==kube-uid", "node.id!=other", "node.role==worker"}, ks.Placement.Constraints); diff != "" {
		t.Errorf("kubeswarm constraints (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(in, ToDocker("web", &ks, names)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
