package translate

import (
	"fmt"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// HostNetworkName is Swarm's predefined network that gives a task its node's network stack
// (`--network host`; in a compose file the external network `host`, as docker's network_mode is
// ignored by `docker stack deploy`).
const HostNetworkName = "host"

// HostNetwork tells whether a service's tasks use the node's network: it is on the network host.
// Its pods get hostNetwork: true.
func HostNetwork(s *swarmv1.ServiceSpec) bool {
	for _, n := range s.Networks {
		if n.Name == HostNetworkName {
			return true
		}
	}
	return false
}

// hostNetworkRule checks a service on the host network, as Swarm runs one (moby
// daemon/cluster/executor/container/container.go, hostConfig: the task's first network, when a
// predefined one, is its network mode):
//   - alone: a container on the host network joins no other network (libnetwork refuses it);
//   - without ingress-mode ports: swarmkit attaches a service with ingress ports to the ingress
//     network first (manager/allocator/network.go, taskCreateNetworkAttachments), so its task's
//     network mode is not host and joining host fails;
//   - host-mode ports answer on the node at their target port: docker discards a host-network
//     container's port bindings, so a published port that differs is not used (noted);
//   - only with the operator's --allow-host-network: the task has the node's network (binds its
//     ports, reaches its local services, is outside NetworkPolicies; PodSecurity baseline
//     forbids it), as --allow-bind-mounts gates a node's files.
func hostNetworkRule(svc *swarmv1.Service, opts Options) (notes []string, _ error) {
	s := &svc.Spec
	if !HostNetwork(s) {
		return nil, nil
	}
	if len(s.Networks) > 1 {
		return nil, fmt.Errorf("networks: a service on the host network is on no other network (it has %d); attach it to host alone, or not to host", len(s.Networks))
	}
	if !opts.AllowHostNetwork {
		return nil, fmt.Errorf("networks: the host network is not allowed: the operator runs with --allow-host-network=false; publish ports (mode=host for the node's port) instead, or ask the cluster admin to allow the host network")
	}
	for i, p := range s.Ports {
		if p.Mode != swarmv1.PortModeHost {
			return nil, fmt.Errorf("ports[%d]: published port %d is in ingress mode, which a service on the host network cannot use (Swarm attaches its tasks to the ingress network, which a host-network container cannot join); publish it with mode=host, or leave the host network", i, p.Published)
		}
		if p.Published != 0 && p.Published != p.Target {
			notes = append(notes, fmt.Sprintf("ports[%d]: on the host network the task answers on the node's port %d (its target), not %d: docker discards a host-network container's published ports", i, p.Target, p.Published))
		}
	}
	return notes, nil
}
