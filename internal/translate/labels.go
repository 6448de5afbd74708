// Package translate holds the rules by which a Swarm service becomes Kubernetes objects: what
// the operator refuses in a spec and what it reports as approximated (Verdict, Check), and the
// values the objects carry (labels, ports, resources, placement, security). internal/objects
// builds the objects from them. Every function here is pure: no client, no context,
// deterministic output for the same input. The package links no client-go package, so that
// `kubectl swarm convert` runs the operator's rules without initialising client-go.
package translate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Label and annotation keys that kubeswarm sets or reads.
const (
	// LabelService names the Service a pod, workload or Kubernetes Service belongs to; it is the
	// workloads' pod selector.
	LabelService = "swarm.kubeswarm.io/service"
	// LabelStack names the Stack a Service belongs to (com.docker.stack.namespace).
	LabelStack = "swarm.kubeswarm.io/stack"
	// LabelManagedBy is the standard managed-by label; kubeswarm's informers watch only objects
	// that carry it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "kubeswarm"

	// NodeLabelRole is the node label that node.role constraints match (manager or worker); the
	// Node controller keeps it.
	NodeLabelRole = "swarm.kubeswarm.io/role"
	// NodeLabelID is the node label that node.id constraints match; the Node controller keeps it.
	NodeLabelID = "swarm.kubeswarm.io/node-id"
	// NodeLabelIP is the node label that node.ip constraints match; the Node controller keeps it.
	NodeLabelIP = "swarm.kubeswarm.io/node-ip"

	// LabelTemplateHash identifies the task template a pod (or Job) was made from, so that the
	// tasks of the current template can be told from older ones during an update.
	LabelTemplateHash = "swarm.kubeswarm.io/template-hash"
	// LabelNetworkPrefix + a network's name labels the tasks attached to it; a stack's
	// NetworkPolicies select them by it.
	LabelNetworkPrefix = "network.swarm.kubeswarm.io/"
	// LabelVolume names the volume a PersistentVolumeClaim holds.
	LabelVolume = "swarm.kubeswarm.io/volume"
	// LabelNode names the node of a global-job service's Job.
	LabelNode = "swarm.kubeswarm.io/node"
	// AnnotationJobIteration carries the run of a job service on its pod template.
	AnnotationJobIteration = "swarm.kubeswarm.io/job-iteration"

	// AnnotationForceUpdate carries spec.forceUpdate on the pod template, so that changing the
	// counter replaces every task.
	AnnotationForceUpdate = "swarm.kubeswarm.io/force-update"

	// ControlPlaneTaint is the taint kubeadm and kind put on control-plane nodes. Swarm managers
	// run tasks unless drained, so tasks tolerate it: availability, not the taint, decides.
	ControlPlaneTaint = "node-role.kubernetes.io/control-plane"

	// ContainerName is the name of the one container of a task's pod.
	ContainerName = "task"
)

// SelectorLabels are the labels that select a service's pods. They never change for a service,
// because a Deployment's selector is immutable.
func SelectorLabels(service string) map[string]string {
	return map[string]string{LabelService: service}
}

// ObjectLabels are the labels of every object made for a service (of stack, when not "").
func ObjectLabels(service, stack string) map[string]string {
	l := map[string]string{LabelService: service, LabelManagedBy: ManagedByValue}
	if stack != "" {
		l[LabelStack] = stack
	}
	return l
}

// SelectorString is the pods' label selector in text form (status.selector, for the scale
// subresource and HPA).
func SelectorString(service string) string { return LabelService + "=" + service }

// Annotations are the entries of m (a service's labels or container labels, field naming them)
// that are valid Kubernetes annotation keys: docker labels may hold any text, so they are carried
// as annotations. notes name the keys left out and what that costs: the spec keeps every label
// as written (service inspect shows it, routes are read from it), but a service label not copied
// is missing from its objects' metadata, and a container label from its tasks' pods, where
// Kubernetes tools read them.
func Annotations(field string, m map[string]string) (out map[string]string, notes []string) {
	out = map[string]string{}
	where := "the service's Kubernetes objects"
	if field == "containerLabels" {
		where = "the tasks' pods"
	}
	for _, k := range sortedKeys(m) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			notes = append(notes, fmt.Sprintf("%s: %q is kept in the service's spec but not copied to the annotations of %s: not a Kubernetes annotation key (%s)",
				field, k, where, strings.Join(errs, "; ")))
			continue
		}
		out[k] = m[k]
	}
	return out, notes
}

// TaskLabels are the labels of a service's tasks: ObjectLabels and one label per network
// (LabelNetworkPrefix + name), which a stack's NetworkPolicies select. A network whose name
// cannot make a label key is refused.
func TaskLabels(svc *swarmv1.Service, stack string) (map[string]string, error) {
	labels := ObjectLabels(svc.Name, stack)
	for _, n := range svc.Spec.Networks {
		key := LabelNetworkPrefix + n.Name
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, fmt.Errorf("networks: %q cannot label tasks (%s); use a shorter name of lower-case letters, digits and '-'", n.Name, strings.Join(errs, "; "))
		}
		labels[key] = "true"
	}
	return labels, nil
}
