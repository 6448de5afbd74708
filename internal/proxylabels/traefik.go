package proxylabels

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Traefik's label keys (Traefik's dynamic configuration from labels, pkg/config/label, read by
// its docker and swarm providers).
const (
	traefikPrefix  = "traefik."
	traefikEnable  = "traefik.enable"
	routersPrefix  = "traefik.http.routers."
	servicesPrefix = "traefik.http.services."
	middlewaresPfx = "traefik.http.middlewares."
)

// traefikIgnored are labels that choose among Traefik instances or Docker networks: on
// Kubernetes every service is reachable from the cluster's one gateway, so they have nothing to
// say.
var traefikIgnored = regexp.MustCompile(`^traefik\.((docker|swarm)\.(network|lbswarm)|constraint-label|constraint)$`)

// readTraefik reads the Traefik routers of a service's labels. exposedByDefault is Traefik's
// providers.docker.exposedByDefault: a service without traefik.enable is routed only when it is
// true. port is the service's single target port, Traefik's choice when no label names one
// (0: none). Notes say what cannot be expressed, naming the label.
func readTraefik(labels map[string]string, exposedByDefault bool, port int32) ([]Router, []string) {
	if !hasPrefixKey(labels, traefikPrefix) {
		return nil, nil
	}
	if enable, ok := labels[traefikEnable]; ok {
		if on, err := strconv.ParseBool(enable); err != nil {
			return nil, []string{fmt.Sprintf("label %s=%q is not true or false; no route was made", traefikEnable, enable)}
		} else if !on {
			return nil, nil
		}
	} else if !exposedByDefault {
		return nil, nil
	}

	var notes []string
	routers := map[string]map[string]string{}
	services := map[string]map[string]string{}
	middlewares := map[string]map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		switch {
		case k == traefikEnable || traefikIgnored.MatchString(k):
		case strings.HasPrefix(k, routersPrefix):
			addOption(routers, strings.TrimPrefix(k, routersPrefix), v)
		case strings.HasPrefix(k, servicesPrefix):
			addOption(services, strings.TrimPrefix(k, servicesPrefix), v)
		case strings.HasPrefix(k, middlewaresPfx):
			addOption(middlewares, strings.TrimPrefix(k, middlewaresPfx), v)
		case strings.HasPrefix(k, traefikPrefix):
			notes = append(notes, fmt.Sprintf("label %s is not expressed by an HTTP route", k))
		}
	}

	svcPorts := map[string]int32{}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		for _, opt := range slices.Sorted(maps.Keys(services[name])) {
			v := services[name][opt]
			switch strings.ToLower(opt) {
			case "loadbalancer.server.port":
				p, err := strconv.ParseUint(v, 10, 16)
				if err != nil || p == 0 {
					notes = append(notes, fmt.Sprintf("label %s%s.%s=%q is not a port", servicesPrefix, name, opt, v))
					continue
				}
				svcPorts[name] = int32(p)
			case "loadbalancer.server.scheme":
				if v != "http" {
					notes = append(notes, fmt.Sprintf("label %s%s.%s=%s: the route sends plain HTTP to the service", servicesPrefix, name, opt, v))
				}
			default:
				notes = append(notes, fmt.Sprintf("label %s%s.%s is not expressed by an HTTP route", servicesPrefix, name, opt))
			}
		}
	}
	if len(routers) == 0 {
		// Traefik would make a router with its defaultRule (Host(`<service name>`)), a name the
		// cluster's DNS does not hold for outside clients.
		return nil, append(notes, "no traefik.http.routers.<name>.rule label: Traefik's default rule is not made into a route; add a rule")
	}

	var out []Router
	for _, name := range slices.Sorted(maps.Keys(routers)) {
		r, rnotes := traefikRouter(name, routers[name], svcPorts, middlewares, port)
		notes = append(notes, rnotes...)
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, notes
}

func traefikRouter(name string, opts map[string]string, svcPorts map[string]int32, middlewares map[string]map[string]string, port int32) (*Router, []string) {
	key := func(opt string) string { return routersPrefix + name + "." + opt }
	r := &Router{Name: name, Label: key("rule")}
	var notes []string
	for _, opt := range slices.Sorted(maps.Keys(opts)) {
		v := opts[opt]
		switch strings.ToLower(opt) {
		case "rule":
			e, err := parseRule(v)
			if err != nil {
				return nil, []string{fmt.Sprintf("label %s: %v; no route was made for router %s", key(opt), err, name)}
			}
			alts, err := alternatives(e)
			if err != nil {
				return nil, []string{fmt.Sprintf("label %s: %v; no route was made for router %s", key(opt), err, name)}
			}
			for _, a := range alts {
				m, err := matchOf(a)
				if err != nil {
					notes = append(notes, fmt.Sprintf("label %s: %v; that alternative is left out", key(opt), err))
					continue
				}
				r.Matches = append(r.Matches, m)
			}
		case "entrypoints":
			r.EntryPoints = splitList(v)
		case "tls":
			on, err := strconv.ParseBool(v)
			if err != nil {
				notes = append(notes, fmt.Sprintf("label %s=%q is not true or false", key(opt), v))
			}
			r.TLS = r.TLS || on
		case "tls.certresolver":
			r.TLS, r.CertResolver = true, v
		case "middlewares":
			for _, ref := range splitList(v) {
				mw, mnotes := traefikMiddleware(ref, middlewares)
				notes = append(notes, mnotes...)
				if mw != nil {
					r.Middlewares = append(r.Middlewares, *mw)
				}
			}
		case "service":
			p, ok := svcPorts[v]
			if !ok {
				return nil, []string{fmt.Sprintf("label %s=%s: no %s%s.loadbalancer.server.port label; no route was made for router %s", key(opt), v, servicesPrefix, v, name)}
			}
			port = p
		case "priority":
			notes = append(notes, fmt.Sprintf("label %s: the gateway orders rules by how specific they are, not by priority", key(opt)))
		default:
			notes = append(notes, fmt.Sprintf("label %s is not expressed by an HTTP route", key(opt)))
		}
	}
	if _, named := opts["service"]; !named {
		// Traefik links a router to the only service of the labels.
		switch len(svcPorts) {
		case 0:
		case 1:
			for _, p := range svcPorts {
				port = p
			}
		default:
			return nil, []string{fmt.Sprintf("router %s names no service and the labels define several; add %s", name, key("service"))}
		}
	}
	if _, ok := opts["rule"]; !ok {
		return nil, append(notes, fmt.Sprintf("router %s has no rule (%s); Traefik's default rule is not made into a route", name, key("rule")))
	}
	if len(r.Matches) == 0 {
		return nil, append(notes, fmt.Sprintf("no alternative of router %s's rule can be expressed; no route was made for it", name))
	}
	redirects := slices.ContainsFunc(r.Middlewares, func(m Middleware) bool { return m.Redirect != nil })
	if port == 0 && !redirects {
		return nil, append(notes, fmt.Sprintf("router %s: no port; add %sNAME.loadbalancer.server.port", name, servicesPrefix))
	}
	r.Port = port
	return r, notes
}

// traefikMiddleware reads the middleware ref names (name, or name@docker / name@swarm).
func traefikMiddleware(ref string, defined map[string]map[string]string) (*Middleware, []string) {
	name, provider, _ := strings.Cut(ref, "@")
	if provider != "" && provider != "docker" && provider != "swarm" {
		return nil, []string{fmt.Sprintf("middleware %s is defined outside the service's labels and cannot be expressed", ref)}
	}
	opts, ok := defined[name]
	if !ok {
		return nil, []string{fmt.Sprintf("middleware %s is not defined by this service's labels (%s%s.…) and cannot be expressed", ref, middlewaresPfx, name)}
	}
	key := func(opt string) string { return middlewaresPfx + name + "." + opt }
	mw := &Middleware{Name: name}
	var notes []string
	kinds := map[string]bool{}
	for _, opt := range slices.Sorted(maps.Keys(opts)) {
		v := opts[opt]
		kind, rest, _ := strings.Cut(strings.ToLower(opt), ".")
		kinds[kind] = true
		switch kind {
		case "stripprefix":
			switch rest {
			case "prefixes":
				mw.StripPrefixes = splitList(v)
			case "forceslash":
				// Deprecated, and the route filter always keeps a leading slash.
			default:
				notes = append(notes, fmt.Sprintf("label %s is not expressed by a route filter", key(opt)))
			}
		case "addprefix":
			if rest == "prefix" {
				mw.AddPrefix = v
			}
		case "redirectscheme":
			if mw.Redirect == nil {
				mw.Redirect = &Redirect{}
			}
			switch rest {
			case "scheme":
				mw.Redirect.Scheme = v
			case "port":
				p, err := strconv.ParseUint(v, 10, 16)
				if err != nil {
					notes = append(notes, fmt.Sprintf("label %s=%q is not a port", key(opt), v))
				}
				mw.Redirect.Port = int32(p)
			case "permanent":
				mw.Redirect.Permanent, _ = strconv.ParseBool(v)
			}
		case "redirectregex":
			// Read below, once all its options are known.
		case "headers":
			hdr, ok := strings.CutPrefix(rest, "customrequestheaders.")
			if ok {
				mw.RequestHeaders = setHeader(mw.RequestHeaders, opt[len(opt)-len(hdr):], v)
				continue
			}
			if hdr, ok = strings.CutPrefix(rest, "customresponseheaders."); ok {
				mw.ResponseHeaders = setHeader(mw.ResponseHeaders, opt[len(opt)-len(hdr):], v)
				continue
			}
			notes = append(notes, fmt.Sprintf("label %s is not expressed by a route filter", key(opt)))
		default:
			// basicauth, digestauth, forwardauth, ratelimit, inflightreq, ipallowlist,
			// compress, retry, circuitbreaker, buffering, chain, plugin.*: no route filter.
			return nil, []string{fmt.Sprintf("middleware %s (%s) cannot be expressed by a route filter; requests pass without it", name, kind)}
		}
	}
	if kinds["redirectregex"] {
		r, err := redirectOfRegex(opts)
		if err != nil {
			return nil, []string{fmt.Sprintf("middleware %s (redirectregex): %v", name, err)}
		}
		mw.Redirect = r
	}
	if mw.Redirect != nil && mw.Redirect.Scheme == "" && mw.Redirect.Hostname == "" && mw.Redirect.Port == 0 {
		return nil, append(notes, fmt.Sprintf("middleware %s redirects nowhere; add %s", name, key("redirectscheme.scheme")))
	}
	return mw, notes
}

// literalURL is a URL prefix regexp without anything but escaped dots, optionally ending in
// "/(.*)" (the path kept), anchored or not: ^https?://example\.com/(.*)$.
var literalURL = regexp.MustCompile(`^\^?(https\?|https|http)://((?:[a-zA-Z0-9-]|\\\.)+)(?::(\d+))?/\(\.\*\)\$?$`)

// replacementURL is a redirect target that keeps the path: https://www.example.com/${1}.
var replacementURL = regexp.MustCompile(`^(https?)://([a-zA-Z0-9.-]+)(?::(\d+))?/\$\{?1\}?$`)

// redirectOfRegex reads a redirectregex middleware that only changes the scheme, host or port
// and keeps the path, which a route's RequestRedirect filter expresses.
func redirectOfRegex(opts map[string]string) (*Redirect, error) {
	var regex, repl, permanent string
	for k, v := range opts {
		switch strings.ToLower(k) {
		case "redirectregex.regex":
			regex = v
		case "redirectregex.replacement":
			repl = v
		case "redirectregex.permanent":
			permanent = v
		}
	}
	if literalURL.FindStringSubmatch(regex) == nil {
		return nil, fmt.Errorf("only a regex of a fixed scheme and host keeping the path (^https?://example\\.com/(.*)) can be expressed, not %q", regex)
	}
	m := replacementURL.FindStringSubmatch(repl)
	if m == nil {
		return nil, fmt.Errorf("only a replacement of a fixed scheme and host keeping the path (https://www.example.com/${1}) can be expressed, not %q", repl)
	}
	r := &Redirect{Scheme: m[1], Hostname: m[2]}
	if m[3] != "" {
		p, _ := strconv.ParseUint(m[3], 10, 16)
		r.Port = int32(p)
	}
	r.Permanent, _ = strconv.ParseBool(permanent)
	return r, nil
}

func setHeader(h map[string]string, name, value string) map[string]string {
	if h == nil {
		h = map[string]string{}
	}
	h[name] = value
	return h
}

// addOption files "<name>.<option>" under name.
func addOption(into map[string]map[string]string, rest, v string) {
	name, opt, ok := strings.Cut(rest, ".")
	if !ok {
		return
	}
	if into[name] == nil {
		into[name] = map[string]string{}
	}
	into[name][opt] = v
}

func hasPrefixKey(labels map[string]string, prefix string) bool {
	for k := range labels {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// splitList reads Traefik's comma-separated lists.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
