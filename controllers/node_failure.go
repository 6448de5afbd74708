package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/kubeswarm/kubeswarm/internal/nodes"
)

// NodeFailureReconciler gives Swarm's reaction to a machine that goes down: when a node's
// kubelet has not renewed its Lease (kube-node-lease) for DownAfter, the node is marked down
// (kubeswarm's NoSchedule taint, so that no task goes back there) and the tasks of replicated
// services on it are deleted, so that their Deployments start them on other nodes at once —
// instead of after Kubernetes' node-monitor grace period and the tasks' not-ready toleration.
// When the kubelet renews its Lease again the mark is removed; as in Swarm, nothing moves back.
//
// Acting early has Swarm's risk: a node that is only cut off (its tasks still running) has its
// tasks started a second time elsewhere until it comes back. DownAfter is the setting that weighs
// that risk against the time tasks stay unavailable. When the control plane itself was cut off
// (every Lease stale at once, or a write that did not reach the API server) no node is down, and
// afterwards each Lease gets a whole lease from the first renewal that came back: the kubelets
// renew one by one.
type NodeFailureReconciler struct {
	client.Client
	Recorder events.EventRecorder
	// DownAfter is how long a Lease may go without renewal before its node is down; 0 means the
	// Lease's own duration (the kubelet's nodeLeaseDurationSeconds).
	DownAfter time.Duration
	// now is the clock; nil means time.Now.
	now func() time.Time

	// cutOff is the last time the control plane was seen cut off from the kubelets or from the
	// operator: every Lease stale at once, or a write that did not reach the API server; back
	// is the first renewal seen after it (zero until one is).
	mu           sync.Mutex
	cutOff, back time.Time
}

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete

// Reconcile marks the node of a stale Lease down and moves its replicated tasks, or removes the
// mark from a node whose Lease is renewed again; then it comes back when the Lease would go stale.
func (r *NodeFailureReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	lease := &coordinationv1.Lease{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: corev1.NamespaceNodeLease, Name: req.Name}, lease); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	node := &corev1.Node{}
	if err := r.Get(ctx, client.ObjectKey{Name: req.Name}, node); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("node", klog.KObj(node))
	ctx = ctrl.LoggerInto(ctx, log)

	deadline, ok := nodes.LeaseDeadline(lease, r.DownAfter)
	if !ok {
		return ctrl.Result{}, nil
	}
	now := r.clock()
	down := !now.Before(deadline)
	if down {
		all, back, err := r.everyLeaseStale(ctx, now)
		if err != nil {
			return ctrl.Result{}, err
		}
		if all {
			// Every kubelet at once: the API server (or the operator's way to it) was away, not
			// the machines. Kubernetes' node lifecycle controller stops evicting then too
			// ("master disruption mode"); the kubelets' renewals, or this look, come back.
			r.sawCutOff(now)
			log.Info("Every node's lease is stale: not marking any node down (the control plane, not the nodes, is the likely fault)")
			return ctrl.Result{RequeueAfter: downRecheck}, nil
		}
		// After the control plane was cut off, the kubelets renew one by one: each gets a whole
		// lease from the first renewal that came back before its node is down (a node really
		// down is so that much later).
		back = r.cameBack(back)
		if grace := back.Add(nodes.StaleAfter(lease, r.DownAfter)); !back.IsZero() && now.Before(grace) {
			log.V(1).Info("Lease stale since the control plane was cut off: waiting for the kubelet to renew it", "until", grace)
			return ctrl.Result{RequeueAfter: grace.Sub(now) + 100*time.Millisecond}, nil
		}
	}
	if err := r.mark(ctx, node, down, now); err != nil {
		if !isAPIStatus(err) {
			// The API server did not answer: the kubelets' renewals may not have reached it either.
			r.sawCutOff(now)
		}
		return ctrl.Result{}, fmt.Errorf("marking the node: %w", err)
	}
	if !down {
		// No event tells that a Lease stopped being renewed: look again when it would be stale.
		return ctrl.Result{RequeueAfter: deadline.Sub(now) + 100*time.Millisecond}, nil
	}
	// A renewal after the Lease went stale brings the node back (LeaseResumed); a slow look now
	// and then keeps a missed event from leaving the mark on for good.
	return ctrl.Result{RequeueAfter: downRecheck}, r.moveTasks(ctx, node)
}

// everyLeaseStale tells whether the Lease of every node, not one, has gone stale (a cluster of
// one node is never judged so: its node is the only one that can be down), and the earliest
// renewal among the Leases renewed after the control plane was last seen cut off (zero if none
// was, or it never was cut off).
func (r *NodeFailureReconciler) everyLeaseStale(ctx context.Context, now time.Time) (all bool, back time.Time, err error) {
	leases := &coordinationv1.LeaseList{}
	if err := r.List(ctx, leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
		return false, time.Time{}, fmt.Errorf("listing the nodes' leases: %w", err)
	}
	cutOff := r.lastCutOff()
	all = len(leases.Items) >= 2
	for i := range leases.Items {
		l := &leases.Items[i]
		if deadline, ok := nodes.LeaseDeadline(l, r.DownAfter); !ok || now.Before(deadline) {
			all = false
		}
		if rt := l.Spec.RenewTime; !cutOff.IsZero() && rt != nil && rt.After(cutOff) && (back.IsZero() || rt.Time.Before(back)) {
			back = rt.Time
		}
	}
	return all, back, nil
}

func (r *NodeFailureReconciler) sawCutOff(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.cutOff) {
		r.cutOff, r.back = at, time.Time{}
	}
}

// cameBack records renewal as the first one after the last cut-off, unless one was recorded
// already (the kubelets renew again and again), and returns the one recorded.
func (r *NodeFailureReconciler) cameBack(renewal time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.back.IsZero() && renewal.After(r.cutOff) {
		r.back = renewal
	}
	return r.back
}

func (r *NodeFailureReconciler) lastCutOff() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cutOff
}

// isAPIStatus tells whether err is the API server's answer (not a failure to reach it).
func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}

// downRecheck is how often a down node's Lease is looked at again without an event.
const downRecheck = 10 * time.Second

func (r *NodeFailureReconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// mark sets or removes the down taint, leaving every other taint as it is.
func (r *NodeFailureReconciler) mark(ctx context.Context, node *corev1.Node, down bool, now time.Time) error {
	taints, changed := nodes.DownTaints(node.Spec.Taints, down, now)
	if !changed {
		return nil
	}
	if err := patchTaints(ctx, r.Client, node, taints); err != nil {
		return err
	}
	if down {
		ctrl.LoggerFrom(ctx).Info("Marked the node down: its kubelet stopped renewing its lease", "downAfter", r.DownAfter)
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, "NodeDown", "MarkDown", "Node %s is down: its kubelet has not renewed its lease; its replicated tasks move to other nodes", node.Name)
	} else {
		ctrl.LoggerFrom(ctx).Info("Removed the node's down mark: its kubelet renews its lease again")
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "NodeReady", "MarkUp", "Node %s is back: its kubelet renews its lease again", node.Name)
	}
	return nil
}

// moveTasks deletes the node's replicated tasks; their Deployments start replacements on other
// nodes at once (a pod being deleted no longer counts as a replica).
func (r *NodeFailureReconciler) moveTasks(ctx context.Context, node *corev1.Node) error {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.MatchingFields{podNodeIndex: node.Name}); err != nil {
		return fmt.Errorf("listing the node's tasks: %w", err)
	}
	var errs []error
	for i := range pods.Items {
		p := &pods.Items[i]
		if !nodes.MovesWhenDown(p) {
			continue
		}
		err := r.Delete(ctx, p, client.Preconditions{UID: &p.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("moving task %s: %w", klog.KObj(p), err))
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Moved a task off the down node", "pod", klog.KObj(p))
	}
	return errors.Join(errs...)
}

// SetupWithManager registers the controller. It watches the kubelets' Leases: a new Lease, and a
// renewal after the Lease went stale (the node is back); every other renewal is left out, the
// controller looks again by itself when a Lease would go stale.
func (r *NodeFailureReconciler) SetupWithManager(mgr ctrl.Manager) error {
	inNodeLeases := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == corev1.NamespaceNodeLease })
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodefailure").
		For(&coordinationv1.Lease{}, builder.WithPredicates(inNodeLeases, predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool {
				return nodes.LeaseResumed(e.ObjectOld.(*coordinationv1.Lease), e.ObjectNew.(*coordinationv1.Lease), r.DownAfter)
			},
			DeleteFunc: func(event.DeleteEvent) bool { return false },
		})).
		Complete(r)
}
