package proxylabels

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// caddy-docker-proxy's labels (github.com/lucaslorentz/caddy-docker-proxy, README "Labels to
// Caddyfile conversion"): `caddy` (or `caddy_N` for several sites) holds the site addresses,
// `caddy.<directive>` the site's directives, `{{upstreams PORT}}` the service's tasks.
var (
	caddySite = regexp.MustCompile(`^caddy(_\d+)?$`)
	upstreams = regexp.MustCompile(`^\{\{\s*upstreams\s+(?:(?:http|https)\s+)?(\d+)\s*\}\}$`)
)

// readCaddy reads the sites of a service's caddy-docker-proxy labels.
func readCaddy(labels map[string]string) ([]Router, []string) {
	var out []Router
	var notes []string
	for _, site := range slices.Sorted(maps.Keys(labels)) {
		if !caddySite.MatchString(site) {
			continue
		}
		r, rnotes := caddyRouter(site, labels)
		notes = append(notes, rnotes...)
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, notes
}

func caddyRouter(site string, labels map[string]string) (*Router, []string) {
	r := &Router{Name: site, Label: site, TLS: true}
	var notes []string
	var hosts []string
	for _, addr := range strings.FieldsFunc(labels[site], func(c rune) bool { return c == ',' || c == ' ' }) {
		scheme, rest, ok := strings.Cut(addr, "://")
		if !ok {
			rest, scheme = addr, ""
		}
		if scheme == "http" {
			r.TLS = false
		}
		host, _, _ := strings.Cut(rest, "/")
		if h, port, ok := strings.Cut(host, ":"); ok {
			notes = append(notes, fmt.Sprintf("label %s: the site's port %s is the gateway's listener's", site, port))
			host = h
		}
		if host != "" {
			hosts = append(hosts, strings.ToLower(host))
		}
	}
	prefix := site + "."
	var paths []string
	strip := false
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		directive, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		v := labels[k]
		switch d := strings.ToLower(directive); {
		case d == "reverse_proxy" || d == "handle_path.reverse_proxy" || d == "handle.reverse_proxy" ||
			strings.HasSuffix(d, "_reverse_proxy"):
			fields := strings.Fields(v)
			if len(fields) > 1 && strings.HasPrefix(fields[0], "/") {
				// reverse_proxy /api/* {{upstreams 80}}: a path matcher.
				paths = append(paths, fields[0])
				v = strings.Join(fields[1:], " ")
			}
			m := upstreams.FindStringSubmatch(strings.TrimSpace(v))
			if m == nil {
				return nil, []string{fmt.Sprintf("label %s=%q: only {{upstreams PORT}} can be expressed; no route was made for site %s", k, v, site)}
			}
			p, _ := strconv.ParseUint(m[1], 10, 16)
			r.Port = int32(p)
		case d == "handle_path" || d == "handle":
			paths = append(paths, strings.Fields(v)...)
			strip = strip || d == "handle_path"
		case d == "tls":
			switch {
			case v == "internal":
				r.CertResolver = "internal"
			case strings.Contains(v, "@"):
				// An ACME account's e-mail.
			default:
				notes = append(notes, fmt.Sprintf("label %s=%q: the gateway's listener holds the certificate", k, v))
			}
		default:
			notes = append(notes, fmt.Sprintf("label %s is not expressed by an HTTP route", k))
		}
	}
	if r.Port == 0 {
		return nil, append(notes, fmt.Sprintf("site %s has no %s.reverse_proxy={{upstreams PORT}} label; no route was made for it", site, site))
	}
	if len(paths) == 0 {
		paths = []string{""}
	}
	var stripped []string
	for _, p := range paths {
		m := Match{Hosts: hosts}
		switch {
		case p == "" || p == "*" || p == "/*":
		case strings.HasSuffix(p, "*"):
			m.Path, m.PathKind = strings.TrimSuffix(strings.TrimSuffix(p, "*"), "/"), PathPrefix
			if m.Path == "" {
				m.Path = "/"
			}
		default:
			m.Path, m.PathKind = p, PathExact
		}
		if strings.Contains(m.Path, "*") {
			notes = append(notes, fmt.Sprintf("site %s: the path %s cannot be expressed; that path is left out", site, p))
			continue
		}
		r.Matches = append(r.Matches, m)
		if strip && m.PathKind == PathPrefix {
			stripped = append(stripped, m.Path)
		}
	}
	if len(r.Matches) == 0 {
		return nil, notes
	}
	if len(stripped) > 0 {
		r.Middlewares = []Middleware{{Name: "handle_path", StripPrefixes: stripped}}
	}
	return r, notes
}
