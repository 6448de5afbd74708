package update

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// State is the updater's state in status ("" when no update has run).
func State(status *swarmv1.ServiceStatus) swarmv1.UpdateState {
	if status.UpdateStatus == nil {
		return ""
	}
	return status.UpdateStatus.State
}

// Start begins an update or a rollback (state updating or rollback_started).
func Start(status *swarmv1.ServiceStatus, state swarmv1.UpdateState, msg string, now time.Time) {
	status.UpdateStatus = &swarmv1.UpdateStatus{State: state, Message: msg, StartedAt: timePtr(now)}
}

// Track notices a new spec, as Swarm's UpdateService does: the spec the tasks ran becomes the
// previous spec, a changed task template starts an update (and resumes a paused one), and a job
// runs again. templateChanged tells whether the old spec's tasks differ from the new spec's. It
// returns whether an update started.
func Track(status *swarmv1.ServiceStatus, spec *swarmv1.ServiceSpec, templateChanged func(old *swarmv1.ServiceSpec) bool, now time.Time) bool {
	if status.AppliedSpec == nil {
		status.AppliedSpec = spec.DeepCopy()
		return false
	}
	if equality.Semantic.DeepEqual(*status.AppliedSpec, *spec) {
		return false
	}
	old := status.AppliedSpec
	status.PreviousSpec = old
	status.AppliedSpec = spec.DeepCopy()
	if spec.Mode.IsJob() {
		status.JobIteration++
		status.UpdateStatus = nil
		return false
	}
	state := State(status)
	switch {
	case templateChanged(old), Paused(state):
		// Any update resumes a paused one: the tasks still to replace are replaced.
		Start(status, swarmv1.UpdateStateUpdating, "update in progress", now)
		return true
	case Active(state):
		// The update under way goes on.
	default:
		status.UpdateStatus = nil
	}
	return false
}

// Step moves the state machine after Decide returned action (with msg). When it returns true,
// the caller restores status.PreviousSpec as the spec and then calls RollbackStarted; otherwise
// status is complete.
func Step(status *swarmv1.ServiceStatus, action Action, msg string, now time.Time) (rollBack bool) {
	state := State(status)
	started := status.UpdateStatus.StartedAt
	switch action {
	case Pause:
		next := swarmv1.UpdateStatePaused
		if state == swarmv1.UpdateStateRollbackStarted {
			next = swarmv1.UpdateStateRollbackPaused
		}
		status.UpdateStatus = &swarmv1.UpdateStatus{State: next, Message: msg, StartedAt: started}
	case Rollback:
		if status.PreviousSpec == nil {
			msg += "; there is no previous spec to roll back to, so the update is paused"
			status.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateStatePaused, Message: msg, StartedAt: started}
			return false
		}
		return true
	case Complete:
		next := swarmv1.UpdateStateCompleted
		if state == swarmv1.UpdateStateRollbackStarted {
			next = swarmv1.UpdateStateRollbackCompleted
		}
		status.UpdateStatus = &swarmv1.UpdateStatus{State: next, Message: msg, StartedAt: started, CompletedAt: timePtr(now)}
	}
	return false
}

// RollbackStarted records an automatic rollback to restored (the previous spec). It clears the
// previous spec: a manual rollback right after it fails, as in Swarm.
func RollbackStarted(status *swarmv1.ServiceStatus, restored *swarmv1.ServiceSpec, msg string, now time.Time) {
	status.PreviousSpec = nil
	status.AppliedSpec = restored.DeepCopy()
	Start(status, swarmv1.UpdateStateRollbackStarted, msg, now)
}

// ManualRollback records a requested rollback (docker service rollback) that swapped spec and
// previous spec: two rollbacks return to the start.
func ManualRollback(status *swarmv1.ServiceStatus, from, to *swarmv1.ServiceSpec, now time.Time) {
	status.PreviousSpec = from.DeepCopy()
	status.AppliedSpec = to.DeepCopy()
	Start(status, swarmv1.UpdateStateRollbackStarted, "manually requested rollback", now)
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
