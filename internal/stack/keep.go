package stack

import (
	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// KeepDropped is `docker stack deploy` without --prune: the services of the deployed stack that
// the new file no longer has stay as they are (docker/cli cli/command/stack/swarm/deploy_composefile.go
// removes them only with --prune), so they are carried into next with the networks, volumes,
// secrets and configs they use that next does not declare. It returns the services kept, by
// name. A Stack applied by a GitOps tool is declarative instead: its spec is the whole truth,
// and the Stack controller prunes what it does not list.
func KeepDropped(deployed *swarmv1.Stack, next *swarmv1.StackSpec) []string {
	var kept []string
	for _, s := range deployed.Spec.Services {
		if hasName(next.Services, s.Name, func(x swarmv1.StackService) string { return x.Name }) {
			continue
		}
		next.Services = append(next.Services, s)
		kept = append(kept, s.Name)
		for _, n := range s.Networks {
			next.Networks = carry(next.Networks, deployed.Spec.Networks, n.Name, func(x swarmv1.StackNetwork) string { return x.Name })
		}
		for _, m := range s.Mounts {
			if m.Type == swarmv1.MountVolume {
				next.Volumes = carry(next.Volumes, deployed.Spec.Volumes, m.Source, func(x swarmv1.StackVolume) string { return x.Name })
			}
		}
		for _, f := range s.Secrets {
			next.Secrets = carry(next.Secrets, deployed.Spec.Secrets, f.Source, func(x swarmv1.StackObject) string { return x.Name })
		}
		for _, f := range s.Configs {
			next.Configs = carry(next.Configs, deployed.Spec.Configs, f.Source, func(x swarmv1.StackObject) string { return x.Name })
		}
	}
	return kept
}

func hasName[T any](list []T, name string, nameOf func(T) string) bool {
	for _, x := range list {
		if nameOf(x) == name {
			return true
		}
	}
	return false
}

// carry appends the declaration called name from old to list, unless list has one.
func carry[T any](list, old []T, name string, nameOf func(T) string) []T {
	if hasName(list, name, nameOf) {
		return list
	}
	for _, x := range old {
		if nameOf(x) == name {
			return append(list, x)
		}
	}
	return list
}
