package stack

import (
	"fmt"
	"maps"
	"slices"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// A stack's names, scoped to its networks as Swarm's embedded DNS scopes them
// (docs/swarm-on-kubernetes.md, "Names"): each network of the stack has a headless Service
// without selector, named NetworkDNSName, whose EndpointSlices the Stack controller writes
// (internal/objects' DNSServices and DNSEndpointSlices build them).
// Their endpoints' hostnames are the short names of the services on the network (and their
// aliases on it), with the service's virtual IP as address, or its tasks' addresses when it
// has none; tasks-<service> holds every task's address (Swarm's tasks.<service>, whose dot
// Kubernetes DNS cannot serve in a search domain). CoreDNS answers <name>.<network>.<namespace>.svc
// from them, and the tasks search their networks' domains first (objects' podDNS), so two
// stacks in one namespace each find their own db.

const (
	// LabelNetworkDNS marks a network's DNS Service and EndpointSlices with the network.
	LabelNetworkDNS = "swarm.kubeswarm.io/network-dns"
	// DNSSliceManager is the EndpointSlice manager of the networks' names (the endpointslice
	// controller leaves slices of other managers alone).
	DNSSliceManager = "stack.kubeswarm.io"
	// TasksPrefix makes the name of every task of a service: tasks-<service>.
	TasksPrefix = "tasks-"
	// LabelSharedNetworkDNS marks the DNS Service of an external network (by its Kubernetes
	// name), which every stack of the namespace on that network shares.
	LabelSharedNetworkDNS = "swarm.kubeswarm.io/shared-network-dns"
)

// SharedNetworks are the stack's external networks that its services use, sorted, other than
// the host network (which has no names): the stacks of a namespace on one of them share its
// names (SharedDNSName), as Swarm's services on one network find each other whatever their
// stack.
func SharedNetworks(st *swarmv1.Stack) []string {
	return usedNetworks(st, func(n string) bool {
		return DeclaredNetwork(st, n).External && NetworkName(st, n) != translate.HostNetworkName
	})
}

// SharedDNSName is the DNS Service of the stack's external network n: the network's Kubernetes
// name, the domain its tasks already search (objects' podDNS).
func SharedDNSName(st *swarmv1.Stack, n string) string {
	return swarmv1.NetworkDNSName(NetworkName(st, n))
}

// DNSNetworks are the stack's own (not external) networks that its services use, sorted: the
// networks that have names (DNSName).
func DNSNetworks(st *swarmv1.Stack) []string {
	external := map[string]bool{}
	for _, n := range st.Spec.Networks {
		external[n.Name] = n.External
	}
	return usedNetworks(st, func(n string) bool { return !external[n] })
}

// usedNetworks are the networks the stack's services are on that keep says to, sorted.
func usedNetworks(st *swarmv1.Stack, keep func(n string) bool) []string {
	used := map[string]bool{}
	for _, s := range st.Spec.Services {
		for _, n := range ServiceNetworks(s) {
			if keep(n) {
				used[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(used))
}

// ServiceAttachments are a stack service's network attachments, with their aliases (the default
// network when it names none); ServiceNetworks are their names.
func ServiceAttachments(s swarmv1.StackService) []swarmv1.NetworkAttachment {
	if len(s.Networks) == 0 {
		return []swarmv1.NetworkAttachment{{Name: DefaultNetwork}}
	}
	return s.Networks
}

// DNSName is the name of a stack network's DNS Service: the network's Kubernetes name, or, when
// one of the stack's services has that Service name (service ghost on network ghost, both
// ghost-ghost), that name with DNSSuffix. Swarm keeps services and networks apart (a network is
// no DNS name); a Kubernetes Service name is one name space, so the network's gives way. Only
// the stacks with such a collision (refused before) get the suffix, so no other stack's names
// or tasks change.
func DNSName(st *swarmv1.Stack, network string) string {
	name := swarmv1.NetworkDNSName(NetworkName(st, network))
	for _, s := range st.Spec.Services {
		if swarmv1.StackObjectName(st.Name, s.Name) == name {
			return name + DNSSuffix
		}
	}
	return name
}

// DNSSuffix ends the DNS Service name of a network whose name a service of the stack has.
const DNSSuffix = "-net"

// DNSNames are the DNS Service names of the stack's networks that are not their Kubernetes
// names (DNSName), by the network's Kubernetes name: what AnnotationNetworkDNS holds.
func DNSNames(st *swarmv1.Stack) map[string]string {
	out := map[string]string{}
	for _, n := range DNSNetworks(st) {
		if d := DNSName(st, n); d != swarmv1.NetworkDNSName(NetworkName(st, n)) {
			out[NetworkName(st, n)] = d
		}
	}
	return out
}

// dnsNameConflicts are the stack's services whose Kubernetes Service would take the name of one
// of the stack's networks' DNS Services even after DNSName gave way (service ghost-net beside
// service ghost on network ghost), and networks whose DNS name is no DNS label.
func dnsNameConflicts(st *swarmv1.Stack) []error {
	dns := map[string]string{}
	var errs []error
	for _, n := range DNSNetworks(st) {
		d := DNSName(st, n)
		dns[d] = n
		if problems := validation.IsDNS1035Label(d); len(problems) > 0 {
			errs = append(errs, fmt.Errorf("network %s: its DNS Service name %s must be a DNS label of at most 63 characters starting with a letter; use a shorter stack or network name", n, d))
		}
	}
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

// ServiceAddresses are where a stack service answers: its virtual IP ("" for none) and its
// ready tasks' addresses.
type ServiceAddresses struct {
	VIP   string
	Tasks []string
}

// NetworkNames are the names that answer on the stack's network n, with their addresses: each
// service attached to n by its short name and its aliases there (its virtual IP, else its
// tasks' addresses), and tasks-<service> by every task's address unless a service or alias
// already has that name; addrs are the services' addresses by Kubernetes name. A name without an
// address (no virtual IP and no ready task) is left out, so it does not resolve, as in Swarm;
// so is one that is no DNS label.
func NetworkNames(st *swarmv1.Stack, n string, addrs map[string]ServiceAddresses) map[string][]string {
	names := map[string][]string{} // hostname -> addresses
	tasks := map[string][]string{} // tasks-<service> -> addresses
	for _, s := range st.Spec.Services {
		a := addrs[swarmv1.StackObjectName(st.Name, s.Name)]
		for _, att := range ServiceAttachments(s) {
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
	return names
}

// appendNew appends to list those of add it does not hold.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
