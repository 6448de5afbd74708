package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// FieldOwner is the server-side apply field manager of everything kubeswarm writes.
const FieldOwner = "kubeswarm"

// ConditionHonored is True when Kubernetes realises every option of a Service's spec exactly,
// and False, listing them in its message, when some are approximated or ignored.
const ConditionHonored = "Honored"

// Condition reasons of the Service controller.
const (
	ReasonInvalidSpec  = "InvalidSpec"
	ReasonIgnored      = "OptionsApproximated"
	ReasonAllHonored   = "AllOptionsHonored"
	ReasonNameConflict = "NameConflict"
	ReasonApplyFailed  = "ApplyFailed"
	ReasonPortInUse    = "PortInUse"
)

// Errors that wait for something outside the Service to change: they are reported in status and
// retried after conflictRetry, as the object in the way is not watched.
var (
	// errNameConflict: an object of the child's name exists but belongs to someone else.
	errNameConflict = errors.New("name conflict")
	// errPortInUse: a published port is another Service's node port.
	errPortInUse = errors.New("port in use")
)

// conflictRetry is how often a Service blocked by another object's name or port tries again.
const conflictRetry = 15 * time.Second

// ServiceReconciler reconciles a Service into a Deployment or DaemonSet and a Kubernetes Service.
type ServiceReconciler struct {
	client.Client
	// APIReader reads objects that the cache does not hold (it holds only kubeswarm's own).
	APIReader client.Reader
	Recorder  events.EventRecorder
	Options   translate.Options
}

// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=services/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments;daemonsets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile makes the Kubernetes objects of a Service match its spec and reports their state.
func (r *ServiceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	svc := &swarmv1.Service{}
	if err := r.Get(ctx, req.NamespacedName, svc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !svc.DeletionTimestamp.IsZero() {
		// Children go with the Service through their owner references.
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("service", klog.KObj(svc))
	ctx = ctrl.LoggerInto(ctx, log)

	status := svc.Status.DeepCopy()
	err := r.reconcile(ctx, svc, status)
	res := ctrl.Result{}
	if errors.Is(err, errNameConflict) || errors.Is(err, errPortInUse) {
		// Reported in status; retried quietly until the other object goes.
		res, err = ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return res, errors.Join(err, r.updateStatus(ctx, svc, status))
}

// reconcile runs the steps in order and records the outcome in status.
func (r *ServiceReconciler) reconcile(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) error {
	status.Selector = translate.SelectorString(svc.Name)
	objs, err := translate.Build(svc, translate.Inputs{Stack: svc.Labels[translate.LabelStack]}, r.Options)
	if err != nil {
		// The spec cannot be realised: say so, and leave whatever runs as it is.
		r.setDegraded(svc, status, ReasonInvalidSpec, fmt.Sprintf("The spec cannot be applied, nothing was changed: %v", err))
		return r.observeWorkload(ctx, svc, status)
	}
	if err := r.removeOtherWorkloads(ctx, svc, objs.WorkloadKind()); err != nil {
		return r.applyFailed(svc, status, fmt.Errorf("removing the previous workload: %w", err))
	}
	key := client.ObjectKeyFromObject(svc)
	if objs.DaemonSet != nil {
		err = applyIfChanged(ctx, r, svc, key, &appsv1.DaemonSet{}, objs.DaemonSet, appsv1ac.ExtractDaemonSet)
	} else {
		err = applyIfChanged(ctx, r, svc, key, &appsv1.Deployment{}, objs.Deployment, appsv1ac.ExtractDeployment)
	}
	if err != nil {
		return r.applyFailed(svc, status, err)
	}
	live, err := r.applyService(ctx, svc, objs.Service)
	if err != nil {
		return r.applyFailed(svc, status, err)
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionFalse,
		Reason: swarmv1.ReasonAsRequested, Message: "Every object of the service is applied", ObservedGeneration: svc.Generation})
	r.setHonored(svc, status, objs.Notes)
	status.Ports = translate.PublishedPorts(&svc.Spec, live)
	status.PortsSummary = translate.PortsSummary(status.Ports)
	status.Workload = &swarmv1.WorkloadReference{Kind: objs.WorkloadKind(), Name: svc.Name}
	status.ObservedGeneration = svc.Generation
	return r.observeWorkload(ctx, svc, status)
}

// getOwned reads a child. found is false when there is none; an object of that name that the
// Service does not control is a name conflict, never taken over.
func (r *ServiceReconciler) getOwned(ctx context.Context, svc *swarmv1.Service, key client.ObjectKey, obj client.Object) (bool, error) {
	err := r.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) {
		// The cache holds only objects labelled as kubeswarm's; look for a stranger too.
		err = r.APIReader.Get(ctx, key, obj)
	}
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	case !metav1.IsControlledBy(obj, svc):
		return true, fmt.Errorf("%w: %s %s exists and does not belong to this service; rename the service or remove that object",
			errNameConflict, kindOf(obj), key.Name)
	}
	return true, nil
}

// applyIfChanged applies desired unless the fields kubeswarm owns in the existing object already
// equal it, so that an unchanged service causes no write. A field someone else changed is no
// longer owned by kubeswarm, so the comparison fails and the apply restores it.
func applyIfChanged[O client.Object, A runtime.ApplyConfiguration](ctx context.Context, r *ServiceReconciler, svc *swarmv1.Service,
	key client.ObjectKey, existing O, desired A, extract func(O, string) (A, error)) error {
	kind := kindOf(existing)
	found, err := r.getOwned(ctx, svc, key, existing)
	if err != nil {
		return err
	}
	if found {
		current, err := extract(existing, FieldOwner)
		if err != nil {
			return fmt.Errorf("reading the fields kubeswarm owns in %s %s: %w", kind, key.Name, err)
		}
		same, err := sameAs[O](current, desired)
		if err != nil {
			return fmt.Errorf("comparing %s %s: %w", kind, key.Name, err)
		}
		if same {
			return nil
		}
	}
	if err := r.Apply(ctx, desired, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", kind, key.Name, err)
	}
	verb := "Created"
	if found {
		verb = "Updated"
	}
	r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, verb, "Apply", "%s %s %s", verb, kind, key.Name)
	ctrl.LoggerFrom(ctx).V(2).Info(verb+" "+kind, "name", key.Name)
	return nil
}

// sameAs tells whether two apply configurations describe the same object of type O. Both are
// read into O first, so that a field set to its zero value (which the server does not store)
// compares equal to an absent one.
func sameAs[O client.Object](a, b any) (bool, error) {
	typed := func(v any) (any, error) {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		obj := reflect.New(reflect.TypeFor[O]().Elem()).Interface()
		return obj, json.Unmarshal(data, obj)
	}
	x, err := typed(a)
	if err != nil {
		return false, err
	}
	y, err := typed(b)
	if err != nil {
		return false, err
	}
	return equality.Semantic.DeepEqual(x, y), nil
}

// removeOtherWorkloads deletes the service's workload of another kind, left from before a mode
// change.
func (r *ServiceReconciler) removeOtherWorkloads(ctx context.Context, svc *swarmv1.Service, keep string) error {
	key := client.ObjectKeyFromObject(svc)
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.DaemonSet{}} {
		if kindOf(obj) == keep {
			continue
		}
		if err := r.Get(ctx, key, obj); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if !metav1.IsControlledBy(obj, svc) {
			continue
		}
		if err := r.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return err
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted %s %s: the service's mode is now %s", kindOf(obj), key.Name, svc.Spec.Mode)
	}
	return nil
}

// applyService applies the Kubernetes Service and returns it as the cache last saw it. Turning
// a virtual-IP Service into a headless one or back needs a new object: clusterIP is immutable.
func (r *ServiceReconciler) applyService(ctx context.Context, svc *swarmv1.Service, desired *corev1ac.ServiceApplyConfiguration) (*corev1.Service, error) {
	key := client.ObjectKeyFromObject(svc)
	existing := &corev1.Service{}
	found, err := r.getOwned(ctx, svc, key, existing)
	if err != nil {
		return nil, err
	}
	wantHeadless := ptrString(desired.Spec.ClusterIP) == corev1.ClusterIPNone
	if found && (existing.Spec.ClusterIP == corev1.ClusterIPNone) != wantHeadless && existing.DeletionTimestamp.IsZero() {
		if err := r.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("replacing Service %s (headless changes): %w", key.Name, err)
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted Service %s to change its endpoint mode", key.Name)
		// The delete event brings the service back here to create the new one.
		return nil, nil
	}
	if err := applyIfChanged(ctx, r, svc, key, &corev1.Service{}, desired, corev1ac.ExtractService); err != nil {
		if apierrors.IsInvalid(err) && strings.Contains(err.Error(), "port is already allocated") {
			return nil, r.portInUse(ctx, svc, desired, err)
		}
		return nil, err
	}
	if err := r.Get(ctx, key, existing); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return existing, nil
}

// portInUse names the Service that holds a node port this one wants, as Swarm refuses a second
// service publishing the same port.
func (r *ServiceReconciler) portInUse(ctx context.Context, svc *swarmv1.Service, desired *corev1ac.ServiceApplyConfiguration, applyErr error) error {
	all := &corev1.ServiceList{}
	if err := r.APIReader.List(ctx, all); err != nil {
		return fmt.Errorf("%w: %v", errPortInUse, applyErr)
	}
	for _, p := range desired.Spec.Ports {
		if p.NodePort == nil {
			continue
		}
		for _, other := range all.Items {
			if other.Namespace == svc.Namespace && other.Name == svc.Name {
				continue
			}
			for _, op := range other.Spec.Ports {
				if op.NodePort == *p.NodePort {
					by := other.Namespace + "/" + other.Name
					if owner := metav1.GetControllerOf(&other); owner != nil && owner.Kind == "Service" {
						by = "service " + other.Namespace + "/" + owner.Name
					}
					return fmt.Errorf("%w: port %d is already in use by %s; publish another port, or remove that service", errPortInUse, *p.NodePort, by)
				}
			}
		}
	}
	return fmt.Errorf("%w: %v", errPortInUse, applyErr)
}

// observeWorkload reads the workload's state into the status: tasks running/desired, Ready and
// Progressing.
func (r *ServiceReconciler) observeWorkload(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) error {
	var running, desired int32
	progressing := false
	key := client.ObjectKeyFromObject(svc)
	if svc.Spec.Mode.IsGlobal() {
		ds := &appsv1.DaemonSet{}
		if err := r.Get(ctx, key, ds); client.IgnoreNotFound(err) != nil {
			return err
		} else if err == nil && metav1.IsControlledBy(ds, svc) {
			running, desired = ds.Status.NumberReady, ds.Status.DesiredNumberScheduled
			progressing = ds.Status.ObservedGeneration < ds.Generation || ds.Status.UpdatedNumberScheduled < desired
		} else {
			progressing = true
		}
	} else {
		d := &appsv1.Deployment{}
		if err := r.Get(ctx, key, d); client.IgnoreNotFound(err) != nil {
			return err
		} else if err == nil && metav1.IsControlledBy(d, svc) {
			running, desired = d.Status.ReadyReplicas, ptrInt32(d.Spec.Replicas)
			progressing = d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < desired || d.Status.Replicas > desired
		} else {
			progressing = true
		}
	}
	status.RunningTasks, status.DesiredTasks = running, desired
	status.Replicas = translate.ReplicasSummary(&svc.Spec, running, desired)

	ready := metav1.Condition{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonTasksPending,
		Message: fmt.Sprintf("%d of %d tasks running", running, desired), ObservedGeneration: svc.Generation}
	if running >= desired && !progressing && status.ObservedGeneration == svc.Generation {
		ready.Status, ready.Reason = metav1.ConditionTrue, swarmv1.ReasonConverged
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	prog := metav1.Condition{Type: swarmv1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonConverged,
		Message: "Every task runs the current spec", ObservedGeneration: svc.Generation}
	if progressing {
		prog.Status, prog.Reason, prog.Message = metav1.ConditionTrue, swarmv1.ReasonUpdating, "Tasks are being created or updated"
	}
	meta.SetStatusCondition(&status.Conditions, prog)
	return nil
}

func (r *ServiceReconciler) applyFailed(svc *swarmv1.Service, status *swarmv1.ServiceStatus, err error) error {
	reason := ReasonApplyFailed
	switch {
	case errors.Is(err, errNameConflict):
		reason = ReasonNameConflict
	case errors.Is(err, errPortInUse):
		reason = ReasonPortInUse
	}
	r.setDegraded(svc, status, reason, strings.TrimPrefix(strings.TrimPrefix(err.Error(), errPortInUse.Error()+": "), errNameConflict.Error()+": "))
	return err
}

// setDegraded sets Degraded=True and sends a Warning event when the condition changes.
func (r *ServiceReconciler) setDegraded(svc *swarmv1.Service, status *swarmv1.ServiceStatus, reason, msg string) {
	cond := metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: svc.Generation}
	if old := meta.FindStatusCondition(status.Conditions, cond.Type); old == nil || old.Status != cond.Status || old.Reason != reason || old.Message != msg {
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", msg)
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// setHonored reports what Kubernetes only approximates, with a Warning event when that changes.
func (r *ServiceReconciler) setHonored(svc *swarmv1.Service, status *swarmv1.ServiceStatus, notes []string) {
	cond := metav1.Condition{Type: ConditionHonored, Status: metav1.ConditionTrue, Reason: ReasonAllHonored,
		Message: "Every option of the spec is realised as asked", ObservedGeneration: svc.Generation}
	if len(notes) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonIgnored, strings.Join(notes, "; ")
		if old := meta.FindStatusCondition(status.Conditions, cond.Type); old == nil || old.Message != cond.Message {
			r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, ReasonIgnored, "Reconcile", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

// updateStatus writes the status only when it changed. The controller owns the whole status, so
// a merge patch without a resourceVersion is safe and never conflicts with spec writers.
func (r *ServiceReconciler) updateStatus(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) error {
	if equality.Semantic.DeepEqual(&svc.Status, status) {
		return nil
	}
	base := svc.DeepCopy()
	svc.Status = *status
	if err := r.Status().Patch(ctx, svc, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	return nil
}

func kindOf(obj client.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndex(t, ".")+1:]
}

func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptrInt32(i *int32) int32 {
	if i == nil {
		return 1
	}
	return *i
}

// SetupWithManager registers the controller: it watches Services and the objects they own.
func (r *ServiceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&swarmv1.Service{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.DaemonSet{}).
		Owns(&corev1.Service{}).
		Named("service").
		Complete(r)
}
