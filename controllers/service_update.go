package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/rollout"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// updateCheck is how often a service under update is looked at again, for the clock-driven
// parts of Swarm's updater (health deadlines, the monitor period).
const updateCheck = time.Second

// handleRollbackRequest performs a requested rollback (docker service rollback): once for each
// new value of the rollback annotation, it swaps spec and previous spec, so that two rollbacks
// return to the start. Without a previous spec it refuses, as Swarm does.
func (r *ServiceReconciler) handleRollbackRequest(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) error {
	token := svc.Annotations[swarmv1.AnnotationRollback]
	if token == "" || token == status.LastRollbackRequest {
		return nil
	}
	status.LastRollbackRequest = token
	if status.PreviousSpec == nil {
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, "RollbackRefused", "Rollback", "service %s does not have a previous spec", svc.Name)
		return nil
	}
	current := svc.Spec
	svc.Spec = *status.PreviousSpec.DeepCopy()
	if err := r.Update(ctx, svc); err != nil {
		svc.Spec = current
		status.LastRollbackRequest = ""
		return fmt.Errorf("rolling back to the previous spec: %w", err)
	}
	status.PreviousSpec = current.DeepCopy()
	status.AppliedSpec = svc.Spec.DeepCopy()
	r.startUpdate(status, swarmv1.UpdateStateRollbackStarted, "manually requested rollback", svc)
	r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "RollbackStarted", "Rollback", "Rolling back to the previous spec (manually requested)")
	return nil
}

// trackSpec notices a new spec, as Swarm's UpdateService does: the spec the tasks ran becomes
// the previous spec, a changed task template starts an update, and a job runs again.
func (r *ServiceReconciler) trackSpec(svc *swarmv1.Service, status *swarmv1.ServiceStatus) {
	if status.AppliedSpec == nil {
		status.AppliedSpec = svc.Spec.DeepCopy()
		return
	}
	if equality.Semantic.DeepEqual(*status.AppliedSpec, svc.Spec) {
		return
	}
	old := status.AppliedSpec
	status.PreviousSpec = old
	status.AppliedSpec = svc.Spec.DeepCopy()
	if svc.Spec.Mode.IsJob() {
		status.JobIteration++
		status.UpdateStatus = nil
		return
	}
	state := updateState(status)
	switch {
	case r.templateChanged(svc, old):
		r.startUpdate(status, swarmv1.UpdateStateUpdating, "update in progress", svc)
	case state == swarmv1.UpdateStatePaused || state == swarmv1.UpdateStateRollbackPaused:
		// Any update resumes a paused one: the tasks still to replace are replaced.
		r.startUpdate(status, swarmv1.UpdateStateUpdating, "update in progress", svc)
	case state == swarmv1.UpdateStateUpdating || state == swarmv1.UpdateStateRollbackStarted:
		// The update under way goes on.
	default:
		status.UpdateStatus = nil
	}
}

// templateChanged tells whether the old spec's tasks differ from the new spec's.
func (r *ServiceReconciler) templateChanged(svc *swarmv1.Service, old *swarmv1.ServiceSpec) bool {
	before := svc.DeepCopy()
	before.Spec = *old
	a, errA := translate.Build(before, translate.Inputs{Stack: svc.Labels[translate.LabelStack]}, r.Options)
	b, errB := translate.Build(svc, translate.Inputs{Stack: svc.Labels[translate.LabelStack]}, r.Options)
	return errA != nil || errB != nil || a.TemplateHash != b.TemplateHash
}

func (r *ServiceReconciler) startUpdate(status *swarmv1.ServiceStatus, state swarmv1.UpdateState, msg string, svc *swarmv1.Service) {
	status.UpdateStatus = &swarmv1.UpdateStatus{State: state, Message: msg, StartedAt: ptrTime(r.now())}
	ctrl.Log.V(2).Info("Started the update of a Service", "service", client.ObjectKeyFromObject(svc), "state", state)
}

func updateState(status *swarmv1.ServiceStatus) swarmv1.UpdateState {
	if status.UpdateStatus == nil {
		return ""
	}
	return status.UpdateStatus.State
}

// watchUpdate is Swarm's updater for an update or rollback under way: it judges the tasks of the
// new template and pauses, rolls back or completes. It returns when to look again.
func (r *ServiceReconciler) watchUpdate(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus, hash string, desired int32) (time.Duration, error) {
	state := updateState(status)
	if state != swarmv1.UpdateStateUpdating && state != swarmv1.UpdateStateRollbackStarted {
		return 0, nil
	}
	uc := svc.Spec.UpdateConfig
	if state == swarmv1.UpdateStateRollbackStarted {
		uc = svc.Spec.RollbackConfig
	}
	cfg := rollout.Effective(uc)
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(svc.Namespace), client.MatchingLabels(translate.SelectorLabels(svc.Name))); err != nil {
		return 0, fmt.Errorf("listing the tasks: %w", err)
	}
	now := r.now()
	progress := rollout.Observe(pods.Items, translate.LabelTemplateHash, hash, rollout.HealthDeadline(&svc.Spec, cfg.Monitor), now)
	action, msg := rollout.Decide(state, cfg, progress, desired, now)
	switch action {
	case rollout.Pause:
		next := swarmv1.UpdateStatePaused
		if state == swarmv1.UpdateStateRollbackStarted {
			next = swarmv1.UpdateStateRollbackPaused
		}
		status.UpdateStatus = &swarmv1.UpdateStatus{State: next, Message: msg, StartedAt: status.UpdateStatus.StartedAt}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, "UpdatePaused", "Update", "%s", msg)
		// The status change brings the service back to apply the paused workload.
		return 0, nil
	case rollout.Rollback:
		if status.PreviousSpec == nil {
			msg += "; there is no previous spec to roll back to, so the update is paused"
			status.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateStatePaused, Message: msg, StartedAt: status.UpdateStatus.StartedAt}
			r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, "UpdatePaused", "Update", "%s", msg)
			return 0, nil
		}
		failed := svc.Spec
		svc.Spec = *status.PreviousSpec.DeepCopy()
		if err := r.Update(ctx, svc); err != nil {
			svc.Spec = failed
			return 0, fmt.Errorf("rolling back after a failed update: %w", err)
		}
		// An automatic rollback clears the previous spec: a manual rollback right after it
		// fails, as in Swarm.
		status.PreviousSpec = nil
		status.AppliedSpec = svc.Spec.DeepCopy()
		r.startUpdate(status, swarmv1.UpdateStateRollbackStarted, msg, svc)
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, "RollbackStarted", "Update", "%s", msg)
		return 0, nil
	case rollout.Complete:
		next := swarmv1.UpdateStateCompleted
		if state == swarmv1.UpdateStateRollbackStarted {
			next = swarmv1.UpdateStateRollbackCompleted
		}
		status.UpdateStatus = &swarmv1.UpdateStatus{State: next, Message: msg, StartedAt: status.UpdateStatus.StartedAt, CompletedAt: ptrTime(now)}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "UpdateCompleted", "Update", "%s", msg)
		return 0, nil
	}
	wait := updateCheck
	if !progress.NextCheck.IsZero() {
		wait = min(wait, max(progress.NextCheck.Sub(now), 100*time.Millisecond))
	}
	return wait, nil
}

func ptrTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
