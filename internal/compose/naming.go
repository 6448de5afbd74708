package compose

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// ObjectName is the Kubernetes name of a stack's object (Service, Secret, ConfigMap, claim):
// docker's "<stack>_<name>" as "<stack>-<name>", lower-cased, with "_" and "." as "-". It is
// swarmv1.StackObjectName, the rule the Stack controller uses, so that what the converter writes
// is what the controller looks for.
func ObjectName(stack, name string) string { return swarmv1.StackObjectName(stack, name) }

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
	n := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
	if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
		return "", fmt.Errorf("the service name cannot become a DNS label (%q: %s)", n, strings.Join(errs, "; "))
	}
	if len(n) > maxServiceName {
		return "", fmt.Errorf("the service name is longer than %d characters", maxServiceName)
	}
	if child := ObjectName(stack, n); len(validation.IsDNS1035Label(child)) > 0 {
		return "", fmt.Errorf("its Kubernetes Service name %q must be a DNS label of at most 63 characters starting with a letter; use a shorter stack or service name", child)
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
