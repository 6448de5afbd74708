package update

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

const hashLabel = "hash"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name, hash string, opts ...podOpt) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{hashLabel: hash}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// ready: Running and Ready since at.
func ready(at time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at)}}}}
	}
}

// runningUnready: Running since at, never Ready.
func runningUnready(at time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(at)}}}}
	}
}

func crashing(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: 2,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
}

func deleting(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(t0)) }

func TestEffectiveDefaults(t *testing.T) {
	if got := Effective(nil); got != (Config{Parallelism: 1, Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionPause, Order: swarmv1.OrderStopFirst}) {
		t.Errorf("Effective(nil) = %+v", got)
	}
	got := Effective(&swarmv1.UpdateConfig{Parallelism: ptr.To[int32](0), MaxFailureRatio: "0.25", FailureAction: swarmv1.FailureActionRollback,
		Monitor: &metav1.Duration{Duration: time.Minute}, Order: swarmv1.OrderStartFirst})
	if got.Parallelism != 0 || got.MaxFailureRatio != 0.25 || got.FailureAction != swarmv1.FailureActionRollback || got.Monitor != time.Minute || got.Order != swarmv1.OrderStartFirst {
		t.Errorf("Effective = %+v", got)
	}
}

func TestHealthDeadline(t *testing.T) {
	s := &swarmv1.ServiceSpec{}
	if d := HealthDeadline(s, 5*time.Second); d != 5*time.Second {
		t.Errorf("no healthcheck: %s, want the monitor period", d)
	}
	s.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD", "true"}, Interval: &metav1.Duration{Duration: 2 * time.Second},
		Timeout: &metav1.Duration{Duration: time.Second}, Retries: ptr.To[int32](3), StartPeriod: &metav1.Duration{Duration: 10 * time.Second}}
	if d := HealthDeadline(s, 5*time.Second); d != 19*time.Second {
		t.Errorf("healthcheck: %s, want start period + retries × (interval + timeout) = 19s", d)
	}
}

func TestObserve(t *testing.T) {
	now := t0.Add(time.Minute)
	pods := []corev1.Pod{
		pod("old-1", "a", ready(t0)),
		pod("old-2", "a", ready(t0), deleting),
		pod("new-1", "b", ready(t0.Add(10*time.Second))),
		pod("new-2", "b", ready(t0.Add(20*time.Second))),
		pod("new-3", "b", crashing),
		pod("new-4", "b", runningUnready(now.Add(-3*time.Second))),
		pod("new-5", "b", runningUnready(now.Add(-30*time.Second))),
		pod("new-6", "b"),
	}
	p := Observe(pods, hashLabel, "b", Judge{Monitor: 5 * time.Second, HealthDeadline: 5 * time.Second}, now)
	if p.Updated != 6 || p.UpdatedReady != 2 || p.Old != 1 || p.Failures != 2 {
		t.Errorf("Observe = %+v, want 6 updated, 2 ready, 1 old (the deleting one not counted), 2 failures", p)
	}
	if !strings.Contains(p.FirstFailure, "task new-3 exited with code 1") {
		t.Errorf("first failure %q", p.FirstFailure)
	}
	if !p.LastReady.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("last ready %s", p.LastReady)
	}
	if want := now.Add(2 * time.Second); !p.NextCheck.Equal(want) {
		t.Errorf("next check %s, want %s (when new-4's deadline passes)", p.NextCheck, want)
	}
}

// restarted: restarted n times, the last run from start to end (exit code 1), running again
// since end.
func restarted(n int32, start, end time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(end)}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1,
				StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(end)}}}}
	}
}

// exited: the container's only run went from start to end with code.
func exited(code int32, start, end time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(end)}}}}
	}
}

func failedPod(reason string, run *corev1.ContainerStateTerminated) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase, p.Status.Reason = corev1.PodFailed, reason
		if run != nil {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: run}}}
		}
	}
}

func waiting(reason string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}
	}
}

// TestJudgeWithinMonitor: a task fails the update only when it stops within the monitor period
// of starting, as swarmkit's updater (failureTriggersAction) counts failures.
func TestJudgeWithinMonitor(t *testing.T) {
	now := t0.Add(time.Hour)
	j := Judge{Monitor: 5 * time.Second, HealthDeadline: 30 * time.Second}
	cases := []struct {
		name string
		opt  podOpt
		want string // "" = not a failure
	}{
		{"started 5 s ago, failed at once", restarted(1, now.Add(-5*time.Second), now.Add(-4*time.Second)), "exited with code 1 after 1s (1 restarts)"},
		{"ran exactly the monitor period", restarted(1, now.Add(-10*time.Second), now.Add(-5*time.Second)), "exited with code 1 after 5s (1 restarts)"},
		{"crash loop: every run short", restarted(6, now.Add(-3*time.Second), now.Add(-2*time.Second)), "exited with code 1 after 1s (6 restarts)"},
		{"ran 20 minutes, restarted once", restarted(1, now.Add(-21*time.Minute), now.Add(-time.Minute)), ""},
		{"ran 6 s, longer than the monitor", restarted(1, now.Add(-7*time.Second), now.Add(-time.Second)), ""},
		{"exited 0 within the monitor: early termination", exited(0, now.Add(-2*time.Second), now.Add(-time.Second)), "exited with code 0 after 1s"},
		{"exited after 20 minutes", exited(1, now.Add(-20*time.Minute), now), ""},
		{"never started", waiting("ImagePullBackOff"), "could not start: ImagePullBackOff"},
		{"pod failed before running", failedPod("Evicted", nil), "failed: Evicted"},
		{"pod failed within the monitor", failedPod("Error", &corev1.ContainerStateTerminated{ExitCode: 2, StartedAt: metav1.NewTime(now.Add(-3 * time.Second)), FinishedAt: metav1.NewTime(now.Add(-time.Second))}), "failed: Error"},
		{"pod failed after 20 minutes", failedPod("Error", &corev1.ContainerStateTerminated{ExitCode: 2, StartedAt: metav1.NewTime(now.Add(-21 * time.Minute)), FinishedAt: metav1.NewTime(now.Add(-time.Minute))}), ""},
		{"not ready past the health deadline", runningUnready(now.Add(-31 * time.Second)), "did not become healthy within 30s"},
		{"not ready, within the health deadline", runningUnready(now.Add(-29 * time.Second)), ""},
		{"ready", ready(now.Add(-time.Minute)), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Observe([]corev1.Pod{pod("web-x", "b", tc.opt)}, hashLabel, "b", j, now)
			want := int32(0)
			if tc.want != "" {
				want = 1
			}
			if p.Failures != want || !strings.HasSuffix(p.FirstFailure, tc.want) {
				t.Errorf("Observe = %d failures (%q), want %d (%q)", p.Failures, p.FirstFailure, want, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := t0.Add(time.Minute)
	pause := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionPause}
	rollback := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionRollback}
	cont := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionContinue}
	failing := Progress{Updated: 3, UpdatedReady: 1, Failures: 1, FirstFailure: "task web-x exited with code 1"}
	done := Progress{Updated: 3, UpdatedReady: 3, LastReady: now.Add(-6 * time.Second)}
	cases := []struct {
		name    string
		state   swarmv1.UpdateState
		cfg     Config
		p       Progress
		want    Action
		wantMsg string
	}{
		{"pause on first failure", swarmv1.UpdateStateUpdating, pause, failing, Pause, "update paused due to failure or early termination of task web-x"},
		{"rollback on failure", swarmv1.UpdateStateUpdating, rollback, failing, Rollback, "update rolled back due to failure or early termination of task web-x"},
		{"a failing rollback pauses", swarmv1.UpdateStateRollbackStarted, rollback, failing, Pause, "rollback paused due to failure"},
		{"continue ignores failures", swarmv1.UpdateStateUpdating, cont, failing, None, ""},
		{"continue completes past failed tasks", swarmv1.UpdateStateUpdating, cont, Progress{Updated: 3, UpdatedReady: 1, Failures: 2, LastReady: now.Add(-6 * time.Second)}, Complete, "update completed"},
		{"continue completes when every new task failed", swarmv1.UpdateStateUpdating, cont, Progress{Updated: 3, Failures: 3}, Complete, "update completed"},
		{"continue waits for the old tasks", swarmv1.UpdateStateUpdating, cont, Progress{Updated: 2, Failures: 2, Old: 1}, None, ""},
		{"continue waits for tasks neither ready nor failed", swarmv1.UpdateStateUpdating, cont, Progress{Updated: 3, UpdatedReady: 1, Failures: 1, LastReady: now.Add(-time.Minute)}, None, ""},
		{"tolerated failures complete too", swarmv1.UpdateStateUpdating, Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionPause, MaxFailureRatio: 0.5}, Progress{Updated: 3, UpdatedReady: 2, Failures: 1, LastReady: now.Add(-6 * time.Second)}, Complete, "update completed"},
		{"failures within the ratio", swarmv1.UpdateStateUpdating, Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionPause, MaxFailureRatio: 0.5}, failing, None, ""},
		{"complete after the monitor period", swarmv1.UpdateStateUpdating, pause, done, Complete, "update completed"},
		{"rollback complete", swarmv1.UpdateStateRollbackStarted, pause, done, Complete, "rollback completed"},
		{"not before the monitor period", swarmv1.UpdateStateUpdating, pause, Progress{Updated: 3, UpdatedReady: 3, LastReady: now.Add(-time.Second)}, None, ""},
		{"not while old tasks remain", swarmv1.UpdateStateUpdating, pause, Progress{Updated: 3, UpdatedReady: 3, Old: 1, LastReady: now.Add(-time.Minute)}, None, ""},
		{"nothing when paused", swarmv1.UpdateStatePaused, pause, failing, None, ""},
		{"nothing when completed", swarmv1.UpdateStateCompleted, pause, failing, None, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, msg := Decide(tc.state, tc.cfg, tc.p, 3, now)
			if got != tc.want || !strings.HasPrefix(msg, tc.wantMsg) {
				t.Errorf("Decide = %v %q, want %v %q", got, msg, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestTolerated(t *testing.T) {
	failing := Progress{Updated: 3, UpdatedReady: 1, Failures: 2}
	cases := []struct {
		name  string
		state swarmv1.UpdateState
		cfg   Config
		want  int32
	}{
		{"continue steps past every failure", swarmv1.UpdateStateUpdating, Config{FailureAction: swarmv1.FailureActionContinue}, 2},
		{"within the ratio", swarmv1.UpdateStateUpdating, Config{FailureAction: swarmv1.FailureActionPause, MaxFailureRatio: 0.7}, 2},
		{"failures that stop the update", swarmv1.UpdateStateUpdating, Config{FailureAction: swarmv1.FailureActionPause}, 0},
		{"no update under way", swarmv1.UpdateStateCompleted, Config{FailureAction: swarmv1.FailureActionContinue}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tolerated(tc.state, tc.cfg, failing, 3); got != tc.want {
				t.Errorf("Tolerated = %d, want %d", got, tc.want)
			}
		})
	}
}
