package compose

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// maxServiceName is the longest compose service name a Stack takes (StackService.name).
const maxServiceName = 52

// ValidateStackName checks that a stack name can prefix the Kubernetes names of its objects: a
// DNS label starting with a letter (a Kubernetes Service name).
func ValidateStackName(stack string) error {
	if errs := validation.IsDNS1035Label(stack); len(errs) > 0 {
		return fmt.Errorf("invalid stack name %q: %s", stack, strings.Join(errs, "; "))
	}
	return nil
}

// serviceName is the name of a compose service in the Stack: the compose name where it is a DNS
// label (the name other services find it by), else lower-cased with "_" and "." as "-".
func serviceName(stack, name string) (string, error) {
	n := swarmv1.KubernetesName(name)
	if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
		return "", fmt.Errorf("the service name cannot become a DNS label (%q: %s)", n, strings.Join(errs, "; "))
	}
	if len(n) > maxServiceName {
		return "", fmt.Errorf("the service name is longer than %d characters", maxServiceName)
	}
	if err := swarmv1.ValidateStackServiceName(stack, n); err != nil {
		return "", err
	}
	return n, nil
}

// externalName is the Kubernetes name of an external object docker knows as name: the name
// itself when Kubernetes takes it, else lower-cased with "_" as "-".
func externalName(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// dockerServiceNames warns where a service's environment, command or entrypoint names one of
// the stack's services by docker's name, <stack>_<service>: docker's convert gives a service
// that name on its networks (its short name too), but a name with "_" can be no DNS name on
// Kubernetes (EndpointSlice hostnames are DNS labels); <stack>-<service>, the service's
// Kubernetes Service, resolves in the whole namespace.
func (c *converter) dockerServiceNames() {
	names := map[string]string{} // docker name -> replacement
	for _, composeName := range c.project.ServiceNames() {
		n, err := serviceName(c.stack, composeName)
		if err == nil {
			names[swarmv1.StackDockerName(c.stack, composeName)] = swarmv1.StackObjectName(c.stack, n)
		}
	}
	for _, s := range c.result.Stack.Spec.Services {
		var where []string
		for _, e := range s.Env {
			where = append(where, e.Value)
		}
		where = append(append(where, s.Command...), s.Entrypoint...)
		for _, docker := range sortedKeys(names) {
			if slices.ContainsFunc(where, func(text string) bool { return strings.Contains(text, docker) }) {
				c.warn("service %q: %q is docker's name of a service of the stack, which no Kubernetes DNS name can be; use %q (its Kubernetes Service), or its short name on a shared network",
					s.Name, docker, names[docker])
			}
		}
	}
}
