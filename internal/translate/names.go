package translate

import (
	"fmt"
	"regexp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// tasksName finds docker's tasks.<service> in a value: followed by no further dot, so that a
// domain such as tasks.example.com is not one.
var tasksName = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.-])tasks\.([a-z0-9][a-z0-9_-]*)(?:[^A-Za-z0-9_.-]|$)`)

// taskNamesRule reports docker's tasks.<service> in a service's environment, command or
// entrypoint: Swarm's embedded DNS answers it with every task's address, Kubernetes DNS cannot
// (a search domain serves no dot before the name: CoreDNS reads tasks.db.<domain> as a port and
// protocol query), so kubeswarm's name is tasks-<service> (internal/stack's TasksPrefix, on a
// stack's and a shared network).
func taskNamesRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	s := &svc.Spec
	seen := map[string]bool{}
	check := func(field, value string) {
		for _, m := range tasksName.FindAllStringSubmatch(value, -1) {
			if name := "tasks." + m[1]; !seen[name] {
				seen[name] = true
				notes = append(notes, fmt.Sprintf("%s: %q does not resolve on Kubernetes (no DNS domain serves a dot before a service's name); every task of %s is %q", field, name, m[1], "tasks-"+m[1]))
			}
		}
	}
	for _, e := range s.Env {
		check("env "+e.Name, e.Value)
	}
	for _, a := range s.Command {
		check("command", a)
	}
	for _, a := range s.Entrypoint {
		check("entrypoint", a)
	}
	return notes, nil
}

// standaloneAliasesRule reports the network aliases of a service outside any stack: kubeswarm
// names only a stack's networks and the external networks stacks share (internal/stack's
// dns.go), so such an alias does not resolve; the service is reached by its own name in its
// namespace.
func standaloneAliasesRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	if svc.Labels[LabelStack] != "" {
		return nil, nil
	}
	for i, n := range svc.Spec.Networks {
		if len(n.Aliases) > 0 {
			notes = append(notes, fmt.Sprintf("networks[%d]: aliases %v of a service outside a stack do not resolve (kubeswarm names only stacks' networks); reach it by its name %s, or deploy it in a stack", i, n.Aliases, svc.Name))
		}
	}
	return notes, nil
}
