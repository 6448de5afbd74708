//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// svcSpec creates a Service in ns with the given spec.
func svcSpec(t *testing.T, ns, name string, spec swarmv1.ServiceSpec) {
	t.Helper()
	create(t, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec})
}

// getSvc reads a Service.
func getSvc(t *testing.T, ns, name string) *swarmv1.Service {
	t.Helper()
	s := &swarmv1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		t.Fatalf("reading Service %s: %v", name, err)
	}
	return s
}

// updateSvc changes a Service with mutate, retrying on conflicts.
func updateSvc(t *testing.T, ns, name string, mutate func(*swarmv1.Service)) {
	t.Helper()
	eventually(t, 10*time.Second, "updating Service "+name, func() error {
		s := &swarmv1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return err
		}
		mutate(s)
		return k8sClient.Update(context.Background(), s)
	})
}

// waitSvc waits until check passes on the Service.
func waitSvc(t *testing.T, timeout time.Duration, ns, name, what string, check func(*swarmv1.Service) error) *swarmv1.Service {
	t.Helper()
	s := &swarmv1.Service{}
	eventually(t, timeout, what, func() error {
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return err
		}
		return check(s)
	})
	return s
}

func isReady(s *swarmv1.Service) bool {
	return meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionReady)
}

func updateStateOf(s *swarmv1.Service) swarmv1.UpdateState {
	if s.Status.UpdateStatus == nil {
		return ""
	}
	return s.Status.UpdateStatus.State
}

// tasks lists a service's pods that are not being deleted.
func tasks(t *testing.T, ns, service string) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": service}); err != nil {
		t.Fatal(err)
	}
	out := pods.Items[:0]
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitRunning waits until the service has exactly n running, ready tasks, and returns them by node.
func waitRunning(t *testing.T, timeout time.Duration, ns, service string, n int) map[string]int {
	t.Helper()
	var byNode map[string]int
	eventually(t, timeout, fmt.Sprintf("%s has %d running tasks", service, n), func() error {
		var got int
		var err error
		byNode, got, err = runningPods(context.Background(), ns, service)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d running (%v)", got, byNode)
		}
		return nil
	})
	return byNode
}

// labelNode sets (value != "") or removes a label on a Kubernetes node, and undoes it at the end.
func labelNode(t *testing.T, node, key, value string) {
	t.Helper()
	set := func(v string) error {
		n := &corev1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: node}, n); err != nil {
			return err
		}
		patch := client.MergeFrom(n.DeepCopy())
		if v == "" {
			delete(n.Labels, key)
		} else {
			n.Labels[key] = v
		}
		return k8sClient.Patch(context.Background(), n, patch)
	}
	if err := set(value); err != nil {
		t.Fatalf("labelling node %s: %v", node, err)
	}
	t.Cleanup(func() { _ = set("") })
}

// localCluster runs hack/local-cluster.sh with args against the cluster under test.
func localCluster(t *testing.T, args ...string) {
	t.Helper()
	script, _ := filepath.Abs("../../hack/local-cluster.sh")
	cmd := exec.Command(script, args...)
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("local-cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// nodeReady waits until the node's Ready condition is want.
func waitNodeReady(t *testing.T, timeout time.Duration, node string, want corev1.ConditionStatus) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("node %s Ready=%s", node, want), func() error {
		n := &corev1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: node}, n); err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == want {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
}

func nodeNames(t *testing.T) []string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := k8sClient.List(context.Background(), nodes); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Name)
	}
	return out
}

func readyCondition(s *swarmv1.Service) *metav1.Condition {
	return meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionReady)
}

var metav1Duration10s = metav1.Duration{Duration: 10 * time.Second}

func metav1ObjectMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns}
}

func create(t *testing.T, svc *swarmv1.Service) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), svc); err != nil {
		t.Fatalf("creating Service %s: %v", svc.Name, err)
	}
}

func waitReady(t *testing.T, ns, name, replicas string) *swarmv1.Service {
	t.Helper()
	svc := &swarmv1.Service{}
	eventually(t, 90*time.Second, fmt.Sprintf("Service %s is Ready with %s tasks", name, replicas), func() error {
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
			return err
		}
		c := meta.FindStatusCondition(svc.Status.Conditions, swarmv1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionTrue || svc.Status.Replicas != replicas {
			return fmt.Errorf("replicas %q, Ready %+v", svc.Status.Replicas, c)
		}
		return nil
	})
	return svc
}
