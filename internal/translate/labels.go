// Package translate builds the Kubernetes objects that realise a Swarm service. Every function
// here is pure: no client, no context, deterministic output for the same input, so that the
// reconciler can compare what it wants with what exists and write nothing when they agree.
package translate

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

// objectLabels are the labels of every object made for a service.
func objectLabels(service, stack string) map[string]string {
	l := map[string]string{LabelService: service, LabelManagedBy: ManagedByValue}
	if stack != "" {
		l[LabelStack] = stack
	}
	return l
}

// SelectorString is the pods' label selector in text form (status.selector, for the scale
// subresource and HPA).
func SelectorString(service string) string { return LabelService + "=" + service }
