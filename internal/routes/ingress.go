package routes

import (
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/kubeswarm/kubeswarm/internal/proxylabels"
)

// buildIngress makes one Ingress of every router of a service, for a cluster without the
// Gateway API. An Ingress matches only a host and a path and changes nothing in the request:
// the other matchers and the middlewares are reported.
func buildIngress(svc Service, routers []proxylabels.Router, className string) (*networkingv1ac.IngressApplyConfiguration, []string) {
	var notes []string
	spec := networkingv1ac.IngressSpec()
	if className != "" {
		spec.WithIngressClassName(className)
	}
	issuer := ""
	rules := map[string]*networkingv1ac.HTTPIngressRuleValueApplyConfiguration{}
	var hosts []string
	for _, r := range routers {
		for _, mw := range r.Middlewares {
			notes = append(notes, fmt.Sprintf("router %s: middleware %s is not expressed by an Ingress; requests pass without it", r.Name, mw.Name))
		}
		if r.Port == 0 {
			// A router that only redirects has no service to send to.
			continue
		}
		var tlsHosts []string
		for _, m := range r.Matches {
			if m.Method != "" || len(m.Headers) > 0 || len(m.Query) > 0 {
				notes = append(notes, fmt.Sprintf("router %s: an Ingress matches only hosts and paths; the Method, Header and Query matchers are left out", r.Name))
			}
			path := networkingv1ac.HTTPIngressPath().WithBackend(networkingv1ac.IngressBackend().WithService(
				networkingv1ac.IngressServiceBackend().WithName(svc.Name).WithPort(networkingv1ac.ServiceBackendPort().WithNumber(r.Port))))
			switch m.PathKind {
			case "":
				path.WithPath("/").WithPathType(networkingv1.PathTypePrefix)
			case proxylabels.PathPrefix:
				path.WithPath(m.Path).WithPathType(networkingv1.PathTypePrefix)
			case proxylabels.PathExact:
				path.WithPath(m.Path).WithPathType(networkingv1.PathTypeExact)
			default:
				notes = append(notes, fmt.Sprintf("router %s: an Ingress cannot match the path regexp %s; that alternative is left out", r.Name, m.Path))
				continue
			}
			matchHosts := m.Hosts
			if len(matchHosts) == 0 {
				matchHosts = []string{""}
			}
			for _, h := range matchHosts {
				if rules[h] == nil {
					rules[h] = networkingv1ac.HTTPIngressRuleValue()
					hosts = append(hosts, h)
				}
				rules[h].WithPaths(path)
				if r.TLS && h != "" && !slices.Contains(tlsHosts, h) {
					tlsHosts = append(tlsHosts, h)
				}
			}
		}
		if len(tlsHosts) > 0 {
			spec.WithTLS(networkingv1ac.IngressTLS().WithHosts(tlsHosts...).WithSecretName(objectName(svc.Name, r.Name) + "-tls"))
		}
		if r.CertResolver != "" {
			if issuer != "" && issuer != r.CertResolver {
				notes = append(notes, fmt.Sprintf("router %s: certresolver %s differs from %s; one Ingress takes one issuer, %s", r.Name, r.CertResolver, issuer, issuer))
			} else {
				issuer = r.CertResolver
			}
		}
	}
	if len(hosts) == 0 {
		return nil, notes
	}
	for _, h := range hosts {
		rule := networkingv1ac.IngressRule().WithHTTP(rules[h])
		if h != "" {
			rule.WithHost(h)
		}
		spec.WithRules(rule)
	}
	ing := networkingv1ac.Ingress(svc.Name, svc.Namespace).WithLabels(svc.ObjectLabels).WithOwnerReferences(svc.Owner).WithSpec(spec)
	if issuer != "" {
		ing.WithAnnotations(map[string]string{AnnotationClusterIssuer: issuer})
	}
	return ing, notes
}
