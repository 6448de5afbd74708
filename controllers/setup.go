package controllers

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Config is what the operator's flags set for the controllers.
type Config struct {
	Translate translate.Options
	Nodes     NodeOptions
	// NodeDownAfter is how long a node's kubelet may go without renewing its Lease before the
	// node is down and its replicated tasks move (NodeFailureReconciler); 0: the Lease's own
	// duration; negative: never (Kubernetes' own node failure handling only).
	NodeDownAfter time.Duration
	// Routes: what the Traefik and Caddy labels of services become.
	Routes RouteOptions
	// ImageHealthchecks reads the HEALTHCHECK of services' images (nil: not read).
	ImageHealthchecks *images.Healthchecks
}

// CacheOptions limit the informers of child kinds to the objects kubeswarm made (labelled
// app.kubernetes.io/managed-by=kubeswarm), so the operator does not hold every Deployment and
// Service of the cluster in memory.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{translate.LabelManagedBy: translate.ManagedByValue}), Transform: keepOwnManagedFields}
	hasStack, err := labels.NewRequirement(translate.LabelStack, selection.Exists, nil)
	utilruntime.Must(err) // a constant, valid key
	inStack := managed.Label.Add(*hasStack)
	return cache.Options{
		// What is watched by metadata only, and HTTPRoutes (applied like every child).
		DefaultTransform: keepOwnManagedFields,
		ByObject: map[client.Object]cache.ByObject{
			// kubeswarm's own kinds are never applied by the operator, only patched (status) or
			// updated whole (a rollback, a stack's service), so no entry is kept (dropManagedFields).
			&swarmv1.Service{}:    {Transform: dropManagedFields},
			&swarmv1.Stack{}:      {Transform: dropManagedFields},
			&swarmv1.Node{}:       {Transform: dropManagedFields},
			&appsv1.Deployment{}:  managed,
			&appsv1.StatefulSet{}: managed,
			&appsv1.DaemonSet{}:   managed,
			&batchv1.Job{}:        managed,
			&corev1.Service{}:     managed,
			// Tasks carry the label through their pod template; most of a task's spec is of no use
			// to the operator (trimTask).
			&corev1.Pod{}:                   {Label: managed.Label, Transform: trimTask},
			&corev1.PersistentVolumeClaim{}: managed,
			&networkingv1.NetworkPolicy{}:   managed,
			// A stack's names, and the slices of its services' Services (they copy the labels): only
			// a stack's are read (stack_names.go), so a service outside any stack has none cached.
			&discoveryv1.EndpointSlice{}: {Label: inStack, Transform: keepOwnManagedFields},
			&networkingv1.Ingress{}:      managed,
			// Every node is watched; their image lists are big and of no use to kubeswarm.
			&corev1.Node{}: {Transform: dropNodeImages},
			// Only the kubelets' Leases (the leader election's Lease is read without the cache).
			&coordinationv1.Lease{}: {Namespaces: map[string]cache.Config{corev1.NamespaceNodeLease: {}}, Transform: keepOwnManagedFields},
		}}
}

func dropNodeImages(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return keepOwnManagedFields(obj)
}

// trimTask keeps of a cached task what the operator reads: its metadata, node, scheduling gates,
// node affinity (update.Admit, Release), its containers' names and images (the visualizer), and
// of its status the phase, reason, message, conditions and its containers' states, restarts and
// readiness (update.Judge, the tasks' states). What goes is most of a task's size: environment,
// mounts, volumes, probes, resources, DNS settings, tolerations, security contexts, addresses,
// image and container IDs, and every field manager's entry (pods are never applied, so not even
// kubeswarm's own is compared). Pods are only ever patched (merge patches between two trimmed
// copies) or deleted, never written whole.
func trimTask(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return keepOwnManagedFields(obj)
	}
	containers := make([]corev1.Container, len(p.Spec.Containers))
	for i, c := range p.Spec.Containers {
		containers[i] = corev1.Container{Name: c.Name, Image: c.Image}
	}
	p.Spec = corev1.PodSpec{
		NodeName:        p.Spec.NodeName,
		SchedulingGates: p.Spec.SchedulingGates,
		Affinity:        p.Spec.Affinity,
		Containers:      containers,
	}
	p.Status = corev1.PodStatus{
		Phase:                 p.Status.Phase,
		Conditions:            p.Status.Conditions,
		Message:               p.Status.Message,
		Reason:                p.Status.Reason,
		InitContainerStatuses: trimContainerStatuses(p.Status.InitContainerStatuses),
		ContainerStatuses:     trimContainerStatuses(p.Status.ContainerStatuses),
	}
	p.ManagedFields = nil
	return p, nil
}

// trimContainerStatuses keeps of each container's status its name, state, last ended run,
// readiness and restarts.
func trimContainerStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if in == nil {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, cs := range in {
		out[i] = corev1.ContainerStatus{Name: cs.Name, State: cs.State, LastTerminationState: cs.LastTerminationState,
			Ready: cs.Ready, RestartCount: cs.RestartCount}
	}
	return out
}

// keepOwnManagedFields drops from a cached object every managed-field entry but kubeswarm's
// applies: the kubelet's and the controllers' entries are most of a pod's or a node's size and
// nothing reads them, and of kubeswarm's own only its Apply entries are what applyIfChanged
// compares against (managedfields.ExtractInto reads the manager's Apply entry alone; its Update
// entries, from status and gate patches, are read by nothing). Only for kinds kubeswarm never
// writes whole (Update): a partial list sent back would replace the object's.
func keepOwnManagedFields(obj any) (any, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	all := o.GetManagedFields()
	var own []metav1.ManagedFieldsEntry
	for _, mf := range all {
		if (mf.Manager == FieldOwner || mf.Manager == NodeFieldOwner) && mf.Operation == metav1.ManagedFieldsOperationApply {
			own = append(own, mf)
		}
	}
	if len(own) < len(all) {
		o.SetManagedFields(own)
	}
	return obj, nil
}

// dropManagedFields drops every managed-field entry of a cached object that kubeswarm writes
// whole: an Update sent without managed fields (nil) leaves the server's as they are.
func dropManagedFields(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// The operator waits for its CRDs to be Established before it starts (cmd/manager).
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,resourceNames=services.swarm.kubeswarm.io;stacks.swarm.kubeswarm.io;nodes.swarm.kubeswarm.io,verbs=get

// Setup registers every kubeswarm controller with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	routes, err := cfg.Routes.resolve(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	if err := (&ServiceReconciler{
		childApplier:      newChildApplier(mgr),
		Options:           cfg.Translate,
		Routes:            routes,
		ImageHealthchecks: cfg.ImageHealthchecks,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&StackReconciler{
		childApplier: newChildApplier(mgr),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&NodeReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("kubeswarm"),
		Options:  cfg.Nodes,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if cfg.NodeDownAfter < 0 {
		return nil
	}
	// After the Node controller: it indexes the task pods by node.
	return (&NodeFailureReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("kubeswarm"),
		DownAfter: cfg.NodeDownAfter,
	}).SetupWithManager(mgr)
}

// ClusterDNS is the address of the cluster's DNS server: the kube-dns Service's (the name
// kubeadm, kind, k3s and the managed clusters give it), or "" when there is none. The answer is
// written in the pod template of every stack service on a network, so only the API server's
// answer that there is none (NotFound) means none; a failure to ask, Forbidden included (a
// ClusterRole tightened by hand, an authorization webhook down), is an error, not "", which would
// restart those tasks (cmd/manager retries it, then stops and asks for --cluster-dns).
func ClusterDNS(ctx context.Context, reader client.Reader) (string, error) {
	svc := &corev1.Service{}
	err := reader.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceSystem, Name: "kube-dns"}, svc)
	switch {
	case apierrors.IsNotFound(err):
		ctrl.Log.WithName("setup").Info("No cluster DNS Service kube-system/kube-dns; a stack's tasks search their networks' domains after the namespace's", "error", err.Error())
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading Service kube-system/kube-dns (or set --cluster-dns): %w", err)
	}
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		return ip, nil
	}
	return "", nil
}
