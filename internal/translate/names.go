package translate

import (
	"fmt"
	"regexp"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"

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

// LabelAliasOf marks the Kubernetes Services that give a service outside a stack its network
// aliases (StandaloneAliases); its value is the service's name.
const LabelAliasOf = "swarm.kubeswarm.io/alias-of"

// StandaloneAliases are the distinct network aliases of a service outside any stack, sorted,
// its own name left out: each is a Kubernetes Service in the service's namespace that names the
// service (internal/objects' AliasServices), as Swarm's DNS answers an alias with the service
// (moby libnetwork's service records). A stack's service's aliases are its networks' names
// (internal/stack's dns.go).
func StandaloneAliases(svc *swarmv1.Service) []string {
	if svc.Labels[LabelStack] != "" {
		return nil
	}
	var out []string
	for _, n := range svc.Spec.Networks {
		for _, a := range n.Aliases {
			if a != svc.Name && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// standaloneAliasesRule refuses a network alias of a service outside a stack that cannot name a
// Kubernetes Service (a DNS-1035 label: Swarm takes any name, dots included), and reports the
// scope of the others: they resolve in the service's whole namespace, not only on their network.
func standaloneAliasesRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	if svc.Labels[LabelStack] != "" {
		return nil, nil
	}
	for i, n := range svc.Spec.Networks {
		if len(n.Aliases) == 0 {
			continue
		}
		for j, a := range n.Aliases {
			if len(validation.IsDNS1035Label(a)) > 0 {
				return nil, fmt.Errorf("networks[%d].aliases[%d]: %q cannot name the service in DNS (it is a Kubernetes Service's name); use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters",
					i, j, a)
			}
		}
		notes = append(notes, fmt.Sprintf("networks[%d]: aliases %v resolve in the whole namespace, not only on network %s (a Kubernetes Service each, outside a stack)", i, n.Aliases, n.Name))
	}
	return notes, nil
}
