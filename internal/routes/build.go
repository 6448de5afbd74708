// Package routes turns the HTTP routing labels of Swarm stacks — Traefik's router labels and
// caddy-docker-proxy's site labels, which a proxy reading the Docker socket realised on Swarm,
// read by internal/proxylabels — into the cluster's own routes: Gateway API HTTPRoutes, or an
// Ingress where the cluster has no Gateway API. Everything here is pure: labels in, apply
// configurations and notes out.
package routes

import (
	"fmt"
	"slices"
	"strings"

	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	gwac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	"github.com/kubeswarm/kubeswarm/internal/proxylabels"
)

// Kind is the kind of route object the cluster takes.
type Kind string

// Route kinds.
const (
	KindHTTPRoute Kind = "HTTPRoute"
	KindIngress   Kind = "Ingress"
)

// Gateway names the Gateway that HTTPRoutes attach to.
type Gateway struct {
	Namespace, Name string
}

// String is NAMESPACE/NAME.
func (g Gateway) String() string { return g.Namespace + "/" + g.Name }

// ParseGateway reads NAMESPACE/NAME (or NAME, in defaultNamespace).
func ParseGateway(s, defaultNamespace string) (Gateway, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = defaultNamespace, s
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return Gateway{}, fmt.Errorf("gateway %q: want NAMESPACE/NAME", s)
	}
	return Gateway{Namespace: ns, Name: name}, nil
}

// Options are the cluster's side of the translation.
type Options struct {
	// Kind of the route objects.
	Kind Kind
	// Gateway the HTTPRoutes attach to; nil: none is named, and no HTTPRoute is made.
	Gateway *Gateway
	// ExposedByDefault is Traefik's providers.docker.exposedByDefault.
	ExposedByDefault bool
	// IngressClassName of the Ingress ("": the cluster's default class).
	IngressClassName string
}

// Service is what the routes are built for.
type Service struct {
	// Name and Namespace of the Kubernetes Service the routes send to.
	Name, Namespace string
	// Labels are the service's labels, which hold the proxy labels.
	Labels map[string]string
	// Ports are the service's target ports; Traefik routes to the only one when no label names a
	// port.
	Ports []int32
	// ObjectLabels go on every route object.
	ObjectLabels map[string]string
	// Owner is the owner reference of every route object.
	Owner *metav1ac.OwnerReferenceApplyConfiguration
}

// Routes are the route objects of a service.
type Routes struct {
	HTTPRoutes []*gwac.HTTPRouteApplyConfiguration
	Ingress    *networkingv1ac.IngressApplyConfiguration
	// Hostnames the routes answer for, sorted.
	Hostnames []string
	// Notes say what the routes only approximate or leave out, naming the label.
	Notes []string
}

// Build makes the route objects of a service.
func Build(svc Service, opts Options) Routes {
	var port int32
	if len(svc.Ports) == 1 {
		port = svc.Ports[0]
	}
	routers, notes := proxylabels.Routers(svc.Labels, opts.ExposedByDefault, port)
	out := Routes{Notes: notes}
	if len(routers) == 0 {
		return out
	}
	var hosts []string
	switch opts.Kind {
	case KindIngress:
		out.Ingress, notes = buildIngress(svc, routers, opts.IngressClassName)
		if out.Ingress != nil {
			for _, rule := range out.Ingress.Spec.Rules {
				if rule.Host != nil {
					hosts = append(hosts, *rule.Host)
				}
			}
		}
	default:
		if opts.Gateway == nil {
			out.Notes = append(out.Notes, "no Gateway is named for the HTTP routes (operator flag --gateway, namespace annotation "+
				AnnotationGateway+", or the Stack's spec.gateway); no route was made")
			return out
		}
		out.HTTPRoutes, notes = buildHTTPRoutes(svc, routers, *opts.Gateway)
		for _, hr := range out.HTTPRoutes {
			for _, h := range hr.Spec.Hostnames {
				hosts = append(hosts, string(h))
			}
		}
	}
	slices.Sort(hosts)
	out.Hostnames = slices.Compact(hosts)
	out.Notes = slices.Compact(append(out.Notes, notes...))
	return out
}

// AnnotationGateway on a namespace names the Gateway (NAMESPACE/NAME) that the routes of its
// services attach to.
const AnnotationGateway = "swarm.kubeswarm.io/gateway"

// AnnotationClusterIssuer is cert-manager's annotation naming the ClusterIssuer that signs an
// Ingress's certificates; a Traefik certresolver names it.
const AnnotationClusterIssuer = "cert-manager.io/cluster-issuer"
