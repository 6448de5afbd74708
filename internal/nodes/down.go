package nodes

import (
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Swarm's dispatcher marks a node down after it missed its heartbeats for a few seconds and its
// orchestrator reschedules the node's tasks at once (a real Swarm here: tasks running elsewhere
// 19.7 s after a worker stopped). Kubernetes waits longer: the node goes NotReady after the
// node-monitor grace period (40 s by default) and its pods are evicted only after their
// not-ready toleration. kubeswarm watches the kubelets' Leases (kube-node-lease) itself and acts
// on a stale one.

// TaintDownKey is kubeswarm's NoSchedule taint on a node whose kubelet stopped renewing its
// Lease: no new task goes there until it renews it again.
const TaintDownKey = "swarm.kubeswarm.io/down"

// LeaseDeadline is when a node's Lease goes stale if it is not renewed: its last renewal plus
// downAfter, or plus the Lease's own duration when downAfter is 0. ok is false when the Lease
// has never been renewed (no time to go by).
func LeaseDeadline(lease *coordinationv1.Lease, downAfter time.Duration) (deadline time.Time, ok bool) {
	renewed := lease.Spec.RenewTime
	if renewed == nil {
		renewed = lease.Spec.AcquireTime
	}
	if renewed == nil {
		return time.Time{}, false
	}
	return renewed.Add(StaleAfter(lease, downAfter)), true
}

// StaleAfter is how long a Lease may go without renewal: downAfter, or the Lease's own duration
// when downAfter is 0.
func StaleAfter(lease *coordinationv1.Lease, downAfter time.Duration) time.Duration {
	if downAfter > 0 {
		return downAfter
	}
	d := int32(40) // the kubelet's default lease duration
	if lease.Spec.LeaseDurationSeconds != nil && *lease.Spec.LeaseDurationSeconds > 0 {
		d = *lease.Spec.LeaseDurationSeconds
	}
	return time.Duration(d) * time.Second
}

// LeaseResumed tells whether an update of a Lease is its renewal after it went stale: the
// moment a down node comes back.
func LeaseResumed(old, updated *coordinationv1.Lease, downAfter time.Duration) bool {
	deadline, ok := LeaseDeadline(old, downAfter)
	renewed := updated.Spec.RenewTime
	return ok && renewed != nil && renewed.After(deadline)
}

// DownTaints returns the taints with kubeswarm's down taint set (down) or removed, leaving every
// other taint as it is, and whether that changed them.
func DownTaints(taints []corev1.Taint, down bool, now time.Time) ([]corev1.Taint, bool) {
	i := slices.IndexFunc(taints, func(t corev1.Taint) bool { return t.Key == TaintDownKey })
	switch {
	case down && i < 0:
		t := metav1.NewTime(now)
		return append(slices.Clone(taints), corev1.Taint{Key: TaintDownKey, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &t}), true
	case !down && i >= 0:
		return slices.Delete(slices.Clone(taints), i, i+1), true
	}
	return taints, false
}

// IsMarkedDown tells whether the node carries kubeswarm's down taint.
func IsMarkedDown(node *corev1.Node) bool {
	return slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == TaintDownKey })
}

// MovesWhenDown tells whether a pod on a down node is a task that Swarm reschedules elsewhere at
// once: a task of a replicated service (its pod belongs to a ReplicaSet) that is not already
// going away. A global service's task stays with its node, as in Swarm, and a job's task is
// left to the Job.
func MovesWhenDown(pod *corev1.Pod) bool {
	if !IsTask(pod) {
		return false
	}
	c := metav1.GetControllerOf(pod)
	return c != nil && c.Kind == "ReplicaSet"
}
