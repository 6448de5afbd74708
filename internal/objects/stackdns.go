package objects

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	discoveryv1ac "k8s.io/client-go/applyconfigurations/discovery/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// The names of a stack's networks, scoped as Swarm's embedded DNS scopes them (internal/stack's
// dns.go; docs/swarm-on-kubernetes.md, "Names"): a headless Service per network, and the
// EndpointSlices that name the services on it.

// maxEndpointsPerSlice is the API's limit.
const maxEndpointsPerSlice = 1000

// ServiceAddresses are where a stack service answers: its virtual IP ("" for none) and its
// ready tasks' addresses.
type ServiceAddresses struct {
	VIP   string
	Tasks []string
}

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

// DNSEndpointSlices name, on each of the stack's networks, the services attached to it; addrs
// are the services' addresses by Kubernetes name. A name without an address (no virtual IP and
// no ready task) is left out, so it does not resolve, as in Swarm.
func DNSEndpointSlices(st *swarmv1.Stack, addrs map[string]ServiceAddresses) []*discoveryv1ac.EndpointSliceApplyConfiguration {
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, n := range stack.DNSNetworks(st) {
		names := map[string][]string{} // hostname -> addresses
		tasks := map[string][]string{} // tasks-<service> -> addresses
		for _, s := range st.Spec.Services {
			a := addrs[swarmv1.StackObjectName(st.Name, s.Name)]
			for _, att := range stack.ServiceAttachments(s) {
				if att.Name != n {
					continue
				}
				answer := a.Tasks
				if a.VIP != "" {
					answer = []string{a.VIP}
				}
				for _, name := range append([]string{s.Name}, att.Aliases...) {
					if len(validation.IsDNS1123Label(name)) == 0 && len(answer) > 0 {
						names[name] = appendNew(names[name], answer...)
					}
				}
				if t := stack.TasksPrefix + s.Name; len(validation.IsDNS1123Label(t)) == 0 && len(a.Tasks) > 0 {
					tasks[t] = appendNew(tasks[t], a.Tasks...)
				}
			}
		}
		for t, a := range tasks {
			if _, taken := names[t]; !taken { // a service or alias of that name comes first
				names[t] = a
			}
		}
		out = append(out, endpointSlices(st, n, names)...)
	}
	return out
}

// appendNew appends to list those of add it does not hold.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// endpointSlices writes a network's names as EndpointSlices, one per address family and at
// most maxEndpointsPerSlice endpoints each, named <dns name>-<family>[-<n>].
func endpointSlices(st *swarmv1.Stack, network string, names map[string][]string) []*discoveryv1ac.EndpointSliceApplyConfiguration {
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
	dnsName := stack.DNSName(st, network)
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		eps := byFamily[family]
		for i := 0; i < len(eps); i += maxEndpointsPerSlice {
			name := fmt.Sprintf("%s-%s", dnsName, map[discoveryv1.AddressType]string{discoveryv1.AddressTypeIPv4: "ipv4", discoveryv1.AddressTypeIPv6: "ipv6"}[family])
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
