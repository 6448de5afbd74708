package controllers

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// Health as GitOps tools read it (kstatus, sigs.k8s.io/cli-utils, which Flux uses; the Argo CD
// check in config/argocd follows the same rules): an object whose status has seen its generation
// is Failed while a Stalled condition is True, InProgress while it is not Ready, Current when it
// is. Stalled marks what waiting will not mend.

// Reasons of the Stalled condition besides the Degraded reasons it repeats.
const (
	// ReasonRolledBack: an update failed and was rolled back (update_config.failure_action
	// rollback); the spec now runs the previous one, not what was applied.
	ReasonRolledBack = "RolledBack"
	// ReasonServiceStalled: one of a stack's services is stalled.
	ReasonServiceStalled = "ServiceStalled"
	// ReasonTasksRefused: Kubernetes refuses to create the service's tasks (the namespace's Pod
	// Security level, a ResourceQuota), as the Deployment's ReplicaFailure condition says.
	ReasonTasksRefused = "TasksRefused"
)

// tasksRefused is why the Deployment's pods cannot be created ("" when they can): the
// ReplicaFailure condition the Deployment controller copies from its ReplicaSet, e.g. `pods
// "web-…" is forbidden: violates PodSecurity "restricted:latest": …`.
func tasksRefused(d *appsv1.Deployment) string {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			return c.Message
		}
	}
	return ""
}

// degradedStalls are the Degraded reasons that need a change before the object can converge:
// a spec that cannot be realised, and a name or port another object holds. A missing Secret,
// ConfigMap or claim is not among them: a GitOps tool may apply it a moment later.
var degradedStalls = map[string]bool{
	ReasonInvalidSpec:          true,
	swarmv1.ReasonNameConflict: true,
	ReasonPortInUse:            true,
}

// serviceStall is why a Service cannot converge without a change (nil when it can): a Degraded
// reason of degradedStalls, a paused update or rollback, an update rolled back automatically, a
// job that failed, or tasks Kubernetes refuses to create.
func serviceStall(svc *swarmv1.Service, status *swarmv1.ServiceStatus) *metav1.Condition {
	stalled := func(reason, msg string) *metav1.Condition {
		return &metav1.Condition{Type: swarmv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: svc.Generation}
	}
	if c := meta.FindStatusCondition(status.Conditions, swarmv1.ConditionDegraded); c != nil && c.Status == metav1.ConditionTrue && degradedStalls[c.Reason] {
		return stalled(c.Reason, c.Message)
	}
	us := status.UpdateStatus
	switch state := update.State(status); {
	case update.Paused(state):
		return stalled(ReasonUpdatePaused, us.Message)
	case state == swarmv1.UpdateStateRollbackCompleted && status.PreviousSpec == nil:
		// update.RollbackStarted clears the previous spec; a requested rollback keeps it.
		return stalled(ReasonRolledBack, "The update failed and was rolled back to the previous spec: "+us.Message)
	}
	if c := meta.FindStatusCondition(status.Conditions, swarmv1.ConditionReady); c != nil && (c.Reason == ReasonJobFailed || c.Reason == ReasonTasksRefused) {
		return stalled(c.Reason, c.Message)
	}
	return nil
}

// setServiceHealth sets the Stalled condition. A Service stalled on its spec has observed that
// generation, though it did not apply it, and is not Ready: the tasks that run are the old
// spec's.
func setServiceHealth(svc *swarmv1.Service, status *swarmv1.ServiceStatus) {
	stall := serviceStall(svc, status)
	if stall == nil {
		meta.RemoveStatusCondition(&status.Conditions, swarmv1.ConditionStalled)
		return
	}
	meta.SetStatusCondition(&status.Conditions, *stall)
	if !degradedStalls[stall.Reason] {
		return
	}
	status.ObservedGeneration = svc.Generation
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: stall.Reason, Message: stall.Message, ObservedGeneration: svc.Generation})
}

// stackStall is why a Stack cannot converge without a change: its own Degraded reason (an
// invalid stack, a name another stack or object holds), or stalled services.
func stackStall(st *swarmv1.Stack, status *swarmv1.StackStatus, services []swarmv1.Service) *metav1.Condition {
	if c := meta.FindStatusCondition(status.Conditions, swarmv1.ConditionDegraded); c != nil && c.Status == metav1.ConditionTrue && degradedStalls[c.Reason] {
		return &metav1.Condition{Type: swarmv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: c.Reason, Message: c.Message, ObservedGeneration: st.Generation}
	}
	var stalled []string
	for i := range services {
		s := &services[i]
		if c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			stalled = append(stalled, fmt.Sprintf("%s: %s", swarmv1.StackServiceShortName(st.Name, s.Name), c.Message))
		}
	}
	if len(stalled) == 0 {
		return nil
	}
	sort.Strings(stalled)
	return &metav1.Condition{Type: swarmv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: ReasonServiceStalled,
		Message: strings.Join(stalled, "; "), ObservedGeneration: st.Generation}
}
