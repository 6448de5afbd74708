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

// StackSpec is a compose file deployed as one unit (docker stack deploy).
// +kubebuilder:validation:XValidation:rule="!has(self.services) || self.services.all(s, !has(s.networks) || s.networks.all(n, n.name == 'default' || (has(self.networks) && self.networks.exists(m, m.name == n.name))))",message="a service uses a network that the stack's networks do not declare",fieldPath=".services"
// +kubebuilder:validation:XValidation:rule="!has(self.services) || self.services.all(s, !has(s.secrets) || s.secrets.all(f, has(self.secrets) && self.secrets.exists(m, m.name == f.source)))",message="a service uses a secret that the stack's secrets do not declare",fieldPath=".services"
// +kubebuilder:validation:XValidation:rule="!has(self.services) || self.services.all(s, !has(s.configs) || s.configs.all(f, has(self.configs) && self.configs.exists(m, m.name == f.source)))",message="a service uses a config that the stack's configs do not declare",fieldPath=".services"
// +kubebuilder:validation:XValidation:rule="!has(self.services) || self.services.all(s, !has(s.mounts) || s.mounts.all(v, !has(v.type) || v.type != 'volume' || !has(v.source) || (has(self.volumes) && self.volumes.exists(m, m.name == v.source))))",message="a service mounts a volume that the stack's volumes do not declare",fieldPath=".services"
type StackSpec struct {
	// services of the stack; each becomes a Service named <stack>-<name>.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Services []StackService `json:"services,omitempty"`

	// networks of the stack. A service with no networks is on the stack's "default" network.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Networks []StackNetwork `json:"networks,omitempty"`

	// volumes are the stack's named volumes; each becomes a PersistentVolumeClaim that the Stack
	// does not own: deleting the Stack keeps it and its data (as docker stack rm keeps volumes),
	// and the next Stack of the same name uses it again. `kubectl swarm volume rm` removes it.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Volumes []StackVolume `json:"volumes,omitempty"`

	// secrets of the stack, as Kubernetes Secrets.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Secrets []StackObject `json:"secrets,omitempty"`

	// configs of the stack, as Kubernetes ConfigMaps.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Configs []StackObject `json:"configs,omitempty"`

	// gateway is the Gateway API Gateway (NAMESPACE/NAME, or NAME in the stack's namespace) that
	// the HTTP routes of the services' Traefik and caddy-docker-proxy labels attach to. It comes
	// before the namespace's swarm.kubeswarm.io/gateway annotation and the operator's --gateway.
	// +optional
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Gateway string `json:"gateway,omitempty"`
}

// StackService is one compose service.
type StackService struct {
	// name is the compose service name; inside the stack the service resolves by it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=52
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	ServiceSpec `json:",inline"`
}

// StackNetwork is a compose network.
type StackNetwork struct {
	// name is the compose network name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// external refers to a network made outside the stack.
	// +optional
	External bool `json:"external,omitempty"`
	// externalName is the name of the external network when it differs from name (compose
	// `name:`): tasks of every stack that names it so share it.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ExternalName string `json:"externalName,omitempty"`
	// internal networks have no way out: their tasks reach only the network's other tasks and
	// the cluster's DNS, unless they are also on a network that is not internal.
	// +optional
	Internal bool `json:"internal,omitempty"`
	// driver is the compose network driver (overlay on Swarm); kept for reference.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Driver string `json:"driver,omitempty"`
	// labels of the network.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// StackVolume is a compose named volume.
type StackVolume struct {
	// name is the compose volume name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// external refers to an existing PersistentVolumeClaim of this name (or externalName).
	// +optional
	External bool `json:"external,omitempty"`
	// externalName is the name of the existing claim when it differs from name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ExternalName string `json:"externalName,omitempty"`
	// size of the claim (default 1Gi).
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// storageClassName of the claim (default: the cluster's default class).
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// driver is the compose volume driver; kept for reference.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Driver string `json:"driver,omitempty"`
	// driverOptions of the compose volume; kept for reference.
	// +optional
	DriverOptions map[string]string `json:"driverOptions,omitempty"`
	// labels of the volume.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// retain is deprecated and has no effect: every claim of a stack is kept when the stack is
	// deleted. It is accepted so that Stacks written by earlier versions stay valid.
	//
	// Deprecated: stack volumes are always retained; remove the field.
	// +optional
	Retain bool `json:"retain,omitempty"`
}

// StackObject is a compose secret or config.
type StackObject struct {
	// name is the compose name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// external refers to an existing Secret or ConfigMap of this name (or externalName).
	// +optional
	External bool `json:"external,omitempty"`
	// externalName is the name of the existing object when it differs from name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ExternalName string `json:"externalName,omitempty"`
	// labels of the object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// StackServiceStatus is one line of docker stack services.
type StackServiceStatus struct {
	// name is the compose service name.
	Name string `json:"name"`
	// mode of the service.
	// +optional
	Mode ServiceMode `json:"mode,omitempty"`
	// replicas is "running/desired".
	// +optional
	Replicas string `json:"replicas,omitempty"`
	// image of the service.
	// +optional
	Image string `json:"image,omitempty"`
	// ports is the PORTS column, e.g. "*:8080->80/tcp".
	// +optional
	Ports string `json:"ports,omitempty"`
	// hostnames are the host names the service's HTTP routes answer for.
	// +optional
	// +listType=atomic
	Hostnames []string `json:"hostnames,omitempty"`
}

// StackStatus is the observed state of a stack.
type StackStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions are Ready, Progressing and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// serviceCount is the SERVICES column of docker stack ls.
	// +optional
	ServiceCount int32 `json:"serviceCount"`
	// services summarises each service of the stack.
	// +optional
	// +listType=map
	// +listMapKey=name
	Services []StackServiceStatus `json:"services,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=stk,categories=swarm
// +kubebuilder:printcolumn:name="Services",type=integer,JSONPath=`.status.serviceCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Stack is a compose file's services, networks, volumes, secrets and configs, deployed as one
// unit.
type Stack struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired stack.
	// +required
	Spec StackSpec `json:"spec"`

	// status is the observed state of the stack.
	// +optional
	Status StackStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// StackList is a list of Stacks.
type StackList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Stack `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Stack{}, &StackList{})
}
