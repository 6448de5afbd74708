package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// StackReconciler reconciles a Stack into its Services, its networks' names, NetworkPolicies
// and claims.
type StackReconciler struct {
	childApplier
}

// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=stacks,verbs=get;list;watch
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=stacks/status,verbs=patch
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;patch

// Reconcile makes a Stack's objects match its spec and sums up its services in the status.
func (r *StackReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	st := &swarmv1.Stack{}
	if err := r.Get(ctx, req.NamespacedName, st); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !st.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // what it owns goes with it; its claims stay
	}
	if namespaceDeleting(ctx, r.Client, st.Namespace) {
		return ctrl.Result{}, nil
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("stack", klog.KObj(st)))
	status := st.Status.DeepCopy()
	err := r.reconcile(ctx, st, status)
	if namespaceTerminating(err) {
		return ctrl.Result{}, nil
	}
	res := ctrl.Result{}
	switch {
	case errors.Is(err, errNameConflict):
		res, err = ctrl.Result{RequeueAfter: conflictRetry}, nil
	case errors.Is(err, errFileChanged):
		// Secrets are not watched (the operator reads them by name only): look again for the
		// content put back.
		res, err = ctrl.Result{RequeueAfter: fileRetry}, nil
	}
	err = errors.Join(err, r.updateStatus(ctx, st, status))
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	return res, err
}

func (r *StackReconciler) reconcile(ctx context.Context, st *swarmv1.Stack, status *swarmv1.StackStatus) error {
	if err := stack.Validate(st); err != nil {
		// Leave the running services as they are until the spec is fixed.
		r.setCondition(st, status, swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonInvalidSpec,
			"The stack cannot be deployed, nothing was changed: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		return r.observe(ctx, st, status, nil)
	}
	if changed, err := r.checkFiles(ctx, st); err != nil {
		return err
	} else if len(changed) > 0 {
		// As docker stack deploy stops at the secret it may not update: nothing else changes.
		r.setCondition(st, status, swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonFileChanged,
			"The stack cannot be deployed, nothing was changed: "+joinMessages(changed))
		return errors.Join(r.observe(ctx, st, status, nil), errFileChanged)
	}
	var problems []error
	existing, err := existingClaims(ctx, r.Client, st.Namespace)
	if err != nil {
		return err
	}
	for _, claim := range objects.Claims(st, existing) {
		key := client.ObjectKey{Namespace: st.Namespace, Name: *claim.Name}
		// The Stack owns no claim (stack rm keeps volumes, as docker does): one labelled with
		// this stack is its own to update, so a later deploy of the same stack reuses its data.
		ours := adoptIf(func(o client.Object) bool { return stack.IsClaimOf(st, o) })
		if err := applyIfChanged(ctx, &r.childApplier, st, key, &corev1.PersistentVolumeClaim{}, claim, corev1ac.ExtractPersistentVolumeClaim, ours); err != nil {
			problems = append(problems, err)
		}
	}
	for _, np := range objects.NetworkPolicies(st) {
		key := client.ObjectKey{Namespace: st.Namespace, Name: *np.Name}
		if err := applyIfChanged(ctx, &r.childApplier, st, key, &networkingv1.NetworkPolicy{}, np, networkingv1ac.ExtractNetworkPolicy); err != nil {
			problems = append(problems, err)
		}
	}
	conflict := false
	slices, nameProblems := r.applyNames(ctx, st)
	for _, err := range nameProblems {
		if errors.Is(err, errNameConflict) {
			conflict = true
		}
		problems = append(problems, err)
	}
	children := map[string]bool{}
	for _, s := range st.Spec.Services {
		child := stack.Child(st, s)
		children[child.Name] = true
		if err := r.applyChild(ctx, st, child); err != nil {
			if errors.Is(err, errNameConflict) {
				conflict = true
			}
			problems = append(problems, err)
		}
	}
	if err := r.prune(ctx, st, children, slices); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		reason := swarmv1.ReasonApplyFailed
		if conflict {
			reason = swarmv1.ReasonNameConflict
		}
		r.setCondition(st, status, swarmv1.ConditionDegraded, metav1.ConditionTrue, reason, joinMessages(problems))
	} else {
		r.setCondition(st, status, swarmv1.ConditionDegraded, metav1.ConditionFalse, swarmv1.ReasonAsRequested, "Every object of the stack is applied")
	}
	status.ObservedGeneration = st.Generation
	if err := r.observe(ctx, st, status, children); err != nil {
		return err
	}
	if conflict {
		return errNameConflict
	}
	return nil
}

// checkFiles refuses, as Swarm does, a stack's own secret or config whose content changed after
// the stack deployed it (swarmsyntax.CheckFileUpdate). An immutable object cannot change — the
// plugin and convert make them so, and the API server refuses any new content. For the others
// (made by an earlier kubeswarm, or by hand) the digest of the content is recorded on the object
// the first time, and compared afterwards. A missing object is for its services to report.
func (r *StackReconciler) checkFiles(ctx context.Context, st *swarmv1.Stack) ([]error, error) {
	var changed []error
	for _, f := range stack.Files(st) {
		var obj client.Object = &corev1.Secret{}
		if f.Kind == "config" {
			obj = &corev1.ConfigMap{}
		}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: f.Object}, obj)
		if apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("reading %s %s: %w", kindOf(obj), f.Object, err)
		}
		if immutable(obj) {
			continue
		}
		digest := stack.ContentDigest(stack.FileContent(obj))
		switch recorded := obj.GetAnnotations()[stack.AnnotationDeployedContent]; recorded {
		case "":
			// The lock makes sure that the digest is of the content just read.
			patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[stack.AnnotationDeployedContent] = digest
			obj.SetAnnotations(annotations)
			if err := r.Patch(ctx, obj, patch, client.FieldOwner(FieldOwner)); err != nil {
				return nil, fmt.Errorf("recording the content of %s %s: %w", kindOf(obj), f.Object, err)
			}
		case digest:
		default:
			changed = append(changed, fmt.Errorf("%s %s (%s %s) changed after the stack deployed it: %w",
				f.Kind, f.Key, kindOf(obj), f.Object, &swarmsyntax.FileChangeError{Kind: f.Kind, Name: f.Key}))
		}
	}
	return changed, nil
}

func immutable(obj client.Object) bool {
	switch o := obj.(type) {
	case *corev1.Secret:
		return ptr.Deref(o.Immutable, false)
	case *corev1.ConfigMap:
		return ptr.Deref(o.Immutable, false)
	}
	return false
}

// applyChild creates or updates a stack's Service. An existing one is written only when the
// Stack changed since it was last written (or it was deleted): a `service update` of a stack's
// service lasts until the next deploy, as in Swarm.
func (r *StackReconciler) applyChild(ctx context.Context, st *swarmv1.Stack, want *swarmv1.Service) error {
	existing := &swarmv1.Service{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), existing)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.Create(ctx, want); err != nil {
			return fmt.Errorf("creating Service %s: %w", want.Name, err)
		}
		r.Recorder.Eventf(st, nil, corev1.EventTypeNormal, "Created", "Deploy", "Creating service %s", want.Name)
		return nil
	case err != nil:
		return err
	case !metav1.IsControlledBy(existing, st):
		return fmt.Errorf("%w: Service %s exists and does not belong to this stack; remove it or rename the stack", errNameConflict, want.Name)
	case existing.Annotations[stack.AnnotationStackGeneration] == want.Annotations[stack.AnnotationStackGeneration]:
		return nil
	}
	updated := existing.DeepCopy()
	updated.Spec = want.Spec
	updated.Labels = want.Labels
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	for k, v := range want.Annotations {
		updated.Annotations[k] = v
	}
	if _, ok := want.Annotations[stack.AnnotationNetworkDNS]; !ok {
		delete(updated.Annotations, stack.AnnotationNetworkDNS) // the collision went
	}
	if err := r.Update(ctx, updated); err != nil {
		return fmt.Errorf("updating Service %s: %w", want.Name, err)
	}
	if !equality.Semantic.DeepEqual(existing.Spec, updated.Spec) {
		r.Recorder.Eventf(st, nil, corev1.EventTypeNormal, "Updated", "Deploy", "Updating service %s", want.Name)
	}
	return nil
}

// prune deletes the services (and the names and policies) that left the stack's spec.
// Claims are never deleted: docker stack deploy and stack rm never remove volumes.
func (r *StackReconciler) prune(ctx context.Context, st *swarmv1.Stack, children, slices map[string]bool) error {
	inStack := client.MatchingLabels{translate.LabelStack: st.Name}
	services := &swarmv1.ServiceList{}
	if err := r.List(ctx, services, client.InNamespace(st.Namespace), inStack); err != nil {
		return err
	}
	for i := range services.Items {
		s := &services.Items[i]
		if children[s.Name] || !metav1.IsControlledBy(s, st) {
			continue
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing service %s: %w", s.Name, err)
		}
		r.Recorder.Eventf(st, nil, corev1.EventTypeNormal, "Deleted", "Deploy", "Removing service %s", s.Name)
	}
	if err := r.pruneNames(ctx, st, slices); err != nil {
		return err
	}
	wantPolicy := map[string]bool{}
	for _, np := range objects.NetworkPolicies(st) {
		wantPolicy[*np.Name] = true
	}
	return r.pruneOwned(ctx, st, &networkingv1.NetworkPolicyList{}, func(o client.Object) bool { return wantPolicy[o.GetName()] })
}

// observe sums up the stack's services (docker stack services) and sets Ready and Progressing.
func (r *StackReconciler) observe(ctx context.Context, st *swarmv1.Stack, status *swarmv1.StackStatus, children map[string]bool) error {
	services := &swarmv1.ServiceList{}
	if err := r.List(ctx, services, client.InNamespace(st.Namespace), client.MatchingLabels{translate.LabelStack: st.Name}); err != nil {
		return err
	}
	status.Services = nil
	var notReady, progressing, degraded []string
	var owned []swarmv1.Service
	for i := range services.Items {
		s := &services.Items[i]
		if !metav1.IsControlledBy(s, st) {
			continue
		}
		owned = append(owned, *s)
		short := swarmv1.StackServiceShortName(st.Name, s.Name)
		status.Services = append(status.Services, swarmv1.StackServiceStatus{
			Name: short, Mode: s.Spec.Mode, Replicas: s.Status.Replicas, Image: s.Spec.Image, Ports: s.Status.PortsSummary, Hostnames: s.Status.Hostnames})
		if !meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionReady) {
			notReady = append(notReady, fmt.Sprintf("%s %s", short, s.Status.Replicas))
		}
		if meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionProgressing) {
			progressing = append(progressing, short)
		}
		if c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded); c != nil && c.Status == metav1.ConditionTrue {
			degraded = append(degraded, fmt.Sprintf("%s: %s", short, c.Message))
		}
	}
	sort.Slice(status.Services, func(i, j int) bool { return status.Services[i].Name < status.Services[j].Name })
	status.ServiceCount = int32(len(status.Services))
	if children != nil && len(status.Services) < len(children) {
		notReady = append(notReady, fmt.Sprintf("%d of %d services created", len(status.Services), len(children)))
	}
	if len(progressing) == 0 {
		r.setCondition(st, status, swarmv1.ConditionProgressing, metav1.ConditionFalse, swarmv1.ReasonConverged, "No service is being updated")
	} else {
		r.setCondition(st, status, swarmv1.ConditionProgressing, metav1.ConditionTrue, swarmv1.ReasonUpdating, "Updating: "+strings.Join(progressing, ", "))
	}
	if len(degraded) > 0 && !meta.IsStatusConditionTrue(status.Conditions, swarmv1.ConditionDegraded) {
		r.setCondition(st, status, swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonServiceDegraded, strings.Join(degraded, "; "))
	}
	// A stack is Ready only when it keeps every promise: nothing Degraded (a name another
	// stack holds, an invalid stack, a degraded service), every service running.
	switch deg := meta.FindStatusCondition(status.Conditions, swarmv1.ConditionDegraded); {
	case deg != nil && deg.Status == metav1.ConditionTrue:
		r.setCondition(st, status, swarmv1.ConditionReady, metav1.ConditionFalse, deg.Reason, deg.Message)
	case len(notReady) > 0:
		r.setCondition(st, status, swarmv1.ConditionReady, metav1.ConditionFalse, swarmv1.ReasonTasksPending, "Not ready: "+strings.Join(notReady, ", "))
	default:
		r.setCondition(st, status, swarmv1.ConditionReady, metav1.ConditionTrue, swarmv1.ReasonConverged, "Every service runs its desired tasks")
	}
	if stall := stackStall(st, status, owned); stall != nil {
		// The stack has seen this generation, even when it could not deploy it.
		status.ObservedGeneration = st.Generation
		meta.SetStatusCondition(&status.Conditions, *stall)
	} else {
		meta.RemoveStatusCondition(&status.Conditions, swarmv1.ConditionStalled)
	}
	return nil
}

// stackOfObject is the Stack named by the stack label of an object kubeswarm made for a stack (a
// claim, a Secret, a ConfigMap, an EndpointSlice of its names or of its services' Services).
func stackOfObject(_ context.Context, o client.Object) []reconcile.Request {
	name := stack.ClaimStack(o)
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

// ReasonServiceDegraded: one of the stack's services is Degraded.
const ReasonServiceDegraded = "ServiceDegraded"

// fileRetry is how soon a stack whose secret changed looks again for the content put back.
const fileRetry = 5 * time.Second

// errFileChanged: a stack's secret or config changed; the stack waits for it to be put back.
var errFileChanged = errors.New("a secret or config of the stack changed")

// ReasonFileChanged: the content of one of the stack's secrets or configs changed, which Swarm
// never allows.
const ReasonFileChanged = "FileChanged"

func (r *StackReconciler) setCondition(st *swarmv1.Stack, status *swarmv1.StackStatus, typ string, s metav1.ConditionStatus, reason, msg string) {
	cond := metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: st.Generation}
	if old := meta.FindStatusCondition(status.Conditions, typ); typ == swarmv1.ConditionDegraded && s == metav1.ConditionTrue &&
		(old == nil || old.Status != s || old.Message != msg) {
		r.Recorder.Eventf(st, nil, corev1.EventTypeWarning, reason, "Deploy", "%s", msg)
	}
	meta.SetStatusCondition(&status.Conditions, cond)
}

func (r *StackReconciler) updateStatus(ctx context.Context, st *swarmv1.Stack, status *swarmv1.StackStatus) error {
	if equality.Semantic.DeepEqual(&st.Status, status) {
		return nil
	}
	base := st.DeepCopy()
	st.Status = *status
	if err := r.Status().Patch(ctx, st, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating the status: %w", err)
	}
	return nil
}

// SetupWithManager registers the controller: Stacks, everything they own, and the claims and
// ConfigMaps labelled with a stack (which it does not own), so that a claim removed by `volume
// rm` while the stack still declares the volume is made again, and a config whose content
// changes is reported at once (a secret at the stack's next reconcile: Secrets are read by name
// only).
func (r *StackReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&swarmv1.Stack{}).
		Owns(&swarmv1.Service{}).
		Owns(&corev1.Service{}).
		Owns(&networkingv1.NetworkPolicy{}).
		// The stack's own slices, and those of its services' Kubernetes Services (which carry
		// the stack label): their addresses are the names' answers.
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(stackOfObject)).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(stackOfObject)).
		// Secrets are read by name only (the operator may not list them): a changed one is found
		// at the stack's next reconcile; the stack's own are immutable anyway.
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(stackOfObject)).
		Named("stack").
		Complete(r)
}
