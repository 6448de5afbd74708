package stack

import (
	"fmt"
	"sort"

	discoveryv1 "k8s.io/api/discovery/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
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
)

// DNSNetworks are the stack's own (not external) networks that its services use, sorted: the
// networks that have names (DNSName).
func DNSNetworks(st *swarmv1.Stack) []string {
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

// ServiceAttachments are a stack service's network attachments, with their aliases (the default
// network when it names none); ServiceNetworks are their names.
func ServiceAttachments(s swarmv1.StackService) []swarmv1.NetworkAttachment {
	if len(s.Networks) == 0 {
		return []swarmv1.NetworkAttachment{{Name: DefaultNetwork}}
	}
	return s.Networks
}

// DNSName is the name of a stack network's DNS Service: the network's Kubernetes name.
func DNSName(st *swarmv1.Stack, network string) string {
	return swarmv1.NetworkDNSName(NetworkName(st, network))
}

// dnsNameConflicts are the stack's services whose Kubernetes Service would take the name of one
// of the stack's networks' DNS Services.
func dnsNameConflicts(st *swarmv1.Stack) []error {
	dns := map[string]string{}
	for _, n := range DNSNetworks(st) {
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
