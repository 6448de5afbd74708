package controllers

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// legacyLabelShortNameOf marked the ExternalName Services that gave a stack's services their
// short names before names were scoped to networks; prune removes them.
const legacyLabelShortNameOf = "swarm.kubeswarm.io/short-name-of"

// applyNames writes the stack's networks' names (internal/objects' DNSServices and
// DNSEndpointSlices): a headless Service per network and the slices that name the services on
// it. slices are the names of the slices the stack has now; nil when they were not worked out.
func (r *StackReconciler) applyNames(ctx context.Context, st *swarmv1.Stack) (slices map[string]bool, problems []error) {
	for _, svc := range objects.DNSServices(st) {
		key := client.ObjectKey{Namespace: st.Namespace, Name: *svc.Name}
		if err := applyIfChanged(ctx, &r.childApplier, st, key, &corev1.Service{}, svc, corev1ac.ExtractService); err != nil {
			problems = append(problems, fmt.Errorf("the names of network %s: %w", svc.Labels[stack.LabelNetworkDNS], err))
		}
	}
	for _, n := range stack.SharedNetworks(st) {
		if err := r.shareNames(ctx, st, n); err != nil {
			problems = append(problems, fmt.Errorf("the names of external network %s: %w", stack.NetworkName(st, n), err))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	addrs, err := r.addresses(ctx, st)
	if err != nil {
		return nil, []error{err}
	}
	slices = map[string]bool{}
	for _, es := range objects.DNSEndpointSlices(st, addrs) {
		slices[*es.Name] = true
		key := client.ObjectKey{Namespace: st.Namespace, Name: *es.Name}
		if err := applyIfChanged(ctx, &r.childApplier, st, key, &discoveryv1.EndpointSlice{}, es, discoveryv1ac.ExtractEndpointSlice); err != nil {
			problems = append(problems, err)
		}
	}
	return slices, problems
}

// shareNames makes the DNS Service of the stack's external network n, which the namespace's
// stacks on it share, or adds the stack to its owners. A Service of that name that is not
// kubeswarm's is left alone, and reported: the network's names do not resolve.
func (r *StackReconciler) shareNames(ctx context.Context, st *swarmv1.Stack, n string) error {
	want := objects.SharedDNSService(st, n)
	existing := &corev1.Service{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), existing)
	switch {
	case apierrors.IsNotFound(err):
		err := r.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) { // not in the cache: not kubeswarm's
			return fmt.Errorf("its DNS Service %s exists and is not kubeswarm's; rename that Service, or the network", want.Name)
		}
		return err
	case err != nil:
		return err
	case existing.Labels[stack.LabelSharedNetworkDNS] != want.Labels[stack.LabelSharedNetworkDNS]:
		return fmt.Errorf("its DNS Service %s is another object of kubeswarm's; rename the network", want.Name)
	}
	for _, o := range existing.OwnerReferences {
		if o.UID == st.UID {
			return nil
		}
	}
	patch := client.MergeFromWithOptions(existing.DeepCopy(), client.MergeFromWithOptimisticLock{})
	existing.OwnerReferences = append(existing.OwnerReferences, objects.SharedOwner(st))
	return r.Patch(ctx, existing, patch)
}

// unshareNames takes the stack out of the owners of the shared DNS Services of the external
// networks it left, deleting one it was the last owner of.
func (r *StackReconciler) unshareNames(ctx context.Context, st *swarmv1.Stack) error {
	using := map[string]bool{}
	for _, n := range stack.SharedNetworks(st) {
		using[stack.SharedDNSName(st, n)] = true
	}
	list := &corev1.ServiceList{}
	if err := r.List(ctx, list, client.InNamespace(st.Namespace), client.HasLabels{stack.LabelSharedNetworkDNS}); err != nil {
		return err
	}
	for i := range list.Items {
		svc := &list.Items[i]
		if using[svc.Name] || !slices.ContainsFunc(svc.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == st.UID }) {
			continue
		}
		patch := client.MergeFromWithOptions(svc.DeepCopy(), client.MergeFromWithOptimisticLock{})
		svc.OwnerReferences = slices.DeleteFunc(svc.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == st.UID })
		var err error
		if len(svc.OwnerReferences) == 0 {
			err = r.Delete(ctx, svc, client.Preconditions{ResourceVersion: &svc.ResourceVersion})
		} else {
			err = r.Patch(ctx, svc, patch)
		}
		if client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// addresses are where each of the stack's services answers: the virtual IP of its Kubernetes
// Service, and its ready tasks' addresses from that Service's EndpointSlices.
func (r *StackReconciler) addresses(ctx context.Context, st *swarmv1.Stack) (map[string]stack.ServiceAddresses, error) {
	inStack := client.MatchingLabels{translate.LabelStack: st.Name}
	out := map[string]stack.ServiceAddresses{}
	kube := &corev1.ServiceList{}
	if err := r.List(ctx, kube, client.InNamespace(st.Namespace), inStack, client.HasLabels{translate.LabelService}); err != nil {
		return nil, err
	}
	for _, k := range kube.Items {
		if ip := k.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			out[k.Name] = stack.ServiceAddresses{VIP: ip}
		}
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := r.List(ctx, slices, client.InNamespace(st.Namespace), inStack); err != nil {
		return nil, err
	}
	for _, es := range slices.Items {
		name := es.Labels[discoveryv1.LabelServiceName]
		if stack.IsDNSSlice(es.Labels) || name == "" {
			continue
		}
		a := out[name]
		for _, ep := range es.Endpoints {
			if ptr.Deref(ep.Conditions.Ready, true) {
				a.Tasks = append(a.Tasks, ep.Addresses...)
			}
		}
		out[name] = a
	}
	return out, nil
}

// pruneNames deletes the names the stack no longer has: DNS Services and slices (other than
// wantSlices, unless nil) of networks it left, and the short-name Services of earlier versions.
func (r *StackReconciler) pruneNames(ctx context.Context, st *swarmv1.Stack, wantSlices map[string]bool) error {
	want := map[string]bool{}
	for _, svc := range objects.DNSServices(st) {
		want[*svc.Name] = true
	}
	err := r.pruneOwned(ctx, st, &corev1.ServiceList{}, func(o client.Object) bool {
		_, legacy := o.GetLabels()[legacyLabelShortNameOf]
		_, dns := o.GetLabels()[stack.LabelNetworkDNS]
		return !legacy && (!dns || want[o.GetName()])
	})
	if err == nil {
		err = r.unshareNames(ctx, st)
	}
	if err != nil || wantSlices == nil {
		return err
	}
	return r.pruneOwned(ctx, st, &discoveryv1.EndpointSliceList{}, func(o client.Object) bool {
		return !stack.IsDNSSlice(o.GetLabels()) || wantSlices[o.GetName()]
	})
}

// pruneOwned deletes the objects of the list's kind, labelled with the stack, that the Stack
// controls and keep does not keep.
func (r *StackReconciler) pruneOwned(ctx context.Context, st *swarmv1.Stack, list client.ObjectList, keep func(client.Object) bool) error {
	return deleteControlled(ctx, r.Client, st, list, client.MatchingLabels{translate.LabelStack: st.Name}, keep, nil)
}
