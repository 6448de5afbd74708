package objects

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// The names of a stack's networks, scoped as Swarm's embedded DNS scopes them (internal/stack's
// dns.go; docs/swarm-on-kubernetes.md, "Names"): a headless Service per network, and the
// EndpointSlices that name the services on it.

// maxEndpointsPerSlice is the API's limit.
const maxEndpointsPerSlice = 1000

// DNSServices are the headless Services that hold the names of the stack's networks.
func DNSServices(st *swarmv1.Stack) []*corev1ac.ServiceApplyConfiguration {
	var out []*corev1ac.ServiceApplyConfiguration
	for _, n := range stack.DNSNetworks(st) {
		labels := stack.Labels(st.Name)
		labels[stack.LabelNetworkDNS] = n
		out = append(out, corev1ac.Service(stack.DNSName(st, n), st.Namespace).WithLabels(labels).WithOwnerReferences(stackOwner(st)).
			WithSpec(corev1ac.ServiceSpec().WithType(corev1.ServiceTypeClusterIP).WithClusterIP(corev1.ClusterIPNone)))
	}
	return out
}

// SharedDNSService is the headless Service of an external network's names
// (stack.SharedDNSName), which the stacks of the namespace on it share: not controlled by any,
// it names each as an owner (SharedOwner), so that it goes with the last of them.
func SharedDNSService(st *swarmv1.Stack, n string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: stack.SharedDNSName(st, n), Namespace: st.Namespace,
			Labels:          map[string]string{translate.LabelManagedBy: translate.ManagedByValue, stack.LabelSharedNetworkDNS: stack.NetworkName(st, n)},
			OwnerReferences: []metav1.OwnerReference{SharedOwner(st)}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone},
	}
}

// SharedOwner is a stack's owner reference on a shared network's DNS Service: an owner, not its
// controller.
func SharedOwner(st *swarmv1.Stack) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: swarmv1.GroupVersion.String(), Kind: "Stack", Name: st.Name, UID: st.UID}
}

// DNSEndpointSlices name, on each of the stack's networks, the services attached to it
// (stack.NetworkNames); addrs are the services' addresses by Kubernetes name. On an external
// network the stack's slices are <dns name>-<stack>-<family>, beside the other stacks'.
func DNSEndpointSlices(st *swarmv1.Stack, addrs map[string]stack.ServiceAddresses) []*discoveryv1ac.EndpointSliceApplyConfiguration {
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, n := range stack.DNSNetworks(st) {
		d := stack.DNSName(st, n)
		out = append(out, endpointSlices(st, n, d, d, stack.NetworkNames(st, n, addrs))...)
	}
	for _, n := range stack.SharedNetworks(st) {
		d := stack.SharedDNSName(st, n)
		out = append(out, endpointSlices(st, n, d, d+"-"+st.Name, stack.NetworkNames(st, n, addrs))...)
	}
	return out
}

// endpointSlices writes a network's names as EndpointSlices of the DNS Service dnsName, one per
// address family and at most maxEndpointsPerSlice endpoints each, named
// <prefix>-<family>[-<n>].
func endpointSlices(st *swarmv1.Stack, network, dnsName, prefix string, names map[string][]string) []*discoveryv1ac.EndpointSliceApplyConfiguration {
	hostnames := make([]string, 0, len(names))
	for h := range names {
		hostnames = append(hostnames, h)
	}
	sort.Strings(hostnames)
	byFamily := map[discoveryv1.AddressType][]*discoveryv1ac.EndpointApplyConfiguration{}
	for _, h := range hostnames {
		addresses := append([]string(nil), names[h]...)
		sort.Strings(addresses)
		for _, a := range addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			family := discoveryv1.AddressTypeIPv4
			if ip.Is6() {
				family = discoveryv1.AddressTypeIPv6
			}
			byFamily[family] = append(byFamily[family], discoveryv1ac.Endpoint().WithAddresses(a).WithHostname(h).
				WithConditions(discoveryv1ac.EndpointConditions().WithReady(true)))
		}
	}
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		eps := byFamily[family]
		for i := 0; i < len(eps); i += maxEndpointsPerSlice {
			name := fmt.Sprintf("%s-%s", prefix, map[discoveryv1.AddressType]string{discoveryv1.AddressTypeIPv4: "ipv4", discoveryv1.AddressTypeIPv6: "ipv6"}[family])
			if i > 0 {
				name = fmt.Sprintf("%s-%d", name, i/maxEndpointsPerSlice+1)
			}
			labels := stack.Labels(st.Name)
			labels[stack.LabelNetworkDNS] = network
			labels[discoveryv1.LabelServiceName] = dnsName
			labels[discoveryv1.LabelManagedBy] = stack.DNSSliceManager
			out = append(out, discoveryv1ac.EndpointSlice(name, st.Namespace).WithLabels(labels).WithOwnerReferences(stackOwner(st)).
				WithAddressType(family).WithEndpoints(eps[i:min(i+maxEndpointsPerSlice, len(eps))]...))
		}
	}
	return out
}
