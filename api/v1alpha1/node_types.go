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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeRole is a node's role in the swarm.
// +kubebuilder:validation:Enum=manager;worker
type NodeRole string

const (
	RoleManager NodeRole = "manager"
	RoleWorker  NodeRole = "worker"
)

// NodeAvailability is whether a node takes tasks.
// +kubebuilder:validation:Enum=active;pause;drain
type NodeAvailability string

const (
	// AvailabilityActive: the node takes new tasks.
	AvailabilityActive NodeAvailability = "active"
	// AvailabilityPause: no new tasks; running tasks stay (a NoSchedule taint).
	AvailabilityPause NodeAvailability = "pause"
	// AvailabilityDrain: no tasks; running tasks move elsewhere (a NoExecute taint).
	AvailabilityDrain NodeAvailability = "drain"
)

// NodeSpec is what `docker node update` changes.
type NodeSpec struct {
	// role is manager or worker (docker node promote / demote).
	// +optional
	// +kubebuilder:default=worker
	Role NodeRole `json:"role,omitempty"`

	// availability is active (default), pause or drain.
	// +optional
	// +kubebuilder:default=active
	Availability NodeAvailability `json:"availability,omitempty"`

	// labels are node labels that node.labels.<label> constraints match (docker node update
	// --label-add); they are set on the Kubernetes node.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// NodeState is whether a node is up.
// +kubebuilder:validation:Enum=Ready;Down;Unknown
type NodeState string

const (
	NodeReady   NodeState = "Ready"
	NodeDown    NodeState = "Down"
	NodeUnknown NodeState = "Unknown"
)

// ManagerStatus is a manager's standing, the MANAGER STATUS column of docker node ls.
// +kubebuilder:validation:Enum=Leader;Reachable;Unreachable
type ManagerStatus string

const (
	ManagerLeader      ManagerStatus = "Leader"
	ManagerReachable   ManagerStatus = "Reachable"
	ManagerUnreachable ManagerStatus = "Unreachable"
)

// Platform is a node's operating system and architecture.
type Platform struct {
	// os, e.g. linux.
	// +optional
	OS string `json:"os,omitempty"`
	// architecture, e.g. x86_64 (docker's name; the Kubernetes name is amd64).
	// +optional
	Architecture string `json:"architecture,omitempty"`
}

// NodeResources are a node's allocatable resources.
type NodeResources struct {
	// cpus allocatable on the node.
	// +optional
	CPUs *resource.Quantity `json:"cpus,omitempty"`
	// memory allocatable on the node.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
}

// NodeStatus is what `docker node ls` and `docker node inspect` show of a node.
type NodeStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions of the node.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// id is the node's ID (the Kubernetes node's UID).
	// +optional
	ID string `json:"id,omitempty"`
	// hostname of the node.
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// addr is the node's internal address.
	// +optional
	Addr string `json:"addr,omitempty"`
	// state is Ready or Down, from the Kubernetes node's Ready condition.
	// +optional
	State NodeState `json:"state,omitempty"`
	// availability as applied to the node.
	// +optional
	Availability NodeAvailability `json:"availability,omitempty"`
	// role as applied to the node.
	// +optional
	Role NodeRole `json:"role,omitempty"`
	// managerStatus is Leader, Reachable or Unreachable for managers, empty for workers.
	// +optional
	ManagerStatus ManagerStatus `json:"managerStatus,omitempty"`
	// engineVersion is the kubelet version.
	// +optional
	EngineVersion string `json:"engineVersion,omitempty"`
	// platform of the node.
	// +optional
	Platform Platform `json:"platform,omitempty"`
	// resources allocatable on the node.
	// +optional
	Resources NodeResources `json:"resources,omitempty"`
	// tasks is the number of swarm tasks on the node.
	// +optional
	Tasks int32 `json:"tasks"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=snode;swarmnode,categories=swarm,singular=node
// +kubebuilder:printcolumn:name="ID",type=string,JSONPath=`.status.id`,priority=1
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Availability",type=string,JSONPath=`.spec.availability`
// +kubebuilder:printcolumn:name="Manager Status",type=string,JSONPath=`.status.managerStatus`
// +kubebuilder:printcolumn:name="Engine Version",type=string,JSONPath=`.status.engineVersion`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`,priority=1
// +kubebuilder:printcolumn:name="Tasks",type=integer,JSONPath=`.status.tasks`,priority=1

// Node is the Swarm view of a Kubernetes node: its role, availability and labels. The Node
// controller keeps one per Kubernetes node, with the same name.
type Node struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired role, availability and labels.
	// +optional
	Spec NodeSpec `json:"spec,omitempty"`

	// status is the observed state of the node.
	// +optional
	Status NodeStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// NodeList is a list of Nodes.
type NodeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Node `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Node{}, &NodeList{})
}
