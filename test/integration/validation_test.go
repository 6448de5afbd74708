package integration

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestServiceValidation: every CRD rule of the Service spec, against a real kube-apiserver.
// Invalid specs must be refused with an Invalid error whose message names the problem.
func TestServiceValidation(t *testing.T) {
	ns := newNamespace(t)
	port := func(published, target int32, mode swarmv1.PortMode) swarmv1.PortConfig {
		return swarmv1.PortConfig{Published: published, Target: target, Protocol: "tcp", Mode: mode}
	}
	cases := []struct {
		name    string
		spec    swarmv1.ServiceSpec
		objName string
		wantErr string // empty: accepted
	}{
		{name: "minimal", spec: swarmv1.ServiceSpec{Image: "nginx"}},
		{name: "no image", spec: swarmv1.ServiceSpec{}, wantErr: "spec.image"},
		{name: "unknown mode", spec: swarmv1.ServiceSpec{Image: "nginx", Mode: "sometimes"}, wantErr: "spec.mode"},
		{name: "replicas for global", spec: swarmv1.ServiceSpec{Image: "nginx", Mode: swarmv1.ModeGlobal, Replicas: ptr.To[int32](2)},
			wantErr: "spec.replicas: Invalid value: replicas can only be used with replicated or replicated-job mode"},
		{name: "replicas for replicated-job", spec: swarmv1.ServiceSpec{Image: "nginx", Mode: swarmv1.ModeReplicatedJob, Replicas: ptr.To[int32](2)}},
		{name: "negative replicas", spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](-1)}, wantErr: "spec.replicas"},
		{name: "maxConcurrent outside replicated-job", spec: swarmv1.ServiceSpec{Image: "nginx", MaxConcurrent: ptr.To[int32](2)},
			wantErr: "max-concurrent can only be used with replicated-job mode"},
		{name: "update config for a job", spec: swarmv1.ServiceSpec{Image: "nginx", Mode: swarmv1.ModeGlobalJob, UpdateConfig: &swarmv1.UpdateConfig{}},
			wantErr: "update and rollback configuration is not supported for jobs"},
		{name: "rollback that rolls back", spec: swarmv1.ServiceSpec{Image: "nginx", RollbackConfig: &swarmv1.UpdateConfig{FailureAction: swarmv1.FailureActionRollback}},
			wantErr: "a rollback is never rolled back"},
		{name: "port 0 target", spec: swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{port(80, 0, "")}}, wantErr: "spec.ports[0].target"},
		{name: "port above 65535", spec: swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{port(70000, 80, "")}}, wantErr: "spec.ports[0].published"},
		{name: "unknown protocol", spec: swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{{Target: 80, Protocol: "icmp"}}}, wantErr: "spec.ports[0].protocol"},
		{name: "published twice", spec: swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{port(8000, 80, ""), port(8000, 81, "")}},
			wantErr: "a published port may only be used once per protocol"},
		{name: "same port tcp and udp", spec: swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{port(53, 53, ""), {Published: 53, Target: 53, Protocol: "udp"}}}},
		{name: "dnsrr with ingress", spec: swarmv1.ServiceSpec{Image: "nginx", EndpointMode: "dnsrr", Ports: []swarmv1.PortConfig{port(8000, 80, "")}},
			wantErr: "spec.endpointMode: Invalid value: port published with ingress mode can't be used with dnsrr mode"},
		{name: "dnsrr with host ports", spec: swarmv1.ServiceSpec{Image: "nginx", EndpointMode: "dnsrr", Ports: []swarmv1.PortConfig{port(8000, 80, swarmv1.PortModeHost)}}},
		{name: "constraints of every key", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Constraints: []string{
			"node.role==manager", "node.role != Worker", "node.hostname==manager1", "node.id!=abc", "node.ip==10.0.0.1",
			"node.platform.os==linux", "node.platform.arch == x86_64", "node.labels.type==db", "engine.labels.region!=eu-west"}}}},
		{name: "constraint without operator", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Constraints: []string{"node.role=manager"}}},
			wantErr: "each constraint must be KEY==VALUE or KEY!=VALUE"},
		{name: "constraint with unknown key", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Constraints: []string{"node.colour==blue"}}},
			wantErr: "each constraint must be KEY==VALUE or KEY!=VALUE"},
		{name: "constraint with empty value", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Constraints: []string{"node.labels.a=="}}},
			wantErr: "each constraint must be KEY==VALUE or KEY!=VALUE"},
		{name: "role constraint with unknown role", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Constraints: []string{"node.role==boss"}}},
			wantErr: "node.role constraints compare with manager or worker"},
		{name: "spread on a non-label", spec: swarmv1.ServiceSpec{Image: "nginx", Placement: &swarmv1.Placement{Preferences: []swarmv1.PlacementPreference{{Spread: "node.hostname"}}}},
			wantErr: "spread must be node.labels.<label> or engine.labels.<label>"},
		{name: "maxReplicasPerNode for global", spec: swarmv1.ServiceSpec{Image: "nginx", Mode: swarmv1.ModeGlobal, Placement: &swarmv1.Placement{MaxReplicasPerNode: ptr.To[int32](1)}},
			wantErr: "spec.placement: Invalid value: replicas-max-per-node can only be used"},
		{name: "unknown failure action", spec: swarmv1.ServiceSpec{Image: "nginx", UpdateConfig: &swarmv1.UpdateConfig{FailureAction: "panic"}}, wantErr: "spec.updateConfig.failureAction"},
		{name: "failure ratio above 1", spec: swarmv1.ServiceSpec{Image: "nginx", UpdateConfig: &swarmv1.UpdateConfig{MaxFailureRatio: "1.5"}}, wantErr: "spec.updateConfig.maxFailureRatio"},
		{name: "failure ratio", spec: swarmv1.ServiceSpec{Image: "nginx", UpdateConfig: &swarmv1.UpdateConfig{MaxFailureRatio: "0.25"}}},
		{name: "healthcheck of unknown form", spec: swarmv1.ServiceSpec{Image: "nginx", Healthcheck: &swarmv1.Healthcheck{Test: []string{"curl", "-f", "localhost"}}},
			wantErr: "test must start with CMD, CMD-SHELL or NONE"},
		{name: "healthcheck without command", spec: swarmv1.ServiceSpec{Image: "nginx", Healthcheck: &swarmv1.Healthcheck{Test: []string{"CMD-SHELL"}}},
			wantErr: "test needs a command after CMD or CMD-SHELL"},
		{name: "bind mount with relative source", spec: swarmv1.ServiceSpec{Image: "nginx", Mounts: []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "data", Target: "/data"}}},
			wantErr: "a bind mount needs an absolute source path"},
		{name: "tmpfs with a source", spec: swarmv1.ServiceSpec{Image: "nginx", Mounts: []swarmv1.Mount{{Type: swarmv1.MountTmpfs, Source: "x", Target: "/tmp"}}},
			wantErr: "a tmpfs mount has no source"},
		{name: "relative mount target", spec: swarmv1.ServiceSpec{Image: "nginx", Mounts: []swarmv1.Mount{{Source: "data", Target: "data"}}}, wantErr: "spec.mounts[0].target"},
		{name: "bad host ip", spec: swarmv1.ServiceSpec{Image: "nginx", ExtraHosts: []swarmv1.HostEntry{{Hostname: "db", IP: "not-an-ip"}}}, wantErr: "must be an IPv4 or IPv6 address"},
		{name: "user name instead of uid", spec: swarmv1.ServiceSpec{Image: "nginx", User: "www-data"}, wantErr: "spec.user"},
		{name: "name with a dot", objName: "web.v1", spec: swarmv1.ServiceSpec{Image: "nginx"}, wantErr: "must be a DNS label"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.objName
			if name == "" {
				name = "v" + strings.ToLower(strings.ReplaceAll(metav1.Now().Format("150405"), ":", "")) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			}
			svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: tc.spec}
			err := k8sClient.Create(context.Background(), svc)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused a valid spec: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("accepted an invalid spec, want an error containing %q", tc.wantErr)
			case tc.wantErr != "" && (!apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want Invalid containing %q", err, tc.wantErr)
			}
		})
	}
}
