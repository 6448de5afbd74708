package compose

import (
	"fmt"
	"github.com/compose-spec/compose-go/v2/types"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// dockerSocket is where a proxy reads the Docker API from on a Swarm node.
const dockerSocket = "/var/run/docker.sock"

// proxyImages are the images of proxies that route HTTP by reading the services' labels from
// the Docker socket: Traefik (providers docker and swarm) and caddy-docker-proxy.
var proxyImages = map[string]string{
	"traefik":                         "Traefik",
	"lucaslorentz/caddy-docker-proxy": "caddy-docker-proxy",
}

// Proxy is a service of a stack whose job was to route HTTP to the other services by their
// labels, read from the Docker socket. On Kubernetes the cluster's gateway does that job: the
// operator turns the labels into routes.
type Proxy struct {
	// Service is the compose service name.
	Service string
	// Kind is Traefik or caddy-docker-proxy.
	Kind string
	// ExposedByDefault is the proxy's --providers.docker.exposedByDefault (or .swarm.), when its
	// command sets it.
	ExposedByDefault *bool
}

// Proxies are the services of a stack that are Docker-socket proxies: a Traefik or
// caddy-docker-proxy image that mounts the Docker socket or (Traefik) reads it through its
// docker or swarm provider.
func Proxies(st *swarmv1.Stack) []Proxy {
	var out []Proxy
	for _, s := range st.Spec.Services {
		kind := proxyImages[imageName(s.Image)]
		if kind == "" {
			continue
		}
		p := Proxy{Service: s.Name, Kind: kind}
		readsSocket := slices.ContainsFunc(s.Mounts, func(m swarmv1.Mount) bool {
			return m.Source == dockerSocket || m.Target == dockerSocket
		})
		for _, arg := range append(slices.Clone(s.Entrypoint), s.Command...) {
			flag, value, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			switch strings.ToLower(flag) {
			case "providers.docker", "providers.swarm", "providers.docker.swarmmode":
				readsSocket = true
			case "providers.docker.exposedbydefault", "providers.swarm.exposedbydefault":
				readsSocket = true
				if b, err := strconv.ParseBool(value); err == nil {
					p.ExposedByDefault = &b
				}
			}
		}
		if readsSocket {
			out = append(out, p)
		}
	}
	return out
}

// ReplaceProxies reports the stack's Docker-socket proxies as replaced by the cluster's gateway,
// among the result's warnings, and returns them. (A proxy left out with --leave-out-proxy is
// gone from the stack already, said by Convert.)
func (r *Result) ReplaceProxies() []Proxy {
	proxies := Proxies(r.Stack)
	for _, p := range proxies {
		msg := fmt.Sprintf("Service %s (%s) routed HTTP by reading the Docker socket; on Kubernetes the cluster's gateway does that: kubeswarm turns the other services' labels into HTTP routes", p.Service, p.Kind)
		if p.ExposedByDefault != nil && !*p.ExposedByDefault {
			msg += " (its exposedByDefault=false is the operator's --routes-exposed-by-default=false)"
		}
		r.Warnings = append(r.Warnings, msg+"; it is deployed all the same (leave it out with --leave-out-proxy)")
	}
	return proxies
}

// imageName is an image reference's repository as docker shows it (traefik, not
// docker.io/library/traefik:v3.1); "" when it does not parse.
func imageName(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	return reference.FamiliarName(named)
}

// leaveOutProxies is the project without its Docker-socket proxies (a proxy image that binds the
// Docker socket or turns on its docker or swarm provider), each named in a warning.
func leaveOutProxies(p *types.Project, warnings *[]string) *types.Project {
	out := *p
	out.Services = types.Services{}
	for name, s := range p.Services {
		kind := proxyImages[imageName(s.Image)]
		readsSocket := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Source == dockerSocket || v.Target == dockerSocket
		}) || slices.ContainsFunc(append(slices.Clone(s.Entrypoint), s.Command...), func(arg string) bool {
			flag, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			f := strings.ToLower(flag)
			return strings.HasPrefix(f, "providers.docker") || strings.HasPrefix(f, "providers.swarm")
		})
		if kind != "" && readsSocket {
			*warnings = append(*warnings, fmt.Sprintf("Service %s (%s) is left out (--leave-out-proxy): it routed HTTP by reading the Docker socket; on Kubernetes the cluster's gateway does that, from the other services' labels", name, kind))
			continue
		}
		out.Services[name] = s
	}
	return &out
}
