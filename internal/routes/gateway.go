package routes

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/proxylabels"
)

// buildHTTPRoutes makes one HTTPRoute per router and set of hostnames (a route's hostnames
// apply to all its rules, so alternatives of different hosts need routes of their own), with
// one rule per alternative.
func buildHTTPRoutes(svc Service, routers []proxylabels.Router, gw Gateway) ([]*gwac.HTTPRouteApplyConfiguration, []string) {
	var out []*gwac.HTTPRouteApplyConfiguration
	var notes []string
	for _, r := range routers {
		if r.CertResolver != "" {
			notes = append(notes, fmt.Sprintf("router %s: TLS ends at the Gateway's listener, whose certificate certresolver %s does not make (cert-manager: annotate the Gateway with %s=%s)",
				r.Name, r.CertResolver, AnnotationClusterIssuer, r.CertResolver))
		}
		var groups [][]proxylabels.Match
		for _, m := range r.Matches {
			i := slices.IndexFunc(groups, func(g []proxylabels.Match) bool { return slices.Equal(g[0].Hosts, m.Hosts) })
			if i < 0 {
				groups = append(groups, []proxylabels.Match{m})
			} else {
				groups[i] = append(groups[i], m)
			}
		}
		for i, g := range groups {
			name := objectName(svc.Name, r.Name)
			if i > 0 {
				name = fmt.Sprintf("%s-%d", name, i+1)
			}
			if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
				notes = append(notes, fmt.Sprintf("router %s: no route was made, its name %s is not a Kubernetes name: %s", r.Name, name, strings.Join(errs, "; ")))
				continue
			}
			spec := gwac.HTTPRouteSpec().WithParentRefs(parentRefs(gw, r.EntryPoints)...)
			for _, h := range g[0].Hosts {
				spec.WithHostnames(gwv1.Hostname(h))
			}
			for _, m := range g {
				rule, rnotes := httpRule(svc, r, m)
				notes = append(notes, rnotes...)
				if rule != nil {
					spec.WithRules(rule)
				}
			}
			if len(spec.Rules) == 0 {
				continue
			}
			out = append(out, gwac.HTTPRoute(name, svc.Namespace).WithLabels(svc.ObjectLabels).
				WithOwnerReferences(svc.Owner).WithSpec(spec))
		}
	}
	return out, notes
}

// objectName is the name of an object made for a router of a service: the router's name as a
// Kubernetes name (caddy_0 is caddy-0), after the service's.
func objectName(service, router string) string {
	return swarmv1.KubernetesName(service + "-" + router)
}

// parentRefs attach a route to the Gateway: to the listeners named after the router's entry
// points, or to every listener when it names none.
func parentRefs(gw Gateway, entryPoints []string) []*gwac.ParentReferenceApplyConfiguration {
	ref := func() *gwac.ParentReferenceApplyConfiguration {
		return gwac.ParentReference().WithGroup(gwv1.GroupName).WithKind("Gateway").
			WithNamespace(gwv1.Namespace(gw.Namespace)).WithName(gwv1.ObjectName(gw.Name))
	}
	if len(entryPoints) == 0 {
		return []*gwac.ParentReferenceApplyConfiguration{ref()}
	}
	out := make([]*gwac.ParentReferenceApplyConfiguration, 0, len(entryPoints))
	for _, ep := range entryPoints {
		out = append(out, ref().WithSectionName(gwv1.SectionName(ep)))
	}
	return out
}

// httpRule is the rule of one alternative: its match, the router's middlewares as filters, and
// the service as backend (none when a middleware answers with a redirect).
func httpRule(svc Service, r proxylabels.Router, m proxylabels.Match) (*gwac.HTTPRouteRuleApplyConfiguration, []string) {
	// The API server's defaults are written out (a match of every path, exact header and query
	// matches, a backend of kind Service and weight 1), so that the route read back equals the
	// one built and an unchanged service causes no write.
	match := gwac.HTTPRouteMatch()
	if m.PathKind != "" {
		match.WithPath(gwac.HTTPPathMatch().WithType(gwv1.PathMatchType(m.PathKind)).WithValue(m.Path))
	} else {
		match.WithPath(gwac.HTTPPathMatch().WithType(gwv1.PathMatchPathPrefix).WithValue("/"))
	}
	if m.Method != "" {
		match.WithMethod(gwv1.HTTPMethod(m.Method))
	}
	for _, h := range m.Headers {
		hm := gwac.HTTPHeaderMatch().WithType(gwv1.HeaderMatchExact).WithName(gwv1.HTTPHeaderName(h.Name)).WithValue(h.Value)
		if h.Regexp {
			hm.WithType(gwv1.HeaderMatchRegularExpression)
		}
		match.WithHeaders(hm)
	}
	for _, q := range m.Query {
		qm := gwac.HTTPQueryParamMatch().WithType(gwv1.QueryParamMatchExact).WithName(gwv1.HTTPHeaderName(q.Name)).WithValue(q.Value)
		if q.Regexp {
			qm.WithType(gwv1.QueryParamMatchRegularExpression)
		}
		match.WithQueryParams(qm)
	}
	rule := gwac.HTTPRouteRule()

	var notes []string
	rw := pathRewrite{match: m}
	for _, mw := range r.Middlewares {
		switch {
		case mw.Redirect != nil:
			rd := gwac.HTTPRequestRedirectFilter().WithStatusCode(http.StatusFound)
			if mw.Redirect.Permanent {
				rd.WithStatusCode(http.StatusMovedPermanently)
			}
			if mw.Redirect.Scheme != "" {
				rd.WithScheme(mw.Redirect.Scheme)
			}
			if mw.Redirect.Hostname != "" {
				rd.WithHostname(gwv1.PreciseHostname(mw.Redirect.Hostname))
			}
			if mw.Redirect.Port != 0 {
				rd.WithPort(mw.Redirect.Port)
			}
			if rw.set {
				notes = append(notes, fmt.Sprintf("router %s: the redirect of middleware %s keeps the path as asked, not as the middlewares before it rewrote it", r.Name, mw.Name))
			}
			// The redirect answers: the middlewares after it and the service are not reached.
			return rule.WithMatches(match).WithFilters(gwac.HTTPRouteFilter().WithType(gwv1.HTTPRouteFilterRequestRedirect).WithRequestRedirect(rd)), notes
		case len(mw.StripPrefixes) > 0:
			if err := rw.strip(mw.StripPrefixes); err != nil {
				notes = append(notes, fmt.Sprintf("router %s, middleware %s: %v", r.Name, mw.Name, err))
			}
		case mw.AddPrefix != "":
			if err := rw.add(mw.AddPrefix); err != nil {
				notes = append(notes, fmt.Sprintf("router %s, middleware %s: %v", r.Name, mw.Name, err))
			}
		}
		if len(mw.RequestHeaders) > 0 {
			rule.WithFilters(gwac.HTTPRouteFilter().WithType(gwv1.HTTPRouteFilterRequestHeaderModifier).WithRequestHeaderModifier(headerFilter(mw.RequestHeaders)))
		}
		if len(mw.ResponseHeaders) > 0 {
			rule.WithFilters(gwac.HTTPRouteFilter().WithType(gwv1.HTTPRouteFilterResponseHeaderModifier).WithResponseHeaderModifier(headerFilter(mw.ResponseHeaders)))
		}
	}
	if f := rw.filter(); f != nil {
		rule.WithFilters(f)
	}
	return rule.WithMatches(match).WithBackendRefs(gwac.HTTPBackendRef().WithGroup("").WithKind("Service").
		WithName(gwv1.ObjectName(svc.Name)).WithPort(r.Port).WithWeight(1)), notes
}

// headerFilter sets the headers with a value and removes those without, as Traefik's
// customRequestHeaders and customResponseHeaders do.
func headerFilter(h map[string]string) *gwac.HTTPHeaderFilterApplyConfiguration {
	f := gwac.HTTPHeaderFilter()
	for _, name := range slices.Sorted(maps.Keys(h)) {
		if h[name] == "" {
			f.WithRemove(name)
		} else {
			f.WithSet(gwac.HTTPHeader().WithName(gwv1.HTTPHeaderName(name)).WithValue(h[name]))
		}
	}
	return f
}

// pathRewrite follows what stripprefix and addprefix middlewares do to the path of the requests
// a match lets through, and says it as one URLRewrite filter: a PathPrefix match's prefix
// replaced (ReplacePrefixMatch), or an exact path replaced (ReplaceFullPath).
type pathRewrite struct {
	match proxylabels.Match
	set   bool
	// to is what the matched prefix (or exact path) becomes.
	to string
}

func (p *pathRewrite) current() string {
	if p.set {
		return p.to
	}
	if p.match.PathKind == "" {
		return "/"
	}
	return p.match.Path
}

func (p *pathRewrite) strip(prefixes []string) error {
	if p.match.PathKind != proxylabels.PathPrefix && p.match.PathKind != proxylabels.PathExact {
		return fmt.Errorf("stripping %s cannot be expressed without a Path or PathPrefix matcher for it", strings.Join(prefixes, ","))
	}
	cur := p.current()
	for _, s := range prefixes {
		s = strings.TrimSuffix(s, "/")
		if s == "" || !pathHasPrefix(cur, s) {
			continue
		}
		p.set, p.to = true, "/"+strings.TrimPrefix(strings.TrimPrefix(cur, s), "/")
		return nil
	}
	// The prefix lies deeper than the match: only some requests would lose it.
	for _, s := range prefixes {
		if p.match.PathKind == proxylabels.PathPrefix && pathHasPrefix(strings.TrimSuffix(s, "/"), cur) {
			return fmt.Errorf("stripping %s, longer than the matched prefix %s, cannot be expressed", s, cur)
		}
	}
	// Traefik strips nothing from these paths either.
	return nil
}

func (p *pathRewrite) add(prefix string) error {
	if p.match.PathKind == proxylabels.PathRegexp {
		return fmt.Errorf("adding %s cannot be expressed after a PathRegexp matcher", prefix)
	}
	cur := p.current()
	prefix = "/" + strings.Trim(prefix, "/")
	if cur == "/" {
		p.set, p.to = true, prefix
		return nil
	}
	p.set, p.to = true, prefix+cur
	return nil
}

func (p *pathRewrite) filter() *gwac.HTTPRouteFilterApplyConfiguration {
	if !p.set {
		return nil
	}
	mod := gwac.HTTPPathModifier()
	switch p.match.PathKind {
	case proxylabels.PathExact:
		mod.WithType(gwv1.FullPathHTTPPathModifier).WithReplaceFullPath(p.to)
	default:
		mod.WithType(gwv1.PrefixMatchHTTPPathModifier).WithReplacePrefixMatch(p.to)
	}
	return gwac.HTTPRouteFilter().WithType(gwv1.HTTPRouteFilterURLRewrite).WithURLRewrite(gwac.HTTPURLRewriteFilter().WithPath(mod))
}

// pathHasPrefix tells whether prefix is a whole-segment prefix of path, as a PathPrefix match
// compares them.
func pathHasPrefix(path, prefix string) bool {
	return path == prefix || prefix == "/" || strings.HasPrefix(path, prefix+"/")
}
