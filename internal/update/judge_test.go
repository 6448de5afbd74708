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
	p := Observe(pods, hashLabel, "b", 5*time.Second, now)
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

func TestDecide(t *testing.T) {
	now := t0.Add(time.Minute)
	pause := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionPause}
	rollback := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionRollback}
	cont := Config{Monitor: 5 * time.Second, FailureAction: swarmv1.FailureActionContinue}
	failing := Progress{Updated: 3, UpdatedReady: 2, Failures: 1, FirstFailure: "task web-x exited with code 1"}
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
