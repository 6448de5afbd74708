package update

import (
	"fmt"
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// Swarm's update defaults (swarmkit api/defaults).
const (
	DefaultMonitor = 5 * time.Second
)

// Config is an update or rollback config with Swarm's defaults filled in.
type Config struct {
	Parallelism     int32
	Delay, Monitor  time.Duration
	FailureAction   swarmv1.FailureAction
	MaxFailureRatio float64
	Order           swarmv1.UpdateOrder
}

// Effective fills in Swarm's defaults: parallelism 1, delay 0, monitor 5s, failure action pause,
// ratio 0, stop-first.
func Effective(uc *swarmv1.UpdateConfig) Config {
	c := Config{Parallelism: 1, Monitor: DefaultMonitor, FailureAction: swarmv1.FailureActionPause, Order: swarmv1.OrderStopFirst}
	if uc == nil {
		return c
	}
	c.Parallelism = ptr.Deref(uc.Parallelism, 1)
	c.Delay = swarmsyntax.DurationOr(uc.Delay, 0)
	c.Monitor = swarmsyntax.DurationOr(uc.Monitor, DefaultMonitor)
	if uc.FailureAction != "" {
		c.FailureAction = uc.FailureAction
	}
	if r, err := strconv.ParseFloat(uc.MaxFailureRatio, 64); err == nil {
		c.MaxFailureRatio = r
	}
	if uc.Order != "" {
		c.Order = uc.Order
	}
	return c
}

// HealthDeadline is how long a new task may run without becoming ready before it counts as
// failed: Swarm marks a task unhealthy after start period + retries × (interval + timeout); a
// task without a healthcheck must be ready within the monitor period.
func HealthDeadline(s *swarmv1.ServiceSpec, monitor time.Duration) time.Duration {
	h := swarmsyntax.EffectiveHealth(s.Healthcheck)
	if h == nil {
		return monitor
	}
	return max(monitor, h.StartPeriod+time.Duration(h.Retries)*(h.Interval+h.Timeout))
}

// Progress is what the tasks of the current template show.
type Progress struct {
	// Updated is the number of tasks of the new template (not being deleted).
	Updated int32
	// UpdatedReady is how many of them are ready.
	UpdatedReady int32
	// Old is the number of tasks of other templates still there.
	Old int32
	// Failures is the number of new tasks that failed as swarmkit's updater counts failures
	// (see Judge).
	Failures int32
	// FirstFailure names the first failed task and why.
	FirstFailure string
	// LastReady is when the last new task became ready.
	LastReady time.Time
	// NextCheck is the soonest time a task's state may change by the clock alone (a health
	// deadline passing); zero when none.
	NextCheck time.Time
}

// Judge is how long the new tasks are watched.
type Judge struct {
	// Monitor is the update's monitor period: a task that stops later than this after it
	// started is not a failure of the update.
	Monitor time.Duration
	// HealthDeadline is how long a task may run without becoming ready (HealthDeadline).
	HealthDeadline time.Duration
}

// JudgeFor is the judgement of the tasks of spec's update in force (cfg).
func JudgeFor(s *swarmv1.ServiceSpec, cfg Config) Judge {
	return Judge{Monitor: cfg.Monitor, HealthDeadline: HealthDeadline(s, cfg.Monitor)}
}

// waitingFailures are container waiting reasons that mean the task cannot start.
var waitingFailures = map[string]bool{
	"CrashLoopBackOff": true, "ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// Observe counts the tasks of the template with hash (label LabelTemplateHash) among pods.
func Observe(pods []corev1.Pod, hashLabel, hash string, j Judge, now time.Time) Progress {
	var p Progress
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			continue
		}
		if pod.Labels[hashLabel] != hash {
			if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
				p.Old++
			}
			continue
		}
		p.Updated++
		if why := j.failure(pod, now, &p.NextCheck); why != "" {
			if p.Failures == 0 {
				p.FirstFailure = fmt.Sprintf("task %s %s", pod.Name, why)
			}
			p.Failures++
			continue
		}
		if c := ReadyCondition(pod); c != nil && c.Status == corev1.ConditionTrue {
			p.UpdatedReady++
			if c.LastTransitionTime.After(p.LastReady) {
				p.LastReady = c.LastTransitionTime.Time
			}
		}
	}
	return p
}

// ReadyCondition is the pod's Ready condition, nil when it has none: a task is ready when it is
// True (the one reading of task readiness, for the updater and for service ps).
func ReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// failure says why a new task failed, or "". As swarmkit's updater does
// (manager/orchestrator/update/updater.go, failureTriggersAction), a task fails the update when
// it stops — any exit, even code 0, is an "early termination" — without having started, or
// within the monitor period of starting; a task that stops later is not an update failure (in
// Swarm the restart supervisor replaces it with a task the updater does not count). Kubernetes
// restarts the container inside the same task, so the judgement is of the run that ended last:
// a crash loop's runs are all short and keep counting, while a task that ran for 20 minutes
// and then restarted does not count. A task that runs without becoming ready is judged only
// in its first run, against the health deadline.
func (j Judge) failure(pod *corev1.Pod, now time.Time, next *time.Time) string {
	if pod.Status.Phase == corev1.PodFailed {
		if t := lastRun(pod); t != nil && !j.early(t) {
			return ""
		}
		return "failed: " + pod.Status.Reason
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.RestartCount > 0 {
			if t := cs.LastTerminationState.Terminated; t != nil && j.early(t) {
				return fmt.Sprintf("exited with code %d after %s (%d restarts)", t.ExitCode, ranFor(t), cs.RestartCount)
			}
			continue
		}
		if w := cs.State.Waiting; w != nil && waitingFailures[w.Reason] {
			return "could not start: " + w.Reason
		}
		if t := cs.State.Terminated; t != nil && j.early(t) {
			return fmt.Sprintf("exited with code %d after %s", t.ExitCode, ranFor(t))
		}
		if r := cs.State.Running; r != nil && !cs.Ready {
			due := r.StartedAt.Add(j.HealthDeadline)
			if !now.Before(due) {
				return fmt.Sprintf("did not become healthy within %s", j.HealthDeadline)
			}
			if next.IsZero() || due.Before(*next) {
				*next = due
			}
		}
	}
	return ""
}

// early tells whether a run ended within the monitor period of its start (or never started).
func (j Judge) early(t *corev1.ContainerStateTerminated) bool {
	return t.StartedAt.IsZero() || ranFor(t) <= j.Monitor
}

func ranFor(t *corev1.ContainerStateTerminated) time.Duration {
	if t.StartedAt.IsZero() {
		return 0
	}
	return t.FinishedAt.Sub(t.StartedAt.Time)
}

// lastRun is the run of a failed task's containers that ended last, or nil.
func lastRun(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	var last *corev1.ContainerStateTerminated
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && (last == nil || t.FinishedAt.After(last.FinishedAt.Time)) {
			last = t
		}
	}
	return last
}

// Action is what the updater must do.
type Action int

const (
	// None: keep watching.
	None Action = iota
	// Pause stops the rollout where it is.
	Pause
	// Rollback restores the previous spec.
	Rollback
	// Complete: every task runs the new spec and stayed up for the monitor period.
	Complete
)

// Decide is Swarm's updater step: with state updating or rollback_started, it tells whether
// the failures exceed the tolerated ratio (then pause, roll back, or for a rollback pause), or
// whether the update is complete. desired is the number of tasks the update replaces.
//
// Failures that do not stop the update (failure action continue, or within the ratio) are
// passed over as swarmkit's updater passes over their slots: the update completes when every
// task runs the new template, each either ready or failed, and the last ready one has been up
// for the monitor period ("update completed", whatever the failures).
func Decide(state swarmv1.UpdateState, cfg Config, p Progress, desired int32, now time.Time) (Action, string) {
	if !Active(state) {
		return None, ""
	}
	if Stops(cfg, p, desired) {
		switch {
		case state == swarmv1.UpdateStateRollbackStarted:
			return Pause, "rollback paused due to failure or early termination of " + p.FirstFailure
		case cfg.FailureAction == swarmv1.FailureActionRollback:
			return Rollback, "update rolled back due to failure or early termination of " + p.FirstFailure
		default:
			return Pause, "update paused due to failure or early termination of " + p.FirstFailure
		}
	}
	if p.Updated >= desired && p.UpdatedReady+p.Failures >= desired && p.Old == 0 && !now.Before(p.LastReady.Add(cfg.Monitor)) {
		if state == swarmv1.UpdateStateRollbackStarted {
			return Complete, "rollback completed"
		}
		return Complete, "update completed"
	}
	return None, ""
}

// Stops tells whether the failures stop the update: more than maxFailureRatio × the tasks,
// unless the failure action is continue (swarmkit watches no failures then).
func Stops(cfg Config, p Progress, desired int32) bool {
	return cfg.FailureAction != swarmv1.FailureActionContinue && p.Failures > 0 &&
		float64(p.Failures) > cfg.MaxFailureRatio*math.Max(float64(desired), 1)
}

// Tolerated is how many failed new tasks the update steps past (none when they stop it): the
// workload's rollout must not wait for them to become available (StrategyFor).
func Tolerated(state swarmv1.UpdateState, cfg Config, p Progress, desired int32) int32 {
	if !Active(state) || Stops(cfg, p, desired) {
		return 0
	}
	return p.Failures
}
