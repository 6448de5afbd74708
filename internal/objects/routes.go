package objects

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/proxylabels"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// withRoutePorts adds to a virtual-IP-less or cluster-internal Service the ports its proxy labels
// route to (internal/proxylabels): on Swarm the proxy reached the tasks over the overlay network
// without a published port; a Gateway or Ingress reaches them through the Service's port.
func withRoutePorts(ports []corev1ac.ServicePortApplyConfiguration, labels map[string]string) []corev1ac.ServicePortApplyConfiguration {
	for _, p := range proxylabels.TargetPorts(labels) {
		if slices.ContainsFunc(ports, func(sp corev1ac.ServicePortApplyConfiguration) bool { return sp.Port != nil && *sp.Port == p }) {
			continue
		}
		pc := swarmv1.PortConfig{Target: p}
		ports = append(ports, *corev1ac.ServicePort().WithName(translate.PortName(pc, 0)).WithProtocol(corev1.ProtocolTCP).
			WithPort(p).WithTargetPort(intstr.FromInt32(p)))
	}
	return ports
}
