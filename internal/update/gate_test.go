package update

import (
	"k8s.io/utils/ptr"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// task is a task of the service created at t0+age seconds, with options.
func task(name string, created int, opts ...podOpt) corev1.Pod {
	p := pod(name, "h")
	p.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(created) * time.Second))
	for _, o := range opts {
		o(&p)
	}
	return p
}

func held(p *corev1.Pod) {
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: Gate}}
}

func on(node string) podOpt {
	return func(p *corev1.Pod) { p.Spec.NodeName = node; p.Status.Phase = corev1.PodRunning }
}

func succeeded(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }

func failed(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }

func evicted(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }

// of: the task is of ReplicaSet h (its pod-template-hash).
func of(h string) podOpt {
	return func(p *corev1.Pod) { p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = h }
}

// ofSet: the task is StatefulSet web's (a per-slot service's).
func ofSet(p *corev1.Pod) {
	p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "web", Controller: ptr.To(true)}}
}

// unplaced: released, but no node takes it; it was told to avoid nodes.
func unplaced(avoid ...string) podOpt {
	return func(p *corev1.Pod) {
		Release(p, avoid)
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	}
}

func names(pods []*corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestAdmit(t *testing.T) {
	down := func(n string) bool { return n == "down-node" }
	cases := []struct {
		name        string
		rules       AdmitRules
		pods        []corev1.Pod
		wantRelease []string
		wantAvoid   []string
		wantRetry   []string
		wantWaiting string
		wantStandIn []string
	}{
		{
			name:  "stop-first: the new task waits while the old one stops",
			rules: AdmitRules{Replicas: 1, StopFirst: true, Down: down},
			pods:  []corev1.Pod{task("old", 0, on("n1"), deleting), task("new", 10, held)},
		},
		{
			name:        "stop-first: the new task goes once the old one is gone",
			rules:       AdmitRules{Replicas: 1, StopFirst: true, Down: down},
			pods:        []corev1.Pod{task("old", 0, on("n1"), succeeded), task("new", 10, held)},
			wantRelease: []string{"new"},
		},
		{
			name:        "stop-first: a task stopping on a down node does not count",
			rules:       AdmitRules{Replicas: 1, StopFirst: true, Down: down},
			pods:        []corev1.Pod{task("old", 0, on("down-node"), deleting), task("new", 10, held)},
			wantRelease: []string{"new"},
		},
		{
			name:  "stop-first: as many as there are free slots, oldest first",
			rules: AdmitRules{Replicas: 4, StopFirst: true, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n2"), deleting),
				task("c", 30, held), task("d", 20, held), task("e", 25, held)},
			wantRelease: []string{"d", "e"},
		},
		{
			name:        "start-first: every held task goes",
			rules:       AdmitRules{Replicas: 1, Down: down},
			pods:        []corev1.Pod{task("old", 0, on("n1")), task("new", 10, held)},
			wantRelease: []string{"new"},
		},
		{
			name:  "max per node: one task at a time, avoiding full nodes",
			rules: AdmitRules{Replicas: 6, MaxPerNode: 2, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n1")), task("c", 0, on("n2")),
				task("d", 0, on("n3"), deleting), task("e", 5, held), task("f", 6, held)},
			wantRelease: []string{"e"},
			wantAvoid:   []string{"n1"},
		},
		{
			name:  "max per node: none while one is in flight",
			rules: AdmitRules{Replicas: 3, MaxPerNode: 2, Down: down},
			pods:  []corev1.Pod{task("a", 0, on("n1")), task("b", 1), task("c", 5, held)},
		},
		{
			name:  "max per node: every node full, docker's message",
			rules: AdmitRules{Replicas: 5, MaxPerNode: 2, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n1")), task("c", 0, on("n2")), task("d", 0, on("n2")),
				task("e", 5, unplaced("n1", "n2")), task("f", 6, held)},
			wantAvoid:   []string{"n1", "n2"},
			wantWaiting: MaxReplicasMessage,
		},
		{
			name:  "max per node: a node has room again, the waiting task is admitted afresh",
			rules: AdmitRules{Replicas: 5, MaxPerNode: 2, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n1"), deleting), task("c", 0, on("n2")), task("d", 0, on("n2")),
				task("e", 5, unplaced("n1", "n2"))},
			wantAvoid: []string{"n2"},
			wantRetry: []string{"e"},
		},
		{
			name:        "restart none: the ReplicaSet's new pod for an ended task stays held",
			rules:       AdmitRules{Replicas: 2, Restart: swarmv1.RestartNone, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n2"), succeeded), task("c", 9, held)},
			wantStandIn: []string{"c"},
		},
		{
			name:        "restart none: a failed task stays stopped too",
			rules:       AdmitRules{Replicas: 1, StopFirst: true, Restart: swarmv1.RestartNone, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1"), failed), task("b", 9, held)},
			wantStandIn: []string{"b"},
		},
		{
			// The StatefulSet deletes an ended pod and makes its slot's anew: the held pod is
			// another slot's (a scale-up), which must go (translate reports the restart).
			name:        "restart none: a StatefulSet's ended task has no stand-in",
			rules:       AdmitRules{Replicas: 2, Restart: swarmv1.RestartNone, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1"), ofSet), task("b", 0, on("n2"), succeeded, ofSet), task("c", 9, held, ofSet)},
			wantRelease: []string{"c"},
		},
		{
			name:        "restart none: an evicted task is no ending of its own, its slot is filled",
			rules:       AdmitRules{Replicas: 1, StopFirst: true, Restart: swarmv1.RestartNone, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1"), evicted), task("b", 9, held)},
			wantRelease: []string{"b"},
		},
		{
			name:        "restart on-failure: a failed task is started again, one that exited 0 is not",
			rules:       AdmitRules{Replicas: 2, Restart: swarmv1.RestartOnFailure, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1"), failed), task("b", 0, on("n2"), succeeded), task("c", 8, held), task("d", 9, held)},
			wantRelease: []string{"c"},
			wantStandIn: []string{"d"},
		},
		{
			name:        "restart any: every ended task is replaced",
			rules:       AdmitRules{Replicas: 1, Down: down},
			pods:        []corev1.Pod{task("a", 0, on("n1"), succeeded), task("b", 9, held)},
			wantRelease: []string{"b"},
		},
		{
			name:  "restart none: an update's new tasks go, the old template's ended task holds back none of them",
			rules: AdmitRules{Replicas: 2, Restart: swarmv1.RestartNone, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1"), succeeded, of("old")), task("b", 0, on("n2"), of("old")),
				task("c", 9, held, of("new")), task("d", 10, held, of("new"))},
			wantRelease: []string{"c", "d"},
		},
		{
			name:  "max per node and stop-first together",
			rules: AdmitRules{Replicas: 2, StopFirst: true, MaxPerNode: 2, Down: down},
			pods: []corev1.Pod{task("a", 0, on("n1")), task("b", 0, on("n1"), deleting),
				task("c", 5, held)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Admit(tc.pods, tc.rules)
			if diff := cmp.Diff(tc.wantRelease, names(a.Release), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Release (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAvoid, a.AvoidNodes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("AvoidNodes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRetry, names(a.Retry), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Retry (-want +got):\n%s", diff)
			}
			if a.Waiting != tc.wantWaiting {
				t.Errorf("Waiting = %q, want %q", a.Waiting, tc.wantWaiting)
			}
			if diff := cmp.Diff(tc.wantStandIn, names(a.StandIns), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("StandIns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRelease(t *testing.T) {
	constrained := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}
	avoid := []corev1.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n1"}},
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"n2"}},
	}
	cases := []struct {
		name  string
		spec  corev1.PodSpec
		avoid []string
		want  corev1.PodSpec
	}{
		{
			name: "only the gate goes",
			spec: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: "other"}, {Name: Gate}}},
			want: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: "other"}}},
		},
		{
			name:  "nodes to avoid without node affinity",
			spec:  corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: Gate}}},
			avoid: []string{"n1", "n2"},
			want: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: avoid}}}}}},
		},
		{
			name: "nodes to avoid added to the constraints",
			spec: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: Gate}}, Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{constrained}}}}},
			avoid: []string{"n1", "n2"},
			want: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: constrained.MatchExpressions, MatchFields: avoid}}}}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: tc.spec}
			Release(p, tc.avoid)
			if diff := cmp.Diff(tc.want, p.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if Held(p) {
				t.Errorf("still held")
			}
		})
	}
}

// TestNoNodeMessage: a task the scheduler could not place says why; one that only waits behind a
// scheduling gate (its condition stays a moment after Release) lacks no node.
func TestNoNodeMessage(t *testing.T) {
	cond := func(reason, msg string) corev1.Pod {
		return corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}}}}
	}
	cases := []struct {
		name   string
		pod    corev1.Pod
		want   string
		wantOK bool
	}{
		{name: "no node", pod: cond(corev1.PodReasonUnschedulable, "0/3 nodes are available"), want: "0/3 nodes are available", wantOK: true},
		{name: "behind a gate", pod: cond(corev1.PodReasonSchedulingGated, "Scheduling is blocked due to non-empty scheduling gates")},
		{name: "not looked at yet", pod: corev1.Pod{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := NoNodeMessage(&tc.pod); got != tc.want || ok != tc.wantOK {
				t.Errorf("NoNodeMessage = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
