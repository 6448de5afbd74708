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

// ServiceMode is how a service's tasks are scheduled, as in `docker service create --mode`.
// +kubebuilder:validation:Enum=replicated;global;replicated-job;global-job
type ServiceMode string

const (
	// ModeReplicated runs spec.replicas long-running tasks (a Deployment).
	ModeReplicated ServiceMode = "replicated"
	// ModeGlobal runs one task on every eligible node (a DaemonSet).
	ModeGlobal ServiceMode = "global"
	// ModeReplicatedJob runs spec.replicas tasks to completion, spec.maxConcurrent at a time (a Job).
	ModeReplicatedJob ServiceMode = "replicated-job"
	// ModeGlobalJob runs one task to completion on every eligible node.
	ModeGlobalJob ServiceMode = "global-job"
)

// IsJob tells whether tasks of the mode run to completion.
func (m ServiceMode) IsJob() bool { return m == ModeReplicatedJob || m == ModeGlobalJob }

// IsGlobal tells whether the mode runs one task per eligible node.
func (m ServiceMode) IsGlobal() bool { return m == ModeGlobal || m == ModeGlobalJob }

// IsReplicated tells whether the mode is replicated (the default when not set): long-running
// tasks, spec.replicas of them.
func (m ServiceMode) IsReplicated() bool { return m == "" || m == ModeReplicated }

// ServiceSpec is a Swarm service, in the vocabulary of the compose file (camelCase), with the
// docker CLI's defaults. Only changes to fields that belong to the task template (image, command,
// env, mounts, resources, …) or to the published ports replace running tasks; replicas, labels and
// the update/rollback config do not.
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || !has(self.mode) || self.mode in ['replicated', 'replicated-job']",message="replicas can only be used with replicated or replicated-job mode",fieldPath=".replicas"
// +kubebuilder:validation:XValidation:rule="!has(self.maxConcurrent) || (has(self.mode) && self.mode == 'replicated-job')",message="max-concurrent can only be used with replicated-job mode",fieldPath=".maxConcurrent"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || !(self.mode in ['replicated-job', 'global-job']) || (!has(self.updateConfig) && !has(self.rollbackConfig))",message="update and rollback configuration is not supported for jobs",fieldPath=".updateConfig"
// +kubebuilder:validation:XValidation:rule="!has(self.placement) || !has(self.placement.maxReplicasPerNode) || !has(self.mode) || self.mode in ['replicated', 'replicated-job']",message="replicas-max-per-node can only be used with replicated or replicated-job mode",fieldPath=".placement"
// +kubebuilder:validation:XValidation:rule="!has(self.endpointMode) || self.endpointMode != 'dnsrr' || !has(self.ports) || self.ports.all(p, has(p.mode) && p.mode == 'host')",message="port published with ingress mode can't be used with dnsrr mode",fieldPath=".endpointMode"
// +kubebuilder:validation:XValidation:rule="!has(self.ports) || self.ports.all(p, !has(p.published) || p.published == 0 || self.ports.filter(q, has(q.published) && q.published == p.published && q.protocol == p.protocol).size() == 1)",message="a published port may only be used once per protocol",fieldPath=".ports"
// +kubebuilder:validation:XValidation:rule="!has(self.rollbackConfig) || !has(self.rollbackConfig.failureAction) || self.rollbackConfig.failureAction != 'rollback'",message="failureAction must be pause or continue: a rollback is never rolled back",fieldPath=".rollbackConfig"
type ServiceSpec struct {
	// image is the container image of the service's tasks, e.g. "nginx:1.27".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`

	// registryAuthSecret names a kubernetes.io/dockerconfigjson Secret of the namespace whose
	// credentials pull the image (the tasks' imagePullSecrets) and read its config: docker's
	// --with-registry-auth, which swarmkit keeps in the task's PullOptions.RegistryAuth. The
	// plugin and the Engine API write it as <service>-registry-auth (a stack's:
	// <stack>-registry-auth), owned by the Service (the Stack).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	RegistryAuthSecret string `json:"registryAuthSecret,omitempty"`

	// entrypoint overrides the image's ENTRYPOINT (docker --entrypoint; the container's command).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Entrypoint []string `json:"entrypoint,omitempty"`

	// command overrides the image's CMD (docker's `IMAGE [COMMAND] [ARG...]`; the container's args).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Command []string `json:"command,omitempty"`

	// env sets environment variables in the tasks (docker --env).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Env []EnvVar `json:"env,omitempty"`

	// workingDir is the working directory of the tasks (docker --workdir).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	WorkingDir string `json:"workingDir,omitempty"`

	// user runs the tasks as this user: "UID" or "UID:GID" (docker --user). Names are not
	// resolved on Kubernetes, so only numeric ids are accepted.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+(:[0-9]+)?$`
	User string `json:"user,omitempty"`

	// groups are supplementary numeric group ids of the tasks (docker --group).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[0-9]+$`
	Groups []string `json:"groups,omitempty"`

	// hostname is the tasks' hostname (docker --hostname).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Hostname string `json:"hostname,omitempty"`

	// extraHosts adds entries to the tasks' /etc/hosts (docker --host, compose extra_hosts).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	ExtraHosts []HostEntry `json:"extraHosts,omitempty"`

	// dns are the nameservers of the tasks (docker --dns).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=3
	DNS []string `json:"dns,omitempty"`

	// dnsSearch are DNS search domains of the tasks (docker --dns-search).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	DNSSearch []string `json:"dnsSearch,omitempty"`

	// dnsOptions are resolver options of the tasks, "name" or "name:value" (docker --dns-option).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	DNSOptions []string `json:"dnsOptions,omitempty"`

	// labels are the service's labels (docker --label). They are set on the Kubernetes objects
	// made for the service, not on its tasks, so changing them restarts nothing.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// containerLabels are labels of the tasks' containers (docker --container-label); they become
	// annotations of the tasks' pods.
	// +optional
	ContainerLabels map[string]string `json:"containerLabels,omitempty"`

	// mode is how tasks are scheduled: replicated (default), global, replicated-job or global-job.
	// +optional
	// +kubebuilder:default=replicated
	Mode ServiceMode `json:"mode,omitempty"`

	// replicas is the number of tasks of a replicated service (default 1), or the total number of
	// completions of a replicated-job service.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// maxConcurrent is how many tasks of a replicated-job service run at once (default: replicas).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxConcurrent *int32 `json:"maxConcurrent,omitempty"`

	// placement restricts and spreads the nodes that run the tasks.
	// +optional
	Placement *Placement `json:"placement,omitempty"`

	// updateConfig is how tasks are replaced when the task template changes.
	// +optional
	UpdateConfig *UpdateConfig `json:"updateConfig,omitempty"`

	// rollbackConfig is how tasks are replaced during a rollback.
	// +optional
	RollbackConfig *UpdateConfig `json:"rollbackConfig,omitempty"`

	// restartPolicy is when tasks that end are restarted.
	// +optional
	RestartPolicy *RestartPolicy `json:"restartPolicy,omitempty"`

	// resources are the tasks' limits and reservations.
	// +optional
	Resources *Resources `json:"resources,omitempty"`

	// healthcheck tells whether a task is healthy; it overrides the image's HEALTHCHECK.
	// +optional
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`

	// ports are the service's ports: ingress mode publishes them on every node (the routing
	// mesh), host mode only on the nodes that run a task.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Ports []PortConfig `json:"ports,omitempty"`

	// exposedPorts are ports the tasks listen on without publishing them (compose `expose:`):
	// they give a service without published ports a virtual IP inside the cluster, so that
	// clients that keep a resolved address (nginx proxy_pass, JVMs) survive a task's
	// replacement. Swarm's virtual IP answers on every port; a Kubernetes Service only on the
	// ports it lists.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	ExposedPorts []ExposedPort `json:"exposedPorts,omitempty"`

	// endpointMode is how the service is found by name: vip (a virtual IP, default) or dnsrr (one
	// DNS record per task).
	// +optional
	// +kubebuilder:default=vip
	// +kubebuilder:validation:Enum=vip;dnsrr
	EndpointMode string `json:"endpointMode,omitempty"`

	// networks are the networks the service is attached to (within a stack, services only reach
	// services that share a network).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Networks []NetworkAttachment `json:"networks,omitempty"`

	// mounts are the volumes, bind mounts and tmpfs mounts of the tasks (docker --mount).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Mounts []Mount `json:"mounts,omitempty"`

	// secrets are Kubernetes Secrets mounted in the tasks at /run/secrets/<target>.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Secrets []FileReference `json:"secrets,omitempty"`

	// configs are Kubernetes ConfigMaps mounted in the tasks at /<target>.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Configs []FileReference `json:"configs,omitempty"`

	// stopGracePeriod is how long a task has to stop before it is killed (default 10s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	StopGracePeriod *metav1.Duration `json:"stopGracePeriod,omitempty"`

	// stopSignal is the signal that stops a task (docker --stop-signal).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	StopSignal string `json:"stopSignal,omitempty"`

	// forceUpdate is a counter: changing it replaces every task even when nothing else changed
	// (docker service update --force).
	// +optional
	// +kubebuilder:validation:Minimum=0
	ForceUpdate int64 `json:"forceUpdate,omitempty"`

	// init runs an init process in each task (docker --init).
	// +optional
	Init *bool `json:"init,omitempty"`

	// tty allocates a pseudo-TTY (docker --tty).
	// +optional
	TTY bool `json:"tty,omitempty"`

	// readOnly mounts the container's root filesystem read-only (docker --read-only).
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`

	// capAdd are Linux capabilities added to the tasks (docker --cap-add).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	CapAdd []string `json:"capAdd,omitempty"`

	// capDrop are Linux capabilities dropped from the tasks (docker --cap-drop).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	CapDrop []string `json:"capDrop,omitempty"`

	// sysctls are namespaced kernel parameters of the tasks (docker --sysctl).
	// +optional
	Sysctls map[string]string `json:"sysctls,omitempty"`

	// ulimits are resource limits of the tasks' processes (docker --ulimit). Kubernetes has no
	// per-container ulimits: they are reported as ignored in the Degraded condition's message.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Ulimits []Ulimit `json:"ulimits,omitempty"`

	// logging is the tasks' log driver (docker --log-driver). Kubernetes keeps container logs
	// itself: a driver other than json-file is reported as ignored.
	// +optional
	Logging *Logging `json:"logging,omitempty"`

	// nodeFailureTimeout is how long tasks stay bound to an unreachable or not-ready node before
	// they are rescheduled elsewhere (default: the operator's --node-failure-timeout, 30s).
	// Kubernetes' own default is 5 minutes; Swarm reschedules after about 15 seconds.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	NodeFailureTimeout *metav1.Duration `json:"nodeFailureTimeout,omitempty"`
}

// EnvVar is an environment variable of a task.
type EnvVar struct {
	// name of the variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// value of the variable; may be empty.
	// +optional
	Value string `json:"value,omitempty"`
}

// HostEntry is one line of /etc/hosts.
type HostEntry struct {
	// hostname resolves to ip.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Hostname string `json:"hostname"`
	// ip is the address the hostname resolves to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="must be an IPv4 or IPv6 address"
	IP string `json:"ip"`
}

// Placement restricts and spreads the nodes that run a service's tasks.
type Placement struct {
	// constraints are "KEY==VALUE" or "KEY!=VALUE" rules a node must meet to run a task. KEY is
	// node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch,
	// node.labels.<label> or engine.labels.<label>, in any case (as in Swarm); a value has no
	// spaces. Values of node.role, node.hostname and node.platform.* compare case-insensitively.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=316
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.matches('^\\\\s*(?i:node\\\\.(id|hostname|role|ip|platform\\\\.os|platform\\\\.arch)|(node|engine)\\\\.labels\\\\.[^=!\\\\s]+)\\\\s*(==|!=)\\\\s*[^=!\\\\s]+\\\\s*$'))",message="each constraint must be KEY==VALUE or KEY!=VALUE with KEY one of node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label> (any case) and a VALUE without spaces"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !c.matches('^\\\\s*(?i:node\\\\.role)\\\\s*[=!]') || c.matches('^\\\\s*(?i:node\\\\.role)\\\\s*(==|!=)\\\\s*(?i:manager|worker)\\\\s*$'))",message="node.role constraints compare with manager or worker"
	Constraints []string `json:"constraints,omitempty"`

	// preferences spread tasks evenly over the values of a node label.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Preferences []PlacementPreference `json:"preferences,omitempty"`

	// maxReplicasPerNode is the most tasks of the service on one node; 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxReplicasPerNode *int32 `json:"maxReplicasPerNode,omitempty"`
}

// PlacementPreference spreads tasks over the values of a label (docker --placement-pref).
type PlacementPreference struct {
	// spread is node.labels.<label> or engine.labels.<label>.
	// +required
	// +kubebuilder:validation:MaxLength=316
	// +kubebuilder:validation:XValidation:rule="self.matches('^(node|engine)\\\\.labels\\\\.\\\\S+$')",message="spread must be node.labels.<label> or engine.labels.<label>"
	Spread string `json:"spread"`
}

// FailureAction is what happens when an updated task fails.
// +kubebuilder:validation:Enum=pause;continue;rollback
type FailureAction string

const (
	FailureActionPause    FailureAction = "pause"
	FailureActionContinue FailureAction = "continue"
	FailureActionRollback FailureAction = "rollback"
)

// UpdateOrder is whether an old task stops before or after its replacement starts.
// +kubebuilder:validation:Enum=stop-first;start-first
type UpdateOrder string

const (
	OrderStopFirst  UpdateOrder = "stop-first"
	OrderStartFirst UpdateOrder = "start-first"
)

// UpdateConfig is how tasks are replaced during an update or a rollback.
type UpdateConfig struct {
	// parallelism is how many tasks are replaced at once; 0 replaces all at once (default 1).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Parallelism *int32 `json:"parallelism,omitempty"`

	// delay is the wait between two batches (default 0s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Delay *metav1.Duration `json:"delay,omitempty"`

	// failureAction is what happens when an updated task fails: pause (default), continue or
	// rollback.
	// +optional
	// +kubebuilder:default=pause
	FailureAction FailureAction `json:"failureAction,omitempty"`

	// monitor is how long after a task starts its failure still counts (default 5s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Monitor *metav1.Duration `json:"monitor,omitempty"`

	// maxFailureRatio is the share of failed tasks tolerated during an update, "0" to "1"
	// (default "0").
	// +optional
	// +kubebuilder:validation:Pattern=`^(0(\.[0-9]+)?|1(\.0+)?|\.[0-9]+)$`
	MaxFailureRatio string `json:"maxFailureRatio,omitempty"`

	// order is stop-first (default: the old task stops before its replacement starts) or
	// start-first.
	// +optional
	// +kubebuilder:default=stop-first
	Order UpdateOrder `json:"order,omitempty"`
}

// RestartCondition is when a task that ended is restarted.
// +kubebuilder:validation:Enum=none;on-failure;any
type RestartCondition string

const (
	RestartNone      RestartCondition = "none"
	RestartOnFailure RestartCondition = "on-failure"
	RestartAny       RestartCondition = "any"
)

// RestartOn is the condition of p, any (Swarm's default) when p or its condition is not set.
func (p *RestartPolicy) RestartOn() RestartCondition {
	if p == nil || p.Condition == "" {
		return RestartAny
	}
	return p.Condition
}

// RestartPolicy is when and how tasks that end are restarted.
type RestartPolicy struct {
	// condition is none, on-failure or any (default).
	// +optional
	// +kubebuilder:default=any
	Condition RestartCondition `json:"condition,omitempty"`
	// delay is the wait before a restart (default 5s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Delay *metav1.Duration `json:"delay,omitempty"`
	// maxAttempts is how many restarts are tried; 0 means no limit.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxAttempts *int32 `json:"maxAttempts,omitempty"`
	// window is the time over which restarts are counted; 0 means no window.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Window *metav1.Duration `json:"window,omitempty"`
}

// Resources are a task's limits and reservations.
type Resources struct {
	// limits are the most a task may use.
	// +optional
	Limits *ResourceLimits `json:"limits,omitempty"`
	// reservations are what a node must have free to run a task.
	// +optional
	Reservations *ResourceReservations `json:"reservations,omitempty"`
}

// ResourceLimits are the most a task may use.
type ResourceLimits struct {
	// cpus, e.g. "0.5" or "500m".
	// +optional
	CPUs *resource.Quantity `json:"cpus,omitempty"`
	// memory in bytes or as a Kubernetes quantity, e.g. "512Mi". (The plugin turns docker's
	// units, where "50M" means 50 MiB, into exact bytes.)
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
	// pids is the most processes a task may run; Kubernetes sets this per node, not per
	// container, so it is reported as ignored.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Pids *int64 `json:"pids,omitempty"`
}

// ResourceReservations are what a node must have free to run a task.
type ResourceReservations struct {
	// cpus, e.g. "0.25".
	// +optional
	CPUs *resource.Quantity `json:"cpus,omitempty"`
	// memory, e.g. "256Mi".
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
	// genericResources are extended resources (docker --generic-resource), e.g. kind
	// "nvidia.com/gpu".
	// +optional
	// +listType=map
	// +listMapKey=kind
	// +kubebuilder:validation:MaxItems=16
	GenericResources []GenericResource `json:"genericResources,omitempty"`
}

// GenericResource is an amount of an extended resource.
type GenericResource struct {
	// kind is the resource name, e.g. "nvidia.com/gpu".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Kind string `json:"kind"`
	// value is the amount.
	// +required
	// +kubebuilder:validation:Minimum=1
	Value int64 `json:"value"`
}

// Healthcheck tells whether a task is healthy.
// +kubebuilder:validation:XValidation:rule="!has(self.test) || size(self.test) == 0 || self.test[0] in ['CMD', 'CMD-SHELL', 'NONE']",message="test must start with CMD, CMD-SHELL or NONE"
// +kubebuilder:validation:XValidation:rule="!has(self.test) || size(self.test) == 0 || self.test[0] == 'NONE' || size(self.test) >= 2",message="test needs a command after CMD or CMD-SHELL"
type Healthcheck struct {
	// test is ["CMD", args...], ["CMD-SHELL", "command"] (run by /bin/sh -c) or ["NONE"].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Test []string `json:"test,omitempty"`
	// interval between checks (default 30s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Interval *metav1.Duration `json:"interval,omitempty"`
	// timeout of one check (default 30s).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// retries is how many failures in a row make a task unhealthy (default 3).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Retries *int32 `json:"retries,omitempty"`
	// startPeriod is the time a task has to start before failed checks count.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	StartPeriod *metav1.Duration `json:"startPeriod,omitempty"`
	// startInterval is the interval between checks during startPeriod.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:MaxLength=64
	StartInterval *metav1.Duration `json:"startInterval,omitempty"`
	// disable turns off any healthcheck, the image's too (docker --no-healthcheck).
	// +optional
	Disable bool `json:"disable,omitempty"`
}

// PortMode is how a port is published.
// +kubebuilder:validation:Enum=ingress;host
type PortMode string

const (
	// PortModeIngress publishes the port on every node (the routing mesh).
	PortModeIngress PortMode = "ingress"
	// PortModeHost publishes the port only on the nodes that run a task.
	PortModeHost PortMode = "host"
)

// PortConfig is a port of a service (docker --publish).
type PortConfig struct {
	// target is the port inside the task.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Target int32 `json:"target"`
	// published is the port on the nodes; 0 or unset lets the cluster choose one (ingress mode).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Published int32 `json:"published,omitempty"`
	// protocol is tcp (default), udp or sctp.
	// +optional
	// +kubebuilder:default=tcp
	// +kubebuilder:validation:Enum=tcp;udp;sctp
	Protocol string `json:"protocol,omitempty"`
	// mode is ingress (default) or host.
	// +optional
	// +kubebuilder:default=ingress
	Mode PortMode `json:"mode,omitempty"`
}

// ExposedPort is a port the tasks listen on, reachable inside the cluster only.
type ExposedPort struct {
	// port is the port inside the task, and on the service's virtual IP.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// protocol is tcp (default), udp or sctp.
	// +optional
	// +kubebuilder:default=tcp
	// +kubebuilder:validation:Enum=tcp;udp;sctp
	Protocol string `json:"protocol,omitempty"`
}

// NetworkAttachment attaches a service to a network.
type NetworkAttachment struct {
	// name of the network.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// aliases are further names of the service on this network.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Aliases []string `json:"aliases,omitempty"`
}

// MountType is the kind of a mount.
// +kubebuilder:validation:Enum=volume;bind;tmpfs
type MountType string

const (
	MountVolume MountType = "volume"
	MountBind   MountType = "bind"
	MountTmpfs  MountType = "tmpfs"
)

// Mount is a volume, bind mount or tmpfs in a task (docker --mount).
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'bind' || (has(self.source) && self.source.startsWith('/'))",message="a bind mount needs an absolute source path"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'tmpfs' || !has(self.source)",message="a tmpfs mount has no source"
// +kubebuilder:validation:XValidation:rule="!has(self.volume) || !has(self.type) || self.type == 'volume'",message="volume options are only valid for volume mounts"
// +kubebuilder:validation:XValidation:rule="!has(self.bind) || (has(self.type) && self.type == 'bind')",message="bind options are only valid for bind mounts"
// +kubebuilder:validation:XValidation:rule="!has(self.tmpfs) || (has(self.type) && self.type == 'tmpfs')",message="tmpfs options are only valid for tmpfs mounts"
type Mount struct {
	// type is volume (default), bind or tmpfs.
	// +optional
	// +kubebuilder:default=volume
	Type MountType `json:"type,omitempty"`
	// source is the volume's name (empty: an anonymous volume) or the host path of a bind mount.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Source string `json:"source,omitempty"`
	// target is the absolute path in the task.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^/`
	Target string `json:"target"`
	// readOnly mounts read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
	// volume holds options of a volume mount.
	// +optional
	Volume *VolumeOptions `json:"volume,omitempty"`
	// bind holds options of a bind mount.
	// +optional
	Bind *BindOptions `json:"bind,omitempty"`
	// tmpfs holds options of a tmpfs mount.
	// +optional
	Tmpfs *TmpfsOptions `json:"tmpfs,omitempty"`
}

// VolumeOptions are options of a volume mount.
type VolumeOptions struct {
	// noCopy does not fill a new volume with the image's files at the target.
	// +optional
	NoCopy bool `json:"noCopy,omitempty"`
	// subpath mounts this path inside the volume.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Subpath string `json:"subpath,omitempty"`
	// labels of the volume.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// driver of the volume; the cluster's storage classes stand for docker's volume drivers.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Driver string `json:"driver,omitempty"`
	// driverOptions of the volume.
	// +optional
	DriverOptions map[string]string `json:"driverOptions,omitempty"`
}

// BindOptions are options of a bind mount.
type BindOptions struct {
	// propagation is the bind propagation: rprivate (default), private, rshared, shared, rslave
	// or slave.
	// +optional
	// +kubebuilder:validation:Enum=private;rprivate;shared;rshared;slave;rslave
	Propagation string `json:"propagation,omitempty"`
}

// TmpfsOptions are options of a tmpfs mount.
type TmpfsOptions struct {
	// size of the tmpfs; unset means no limit.
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// mode of the tmpfs root directory, e.g. 1777 (octal, as docker's tmpfs-mode).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=7777
	Mode *int32 `json:"mode,omitempty"`
}

// FileReference mounts a Secret (at /run/secrets/<target>) or a ConfigMap (at /<target>) into
// the tasks (docker --secret, --config).
type FileReference struct {
	// source is the name of the Secret or ConfigMap. Within a stack it is the compose name, and
	// the stack's object is used.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Source string `json:"source"`
	// target is the file name (relative: under /run/secrets for secrets, / for configs) or an
	// absolute path; default: source.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Target string `json:"target,omitempty"`
	// uid that owns the file (default "0").
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+$`
	UID string `json:"uid,omitempty"`
	// gid that owns the file (default "0").
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+$`
	GID string `json:"gid,omitempty"`
	// mode of the file, in decimal as in the API (292 = 0444, the default).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=511
	Mode *int32 `json:"mode,omitempty"`
}

// Ulimit is a process resource limit.
type Ulimit struct {
	// name of the limit, e.g. "nofile".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	Name string `json:"name"`
	// soft limit.
	// +required
	Soft int64 `json:"soft"`
	// hard limit.
	// +required
	Hard int64 `json:"hard"`
}

// Logging is a task's log driver.
type Logging struct {
	// driver is the log driver's name.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Driver string `json:"driver,omitempty"`
	// options of the driver.
	// +optional
	Options map[string]string `json:"options,omitempty"`
}
