package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// childApplier writes the objects a kubeswarm object owns: by server-side apply, only when they
// differ, never over an object someone else owns.
type childApplier struct {
	client.Client
	// APIReader reads objects that the cache does not hold (it holds only kubeswarm's own).
	APIReader client.Reader
	Recorder  events.EventRecorder
}

// getOwned reads a child. found is false when there is none; an object of that name that the
// owner does not control is a name conflict, never taken over, unless an adoptIf option says
// it is the owner's (a stack's claim).
func (r *childApplier) getOwned(ctx context.Context, owner client.Object, key client.ObjectKey, obj client.Object, opts ...applyOption) (bool, error) {
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
	case !metav1.IsControlledBy(obj, owner) && adoptable(obj, opts):
		return true, nil
	case !metav1.IsControlledBy(obj, owner):
		what := strings.ToLower(kindOf(owner))
		return true, kindError(errNameConflict, nil, "%s %s exists and does not belong to this %s; rename the %s or remove that object",
			kindOf(obj), key.Name, what, what)
	}
	return true, nil
}

// applyIfChanged applies desired unless the fields kubeswarm owns in the existing object already
// equal it, so that an unchanged service causes no write. A field someone else changed is no
// longer owned by kubeswarm, so the comparison fails and the apply restores it.
func applyIfChanged[O client.Object, A runtime.ApplyConfiguration](ctx context.Context, r *childApplier, owner client.Object,
	key client.ObjectKey, existing O, desired A, extract func(O, string) (A, error), opts ...applyOption) error {
	kind := kindOf(existing)
	found, err := r.getOwned(ctx, owner, key, existing, opts...)
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
	// The reply (read into desired) is the object as written, which the cache may not hold yet:
	// existing becomes it, for the caller to read what the server filled in.
	if err := convert(desired, existing); err != nil {
		return fmt.Errorf("reading the applied %s %s: %w", kind, key.Name, err)
	}
	if !found {
		// A new object is the owner's creation or a change to it, which the owner's status
		// shows: an event each would double what a new service costs the apiserver.
		ctrl.LoggerFrom(ctx).V(2).Info("Created "+kind, "name", key.Name)
		return nil
	}
	r.Recorder.Eventf(owner, nil, corev1.EventTypeNormal, "Updated", "Apply", "Updated %s %s", kind, key.Name)
	ctrl.LoggerFrom(ctx).V(2).Info("Updated "+kind, "name", key.Name)
	return nil
}

// sameAs tells whether two apply configurations describe the same object of type O. Both are
// read into O first, so that a field set to its zero value (which the server does not store)
// compares equal to an absent one.
func sameAs[O client.Object](a, b any) (bool, error) {
	typed := func(v any) (any, error) {
		obj := reflect.New(reflect.TypeFor[O]().Elem()).Interface()
		return obj, convert(v, obj)
	}
	x, err := typed(a)
	if err != nil {
		return false, err
	}
	y, err := typed(b)
	if err != nil {
		return false, err
	}
	defaultFieldRefs(x)
	defaultFieldRefs(y)
	return equality.Semantic.DeepEqual(x, y), nil
}

// defaultFieldRefs gives the downward-API variables of a workload's pod template the API version
// the API server defaults them to (v1), so that a template kubeswarm writes without it compares
// equal to the one the server holds: the env list's items are owned whole, defaults included.
func defaultFieldRefs(obj any) {
	var tmpl *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		tmpl = &o.Spec.Template
	case *appsv1.StatefulSet:
		tmpl = &o.Spec.Template
	case *appsv1.DaemonSet:
		tmpl = &o.Spec.Template
	case *batchv1.Job:
		tmpl = &o.Spec.Template
	default:
		return
	}
	for _, cs := range [][]corev1.Container{tmpl.Spec.InitContainers, tmpl.Spec.Containers} {
		for i := range cs {
			for j := range cs[i].Env {
				if f := cs[i].Env[j].ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.APIVersion == "" {
					f.FieldRef.APIVersion = "v1"
				}
			}
		}
	}
}

// convert reads from, an apply configuration or an object, into to, through their JSON form.
func convert(from, to any) error {
	data, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, to)
}

func newChildApplier(mgr ctrl.Manager) childApplier {
	return childApplier{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("kubeswarm")}
}

// applyOption changes how a child is applied.
type applyOption func(*applyOptions)

type applyOptions struct{ adopt func(client.Object) bool }

// adoptIf lets the owner write an object it does not control when f says it is its own (a
// claim labelled with a stack, which the Stack never owns). f decides about the object's
// controller too.
func adoptIf(f func(client.Object) bool) applyOption {
	return func(o *applyOptions) { o.adopt = f }
}

func adoptable(obj client.Object, opts []applyOption) bool {
	var o applyOptions
	for _, f := range opts {
		f(&o)
	}
	return o.adopt != nil && o.adopt(obj)
}

// kindedError is an error of a kind the Degraded condition reports with its own reason
// (errNameConflict, errPortInUse, errMissingObject): errors.Is finds the kind, and the
// condition's message is msg, so that neither is parsed out of the error's text.
type kindedError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindedError) Error() string { return e.kind.Error() + ": " + e.msg }

func (e *kindedError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// kindError is an error of kind, saying msg (and wrapping cause, when not nil).
func kindError(kind, cause error, format string, args ...any) error {
	return &kindedError{kind: kind, msg: fmt.Sprintf(format, args...), cause: cause}
}

// conditionMessage is what a condition says of err: the message of a kinded error, without its
// kind; any other error (or a kinded one wrapped with more words) as it reads.
func conditionMessage(err error) string {
	var k *kindedError
	if errors.As(err, &k) && k.Error() == err.Error() {
		return k.msg
	}
	return err.Error()
}

// namespaceDeleting tells whether a namespace is being deleted, from its metadata in the cache.
// Nothing new is accepted there any more (the API server refuses every create, events included)
// and the kubeswarm objects in it go with it, so a controller leaves them alone instead of
// applying again the children the namespace's deletion removes.
func namespaceDeleting(ctx context.Context, c client.Reader, namespace string) bool {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return false
	}
	return !ns.DeletionTimestamp.IsZero()
}

// namespaceTerminating tells whether err is the API server refusing a write because the
// namespace is being deleted. The kubeswarm objects in it go with it: such a pass stops without
// a retry, a status write or an event (each would be refused the same way, over and over while
// the namespace empties). It covers what namespaceDeleting cannot: a deletion the cache has not
// seen yet.
func namespaceTerminating(err error) bool {
	var s apierrors.APIStatus
	if !errors.As(err, &s) || s.Status().Details == nil {
		return false
	}
	for _, c := range s.Status().Details.Causes {
		if c.Type == corev1.NamespaceTerminatingCause {
			return true
		}
	}
	return false
}

// joinMessages is the message of several errors, as a condition says them.
func joinMessages(errs []error) string {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

// deleteControlled deletes the objects of the list's kind, in the owner's namespace and with the
// labels, that the owner controls and keep does not keep; deleted, when not nil, hears of each.
func deleteControlled(ctx context.Context, c client.Client, owner client.Object, list client.ObjectList, labels client.MatchingLabels,
	keep func(client.Object) bool, deleted func(client.Object)) error {
	if err := c.List(ctx, list, client.InNamespace(owner.GetNamespace()), labels); err != nil {
		return err
	}
	return meta.EachListItem(list, func(item runtime.Object) error {
		o, ok := item.(client.Object)
		if !ok || keep(o) || !metav1.IsControlledBy(o, owner) {
			return nil
		}
		if err := c.Delete(ctx, o); err != nil {
			return client.IgnoreNotFound(err)
		}
		if deleted != nil {
			deleted(o)
		}
		return nil
	})
}
