package tasks

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeswarm/kubeswarm/internal/update"
)

func TestState(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	at := metav1.NewTime(t0)
	pod := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
			Spec: corev1.PodSpec{NodeName: "w1", Containers: []corev1.Container{{Name: "task", Image: "nginx:1.27"}}}}
		mutate(p)
		return p
	}
	status := func(s corev1.ContainerState, ready bool, restarts int32) []corev1.ContainerStatus {
		return []corev1.ContainerStatus{{Name: "task", State: s, Ready: ready, RestartCount: restarts}}
	}
	cases := []struct {
		name         string
		pod          *corev1.Pod
		state, error string
	}{
		{"deleted", pod(func(p *corev1.Pod) { p.DeletionTimestamp = &at }), "shutdown", ""},
		{"no node", pod(func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/3 nodes are available"}}
		}), "pending", "no suitable node (0/3 nodes are available)"},
		{"held: waits its turn", pod(func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: update.Gate}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated,
				Message: "Scheduling is blocked due to non-empty scheduling gates"}}
		}), "pending", ""},
		{"held: max replicas per node", pod(func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: update.Gate}}
			p.Annotations = map[string]string{update.AnnotationWaiting: update.MaxReplicasMessage}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
		}), "pending", "no suitable node (max replicas per node limit exceed)"},
		{"released, every node it may take is full", pod(func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			update.Release(p, []string{"w1", "w2"})
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
				Message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."}}
		}), "pending", "no suitable node (max replicas per node limit exceed)"},
		{"bound, no status", pod(func(*corev1.Pod) {}), "assigned", ""},
		{"creating", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}, false, 0)
		}), "preparing", ""},
		{"running, ready", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = status(corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}, true, 0)
		}), "running", ""},
		{"running, not ready", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = status(corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}, false, 0)
		}), "starting", ""},
		{"crash loop", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			cs := status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}}, false, 3)
			cs[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: at}}
			p.Status.ContainerStatuses = cs
		}), "failed", "task: non-zero exit (1)"},
		{"image pull", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}, false, 0)
		}), "rejected", "ImagePullBackOff: not found"},
		{"init container pulling", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}, false, 0)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "install-files", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
		}), "preparing", ""},
		{"init container image missing", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}, false, 0)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "install-files", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}
		}), "rejected", "install-files: ImagePullBackOff: not found"},
		{"init container failing", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}, false, 0)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "install-files", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
		}), "failed", "install-files: non-zero exit (1)"},
		{"init container failed once", pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = status(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}, false, 0)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "install-files", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}}
		}), "failed", "install-files: non-zero exit (2)"},
		{"completed", pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), "complete", ""},
		{"failed job task", pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = status(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: at}}, false, 0)
		}), "failed", "task: non-zero exit (2)"},
		{"node lost", pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown; p.Status.Message = "node gone" }), "unknown", "node gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, _, msg := State(tc.pod)
			if state != tc.state || msg != tc.error {
				t.Errorf("State = %q, %q; want %q, %q", state, msg, tc.state, tc.error)
			}
		})
	}
}

func TestImageAndNode(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "sidecar", Image: "envoy"}, {Name: "task", Image: "nginx:1.27"}},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"worker2"}}}}}}}},
	}}
	if got := Image(p); got != "nginx:1.27" {
		t.Errorf("Image = %q", got)
	}
	if got := Node(p); got != "worker2" {
		t.Errorf("Node of an unbound daemon pod = %q, want worker2", got)
	}
	p.Spec.NodeName = "worker1"
	if got := Node(p); got != "worker1" {
		t.Errorf("Node of a bound pod = %q", got)
	}
}

// TestPullAuthHint: a pull the registry refused for want of credentials names the flag that
// gives them; other pull failures and other reasons say nothing more.
func TestPullAuthHint(t *testing.T) {
	const hint = " (the registry wants credentials: deploy with --with-registry-auth after docker login)"
	cases := []struct {
		reason, message, want string
	}{
		{"ErrImagePull", `failed to pull and unpack image "10.247.0.1:5001/private/app:1": failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized`, hint},
		{"ErrImagePull", `rpc error: code = NotFound desc = failed to pull: not found`, ""},
		{"CreateContainerConfigError", `secret "x" not found: unauthorized`, ""},
	}
	for _, tc := range cases {
		if got := pullAuthHint(&corev1.ContainerStateWaiting{Reason: tc.reason, Message: tc.message}); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.reason, tc.message, got, tc.want)
		}
	}
}
