package viz

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)

// podBuilder makes task pods: taskPod("ns", "web-abc", "web").On("worker1").Running().Obj().
type podBuilder struct{ p *corev1.Pod }

func taskPod(ns, name, service string) *podBuilder {
	return &podBuilder{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
			Labels: map[string]string{translate.LabelService: service, translate.LabelManagedBy: translate.ManagedByValue}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: translate.ContainerName, Image: "nginx:1.27"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}}
}

func (b *podBuilder) On(node string) *podBuilder { b.p.Spec.NodeName = node; return b }
func (b *podBuilder) Stack(s string) *podBuilder {
	b.p.Labels[translate.LabelStack] = s
	return b
}
func (b *podBuilder) Image(i string) *podBuilder { b.p.Spec.Containers[0].Image = i; return b }
func (b *podBuilder) Created(d time.Duration) *podBuilder {
	b.p.CreationTimestamp = metav1.NewTime(t0.Add(-d))
	return b
}
func (b *podBuilder) Running(ready bool) *podBuilder {
	b.p.Status.Phase = corev1.PodRunning
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	b.p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	b.p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: translate.ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	return b
}
func (b *podBuilder) Waiting(reason, msg string) *podBuilder {
	b.p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: translate.ContainerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	return b
}
func (b *podBuilder) Phase(p corev1.PodPhase) *podBuilder { b.p.Status.Phase = p; return b }
func (b *podBuilder) Deleting() *podBuilder {
	now := metav1.NewTime(t0)
	b.p.DeletionTimestamp = &now
	return b
}
func (b *podBuilder) OwnedBy(kind string) *podBuilder {
	b.p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: "x", APIVersion: "apps/v1"}}
	return b
}
func (b *podBuilder) Unschedulable(msg string) *podBuilder {
	b.p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: msg}}
	return b
}
func (b *podBuilder) Obj() *corev1.Pod { return b.p }

func kubeNode(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0." + name[len(name)-1:]}},
		},
	}
}

func swarmNode(name string, role swarmv1.NodeRole, avail swarmv1.NodeAvailability, state swarmv1.NodeState, ms swarmv1.ManagerStatus) *swarmv1.Node {
	return &swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: swarmv1.NodeSpec{Role: role, Availability: avail},
		Status: swarmv1.NodeStatus{Hostname: name, Role: role, Availability: avail, State: state, ManagerStatus: ms}}
}

// seed is the seed's cluster with a bit of everything: a drained and a down node, a node
// without a kubeswarm Node (paused by its taint), replicated, global and job tasks in every
// state, and a pod that is not a task.
func seed() ([]*corev1.Node, []*swarmv1.Node, []*corev1.Pod) {
	kn := []*corev1.Node{
		kubeNode("worker2", corev1.ConditionFalse),
		kubeNode("worker1", corev1.ConditionTrue, *nodes.AvailabilityTaint(swarmv1.AvailabilityDrain)),
		kubeNode("manager1", corev1.ConditionTrue),
		kubeNode("worker10", corev1.ConditionTrue, *nodes.AvailabilityTaint(swarmv1.AvailabilityPause)),
	}
	sn := []*swarmv1.Node{
		swarmNode("manager1", swarmv1.RoleManager, swarmv1.AvailabilityActive, swarmv1.NodeReady, swarmv1.ManagerLeader),
		swarmNode("worker1", swarmv1.RoleWorker, swarmv1.AvailabilityDrain, swarmv1.NodeReady, ""),
		swarmNode("worker2", swarmv1.RoleWorker, swarmv1.AvailabilityActive, swarmv1.NodeDown, ""),
	}
	notATask := taskPod("default", "other", "x").On("manager1").Running(true).Obj()
	delete(notATask.Labels, translate.LabelManagedBy)
	pods := []*corev1.Pod{
		taskPod("default", "web-a", "web").On("manager1").Running(true).Created(3 * time.Hour).Obj(),
		taskPod("default", "web-b", "web").On("worker1").Running(true).Created(2 * time.Hour).Deleting().Obj(),
		taskPod("default", "web-c", "web").On("worker2").Running(false).Created(time.Hour).Image("nginx@sha256:0123456789abcdef0123").Obj(),
		taskPod("default", "web-d", "web").Created(time.Minute).Unschedulable("0/4 nodes are available").Obj(),
		taskPod("shop", "wp-wordpress-x", "wp-wordpress").Stack("wp").On("manager1").Waiting("CrashLoopBackOff", "back-off 10s").Phase(corev1.PodRunning).Obj(),
		taskPod("shop", "wp-dbcluster-y", "wp-dbcluster").Stack("wp").On("worker10").Waiting("ErrImagePull", "not found").Image("localhost:5000/mysql").Obj(),
		taskPod("default", "agent-m", "agent").OwnedBy("DaemonSet").On("manager1").Running(true).Image("agent:2").Obj(),
		taskPod("default", "agent-w", "agent").OwnedBy("DaemonSet").On("worker10").Waiting("ContainerCreating", "").Image("agent:2").Obj(),
		taskPod("default", "batch-1", "batch").OwnedBy("Job").On("worker10").Phase(corev1.PodSucceeded).Obj(),
		notATask,
	}
	return kn, sn, pods
}

func TestBuildGolden(t *testing.T) {
	kn, sn, pods := seed()
	prev := Slots{"default/web-a": 1, "default/web-b": 2, "default/web-c": 3} // web-b is replaced by web-d
	v, slots := Build(t0, kn, sn, pods, prev)
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "view.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading the golden file (go test ./internal/viz -update writes it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("view (-want +got):\n%s", diff)
	}
	wantSlots := Slots{"default/web-a": 1, "default/web-b": 2, "default/web-c": 3, "default/web-d": 2,
		"shop/wp-wordpress-x": 1, "shop/wp-dbcluster-y": 1, "default/batch-1": 1}
	if diff := cmp.Diff(wantSlots, slots); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
}

func TestNodeOf(t *testing.T) {
	cases := []struct {
		name string
		kn   *corev1.Node
		sn   *swarmv1.Node
		want Node
	}{{
		name: "kubernetes node alone, paused by its taint",
		kn:   kubeNode("w1", corev1.ConditionTrue, *nodes.AvailabilityTaint(swarmv1.AvailabilityPause)),
		want: Node{Name: "w1", Hostname: "w1", Role: "worker", Availability: "pause", State: "Ready", Addr: "10.0.0.1"},
	}, {
		name: "drain asked, not applied yet: the spec shows at once",
		kn:   kubeNode("w1", corev1.ConditionTrue),
		sn: func() *swarmv1.Node {
			s := swarmNode("w1", swarmv1.RoleWorker, swarmv1.AvailabilityActive, swarmv1.NodeReady, "")
			s.Spec.Availability = swarmv1.AvailabilityDrain
			return s
		}(),
		want: Node{Name: "w1", Hostname: "w1", Role: "worker", Availability: "drain", State: "Ready", Addr: "10.0.0.1"},
	}, {
		name: "manager, leader",
		kn:   kubeNode("m1", corev1.ConditionTrue),
		sn:   swarmNode("m1", swarmv1.RoleManager, swarmv1.AvailabilityActive, swarmv1.NodeReady, swarmv1.ManagerLeader),
		want: Node{Name: "m1", Hostname: "m1", Role: "manager", ManagerStatus: "Leader", Availability: "active", State: "Ready", Addr: "10.0.0.1"},
	}, {
		name: "demoted: no manager status",
		kn:   kubeNode("m1", corev1.ConditionTrue),
		sn: func() *swarmv1.Node {
			s := swarmNode("m1", swarmv1.RoleManager, swarmv1.AvailabilityActive, swarmv1.NodeReady, swarmv1.ManagerReachable)
			s.Spec.Role = swarmv1.RoleWorker
			return s
		}(),
		want: Node{Name: "m1", Hostname: "m1", Role: "worker", Availability: "active", State: "Ready", Addr: "10.0.0.1"},
	}, {
		name: "down by the kubeswarm status",
		kn:   kubeNode("w2", corev1.ConditionUnknown),
		sn:   swarmNode("w2", swarmv1.RoleWorker, swarmv1.AvailabilityActive, swarmv1.NodeDown, ""),
		want: Node{Name: "w2", Hostname: "w2", Role: "worker", Availability: "active", State: "Down", Addr: "10.0.0.2"},
	}, {
		name: "kubernetes node gone",
		sn:   swarmNode("w3", swarmv1.RoleWorker, swarmv1.AvailabilityActive, swarmv1.NodeReady, ""),
		want: Node{Name: "w3", Hostname: "w3", Role: "worker", Availability: "active", State: "Down"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, NodeOf(tc.kn, tc.sn)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaskState(t *testing.T) {
	cases := []struct {
		name      string
		pod       *corev1.Pod
		state     string
		wantMsgIn string
	}{
		{"waiting for a node", taskPod("n", "p", "s").Unschedulable("0/3 nodes").Obj(), "pending", "no suitable node (0/3 nodes)"},
		{"bound, no status yet", taskPod("n", "p", "s").On("w1").Obj(), "assigned", ""},
		{"creating", taskPod("n", "p", "s").On("w1").Waiting("ContainerCreating", "").Obj(), "preparing", ""},
		{"image pull error", taskPod("n", "p", "s").On("w1").Waiting("ImagePullBackOff", "no such image").Obj(), "rejected", "ImagePullBackOff: no such image"},
		{"crash loop", taskPod("n", "p", "s").On("w1").Running(false).Waiting("CrashLoopBackOff", "").Obj(), "failed", "CrashLoopBackOff"},
		{"running, not ready", taskPod("n", "p", "s").On("w1").Running(false).Obj(), "starting", ""},
		{"running", taskPod("n", "p", "s").On("w1").Running(true).Obj(), "running", ""},
		{"being deleted", taskPod("n", "p", "s").On("w1").Running(true).Deleting().Obj(), "shutdown", ""},
		{"job done", taskPod("n", "p", "s").On("w1").Phase(corev1.PodSucceeded).Obj(), "complete", ""},
		{"failed", taskPod("n", "p", "s").On("w1").Phase(corev1.PodFailed).Obj(), "failed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, msg := TaskState(tc.pod)
			if state != tc.state || msg != tc.wantMsgIn {
				t.Errorf("got (%q, %q), want (%q, %q)", state, msg, tc.state, tc.wantMsgIn)
			}
		})
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                          "latest",
		"nginx:1.27":                     "1.27",
		"localhost:5000/mysql":           "latest",
		"localhost:5000/mysql:8":         "8",
		"nginx@sha256:0123456789abcdef0": "@0123456789ab",
		"nginx:1.27@sha256:0123456789ab": "1.27@0123456789ab",
		"":                               "latest",
	} {
		if got := ImageTag(image); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestColour(t *testing.T) {
	h1, t1 := Colour("web")
	if h2, t2 := Colour("web"); h1 != h2 || t1 != t2 {
		t.Fatal("not stable")
	}
	task := TaskOf(taskPod("a", "p", "web").Obj(), 1)
	if diff := cmp.Diff([2]int{h1, t1}, [2]int{task.Hue, task.Tone}); diff != "" {
		t.Errorf("a task's colour is its service's (-want +got):\n%s", diff)
	}
	seen := map[[2]int]bool{}
	for _, s := range []string{"web", "api", "db", "wp-wordpress", "wp-dbcluster", "redis", "nginx", "worker", "agent", "batch"} {
		h, tone := Colour(s)
		if h%30 != 8 || h >= 360 || tone < 0 || tone > 1 {
			t.Errorf("Colour(%q) = %d, %d: not in the palette", s, h, tone)
		}
		seen[[2]int{h, tone}] = true
	}
	if len(seen) < 7 {
		t.Errorf("10 services share only %d colours", len(seen))
	}
}

func TestDiff(t *testing.T) {
	kn, sn, pods := seed()
	old, slots := Build(t0, kn, sn, pods, nil)
	old.Version = 7

	// worker1 comes back, web-b is gone, web-d is placed on manager1, a new task appears.
	sn[1].Spec.Availability, sn[1].Status.Availability = swarmv1.AvailabilityActive, swarmv1.AvailabilityActive
	kn[1].Spec.Taints = nil
	pods = append(pods[:1:1], pods[2:]...)
	pods[2] = taskPod("default", "web-d", "web").Created(time.Minute).On("manager1").Running(true).Obj()
	pods = append(pods, taskPod("default", "api-q", "api").On("worker1").Obj())
	updated, _ := Build(t0.Add(time.Second), kn, sn, pods, slots)
	updated.Version = 8

	d := Diff(&old, &updated)
	want := Delta{
		Version: 8, Now: t0.Add(time.Second),
		Nodes:        []Node{{Name: "worker1", Hostname: "worker1", Role: "worker", Availability: "active", State: "Ready", Addr: "10.0.0.1"}},
		Tasks:        []Task{TaskOf(pods[len(pods)-1], 1), TaskOf(pods[2], 3)},
		RemovedTasks: []string{"default/web-b"},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("delta (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(updated, Apply(old, d)); diff != "" {
		t.Errorf("old + delta is not the new view (-want +got):\n%s", diff)
	}
	if d := Diff(&updated, &updated); !d.Empty() {
		t.Errorf("a view against itself: %+v", d)
	}
	gone := View{Version: 9}
	if d := Diff(&updated, &gone); len(d.RemovedNodes) != 4 || len(d.RemovedTasks) != len(updated.Tasks) {
		t.Errorf("everything removed: %d nodes, %d tasks", len(d.RemovedNodes), len(d.RemovedTasks))
	}
}

// TestDiffApplyGenerated checks Diff against Apply on a generated cluster under churn.
func TestDiffApplyGenerated(t *testing.T) {
	c := GenerateCluster(20, 300, 1)
	v, slots := c.View(nil)
	for i := range 20 {
		c.Churn(25)
		next, s := c.View(slots)
		next.Version = v.Version + 1
		slots = s
		d := Diff(&v, &next)
		if diff := cmp.Diff(next, Apply(v, d)); diff != "" {
			t.Fatalf("round %d: old + delta differs from new (-want +got):\n%s", i, diff)
		}
		v = next
	}
}

func TestHubVersionsAndSubscribers(t *testing.T) {
	h := NewHub()
	c := GenerateCluster(3, 10, 2)
	v, _ := c.View(nil)
	if d := h.Publish(v); d.Version != 1 || len(d.Tasks) != 10 {
		t.Fatalf("first publish: version %d, %d tasks", d.Version, len(d.Tasks))
	}
	snap, sub := h.subscribe()
	var got View
	if err := json.Unmarshal(snap, &got); err != nil || got.Version != 1 || len(got.Tasks) != 10 {
		t.Fatalf("snapshot: %v, version %d, %d tasks", err, got.Version, len(got.Tasks))
	}
	if d := h.Publish(v); !d.Empty() || h.View().Version != 1 {
		t.Errorf("an unchanged view moved the version to %d", h.View().Version)
	}
	c.Churn(3)
	v, _ = c.View(nil)
	h.Publish(v)
	var d Delta
	if err := json.Unmarshal(<-sub.ch, &d); err != nil || d.Version != 2 {
		t.Fatalf("delta: %v, version %d", err, d.Version)
	}
	// A subscriber that does not read is dropped once its buffer is full, not waited for.
	for range subscriberBuffer + 1 {
		c.Churn(1)
		v, _ = c.View(nil)
		h.Publish(v)
	}
	if h.Subscribers() != 0 {
		t.Errorf("slow subscriber still there")
	}
	h.unsubscribe(sub) // after being dropped: no double close
}

func BenchmarkBuild100Nodes2000Tasks(b *testing.B) {
	c := GenerateCluster(100, 2000, 1)
	_, slots := c.View(nil)
	b.ReportAllocs()
	for b.Loop() {
		c.View(slots)
	}
}

// BenchmarkRebuildAndDiff is the feeder's work per change at 100 nodes and 2,000 tasks: rebuild
// the view after 50 tasks changed, diff it against the last one and encode the delta.
func BenchmarkRebuildAndDiff100Nodes2000Tasks(b *testing.B) {
	c := GenerateCluster(100, 2000, 1)
	v, slots := c.View(nil)
	b.ReportAllocs()
	for b.Loop() {
		c.Churn(50)
		next, s := c.View(slots)
		slots = s
		d := Diff(&v, &next)
		_ = mustJSON(d)
		v = next
	}
}

func BenchmarkSnapshotJSON100Nodes2000Tasks(b *testing.B) {
	c := GenerateCluster(100, 2000, 1)
	v, _ := c.View(nil)
	b.ReportAllocs()
	for b.Loop() {
		b.SetBytes(int64(len(mustJSON(v))))
	}
}
