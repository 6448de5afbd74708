package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// taskPod creates a task pod bound to node, controlled by an object of kind (as a Deployment's
// ReplicaSet or a DaemonSet would make it).
func taskPod(t *testing.T, ns, name, node, kind string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:          map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelService: "web"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: "web", UID: types.UID("uid-" + name), Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "task", Image: "nginx"}}},
	}
	if err := k8sClient.Create(context.Background(), p); err != nil {
		t.Fatalf("creating pod %s: %v", name, err)
	}
	return p
}

// setLease writes the node's kubelet Lease as renewed at renewed (10 s lease).
func setLease(t *testing.T, node string, renewed time.Time) {
	t.Helper()
	ctx := context.Background()
	_ = k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: corev1.NamespaceNodeLease}})
	eventually(t, "writing the lease of "+node, func() error {
		l := &coordinationv1.Lease{}
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceNodeLease, Name: node}, l)
		l.Name, l.Namespace = node, corev1.NamespaceNodeLease
		l.Spec.HolderIdentity = ptr.To(node)
		l.Spec.LeaseDurationSeconds = ptr.To[int32](10)
		l.Spec.RenewTime = &metav1.MicroTime{Time: renewed}
		if apierrors.IsNotFound(err) {
			return k8sClient.Create(ctx, l)
		} else if err != nil {
			return err
		}
		return k8sClient.Update(ctx, l)
	})
	t.Cleanup(func() {
		_ = k8sClient.Delete(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease}})
	})
}

// TestNodeDownWhenLeaseStops: a node whose kubelet stopped renewing its Lease is marked down (no
// new task goes there, docker node ls says Down) and its replicated tasks are deleted so that
// they start elsewhere; a global service's task stays. When the Lease is renewed again the mark
// goes, and nothing else changes.
func TestNodeDownWhenLeaseStops(t *testing.T) {
	ctx := context.Background()
	const node = "it-lease-down"
	createKubeNode(t, node, false, "10.0.0.77")
	ns := newNamespace(t)
	replicated := taskPod(t, ns, "web-1", node, "ReplicaSet")
	global := taskPod(t, ns, "agent-1", node, "DaemonSet")

	setLease(t, node, time.Now().Add(-time.Minute))
	waitNode(t, node, "marked down, Down", func(n *corev1.Node, sn *swarmv1.Node) error {
		if !hasTaint(n, nodes.TaintDownKey, corev1.TaintEffectNoSchedule) {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		if sn.Status.State != swarmv1.NodeDown {
			return fmt.Errorf("state %q", sn.Status.State)
		}
		return nil
	})
	eventually(t, "the replicated task is deleted", func() error {
		p := &corev1.Pod{}
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(replicated), p)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil):
			return nil
		case err != nil:
			return err
		}
		return fmt.Errorf("not deleted yet")
	})
	p := &corev1.Pod{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(global), p); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the global service's task was moved: %v %v", err, p.DeletionTimestamp)
	}

	setLease(t, node, time.Now())
	waitNode(t, node, "back: the mark goes", func(n *corev1.Node, sn *swarmv1.Node) error {
		if hasTaint(n, nodes.TaintDownKey, corev1.TaintEffectNoSchedule) {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		if sn.Status.State != swarmv1.NodeReady {
			return fmt.Errorf("state %q", sn.Status.State)
		}
		return nil
	})
}

// TestNoNodeDownWhenEveryLeaseIsStale: when no kubelet at all has renewed its Lease (the API
// server was away, not the machines), no node is marked down and no task moves, as Kubernetes'
// node lifecycle controller stops evicting in "master disruption mode". When the API server is
// back the kubelets renew one by one: a node whose kubelet has not renewed yet is not down
// either (a healthy node's tasks were moved here before); it is down only when its Lease is
// still stale a whole lease after the outage.
func TestNoNodeDownWhenEveryLeaseIsStale(t *testing.T) {
	ctx := context.Background()
	const a, b, c = "it-outage-a", "it-outage-b", "it-outage-c"
	createKubeNode(t, a, false, "10.0.0.81")
	createKubeNode(t, b, false, "10.0.0.82")
	createKubeNode(t, c, false, "10.0.0.83")
	ns := newNamespace(t)
	task := taskPod(t, ns, "web-1", a, "ReplicaSet")
	// All renewed last 8 s ago: all go stale together 2 s from now (10 s leases).
	renewed := time.Now().Add(-8 * time.Second)
	for _, n := range []string{a, b, c} {
		setLease(t, n, renewed)
	}
	notDown := func(why string, names ...string) {
		t.Helper()
		for _, node := range names {
			n := &corev1.Node{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
				t.Fatal(err)
			}
			if hasTaint(n, nodes.TaintDownKey, corev1.TaintEffectNoSchedule) {
				t.Errorf("node %s was marked down %s", node, why)
			}
		}
	}

	time.Sleep(5 * time.Second)
	notDown("while every lease was stale", a, b, c)
	p := &corev1.Pod{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(task), p); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the task moved while every lease was stale: %v %v", err, p.DeletionTimestamp)
	}

	// The API server is back: b's kubelet renews first, just before the operator looks at the
	// stale leases again (every 10 s from when it found them all stale, 2 s from the start);
	// c's renews a few seconds later.
	time.Sleep(time.Until(renewed.Add(10*time.Second + 9*time.Second)))
	back := time.Now()
	setLease(t, b, back)
	time.Sleep(4 * time.Second)
	notDown("before its kubelet could renew after the outage", a, c)
	// From now on b's and c's kubelets renew every 2 s.
	stop := make(chan struct{})
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		for {
			for _, n := range []string{b, c} {
				l := &coordinationv1.Lease{}
				if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceNodeLease, Name: n}, l); err == nil {
					l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
					_ = k8sClient.Update(ctx, l)
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	defer func() { close(stop); <-renewing }()
	// a's kubelet never renews: a is down a lease (10 s) after the outage, not before.
	waitNode(t, a, "a is down once its lease is stale a whole lease after the outage", func(n *corev1.Node, _ *swarmv1.Node) error {
		if !hasTaint(n, nodes.TaintDownKey, corev1.TaintEffectNoSchedule) {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		return nil
	})
	if took := time.Since(back); took < 5*time.Second {
		t.Errorf("a was marked down %s after the outage, want about a lease (10 s)", took)
	}
	notDown("after renewing", b, c)
}
