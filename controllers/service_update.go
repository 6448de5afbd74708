package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
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
	update.ManualRollback(status, &current, &svc.Spec, r.now())
	logUpdateStarted(svc, status)
	r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "RollbackStarted", "Rollback", "Rolling back to the previous spec (manually requested)")
	return nil
}

// trackSpec notices a new spec (update.Track).
func (r *ServiceReconciler) trackSpec(svc *swarmv1.Service, status *swarmv1.ServiceStatus) {
	if update.Track(status, &svc.Spec, func(old *swarmv1.ServiceSpec) bool { return r.templateChanged(svc, old) }, r.now()) {
		logUpdateStarted(svc, status)
	}
}

// templateChanged tells whether the old spec's tasks differ from the new spec's.
func (r *ServiceReconciler) templateChanged(svc *swarmv1.Service, old *swarmv1.ServiceSpec) bool {
	before := svc.DeepCopy()
	before.Spec = *old
	a, errA := objects.Build(before, objects.Inputs{Stack: svc.Labels[translate.LabelStack]}, r.Options)
	b, errB := objects.Build(svc, objects.Inputs{Stack: svc.Labels[translate.LabelStack]}, r.Options)
	return errA != nil || errB != nil || a.TemplateHash != b.TemplateHash
}

func logUpdateStarted(svc *swarmv1.Service, status *swarmv1.ServiceStatus) {
	ctrl.Log.V(2).Info("Started the update of a Service", "service", client.ObjectKeyFromObject(svc), "state", update.State(status))
}

// judgeUpdate is Swarm's updater's view of an update or rollback under way: its config and
// what the tasks of the new template (hash) show; nil when none is under way.
func (r *ServiceReconciler) judgeUpdate(svc *swarmv1.Service, status *swarmv1.ServiceStatus, tasks []corev1.Pod, hash string) *updateView {
	state := update.State(status)
	if !update.Active(state) {
		return nil
	}
	cfg := update.Effective(update.ConfigInForce(&svc.Spec, state))
	now := r.now()
	return &updateView{state: state, cfg: cfg, now: now,
		progress: update.Observe(tasks, translate.LabelTemplateHash, hash, update.JudgeFor(&svc.Spec, cfg), now)}
}

// updateView is an update under way as judged at now.
type updateView struct {
	state    swarmv1.UpdateState
	cfg      update.Config
	progress update.Progress
	now      time.Time
}

// tolerated is the number of failed new tasks the update steps past (update.Tolerated).
func (v *updateView) tolerated(desired int32) int32 {
	if v == nil {
		return 0
	}
	return update.Tolerated(v.state, v.cfg, v.progress, desired)
}

// watchUpdate is Swarm's updater for an update or rollback under way (v): it pauses, rolls back
// or completes. It returns when to look again.
func (r *ServiceReconciler) watchUpdate(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus, v *updateView, desired int32) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	progress, now := v.progress, v.now
	action, msg := update.Decide(v.state, v.cfg, progress, desired, now)
	if action == update.None {
		wait := updateCheck
		if !progress.NextCheck.IsZero() {
			wait = min(wait, max(progress.NextCheck.Sub(now), 100*time.Millisecond))
		}
		return wait, nil
	}
	if !update.Step(status, action, msg, now) {
		// The status change brings the service back to apply the paused or completed workload.
		r.Recorder.Eventf(svc, nil, eventType[status.UpdateStatus.State], eventReason[status.UpdateStatus.State], "Update", "%s", status.UpdateStatus.Message)
		return 0, nil
	}
	failed := svc.Spec
	svc.Spec = *status.PreviousSpec.DeepCopy()
	if err := r.Update(ctx, svc); err != nil {
		svc.Spec = failed
		return 0, fmt.Errorf("rolling back after a failed update: %w", err)
	}
	update.RollbackStarted(status, &svc.Spec, msg, now)
	logUpdateStarted(svc, status)
	r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, "RollbackStarted", "Update", "%s", msg)
	return 0, nil
}

// heldRecheck is how often a service with held tasks is looked at again without an event (a
// node going down frees the slots of the tasks stopping there).
const heldRecheck = 2 * time.Second

// +kubebuilder:rbac:groups="",resources=pods,verbs=patch;delete

// admitTasks lets the held tasks of a replicated service be scheduled as Swarm's rules allow
// (update.Admit: stop-first, maxReplicasPerNode) and marks the ones that wait for Swarm's
// scheduler. It returns when to look again while tasks are held.
func (r *ServiceReconciler) admitTasks(ctx context.Context, svc *swarmv1.Service, state swarmv1.UpdateState, tasks []corev1.Pod) (time.Duration, error) {
	rules := update.AdmitRules{
		Replicas:  ptr.Deref(svc.Spec.Replicas, 1),
		StopFirst: update.Effective(update.ConfigInForce(&svc.Spec, state)).Order == swarmv1.OrderStopFirst,
		Down:      func(node string) bool { return r.nodeDown(ctx, node) },
		Restart:   svc.Spec.RestartPolicy.RestartOn(),
	}
	if p := svc.Spec.Placement; p != nil && ptr.Deref(p.MaxReplicasPerNode, 0) > 1 {
		rules.MaxPerNode = *p.MaxReplicasPerNode
	}
	a := update.Admit(tasks, rules)
	var errs []error
	stale := false
	released := map[string]bool{}
	for _, p := range a.Release {
		orig := p.DeepCopy()
		update.Release(p, a.AvoidNodes)
		delete(p.Annotations, update.AnnotationWaiting)
		delete(p.Annotations, update.AnnotationStopped)
		if err := r.Patch(ctx, p, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); apierrors.IsConflict(err) {
			// Read before its last change: the next pass reads it again.
			stale = true
			continue
		} else if client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("letting task %s be scheduled: %w", p.Name, err))
			continue
		}
		released[p.Name] = true
		ctrl.LoggerFrom(ctx).V(2).Info("Let a task be scheduled", "pod", klog.KObj(p), "avoiding", a.AvoidNodes)
	}
	for _, p := range a.Retry {
		// Its replacement is held and admitted afresh, with the nodes that have room now.
		if err := r.Delete(ctx, p, client.Preconditions{UID: &p.UID}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("placing task %s again: %w", p.Name, err))
		}
	}
	standIn := map[string]bool{}
	for _, p := range a.StandIns {
		standIn[p.Name] = true
		if update.StandIn(p) {
			continue
		}
		orig := p.DeepCopy()
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, update.AnnotationStopped, string(rules.Restart))
		delete(p.Annotations, update.AnnotationWaiting)
		if err := r.Patch(ctx, p, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("marking task %s as standing for a stopped one: %w", p.Name, err))
		}
	}
	heldLeft := false
	for i := range tasks {
		p := &tasks[i]
		if !update.Held(p) || released[p.Name] || standIn[p.Name] || p.DeletionTimestamp != nil {
			continue
		}
		heldLeft = true
		// Why it waits, if for Swarm's scheduler; and no longer a stand-in when its ended task
		// is gone (an ordinary held task again).
		_, wasStandIn := p.Annotations[update.AnnotationStopped]
		if p.Annotations[update.AnnotationWaiting] == a.Waiting && !wasStandIn {
			continue
		}
		orig := p.DeepCopy()
		delete(p.Annotations, update.AnnotationStopped)
		if a.Waiting == "" {
			delete(p.Annotations, update.AnnotationWaiting)
		} else {
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, update.AnnotationWaiting, a.Waiting)
		}
		if err := r.Patch(ctx, p, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("marking task %s waiting: %w", p.Name, err))
		}
	}
	switch {
	case stale:
		return staleRetry, errors.Join(errs...)
	case heldLeft:
		return heldRecheck, errors.Join(errs...)
	}
	return 0, errors.Join(errs...)
}

// nodeDown tells whether a node is down (marked down, not ready, or gone).
func (r *ServiceReconciler) nodeDown(ctx context.Context, name string) bool {
	node := &corev1.Node{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
		return apierrors.IsNotFound(err)
	}
	return !nodes.Ready(node)
}

// eventType and eventReason are the event of each state the updater stops in.
var (
	eventType = map[swarmv1.UpdateState]string{
		swarmv1.UpdateStatePaused: corev1.EventTypeWarning, swarmv1.UpdateStateRollbackPaused: corev1.EventTypeWarning,
		swarmv1.UpdateStateCompleted: corev1.EventTypeNormal, swarmv1.UpdateStateRollbackCompleted: corev1.EventTypeNormal,
	}
	eventReason = map[swarmv1.UpdateState]string{
		swarmv1.UpdateStatePaused: "UpdatePaused", swarmv1.UpdateStateRollbackPaused: "UpdatePaused",
		swarmv1.UpdateStateCompleted: "UpdateCompleted", swarmv1.UpdateStateRollbackCompleted: "UpdateCompleted",
	}
)
