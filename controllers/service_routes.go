package controllers

import (
	"context"
	"flag"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/routes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Route settings (--routes): which kind of object the proxy labels of services become.
const (
	RoutesAuto      = "auto"
	RoutesHTTPRoute = "httproute"
	RoutesIngress   = "ingress"
	RoutesOff       = "off"
)

// RouteOptions are the operator's settings for the routes made of Traefik and Caddy labels.
type RouteOptions struct {
	// Mode is auto (HTTPRoutes where the cluster serves the Gateway API, else an Ingress),
	// httproute, ingress or off.
	Mode string
	// Gateway (NAMESPACE/NAME) the HTTPRoutes attach to, unless the Stack or the namespace names
	// another.
	Gateway string
	// ExposedByDefault is Traefik's providers.docker.exposedByDefault.
	ExposedByDefault bool
	// IngressClass of the Ingresses ("": the cluster's default class).
	IngressClass string

	// kind is what Mode resolved to on this cluster ("" for off).
	kind routes.Kind
}

// BindFlags registers the route settings as command-line flags.
func (o *RouteOptions) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Mode, "routes", RoutesAuto, "What Traefik and caddy-docker-proxy labels of services become: auto (Gateway API HTTPRoutes when the cluster serves them, else Ingresses), httproute, ingress, or off.")
	fs.StringVar(&o.Gateway, "gateway", "", "Gateway (NAMESPACE/NAME) that the HTTPRoutes attach to, unless a Stack's spec.gateway or the namespace's "+routes.AnnotationGateway+" annotation names another.")
	fs.BoolVar(&o.ExposedByDefault, "routes-exposed-by-default", true, "Route a service with Traefik labels but no traefik.enable label, as Traefik's providers.docker.exposedByDefault (true by default there too).")
	fs.StringVar(&o.IngressClass, "ingress-class", "", "IngressClass of the Ingresses made from proxy labels (empty: the cluster's default class).")
}

var httpRouteKind = schema.GroupKind{Group: gwv1.GroupName, Kind: "HTTPRoute"}

// resolve decides, once at start, which kind of route the cluster takes: the Gateway API's
// HTTPRoute when it is served (auto prefers it when both are), else an Ingress.
func (o RouteOptions) resolve(mapper meta.RESTMapper) (RouteOptions, error) {
	if o.Gateway != "" {
		if _, err := routes.ParseGateway(o.Gateway, ""); err != nil {
			return o, fmt.Errorf("--gateway: %w", err)
		}
	}
	switch o.Mode {
	case RoutesOff:
		o.kind = ""
		return o, nil
	case RoutesIngress:
		o.kind = routes.KindIngress
		return o, nil
	case RoutesHTTPRoute, RoutesAuto, "":
	default:
		return o, fmt.Errorf("--routes=%s: want auto, httproute, ingress or off", o.Mode)
	}
	_, err := mapper.RESTMapping(httpRouteKind, gwv1.GroupVersion.Version)
	switch {
	case err == nil:
		o.kind = routes.KindHTTPRoute
	case !meta.IsNoMatchError(err):
		return o, fmt.Errorf("looking for the Gateway API: %w", err)
	case o.Mode == RoutesHTTPRoute:
		return o, fmt.Errorf("--routes=httproute: the cluster does not serve %s/%s; install the Gateway API CRDs or use --routes=auto", gwv1.GroupVersion, httpRouteKind.Kind)
	default:
		o.kind = routes.KindIngress
	}
	return o, nil
}

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=swarm.kubeswarm.io,resources=stacks,verbs=get;list;watch

// applyRoutes applies the routes of a service's proxy labels, removes those it no longer asks
// for, and records their hostnames. It returns what the routes only approximate.
func (r *ServiceReconciler) applyRoutes(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) ([]string, error) {
	status.Hostnames = nil
	if r.Routes.kind == "" {
		return nil, nil
	}
	opts, err := r.routeOptions(ctx, svc)
	if err != nil {
		return nil, err
	}
	var ports []int32
	for _, p := range svc.Spec.Ports {
		if !slices.Contains(ports, p.Target) {
			ports = append(ports, p.Target)
		}
	}
	want := routes.Build(routes.Service{
		Name: svc.Name, Namespace: svc.Namespace, Labels: svc.Spec.Labels, Ports: ports,
		ObjectLabels: translate.ObjectLabels(svc.Name, svc.Labels[translate.LabelStack]), Owner: objects.OwnerReference(svc),
	}, opts)
	keep := map[string]bool{}
	for _, hr := range want.HTTPRoutes {
		key := client.ObjectKey{Namespace: svc.Namespace, Name: *hr.Name}
		if err := applyIfChanged(ctx, &r.childApplier, svc, key, &gwv1.HTTPRoute{}, hr, gwac.ExtractHTTPRoute); err != nil {
			return nil, err
		}
		keep[*hr.Name] = true
	}
	if want.Ingress != nil {
		key := client.ObjectKey{Namespace: svc.Namespace, Name: *want.Ingress.Name}
		if err := applyIfChanged(ctx, &r.childApplier, svc, key, &networkingv1.Ingress{}, want.Ingress, networkingv1ac.ExtractIngress); err != nil {
			return nil, err
		}
		keep[*want.Ingress.Name] = true
	}
	if err := r.removeRoutes(ctx, svc, keep); err != nil {
		return nil, fmt.Errorf("removing routes: %w", err)
	}
	status.Hostnames = want.Hostnames
	return want.Notes, nil
}

// routeOptions are the route settings for a service: its Stack's spec.gateway, else its
// namespace's annotation, else the operator's --gateway.
func (r *ServiceReconciler) routeOptions(ctx context.Context, svc *swarmv1.Service) (routes.Options, error) {
	opts := routes.Options{Kind: r.Routes.kind, ExposedByDefault: r.Routes.ExposedByDefault, IngressClassName: r.Routes.IngressClass}
	if opts.Kind != routes.KindHTTPRoute {
		return opts, nil
	}
	name, from := r.Routes.Gateway, "--gateway"
	// Namespaces are watched by their metadata (watchRoutes); read them from that cache.
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Get(ctx, client.ObjectKey{Name: svc.Namespace}, ns); client.IgnoreNotFound(err) != nil {
		return opts, fmt.Errorf("reading namespace %s: %w", svc.Namespace, err)
	}
	if v := ns.Annotations[routes.AnnotationGateway]; v != "" {
		name, from = v, "annotation "+routes.AnnotationGateway+" of namespace "+svc.Namespace
	}
	if owner := metav1.GetControllerOf(svc); owner != nil && owner.Kind == "Stack" {
		st := &swarmv1.Stack{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: owner.Name}, st); client.IgnoreNotFound(err) != nil {
			return opts, fmt.Errorf("reading stack %s: %w", owner.Name, err)
		}
		if st.Spec.Gateway != "" {
			name, from = st.Spec.Gateway, "spec.gateway of stack "+st.Name
		}
	}
	if name == "" {
		return opts, nil
	}
	gw, err := routes.ParseGateway(name, svc.Namespace)
	if err != nil {
		return opts, fmt.Errorf("%s: %w", from, err)
	}
	opts.Gateway = &gw
	return opts, nil
}

// removeRoutes deletes the service's route objects that are not in keep.
func (r *ServiceReconciler) removeRoutes(ctx context.Context, svc *swarmv1.Service, keep map[string]bool) error {
	var list client.ObjectList
	switch r.Routes.kind {
	case routes.KindHTTPRoute:
		list = &gwv1.HTTPRouteList{}
	case routes.KindIngress:
		list = &networkingv1.IngressList{}
	default:
		return nil
	}
	return deleteControlled(ctx, r.Client, svc, list, translate.SelectorLabels(svc.Name),
		func(o client.Object) bool { return keep[o.GetName()] },
		func(o client.Object) {
			r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted %s %s: the service's labels no longer ask for it", kindOf(o), o.GetName())
		})
}

// watchRoutes adds the route objects to the Service controller's watches: the kind it makes
// (so a hand edit is reverted), and namespaces, whose annotation may name the Gateway.
func (r *ServiceReconciler) watchRoutes(b *builder.Builder) *builder.Builder {
	switch r.Routes.kind {
	case routes.KindHTTPRoute:
		b = b.Owns(&gwv1.HTTPRoute{}).
			WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.servicesOfNamespace),
				builder.WithPredicates(gatewayAnnotationChanged()))
	case routes.KindIngress:
		b = b.Owns(&networkingv1.Ingress{})
	}
	return b
}

// servicesOfNamespace maps a namespace to its services.
func (r *ServiceReconciler) servicesOfNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &swarmv1.ServiceList{}
	if err := r.List(ctx, list, client.InNamespace(o.GetName())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Services of a namespace", "namespace", o.GetName())
		return nil
	}
	return requestsFor(list.Items, func(*swarmv1.Service) bool { return true })
}

// gatewayAnnotationChanged lets through a namespace whose Gateway annotation changed.
func gatewayAnnotationChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetAnnotations()[routes.AnnotationGateway] != e.ObjectNew.GetAnnotations()[routes.AnnotationGateway]
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
