/*
Copyright 2026 The kubeswarm Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of Services, Stacks and Nodes.
const (
	// ConditionReady is True when every desired task runs the current spec.
	ConditionReady = "Ready"
	// ConditionProgressing is True while tasks are being created, updated or rolled back.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when something in the spec cannot be realised as asked, or a
	// child object cannot be written; its message says what and how to fix it.
	ConditionDegraded = "Degraded"
	// ConditionStalled is True (and present only then) when the object cannot converge until
	// someone changes something: its spec, or the object in its way. GitOps tools read it
	// through kstatus (sigs.k8s.io/cli-utils) as Failed, with its reason and message.
	ConditionStalled = "Stalled"
	// ConditionHonored is False when Kubernetes only approximates what a Service asks; its message
	// says how it differs from Swarm (the verdict's notes).
	ConditionHonored = "Honored"
)

// Condition reasons.
const (
	ReasonConverged    = "Converged"
	ReasonTasksPending = "TasksPending"
	ReasonUpdating     = "Updating"
	ReasonApplyFailed  = "ApplyFailed"
	ReasonNameConflict = "NameConflict"
	ReasonAsRequested  = "AsRequested"
)

// UpdateState is the state of a service's update, as in docker service inspect's UpdateStatus.
// +kubebuilder:validation:Enum=updating;paused;completed;rollback_started;rollback_paused;rollback_completed
type UpdateState string

const (
	UpdateStateUpdating          UpdateState = "updating"
	UpdateStatePaused            UpdateState = "paused"
	UpdateStateCompleted         UpdateState = "completed"
	UpdateStateRollbackStarted   UpdateState = "rollback_started"
	UpdateStateRollbackPaused    UpdateState = "rollback_paused"
	UpdateStateRollbackCompleted UpdateState = "rollback_completed"
)

// UpdateStatus is the progress of the latest update or rollback.
type UpdateStatus struct {
	// state of the update.
	// +optional
	State UpdateState `json:"state,omitempty"`
	// message says why the state is what it is.
	// +optional
	Message string `json:"message,omitempty"`
	// startedAt is when the update started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// completedAt is when the update completed, paused or was rolled back.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// PortStatus is a port as it is really published.
type PortStatus struct {
	// target is the port inside the task.
	Target int32 `json:"target"`
	// published is the port that answers on the nodes: the asked port, or the one the cluster
	// allocated when the asked one was 0 or outside the node-port range.
	// +optional
	Published int32 `json:"published,omitempty"`
	// protocol is tcp, udp or sctp.
	Protocol string `json:"protocol"`
	// mode is ingress or host.
	Mode PortMode `json:"mode"`
}

// WorkloadReference names the Kubernetes workload that runs a service's tasks.
type WorkloadReference struct {
	// kind is Deployment, StatefulSet (a replicated service whose tasks need their slots), DaemonSet
	// or Job.
	Kind string `json:"kind"`
	// name of the workload.
	Name string `json:"name"`
}

// ServiceStatus is what `docker service ls` and `docker service inspect` show of a service.
type ServiceStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Progressing and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// replicas is the REPLICAS column of docker service ls: "running/desired".
	// +optional
	Replicas string `json:"replicas,omitempty"`

	// runningTasks is the number of tasks running and ready.
	// +optional
	RunningTasks int32 `json:"runningTasks"`

	// desiredTasks is the number of tasks that should run.
	// +optional
	DesiredTasks int32 `json:"desiredTasks"`

	// completedTasks is the number of tasks of a job that completed.
	// +optional
	CompletedTasks int32 `json:"completedTasks,omitempty"`

	// selector is the label selector of the service's pods (for the scale subresource).
	// +optional
	Selector string `json:"selector,omitempty"`

	// ports are the ports as really published.
	// +optional
	// +listType=atomic
	Ports []PortStatus `json:"ports,omitempty"`

	// portsSummary is the PORTS column of docker service ls, e.g. "*:8000->80/tcp".
	// +optional
	PortsSummary string `json:"portsSummary,omitempty"`

	// hostnames are the host names the service's HTTP routes answer for, from its Traefik or
	// caddy-docker-proxy labels (a leading "*." is a wildcard).
	// +optional
	// +listType=atomic
	Hostnames []string `json:"hostnames,omitempty"`

	// imageHealthcheck is the HEALTHCHECK the operator last read from the config of the
	// service's image (docker runs it unless the service says otherwise): the tasks run it when
	// the registry cannot be read again, as long as the image is the same.
	// +optional
	ImageHealthcheck *ImageHealthcheck `json:"imageHealthcheck,omitempty"`

	// workload is the Deployment, DaemonSet or Job that runs the tasks.
	// +optional
	Workload *WorkloadReference `json:"workload,omitempty"`

	// updateStatus is the progress of the latest update or rollback.
	// +optional
	UpdateStatus *UpdateStatus `json:"updateStatus,omitempty"`

	// previousSpec is the spec before the latest update; a rollback swaps it with spec. An
	// automatic rollback (updateConfig.failureAction rollback) clears it, as Swarm does.
	// +optional
	PreviousSpec *ServiceSpec `json:"previousSpec,omitempty"`

	// appliedSpec is the spec the tasks were last set to run: the next update's previousSpec.
	// +optional
	AppliedSpec *ServiceSpec `json:"appliedSpec,omitempty"`

	// lastRollbackRequest is the value of the swarm.kubeswarm.io/rollback annotation that was
	// last acted on; a rollback happens once for each new value.
	// +optional
	LastRollbackRequest string `json:"lastRollbackRequest,omitempty"`

	// jobIteration counts the runs of a job service: every spec change runs the job again.
	// +optional
	JobIteration int64 `json:"jobIteration,omitempty"`
}

// AnnotationRollback requests a rollback (docker service rollback): set it to a new value, e.g.
// a timestamp, and the controller swaps spec and status.previousSpec once for that value.
// `kubectl swarm service rollback` sets it; with plain kubectl:
//
//	kubectl annotate ssvc web swarm.kubeswarm.io/rollback="$(date +%s)" --overwrite
const AnnotationRollback = "swarm.kubeswarm.io/rollback"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.runningTasks,selectorpath=.status.selector
// +kubebuilder:resource:scope=Namespaced,shortName=ssvc;swarmservice,categories=swarm,singular=service
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Replicas",type=string,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Ports",type=string,JSONPath=`.status.portsSummary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63 characters): it is also the service's DNS name"

// Service is a Swarm service: a set of tasks from one image, replicated or global, with
// published ports, placement and rolling updates.
type Service struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired service.
	// +required
	Spec ServiceSpec `json:"spec"`

	// status is the observed state of the service.
	// +optional
	Status ServiceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ServiceList is a list of Services.
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Service{}, &ServiceList{})
}

// ImageHealthcheck is the HEALTHCHECK of an image's config.
type ImageHealthcheck struct {
	// image is the image it was read from, as the spec names it.
	// +required
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`
	// healthcheck is the image's HEALTHCHECK; none when the image has none.
	// +optional
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
}
