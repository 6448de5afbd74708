package cli

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/install"
)

func TestInitDryRun(t *testing.T) {
	f := newTestFactory()
	out, _, err := run(t, f, "init", "--dry-run", "--image", "example.com/kubeswarm:v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Namespace", "name: services.swarm.kubeswarm.io", "name: nodes.swarm.kubeswarm.io",
		"name: stacks.swarm.kubeswarm.io", "kind: ClusterRole", "name: " + install.Deployment, "image: example.com/kubeswarm:v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("init --dry-run lacks %q", want)
		}
	}
	// Namespace first, then the CRDs, the Deployment last.
	if i, j := strings.Index(out, "kind: Namespace"), strings.Index(out, "kind: CustomResourceDefinition"); i < 0 || j < i {
		t.Errorf("the Namespace does not come before the CRDs")
	}
	if strings.Index(out, "kind: Deployment") < strings.LastIndex(out, "kind: ClusterRole") {
		t.Errorf("the Deployment is not last")
	}
	// `swarm init` is the same command.
	out2, _, err := run(t, f, "swarm", "init", "--dry-run", "--image", "example.com/kubeswarm:v1")
	if err != nil || out2 != out {
		t.Errorf("swarm init --dry-run differs: %v", err)
	}
}

func TestInfo(t *testing.T) {
	bare := newTestFactory()
	out, _, err := run(t, bare, "info")
	if err != nil || out != " Swarm: inactive\n  (no kubeswarm operator is ready)\n" {
		t.Errorf("info without nodes: %q %v", out, err)
	}

	f := newTestFactory(seedNodes()...)
	out, _, err = run(t, f, "info")
	want := " Swarm: active\n  Is Manager: true\n  Managers: 2\n  Nodes: 4\n  Leader: manager1\n  Operator: running outside the cluster\n"
	if err != nil || out != want {
		t.Errorf("info:\n%s\nwant\n%s (%v)", out, want, err)
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: install.Namespace, Name: install.Deployment}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 3}}
	f = newTestFactory(append(seedNodes(), dep)...)
	out, _, err = run(t, f, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.Operator}}")
	if err != nil || out != "active kubeswarm-system/kubeswarm-controller-manager, 3/3 ready\n" {
		t.Errorf("info --format: %q %v", out, err)
	}

	// A Helm release's operator, in the release's namespace.
	helm := dep.DeepCopy()
	helm.Namespace = "platform"
	f = newTestFactory(append(seedNodes(), helm)...)
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(crds.Kind)
	crd.SetName(crds.Names[0])
	crd.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "Helm"})
	crd.SetAnnotations(map[string]string{"meta.helm.sh/release-name": "swarm", "meta.helm.sh/release-namespace": "platform"})
	if err := f.c.Create(t.Context(), crd); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, f, "info", "--format", "{{.Swarm.Operator}}")
	if err != nil || out != "platform/kubeswarm-controller-manager, 3/3 ready\n" {
		t.Errorf("info --format over a Helm release: %q %v", out, err)
	}
}

func TestJoinToken(t *testing.T) {
	f := newTestFactory()
	out, _, err := run(t, f, "join-token", "worker")
	if err != nil || !strings.Contains(out, "To add a worker to this swarm") || !strings.Contains(out, "kubeadm token create --print-join-command") {
		t.Errorf("join-token worker: %q %v", out, err)
	}
	out, _, err = run(t, f, "swarm", "join-token", "manager")
	if err != nil || !strings.Contains(out, "kubectl swarm node promote NODE") {
		t.Errorf("join-token manager: %q %v", out, err)
	}
	if _, _, err := run(t, f, "join-token", "boss"); err == nil || err.Error() != "unknown role boss" {
		t.Errorf("join-token boss: %v", err)
	}
}
