package swarmsyntax

import swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"

// PortTaken finds an ingress port of spec that another service already publishes as an ingress
// port (same port and protocol): Swarm refuses the second service (swarmkit
// manager/controlapi/service.go, checkPortConflicts). self is the service's own name, skipped.
// A service being deleted holds no port: swarmkit deletes a removed service from its store at
// once (RemoveService), so `docker service rm web` frees web's ports for the next service.
func PortTaken(spec *swarmv1.ServiceSpec, self string, others []swarmv1.Service) (swarmv1.PortConfig, *swarmv1.Service) {
	for _, p := range spec.Ports {
		if p.Published == 0 || p.Mode == swarmv1.PortModeHost {
			continue
		}
		for i := range others {
			o := &others[i]
			if o.Name == self || !o.DeletionTimestamp.IsZero() {
				continue
			}
			for _, q := range o.Spec.Ports {
				if q.Mode != swarmv1.PortModeHost && PortKey(q) == PortKey(p) {
					return p, o
				}
			}
		}
	}
	return swarmv1.PortConfig{}, nil
}
