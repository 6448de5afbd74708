package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli"
	"github.com/kubeswarm/kubeswarm/internal/compose"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// envtestFactory gives the plugin the envtest API server.
type envtestFactory struct{ ns string }

func (f envtestFactory) Client() (client.Client, error) { return k8sClient, nil }
func (f envtestFactory) Clientset() (kubernetes.Interface, error) {
	return nil, fmt.Errorf("no clientset")
}
func (f envtestFactory) Namespace() (string, error) { return f.ns, nil }
func (f envtestFactory) Clock() clock.Clock         { return clock.RealClock{} }

// Registry is offline: the verdicts do not depend on image digests.
func (f envtestFactory) Registry() images.Client { return offlineRegistry{} }

type offlineRegistry struct{}

func (offlineRegistry) Digest(context.Context, string) (string, error) {
	return "", errors.New("offline")
}

func (offlineRegistry) Credentials(...string) (images.DockerConfig, error) {
	return images.DockerConfig{}, errors.New("offline")
}

// TestOneVerdict: the same bad input gets the same verdict, in the same words, at every front
// door: the CRD's CEL rules (kubectl apply), the plugin's flags and the compose converter. The
// cases include the ones where the doors used to disagree: NODE.ROLE==manager (keys compare
// case-insensitively in Swarm: accepted everywhere) and a constraint value with a space (it can
// never match a Kubernetes label: refused everywhere).
func TestOneVerdict(t *testing.T) {
	cases := []struct {
		name    string
		flags   string // docker service create flags (before the image)
		deploy  string // the compose service "web" (YAML under it, two-space indented)
		spec    swarmv1.ServiceSpec
		wantErr string // empty: accepted
	}{
		{name: "role constraint in capitals", flags: "--constraint NODE.ROLE==manager",
			deploy: "deploy:\n  placement:\n    constraints: [NODE.ROLE==manager]",
			spec:   swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Constraints: []string{"NODE.ROLE==manager"}}}},
		{name: "label value with a space", flags: "--constraint 'node.labels.type==two words'",
			deploy:  "deploy:\n  placement:\n    constraints: ['node.labels.type==two words']",
			spec:    swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Constraints: []string{"node.labels.type==two words"}}},
			wantErr: swarmsyntax.MsgConstraint},
		{name: "unknown constraint key", flags: "--constraint node.colour==blue",
			deploy:  "deploy:\n  placement:\n    constraints: [node.colour==blue]",
			spec:    swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Constraints: []string{"node.colour==blue"}}},
			wantErr: swarmsyntax.MsgConstraint},
		{name: "unknown role", flags: "--constraint node.role==boss",
			deploy:  "deploy:\n  placement:\n    constraints: [node.role==boss]",
			spec:    swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Constraints: []string{"node.role==boss"}}},
			wantErr: swarmsyntax.MsgRole},
		{name: "spread over a non-label", flags: "--placement-pref spread=node.hostname",
			deploy:  "deploy:\n  placement:\n    preferences:\n      - spread: node.hostname",
			spec:    swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Preferences: []swarmv1.PlacementPreference{{Spread: "node.hostname"}}}},
			wantErr: swarmsyntax.MsgSpread},
		{name: "replicas of a global service", flags: "--mode global --replicas 2",
			deploy:  "deploy:\n  mode: global\n  replicas: 2",
			spec:    swarmv1.ServiceSpec{Mode: swarmv1.ModeGlobal, Replicas: ptr.To[int32](2)},
			wantErr: swarmsyntax.MsgReplicas},
		{name: "update config of a job", flags: "--mode replicated-job --update-parallelism 2",
			deploy:  "deploy:\n  mode: replicated-job\n  update_config:\n    parallelism: 2",
			spec:    swarmv1.ServiceSpec{Mode: swarmv1.ModeReplicatedJob, UpdateConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2)}},
			wantErr: swarmsyntax.MsgJobUpdate},
		{name: "max per node of a global service", flags: "--mode global --replicas-max-per-node 1",
			deploy:  "deploy:\n  mode: global\n  placement:\n    max_replicas_per_node: 1",
			spec:    swarmv1.ServiceSpec{Mode: swarmv1.ModeGlobal, Placement: &swarmv1.Placement{MaxReplicasPerNode: ptr.To[int32](1)}},
			wantErr: swarmsyntax.MsgMaxPerNode},
		{name: "published twice", flags: "-p 8000:80 -p 8000:81",
			deploy:  "ports: ['8000:80', '8000:81']",
			spec:    swarmv1.ServiceSpec{Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80, Protocol: "tcp"}, {Published: 8000, Target: 81, Protocol: "tcp"}}},
			wantErr: swarmsyntax.MsgPublished},
		{name: "dnsrr with an ingress port", flags: "--endpoint-mode dnsrr -p 8000:80",
			deploy:  "ports: ['8000:80']\ndeploy:\n  endpoint_mode: dnsrr",
			spec:    swarmv1.ServiceSpec{EndpointMode: "dnsrr", Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80, Protocol: "tcp", Mode: swarmv1.PortModeIngress}}},
			wantErr: swarmsyntax.MsgDNSRR},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			name := fmt.Sprintf("v%d", i)
			verdict := func(door string, err error) {
				t.Helper()
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s refused it: %v", door, err)
				case tc.wantErr != "" && err == nil:
					t.Errorf("%s accepted it, want %q", door, tc.wantErr)
				case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
					t.Errorf("%s: %v, want %q", door, err, tc.wantErr)
				}
			}

			// kubectl apply: the CRD's CEL rules.
			spec := *tc.spec.DeepCopy()
			spec.Image = "nginx"
			err := k8sClient.Create(context.Background(), &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name + "-api", Namespace: ns}, Spec: spec})
			if err != nil && !apierrors.IsInvalid(err) {
				t.Fatalf("the API server: %v, want Invalid", err)
			}
			verdict("the API server", err)

			// kubectl swarm service create.
			args, err := swarmsyntax.ShellSplit("service create -d --name " + name + "-cli " + tc.flags + " nginx")
			if err != nil {
				t.Fatal(err)
			}
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			cmd := cli.NewRootCommandWithFactory(streams, envtestFactory{ns: ns})
			cmd.SetArgs(args)
			cmd.SetOut(streams.Out)
			cmd.SetErr(streams.ErrOut)
			verdict("the plugin", cmd.ExecuteContext(context.Background()))

			// kubectl swarm stack deploy: the compose converter.
			dir := t.TempDir()
			file := filepath.Join(dir, "docker-compose.yml")
			body := "services:\n  web:\n    image: nginx\n    " + strings.ReplaceAll(tc.deploy, "\n", "\n    ") + "\n"
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := compose.Load(context.Background(), compose.LoadOptions{Files: []string{file}, Environment: map[string]string{}})
			if err == nil {
				_, err = compose.Convert(p, name, compose.ConvertOptions{Namespace: ns})
			}
			verdict("the compose converter", err)
		})
	}
}
