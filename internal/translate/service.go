package translate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func validAnnotationKey(k string) bool { return len(validation.IsQualifiedName(k)) == 0 }

// isIngress tells whether a port is published through the routing mesh (the default mode).
func isIngress(p swarmv1.PortConfig) bool { return p.Mode != swarmv1.PortModeHost }

// IsHeadless tells whether the service's Kubernetes Service has no virtual IP: endpoint mode
// dnsrr (one DNS record per task), or a service with no ports at all (published or exposed),
// which still resolves by name, to its tasks' addresses.
func IsHeadless(s *swarmv1.ServiceSpec) bool {
	return s.EndpointMode == "dnsrr" || len(s.Ports)+len(s.ExposedPorts) == 0
}

// clusterPorts are the service's ports inside the cluster: its ports' targets and its exposed
// ports.
func clusterPorts(s *swarmv1.ServiceSpec) []swarmv1.PortConfig {
	out := append([]swarmv1.PortConfig(nil), s.Ports...)
	for _, e := range s.ExposedPorts {
		out = append(out, swarmv1.PortConfig{Target: e.Port, Protocol: e.Protocol})
	}
	return out
}

// kubeService builds the Kubernetes Service named after the service:
//
//   - vip with ingress ports: type NodePort (or LoadBalancer, by operator option); every node
//     answers on the published port, which is the nodePort when it lies in the cluster's
//     node-port range and is otherwise allocated by the cluster (status.ports shows it). Inside
//     the cluster the service answers on the target port, as Swarm's virtual IP does.
//   - vip with host-mode ports only: a ClusterIP Service on the target ports; the nodes publish
//     the ports only where a task runs, through hostPort.
//   - dnsrr, or no ports: headless, so the name resolves to the tasks' addresses.
func kubeService(svc *swarmv1.Service, labels, annotations map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration, opts Options, notes *[]string) (*corev1ac.ServiceApplyConfiguration, error) {
	s := &svc.Spec
	spec := corev1ac.ServiceSpec().WithSelector(SelectorLabels(svc.Name))
	var ingress []swarmv1.PortConfig
	for _, p := range s.Ports {
		if isIngress(p) {
			ingress = append(ingress, p)
		}
	}
	switch {
	case IsHeadless(s):
		spec.WithType(corev1.ServiceTypeClusterIP).WithClusterIP(corev1.ClusterIPNone)
		spec.WithPorts(internalPorts(clusterPorts(s))...)
	case len(ingress) > 0:
		typ := opts.IngressServiceType
		if typ == "" {
			typ = corev1.ServiceTypeNodePort
		}
		spec.WithType(typ).WithExternalTrafficPolicy(corev1.ServiceExternalTrafficPolicyCluster)
		ports, err := ingressPorts(ingress, typ, opts.nodePortRange(), notes)
		if err != nil {
			return nil, err
		}
		spec.WithPorts(ports...)
		if len(s.ExposedPorts) > 0 {
			// Every port of a NodePort (or LoadBalancer) Service is published on the nodes.
			*notes = append(*notes, "exposedPorts: the service publishes ports, so its virtual IP answers only on those; its exposed ports are reached at its tasks' addresses (tasks-<service> in a stack)")
		}
	default:
		spec.WithType(corev1.ServiceTypeClusterIP).WithPorts(internalPorts(clusterPorts(s))...)
	}
	if spec.Type == nil || *spec.Type == corev1.ServiceTypeClusterIP {
		spec.Ports = withRoutePorts(spec.Ports, s.Labels)
	}
	out := corev1ac.Service(svc.Name, svc.Namespace).WithLabels(labels).WithOwnerReferences(owner).WithSpec(spec)
	if len(annotations) > 0 {
		out.WithAnnotations(annotations)
	}
	return out, nil
}

func portName(p swarmv1.PortConfig, suffix int32) string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if suffix != 0 {
		return fmt.Sprintf("%s-%d-%d", proto, p.Target, suffix)
	}
	return fmt.Sprintf("%s-%d", proto, p.Target)
}

// internalPorts are the distinct target ports, reachable inside the cluster.
func internalPorts(ports []swarmv1.PortConfig) []*corev1ac.ServicePortApplyConfiguration {
	var out []*corev1ac.ServicePortApplyConfiguration
	seen := map[string]bool{}
	for _, p := range ports {
		name := portName(p, 0)
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, corev1ac.ServicePort().WithName(name).WithProtocol(KubernetesProtocol(p.Protocol)).
			WithPort(p.Target).WithTargetPort(intstr.FromInt32(p.Target)))
	}
	return out
}

// ingressPorts publishes ingress ports. The first port for a target answers on the target inside
// the cluster; a target published twice (-p 8000:80 -p 8001:80) answers on the published port
// for the second.
func ingressPorts(ports []swarmv1.PortConfig, typ corev1.ServiceType, rng PortRange, notes *[]string) ([]*corev1ac.ServicePortApplyConfiguration, error) {
	var out []*corev1ac.ServicePortApplyConfiguration
	used := map[string]bool{} // protocol/port of the Service
	for _, p := range ports {
		proto := KubernetesProtocol(p.Protocol)
		port, suffix := p.Target, int32(0)
		if used[fmt.Sprintf("%s/%d", proto, port)] {
			if p.Published == 0 || used[fmt.Sprintf("%s/%d", proto, p.Published)] {
				return nil, fmt.Errorf("ports: target %d/%s is published twice; give each a distinct published port", p.Target, strings.ToLower(string(proto)))
			}
			port, suffix = p.Published, p.Published
		}
		used[fmt.Sprintf("%s/%d", proto, port)] = true
		sp := corev1ac.ServicePort().WithName(portName(p, suffix)).WithProtocol(proto).
			WithPort(port).WithTargetPort(intstr.FromInt32(p.Target))
		switch {
		case p.Published == 0:
			// The cluster allocates a node port, as Swarm allocates from 30000-32767.
		case rng.Contains(p.Published):
			sp.WithNodePort(p.Published)
		case typ == corev1.ServiceTypeLoadBalancer:
			if port != p.Published && !used[fmt.Sprintf("%s/%d", proto, p.Published)] {
				// The load balancer listens on the published port; the target stays for
				// clients inside the cluster.
				out = append(out, sp)
				used[fmt.Sprintf("%s/%d", proto, p.Published)] = true
				sp = corev1ac.ServicePort().WithName(portName(p, p.Published)).WithProtocol(proto).
					WithPort(p.Published).WithTargetPort(intstr.FromInt32(p.Target))
			}
		default:
			*notes = append(*notes, fmt.Sprintf("ports: published port %d is outside the cluster's node-port range %d-%d; the cluster allocated another node port (see status.ports), or run the operator with --ingress-service-type=LoadBalancer", p.Published, rng.Min, rng.Max))
		}
		out = append(out, sp)
	}
	return out, nil
}
