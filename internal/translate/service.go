package translate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// isIngress tells whether a port is published through the routing mesh (the default mode).
func isIngress(p swarmv1.PortConfig) bool { return p.Mode != swarmv1.PortModeHost }

// IsHeadless tells whether the service's Kubernetes Service has no virtual IP: endpoint mode
// dnsrr (one DNS record per task), or a service with no ports at all (published or exposed),
// which still resolves by name, to its tasks' addresses.
func IsHeadless(s *swarmv1.ServiceSpec) bool {
	return s.EndpointMode == "dnsrr" || len(s.Ports)+len(s.ExposedPorts) == 0
}

// PortName is the name of a Kubernetes Service port for p (suffix: its published port, when the
// target is published twice).
func PortName(p swarmv1.PortConfig, suffix int32) string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if suffix != 0 {
		return fmt.Sprintf("%s-%d-%d", proto, p.Target, suffix)
	}
	return fmt.Sprintf("%s-%d", proto, p.Target)
}

// IngressPorts publishes ingress ports. The first port for a target answers on the target inside
// the cluster; a target published twice (-p 8000:80 -p 8001:80) answers on the published port
// for the second.
func IngressPorts(ports []swarmv1.PortConfig, typ corev1.ServiceType, rng PortRange) (out []corev1.ServicePort, notes []string, err error) {
	used := map[string]bool{} // protocol/port of the Service
	for _, p := range ports {
		proto := KubernetesProtocol(p.Protocol)
		port, suffix := p.Target, int32(0)
		if used[fmt.Sprintf("%s/%d", proto, port)] {
			if p.Published == 0 || used[fmt.Sprintf("%s/%d", proto, p.Published)] {
				return nil, nil, fmt.Errorf("ports: target %d/%s is published twice; give each a distinct published port", p.Target, strings.ToLower(string(proto)))
			}
			port, suffix = p.Published, p.Published
		}
		used[fmt.Sprintf("%s/%d", proto, port)] = true
		sp := corev1.ServicePort{Name: PortName(p, suffix), Protocol: proto, Port: port, TargetPort: intstr.FromInt32(p.Target)}
		switch {
		case p.Published == 0:
			// The cluster allocates a node port, as Swarm allocates from 30000-32767.
		case rng.Contains(p.Published):
			sp.NodePort = p.Published
		case typ == corev1.ServiceTypeLoadBalancer:
			if port != p.Published && !used[fmt.Sprintf("%s/%d", proto, p.Published)] {
				// The load balancer listens on the published port; the target stays for
				// clients inside the cluster.
				out = append(out, sp)
				used[fmt.Sprintf("%s/%d", proto, p.Published)] = true
				sp = corev1.ServicePort{Name: PortName(p, p.Published), Protocol: proto, Port: p.Published, TargetPort: intstr.FromInt32(p.Target)}
			}
		default:
			notes = append(notes, fmt.Sprintf("ports: published port %d is outside the cluster's node-port range %d-%d; the cluster allocated another node port (see status.ports), or run the operator with --ingress-service-type=LoadBalancer", p.Published, rng.Min, rng.Max))
		}
		out = append(out, sp)
	}
	return out, notes, nil
}

// MeshPorts are the ports of s published through the routing mesh (ingress mode), none when its
// Kubernetes Service is headless (IsHeadless): those the Kubernetes Service publishes on every
// node.
func MeshPorts(s *swarmv1.ServiceSpec) []swarmv1.PortConfig {
	if IsHeadless(s) {
		return nil
	}
	var out []swarmv1.PortConfig
	for _, p := range s.Ports {
		if isIngress(p) {
			out = append(out, p)
		}
	}
	return out
}

// servicePortsRule refuses a target published twice on one port and reports what the
// Kubernetes Service of the service approximates (see objects' kubeService).
func servicePortsRule(svc *swarmv1.Service, opts Options) ([]string, error) {
	s := &svc.Spec
	ingress := MeshPorts(s)
	if len(ingress) == 0 {
		return nil, nil
	}
	_, notes, err := IngressPorts(ingress, opts.IngressServiceTypeOrDefault(), opts.NodePortRangeOrDefault())
	if err != nil {
		return nil, err
	}
	if len(s.ExposedPorts) > 0 {
		// Every port of a NodePort (or LoadBalancer) Service is published on the nodes.
		notes = append(notes, "exposedPorts: the service publishes ports, so its virtual IP answers only on those; its exposed ports are reached at its tasks' addresses (tasks-<service> in a stack)")
	}
	return notes, nil
}
