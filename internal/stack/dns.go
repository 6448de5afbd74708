package stack

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
)

// A stack's names, scoped to its networks as Swarm's embedded DNS scopes them
// (docs/swarm-on-kubernetes.md, "Names"): each network of the stack has a headless Service
// without selector, named NetworkDNSName, whose EndpointSlices the Stack controller writes.
// Their endpoints' hostnames are the short names of the services on the network (and their
// aliases on it), with the service's virtual IP as address, or its tasks' addresses when it
// has none; tasks-<service> holds every task's address (Swarm's tasks.<service>, whose dot
// Kubernetes DNS cannot serve in a search domain). CoreDNS answers <name>.<network>.<namespace>.svc
// from them, and the tasks search their networks' domains first (translate's podDNS), so two
// stacks in one namespace each find their own db.

const (
	// LabelNetworkDNS marks a network's DNS Service and EndpointSlices with the network.
	LabelNetworkDNS = "swarm.kubeswarm.io/network-dns"
	// DNSSliceManager is the EndpointSlice manager of the networks' names (the endpointslice
	// controller leaves slices of other managers alone).
	DNSSliceManager = "stack.kubeswarm.io"
	// TasksPrefix makes the name of every task of a service: tasks-<service>.
	TasksPrefix = "tasks-"
	// maxEndpointsPerSlice is the API's limit.
	maxEndpointsPerSlice = 1000
)

// ServiceAddresses are where a stack service answers: its virtual IP ("" for none) and its
// ready tasks' addresses.
type ServiceAddresses struct {
	VIP   string
	Tasks []string
}

// dnsNetworks are the stack's own (not external) networks that its services use, sorted.
func dnsNetworks(st *swarmv1.Stack) []string {
	external := map[string]bool{}
	for _, n := range st.Spec.Networks {
		external[n.Name] = n.External
	}
	used := map[string]bool{}
	for _, s := range st.Spec.Services {
		for _, n := range ServiceNetworks(s) {
			if !external[n] {
				used[n] = true
			}
		}
	}
	out := make([]string, 0, len(used))
	for n := range used {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// serviceAttachments are a stack service's network attachments, with their aliases (the default
// network when it names none); serviceNetworks are their names.
func serviceAttachments(s swarmv1.StackService) []swarmv1.NetworkAttachment {
	if len(s.Networks) == 0 {
		return []swarmv1.NetworkAttachment{{Name: DefaultNetwork}}
	}
	return s.Networks
}

// DNSName is the name of a stack network's DNS Service: the network's Kubernetes name.
func DNSName(st *swarmv1.Stack, network string) string {
	return swarmv1.NetworkDNSName(NetworkName(st, network))
}

// DNSServices are the headless Services that hold the names of the stack's networks.
func DNSServices(st *swarmv1.Stack) []*corev1ac.ServiceApplyConfiguration {
	var out []*corev1ac.ServiceApplyConfiguration
	for _, n := range dnsNetworks(st) {
		labels := Labels(st.Name)
		labels[LabelNetworkDNS] = n
		out = append(out, corev1ac.Service(DNSName(st, n), st.Namespace).WithLabels(labels).WithOwnerReferences(ownerRef(st)).
			WithSpec(corev1ac.ServiceSpec().WithType(corev1.ServiceTypeClusterIP).WithClusterIP(corev1.ClusterIPNone)))
	}
	return out
}

// DNSEndpointSlices name, on each of the stack's networks, the services attached to it; addrs
// are the services' addresses by Kubernetes name. A name without an address (no virtual IP and
// no ready task) is left out, so it does not resolve, as in Swarm.
func DNSEndpointSlices(st *swarmv1.Stack, addrs map[string]ServiceAddresses) []*discoveryv1ac.EndpointSliceApplyConfiguration {
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, n := range dnsNetworks(st) {
		names := map[string][]string{} // hostname -> addresses
		tasks := map[string][]string{} // tasks-<service> -> addresses
		for _, s := range st.Spec.Services {
			a := addrs[swarmv1.StackObjectName(st.Name, s.Name)]
			for _, att := range serviceAttachments(s) {
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
				if t := TasksPrefix + s.Name; len(validation.IsDNS1123Label(t)) == 0 && len(a.Tasks) > 0 {
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
	dnsName := DNSName(st, network)
	var out []*discoveryv1ac.EndpointSliceApplyConfiguration
	for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		eps := byFamily[family]
		for i := 0; i < len(eps); i += maxEndpointsPerSlice {
			name := fmt.Sprintf("%s-%s", dnsName, map[discoveryv1.AddressType]string{discoveryv1.AddressTypeIPv4: "ipv4", discoveryv1.AddressTypeIPv6: "ipv6"}[family])
			if i > 0 {
				name = fmt.Sprintf("%s-%d", name, i/maxEndpointsPerSlice+1)
			}
			labels := Labels(st.Name)
			labels[LabelNetworkDNS] = network
			labels[discoveryv1.LabelServiceName] = dnsName
			labels[discoveryv1.LabelManagedBy] = DNSSliceManager
			out = append(out, discoveryv1ac.EndpointSlice(name, st.Namespace).WithLabels(labels).WithOwnerReferences(ownerRef(st)).
				WithAddressType(family).WithEndpoints(eps[i:min(i+maxEndpointsPerSlice, len(eps))]...))
		}
	}
	return out
}

// dnsNameConflicts are the stack's services whose Kubernetes Service would take the name of one
// of the stack's networks' DNS Services.
func dnsNameConflicts(st *swarmv1.Stack) []error {
	dns := map[string]string{}
	for _, n := range dnsNetworks(st) {
		dns[DNSName(st, n)] = n
	}
	var errs []error
	for _, s := range st.Spec.Services {
		if n, ok := dns[swarmv1.StackObjectName(st.Name, s.Name)]; ok {
			errs = append(errs, fmt.Errorf("service %s: its Service name %s is also the DNS name of network %s; rename the service or the network",
				s.Name, swarmv1.StackObjectName(st.Name, s.Name), n))
		}
	}
	return errs
}

// IsDNSSlice tells whether an EndpointSlice holds a stack network's names (written by the Stack
// controller, not the endpointslice controller).
func IsDNSSlice(labels map[string]string) bool {
	return labels[discoveryv1.LabelManagedBy] == DNSSliceManager
}
