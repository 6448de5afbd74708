package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// NodeFieldOwner is the field manager of kubeswarm's writes to Kubernetes nodes: its labels
// (server-side apply, so that only labels it owns are ever removed) and its availability taint.
const NodeFieldOwner = "kubeswarm-node"

// podNodeIndex indexes the cached task pods by the node they are bound to.
const podNodeIndex = "kubeswarm.spec.nodeName"

// NodeOptions configure the Node controller.
type NodeOptions struct {
	// ManagerSelector picks the Kubernetes nodes whose Node starts as a manager; nil means
	// nodes.DefaultManagerSelector (control-plane nodes), an empty selector no node.
	ManagerSelector labels.Selector
	// NodeName is the Kubernetes node this operator replica runs on. Controllers run only in
	// the replica that holds the leader-election lease, so this node's manager status is Leader.
	// Empty when unknown: then no node shows Leader.
	NodeName string
}

// NodeReconciler keeps one Node per Kubernetes node, realises its role, availability and labels
// on the Kubernetes node, and reports the node as docker node ls does.
type NodeReconciler struct {
	client.Client
	Recorder events.EventRecorder
	Options  NodeOptions
}

// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=nodes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=nodes/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile makes the Node of a Kubernetes node exist, applies its spec to the Kubernetes node
// and reports the node's state.
func (r *NodeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	node := &corev1.Node{}
	if err := r.Get(ctx, req.NamespacedName, node); apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.removeNode(ctx, req.Name)
	} else if err != nil {
		return ctrl.Result{}, err
	}
	log := ctrl.LoggerFrom(ctx).WithValues("node", klog.KObj(node))
	ctx = ctrl.LoggerInto(ctx, log)

	sn, err := r.ensureNode(ctx, node)
	if err != nil || sn == nil {
		return ctrl.Result{}, err
	}
	obs := nodes.Observed{LeaderNode: r.Options.NodeName}
	err = r.reconcile(ctx, node, sn, &obs)
	if err != nil && !apierrors.IsConflict(err) {
		obs.Failure = err.Error()
	}
	return ctrl.Result{}, errors.Join(err, r.updateStatus(ctx, node, sn, obs))
}

// reconcile runs the steps in order, recording in obs what the Kubernetes node now realises.
func (r *NodeReconciler) reconcile(ctx context.Context, node *corev1.Node, sn *swarmv1.Node, obs *nodes.Observed) error {
	obs.Availability = nodes.AppliedAvailability(node.Spec.Taints)
	obs.Role = swarmv1.NodeRole(node.Labels[translate.NodeLabelRole])
	tasks, err := r.countTasks(ctx, node.Name)
	if err != nil {
		return fmt.Errorf("counting the node's tasks: %w", err)
	}
	obs.Tasks = tasks
	if err := r.applyTaint(ctx, node, sn); err != nil {
		return fmt.Errorf("setting the availability taint: %w", err)
	}
	obs.Availability = nodes.AppliedAvailability(node.Spec.Taints)
	effective, err := r.heldManager(ctx, node, sn, obs)
	if err != nil {
		return err
	}
	problems, err := r.applyLabels(ctx, node, effective)
	obs.LabelProblems = problems
	if err != nil {
		return fmt.Errorf("applying the node's labels: %w", err)
	}
	obs.Role = nodes.Role(effective)
	return nil
}

// heldManager is the Node as applied: sn, but a manager when its spec demotes the last manager
// (nodes.HeldManager: a Node edited with kubectl; swarmkit refuses the demotion), which is
// reported (Degraded, LastManager, and an Event). It is applied once another Node is a manager.
func (r *NodeReconciler) heldManager(ctx context.Context, node *corev1.Node, sn *swarmv1.Node, obs *nodes.Observed) (*swarmv1.Node, error) {
	applied := swarmv1.NodeRole(node.Labels[translate.NodeLabelRole])
	if nodes.Role(sn) != swarmv1.RoleWorker || applied != swarmv1.RoleManager {
		return sn, nil
	}
	all := &swarmv1.NodeList{}
	if err := r.List(ctx, all); err != nil {
		return nil, fmt.Errorf("listing the Nodes: %w", err)
	}
	if !nodes.HeldManager(sn, applied, all.Items) {
		return sn, nil
	}
	obs.HeldManager = true
	if !meta.IsStatusConditionPresentAndEqual(sn.Status.Conditions, swarmv1.ConditionDegraded, metav1.ConditionTrue) ||
		meta.FindStatusCondition(sn.Status.Conditions, swarmv1.ConditionDegraded).Reason != nodes.ReasonLastManager {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeWarning, nodes.ReasonLastManager, "Demote", "%s: node %s stays a manager; promote another node first", nodes.LastManager, sn.Name)
	}
	held := sn.DeepCopy()
	held.Spec.Role = swarmv1.RoleManager
	return held, nil
}

// ensureNode returns the Node of a Kubernetes node, creating it when the node just joined. It
// returns nil when there is nothing more to do now (a Node being deleted, or one left from an
// earlier node of the same name, deleted here and made again on the next pass).
func (r *NodeReconciler) ensureNode(ctx context.Context, node *corev1.Node) (*swarmv1.Node, error) {
	log := ctrl.LoggerFrom(ctx)
	sn := &swarmv1.Node{}
	err := r.Get(ctx, client.ObjectKeyFromObject(node), sn)
	switch {
	case apierrors.IsNotFound(err):
		sn = nodes.NewNode(node, nodes.InitialRole(node, r.Options.ManagerSelector))
		if err := r.Create(ctx, sn); apierrors.IsAlreadyExists(err) {
			return nil, nil // the watch brings it back here
		} else if err != nil {
			return nil, fmt.Errorf("creating the Node: %w", err)
		}
		r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "Joined", "Create", "Node %s joined the swarm as a %s", sn.Name, sn.Spec.Role)
		log.V(2).Info("Created Node", "role", sn.Spec.Role)
		return sn, nil
	case err != nil:
		return nil, err
	case !sn.DeletionTimestamp.IsZero():
		return nil, nil
	}
	switch uid := nodes.OwnerUID(sn); {
	case uid == node.UID:
		return sn, nil
	case uid != "":
		// The Kubernetes node was replaced by a new one of the same name: in Swarm a node that
		// joins again is a new node, with a new ID and the default spec.
		if err := r.Delete(ctx, sn, client.Preconditions{UID: &sn.UID}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return nil, fmt.Errorf("deleting the Node of the former node %s: %w", uid, err)
		}
		log.V(2).Info("Deleted Node of a former Kubernetes node of the same name", "formerUID", uid)
		return nil, nil
	}
	// Made by hand (or kept in git): adopt it, so that it goes when the node goes.
	base := sn.DeepCopy()
	sn.OwnerReferences = append(sn.OwnerReferences, nodes.OwnerReference(node))
	if err := r.Patch(ctx, sn, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, fmt.Errorf("adopting the Node: %w", err)
	}
	return sn, nil
}

// removeNode deletes the Node of a Kubernetes node that left. The garbage collector does it too
// through the owner reference; doing it here does not wait for it. A Node made by hand for a
// node that never joined is left alone.
func (r *NodeReconciler) removeNode(ctx context.Context, name string) error {
	sn := &swarmv1.Node{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, sn); err != nil {
		return client.IgnoreNotFound(err)
	}
	if nodes.OwnerUID(sn) == "" || !sn.DeletionTimestamp.IsZero() {
		return nil
	}
	if err := r.Delete(ctx, sn, client.Preconditions{UID: &sn.UID}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting the Node of a node that left: %w", err)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Deleted Node: its Kubernetes node left", "node", name)
	return nil
}

// applyTaint sets kubeswarm's availability taint, leaving every other taint as it is.
func (r *NodeReconciler) applyTaint(ctx context.Context, node *corev1.Node, sn *swarmv1.Node) error {
	taints, changed := nodes.Taints(node.Spec.Taints, nodes.Availability(sn))
	if !changed {
		return nil
	}
	if err := patchTaints(ctx, r.Client, node, taints); err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Updated the availability taint", "availability", nodes.Availability(sn))
	return nil
}

// patchTaints writes a node's taints. Taints are an atomic list for server-side apply, so the
// list is written whole with the resourceVersion that was read: a taint someone added meanwhile
// makes the write fail, never disappear. On failure node keeps the taints it had.
func patchTaints(ctx context.Context, c client.Client, node *corev1.Node, taints []corev1.Taint) error {
	base := node.DeepCopy()
	node.Spec.Taints = taints
	if err := c.Patch(ctx, node, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}), client.FieldOwner(NodeFieldOwner)); err != nil {
		node.Spec.Taints = base.Spec.Taints
		return err
	}
	return nil
}

// applyLabels applies the labels kubeswarm wants on the node by server-side apply under its own
// field manager, so that a label dropped from the spec is removed only when kubeswarm alone
// owned it. A label someone else set to another value is left alone and reported. Nothing is
// written when the labels kubeswarm owns already are the ones it wants.
func (r *NodeReconciler) applyLabels(ctx context.Context, node *corev1.Node, sn *swarmv1.Node) ([]string, error) {
	want, problems := nodes.Labels(node, sn)
	current, err := corev1ac.ExtractNode(node, NodeFieldOwner)
	if err != nil {
		return problems, fmt.Errorf("reading the labels kubeswarm owns: %w", err)
	}
	apply, conflicts := nodes.ApplicableLabels(want, node.Labels, current.Labels)
	problems = append(problems, conflicts...)
	if maps.Equal(apply, current.Labels) {
		return problems, nil
	}
	if err := r.Apply(ctx, corev1ac.Node(node.Name).WithLabels(apply), client.FieldOwner(NodeFieldOwner), client.ForceOwnership); err != nil {
		return problems, err
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Applied the node's labels", "labels", apply)
	return problems, nil
}

// countTasks counts the swarm tasks bound to a node. The cache holds only kubeswarm's pods.
func (r *NodeReconciler) countTasks(ctx context.Context, node string) (int32, error) {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.MatchingFields{podNodeIndex: node}); err != nil {
		return 0, err
	}
	var n int32
	for i := range pods.Items {
		if nodes.IsTask(&pods.Items[i]) {
			n++
		}
	}
	return n, nil
}

// updateStatus writes the status when it changed, and sends events for the transitions a Swarm
// user sees in docker node ls.
func (r *NodeReconciler) updateStatus(ctx context.Context, node *corev1.Node, sn *swarmv1.Node, obs nodes.Observed) error {
	status := nodes.Status(node, sn, obs)
	if equality.Semantic.DeepEqual(&sn.Status, &status) {
		return nil
	}
	r.recordTransitions(sn, &status)
	base := sn.DeepCopy()
	sn.Status = status
	if err := r.Status().Patch(ctx, sn, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	return nil
}

func (r *NodeReconciler) recordTransitions(sn *swarmv1.Node, status *swarmv1.NodeStatus) {
	old := &sn.Status
	if old.Role != "" && status.Role != old.Role {
		if status.Role == swarmv1.RoleManager {
			r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "Promoted", "Promote", "Node %s promoted to a manager in the swarm.", sn.Name)
		} else {
			r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "Demoted", "Demote", "Manager %s demoted in the swarm.", sn.Name)
		}
	}
	if old.Availability != "" && status.Availability != old.Availability {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "AvailabilityChanged", "Update", "Node %s is now %s", sn.Name, status.Availability)
	}
	if old.State != status.State && status.State == swarmv1.NodeDown {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeWarning, "NodeDown", "Observe", "Node %s is down", sn.Name)
	} else if old.State == swarmv1.NodeDown && status.State == swarmv1.NodeReady {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "NodeReady", "Observe", "Node %s is ready again", sn.Name)
	}
	if status.ManagerStatus == swarmv1.ManagerLeader && old.ManagerStatus != swarmv1.ManagerLeader {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeNormal, "Leader", "Elect", "Node %s hosts the leading operator replica", sn.Name)
	}
	newDeg := meta.FindStatusCondition(status.Conditions, swarmv1.ConditionDegraded)
	if oldDeg := meta.FindStatusCondition(old.Conditions, swarmv1.ConditionDegraded); newDeg != nil && newDeg.Status == metav1.ConditionTrue &&
		(oldDeg == nil || oldDeg.Status != newDeg.Status || oldDeg.Message != newDeg.Message) {
		r.Recorder.Eventf(sn, nil, corev1.EventTypeWarning, newDeg.Reason, "Reconcile", "%s", newDeg.Message)
	}
}

// SetupWithManager registers the controller. It watches Nodes (spec changes only), Kubernetes
// nodes (only changes Swarm shows: heartbeats are filtered out) and task pods (only when the
// count of a node's tasks can change).
func (r *NodeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Options.ManagerSelector == nil {
		sel, err := labels.Parse(nodes.DefaultManagerSelector)
		if err != nil {
			return err
		}
		r.Options.ManagerSelector = sel
	}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, podNodeIndex, func(o client.Object) []string {
		if n := o.(*corev1.Pod).Spec.NodeName; n != "" {
			return []string{n}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing pods by node: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&swarmv1.Node{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Node{}, &handler.EnqueueRequestForObject{}, builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool {
				return nodes.SwarmVisibleChange(e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node))
			},
		})).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToNode), builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool {
				o, n := e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod)
				return o.Spec.NodeName != n.Spec.NodeName || nodes.IsTask(o) != nodes.IsTask(n)
			},
		})).
		// A Node kept a manager (heldManager) is demoted once another Node's spec changes, as
		// that may make another manager.
		Watches(&swarmv1.Node{}, handler.EnqueueRequestsFromMapFunc(r.heldNodes), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("node").
		Complete(r)
}

// heldNodes are the Nodes kept managers though their spec says worker (heldManager).
func (r *NodeReconciler) heldNodes(ctx context.Context, o client.Object) []reconcile.Request {
	all := &swarmv1.NodeList{}
	if err := r.List(ctx, all); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range all.Items {
		n := &all.Items[i]
		if n.Name != o.GetName() && nodes.Role(n) == swarmv1.RoleWorker && n.Status.Role == swarmv1.RoleManager {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: n.Name}})
		}
	}
	return out
}

// podToNode maps a task pod to the Node it runs on.
func podToNode(_ context.Context, o client.Object) []reconcile.Request {
	if n := o.(*corev1.Pod).Spec.NodeName; n != "" {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: n}}}
	}
	return nil
}
