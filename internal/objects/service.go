package objects

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

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
func kubeService(svc *swarmv1.Service, labels, annotations map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration, opts translate.Options) (*corev1ac.ServiceApplyConfiguration, error) {
	s := &svc.Spec
	spec := corev1ac.ServiceSpec().WithSelector(translate.SelectorLabels(svc.Name))
	ingress := translate.MeshPorts(s)
	switch {
	case translate.IsHeadless(s):
		spec.WithType(corev1.ServiceTypeClusterIP).WithClusterIP(corev1.ClusterIPNone)
		spec.WithPorts(internalPorts(clusterPorts(s))...)
	case len(ingress) > 0:
		typ := opts.IngressServiceTypeOrDefault()
		spec.WithType(typ).WithExternalTrafficPolicy(corev1.ServiceExternalTrafficPolicyCluster)
		ports, _, err := translate.IngressPorts(ingress, typ, opts.NodePortRangeOrDefault())
		if err != nil {
			return nil, err
		}
		spec.WithPorts(servicePorts(ports)...)
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

// internalPorts are the distinct target ports, reachable inside the cluster.
func internalPorts(ports []swarmv1.PortConfig) []*corev1ac.ServicePortApplyConfiguration {
	var out []corev1.ServicePort
	seen := map[string]bool{}
	for _, p := range ports {
		name := translate.PortName(p, 0)
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, corev1.ServicePort{Name: name, Protocol: translate.KubernetesProtocol(p.Protocol), Port: p.Target, TargetPort: intstr.FromInt32(p.Target)})
	}
	return servicePorts(out)
}

// servicePorts are ports as apply configurations.
func servicePorts(ports []corev1.ServicePort) []*corev1ac.ServicePortApplyConfiguration {
	out := make([]*corev1ac.ServicePortApplyConfiguration, 0, len(ports))
	for _, p := range ports {
		sp := corev1ac.ServicePort().WithName(p.Name).WithProtocol(p.Protocol).WithPort(p.Port).WithTargetPort(p.TargetPort)
		if p.NodePort != 0 {
			sp.WithNodePort(p.NodePort)
		}
		out = append(out, sp)
	}
	return out
}
