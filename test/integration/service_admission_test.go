package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// makeTask creates a task of a service as the Deployment controller would (it does not run in
// envtest): held behind the admission gate, or already on node.
func makeTask(t *testing.T, ns, service, name, node string, held bool) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			translate.LabelService: service, translate.LabelManagedBy: translate.ManagedByValue, translate.LabelTemplateHash: "h"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "task", Image: "x"}}},
	}
	if held {
		pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: update.Gate}}
	}
	if err := k8sClient.Create(context.Background(), pod); err != nil {
		t.Fatalf("creating task %s: %v", name, err)
	}
	if node != "" {
		pod.Status.Phase = corev1.PodRunning
		if err := k8sClient.Status().Update(context.Background(), pod); err != nil {
			t.Fatalf("setting task %s running: %v", name, err)
		}
	}
	return pod
}

func getPod(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		t.Fatalf("reading task %s: %v", name, err)
	}
	return p
}

// stillHeld checks for a while that a task stays held.
func stillHeld(t *testing.T, ns, name, why string) {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if !update.Held(getPod(t, ns, name)) {
			t.Fatalf("task %s was let go %s", name, why)
		}
	}
}

func waitReleased(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	eventually(t, "task "+name+" is let go", func() error {
		if p = getPod(t, ns, name); update.Held(p) {
			return fmt.Errorf("still held")
		}
		return nil
	})
	return p
}

// TestStopFirstHoldsTheNewTask: with stop-first (Swarm's default) the new task of a slot is not
// scheduled while the old one runs, nor while it stops (a Deployment does not wait for that);
// it goes once the old one is gone.
func TestStopFirstHoldsTheNewTask(t *testing.T) {
	ns := newNamespace(t)
	node := "stopfirst-" + ns
	createKubeNode(t, node, false, "10.9.0.1")
	createService(t, testutil.MakeService("db", ns).Image("postgres").Replicas(1).Obj())
	old := makeTask(t, ns, "db", "db-old", node, false)
	makeTask(t, ns, "db", "db-new", "", true)
	stillHeld(t, ns, "db-new", "while the old task runs")

	// A pod on a node is deleted gracefully: it stops, and stays until its kubelet says it
	// has stopped (the test plays the kubelet).
	if err := k8sClient.Delete(context.Background(), old); err != nil {
		t.Fatalf("stopping the old task: %v", err)
	}
	if getPod(t, ns, "db-old").DeletionTimestamp == nil {
		t.Fatal("the old task is not stopping")
	}
	stillHeld(t, ns, "db-new", "while the old task stops")

	if err := k8sClient.Delete(context.Background(), old, client.GracePeriodSeconds(0)); err != nil {
		t.Fatalf("the old task has stopped: %v", err)
	}
	waitReleased(t, ns, "db-new")
}

// TestStopFirstPassesOverADownNode: a task stopping on a node that is down no longer counts (its
// kubelet cannot say it stopped; Swarm counts no task on a down node), so its replacement goes.
func TestStopFirstPassesOverADownNode(t *testing.T) {
	ns := newNamespace(t)
	node := "down-" + ns
	createKubeNode(t, node, false, "10.9.2.1")
	createService(t, testutil.MakeService("db", ns).Image("postgres").Replicas(1).Obj())
	old := makeTask(t, ns, "db", "db-old", node, false)
	makeTask(t, ns, "db", "db-new", "", true)
	if err := k8sClient.Delete(context.Background(), old); err != nil {
		t.Fatalf("stopping the old task: %v", err)
	}
	stillHeld(t, ns, "db-new", "while the old task stops on a ready node")
	setNodeReady(t, node, corev1.ConditionFalse, "10.9.2.1")
	waitReleased(t, ns, "db-new")
	_ = k8sClient.Delete(context.Background(), old, client.GracePeriodSeconds(0))
}

// TestStartFirstLetsTasksGo: with start-first the new task goes at once, next to the old one.
func TestStartFirstLetsTasksGo(t *testing.T) {
	ns := newNamespace(t)
	w := testutil.MakeService("web", ns).Image("nginx").Replicas(1)
	w.Update(swarmv1.UpdateConfig{Order: swarmv1.OrderStartFirst})
	createService(t, w.Obj())
	makeTask(t, ns, "web", "web-old", "start-first-"+ns, false)
	makeTask(t, ns, "web", "web-new", "", true)
	waitReleased(t, ns, "web-new")
}

// TestMaxReplicasPerNodeCaps: maxReplicasPerNode 2 lets one held task go at a time, told to
// avoid the nodes that hold 2 already; when every node is full the task waits with docker's
// message.
func TestMaxReplicasPerNodeCaps(t *testing.T) {
	ns := newNamespace(t)
	n1, n2 := "cap1-"+ns, "cap2-"+ns
	createKubeNode(t, n1, false, "10.9.1.1")
	createKubeNode(t, n2, false, "10.9.1.2")
	w := testutil.MakeService("web", ns).Image("nginx").Replicas(5)
	w.Update(swarmv1.UpdateConfig{Order: swarmv1.OrderStartFirst})
	svc := w.Obj()
	svc.Spec.Placement = &swarmv1.Placement{MaxReplicasPerNode: ptr.To[int32](2)}
	createService(t, svc)
	makeTask(t, ns, "web", "web-a", n1, false)
	makeTask(t, ns, "web", "web-b", n1, false)
	makeTask(t, ns, "web", "web-c", n2, false)
	makeTask(t, ns, "web", "web-d", "", true)
	makeTask(t, ns, "web", "web-e", "", true)

	d := waitReleased(t, ns, "web-d")
	if got := avoided(d); !slices.Equal(got, []string{n1}) {
		t.Fatalf("web-d avoids %v, want [%s]", got, n1)
	}
	stillHeld(t, ns, "web-e", "while web-d is not placed")

	// The scheduler places web-d on n2: now both nodes are full.
	if err := k8sClient.SubResource("binding").Create(context.Background(), d, &corev1.Binding{Target: corev1.ObjectReference{Kind: "Node", Name: n2}}); err != nil {
		t.Fatalf("binding web-d: %v", err)
	}
	e := waitReleased(t, ns, "web-e")
	if got := avoided(e); !slices.Equal(got, []string{n1, n2}) {
		t.Fatalf("web-e avoids %v, want [%s %s]", got, n1, n2)
	}
	// The scheduler finds no node for it.
	e.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.", LastTransitionTime: metav1.Now()}}
	e.Status.Phase = corev1.PodPending
	if err := k8sClient.Status().Update(context.Background(), e); err != nil {
		t.Fatalf("setting web-e unschedulable: %v", err)
	}
	waitService(t, ns, "web", "the service says why a task is pending", func(s *swarmv1.Service) error {
		for _, c := range s.Status.Conditions {
			if c.Type == swarmv1.ConditionReady && strings.Contains(c.Message, "1 pending: no suitable node (max replicas per node limit exceed)") {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", s.Status.Conditions)
	})
}

func avoided(p *corev1.Pod) []string {
	if p.Spec.Affinity == nil || p.Spec.Affinity.NodeAffinity == nil || p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var out []string
	for _, f := range p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields {
		if f.Operator == corev1.NodeSelectorOpNotIn {
			out = append(out, f.Values...)
		}
	}
	return out
}

// TestRestartNoneKeepsTheSlotStopped: under restart condition none a task that ended leaves its
// slot empty, as in Swarm. The pod its ReplicaSet makes in its place stays held, marked as a
// stand-in, and the Service says why a task is missing; once the ended task is gone (removed by
// hand, or by an update's new template) the held pod is an ordinary task again and goes.
func TestRestartNoneKeepsTheSlotStopped(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	w := testutil.MakeService("worker", ns).Image("busybox").Replicas(1)
	w.Update(swarmv1.UpdateConfig{Order: swarmv1.OrderStartFirst})
	svc := w.Obj()
	svc.Spec.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartNone}
	hash := createService(t, svc).Spec.Template.Labels[translate.LabelTemplateHash]
	ended := makeTask(t, ns, "worker", "worker-a", "restart-none-"+ns, false)
	ended.Status.Phase = corev1.PodSucceeded
	if err := k8sClient.Status().Update(ctx, ended); err != nil {
		t.Fatalf("ending task worker-a: %v", err)
	}
	// Tasks of the current template (the ended ones of an earlier template do not count).
	ended.Labels[translate.LabelTemplateHash] = hash
	if err := k8sClient.Update(ctx, ended); err != nil {
		t.Fatalf("labelling task worker-a: %v", err)
	}
	makeTask(t, ns, "worker", "worker-b", "", true)
	eventually(t, "worker-b marked as the stand-in of a stopped task", func() error {
		if p := getPod(t, ns, "worker-b"); !update.StandIn(p) {
			return fmt.Errorf("annotations %v", p.Annotations)
		}
		return nil
	})
	stillHeld(t, ns, "worker-b", "while the task it stands for stays stopped")
	eventually(t, "the Service says a task stays stopped", func() error {
		s := &swarmv1.Service{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "worker"}, s); err != nil {
			return err
		}
		for _, c := range s.Status.Conditions {
			if c.Type == swarmv1.ConditionReady && strings.Contains(c.Message, "1 ended and stay stopped (restart condition none)") {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", s.Status.Conditions)
	})

	if err := k8sClient.Delete(ctx, ended, client.GracePeriodSeconds(0)); err != nil {
		t.Fatalf("removing the ended task: %v", err)
	}
	if p := waitReleased(t, ns, "worker-b"); update.StandIn(p) || p.Annotations[update.AnnotationStopped] != "" {
		t.Errorf("released task still marked: %v", p.Annotations)
	}
}
