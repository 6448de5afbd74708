// Package proxylabels reads the HTTP routing labels of Swarm services — Traefik's router labels
// and caddy-docker-proxy's site labels, which a proxy reading the Docker socket realised on
// Swarm — into Routers: which requests go to which port of the service's tasks, changed by which
// middlewares. internal/routes makes the cluster's route objects of them; internal/translate
// refuses, before anything is written, the labels whose routes the API server would refuse.
// The package is pure and links no client-go package.
package proxylabels

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Routers reads the routers of a label set: Traefik's, then Caddy's. exposedByDefault is
// Traefik's providers.docker.exposedByDefault; port is the service's only target port (0: none
// or several).
func Routers(labels map[string]string, exposedByDefault bool, port int32) ([]Router, []string) {
	t, tnotes := readTraefik(labels, exposedByDefault, port)
	c, cnotes := readCaddy(labels)
	return append(t, c...), append(tnotes, cnotes...)
}

// TargetPorts are the ports of the service's tasks that its proxy labels route to, whether or
// not the routes are made: the Kubernetes Service must offer them for a route to reach the tasks.
func TargetPorts(labels map[string]string) []int32 {
	routers, _ := Routers(labels, true, 0)
	var out []int32
	for _, r := range routers {
		if r.Port != 0 && !slices.Contains(out, r.Port) {
			out = append(out, r.Port)
		}
	}
	slices.Sort(out)
	return out
}

// Check refuses the labels whose routes the API server would refuse: a host a router matches,
// or a redirect sends to, that is not a DNS name (an HTTPRoute's hostnames and an Ingress's
// hosts are DNS names, a wildcard first label allowed, never IP addresses). The error names the
// label and the fix. Every router is read, as if exposed by default: what a label asks for is
// judged whether or not this cluster's proxy settings route it.
func Check(labels map[string]string) error {
	routers, _ := Routers(labels, true, 0)
	for _, r := range routers {
		for _, m := range r.Matches {
			for _, h := range m.Hosts {
				if err := checkHost(h, true); err != nil {
					return fmt.Errorf("label %s: host %q %w; write a DNS name (lower-case letters, digits, '-' and '.'), or a HostRegexp of a wildcard first label", r.Label, h, err)
				}
			}
		}
		for _, mw := range r.Middlewares {
			if mw.Redirect == nil || mw.Redirect.Hostname == "" {
				continue
			}
			if err := checkHost(mw.Redirect.Hostname, false); err != nil {
				return fmt.Errorf("label %s%s.*: the redirect's host %q %w; redirect to a DNS name", middlewaresPfx, mw.Name, mw.Redirect.Hostname, err)
			}
		}
	}
	return nil
}

// checkHost tells why h cannot be a route's hostname (wildcard: a "*." first label may be).
func checkHost(h string, wildcard bool) error {
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return fmt.Errorf("is an IP address, which a route's hostname cannot be")
	}
	var errs []string
	if rest, ok := strings.CutPrefix(h, "*."); ok && wildcard {
		errs = validation.IsWildcardDNS1123Subdomain("*." + rest)
	} else {
		errs = validation.IsDNS1123Subdomain(h)
	}
	if len(errs) > 0 {
		return fmt.Errorf("is not a DNS name (%s)", strings.Join(errs, "; "))
	}
	return nil
}
