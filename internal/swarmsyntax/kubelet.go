package swarmsyntax

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
)

// What a task may ask of the kubelet that Swarm grants freely: kernel parameters, extended
// resources, a hostname. Each rule is the kubelet's or the API server's, so that the compose
// converter, the plugin and the operator refuse (or report) the same input the same way, before
// a pod would be rejected forever.

// safeSysctls are the kubelet's safe sysctls (kubernetes pkg/kubelet/sysctl/safe_sysctls.go):
// namespaced and isolated, so every kubelet admits them. The kernel-version conditions of some
// are left out: kubeswarm cannot know the nodes' kernels.
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced":              true,
	"net.ipv4.ip_local_port_range":        true,
	"net.ipv4.tcp_syncookies":             true,
	"net.ipv4.ping_group_range":           true,
	"net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.ip_local_reserved_ports":    true,
	"net.ipv4.tcp_keepalive_time":         true,
	"net.ipv4.tcp_fin_timeout":            true,
	"net.ipv4.tcp_keepalive_intvl":        true,
	"net.ipv4.tcp_keepalive_probes":       true,
	"net.ipv4.tcp_rmem":                   true,
	"net.ipv4.tcp_wmem":                   true,
}

// SysctlVerdict is what the kubelet does with a sysctl.
type SysctlVerdict int

const (
	// SysctlSafe: every kubelet admits it.
	SysctlSafe SysctlVerdict = iota
	// SysctlUnsafe: namespaced, admitted only by kubelets whose --allowed-unsafe-sysctls names
	// it; elsewhere the pod is rejected (SysctlForbidden).
	SysctlUnsafe
)

// Sysctl judges a sysctl as the kubelet does (kubernetes pkg/kubelet/sysctl/allowlist.go): a
// safe one runs anywhere; a namespaced one needs the nodes' --allowed-unsafe-sysctls; one not
// known to be namespaced can never run in a pod (no kubelet accepts it even in its allowlist),
// and is refused in the kubelet's words.
func Sysctl(name string) (SysctlVerdict, error) {
	ns, n, _ := utilsysctl.GetNamespace(name)
	if safeSysctls[n] {
		return SysctlSafe, nil
	}
	if ns == utilsysctl.UnknownNamespace {
		return SysctlUnsafe, &RuleError{Field: "sysctls", Value: name, Msg: MsgSysctl}
	}
	return SysctlUnsafe, nil
}

// MsgSysctl is the refusal of a sysctl no kubelet runs, in the kubelet's words ("forbidden
// sysctl: the sysctl %q are not known to be namespaced"). Docker's engine refuses those too
// (runc: "sysctl … is not in a separate kernel namespace").
const MsgSysctl = "forbidden sysctl: not known to be namespaced, so no Kubernetes node runs a task with it; set it on the nodes themselves"

// UnsafeSysctlNote reports namespaced sysctls that only some kubelets admit.
func UnsafeSysctlNote(names []string) string {
	return fmt.Sprintf("sysctls %s: not among the kubelet's safe sysctls; the tasks start only on nodes whose kubelet runs with --allowed-unsafe-sysctls naming them (elsewhere they are rejected, SysctlForbidden)", strings.Join(names, ", "))
}

// GPU is the extended resource Kubernetes' device plugins advertise for NVIDIA GPUs.
const GPU = "nvidia.com/gpu"

// gpuKinds are the generic-resource kinds Swarm users give GPUs (dockerd
// --node-generic-resource NVIDIA-GPU=…, or gpu=…), compared case-insensitively.
var gpuKinds = map[string]bool{"gpu": true, "nvidia-gpu": true, "nvidia.com/gpu": true}

// ExtendedResource is the Kubernetes extended resource of a Swarm generic-resource kind.
// Swarm's kinds are any names the nodes advertise; Kubernetes' are domain-qualified names of a
// device plugin. A GPU kind (gpu, NVIDIA-GPU) becomes nvidia.com/gpu, with approximated true;
// a domain-qualified name is kept; anything else is refused.
func ExtendedResource(kind string) (name string, approximated bool, err error) {
	if gpuKinds[strings.ToLower(kind)] && kind != GPU {
		return GPU, true, nil
	}
	if errs := validation.IsQualifiedName(kind); len(errs) > 0 || !strings.Contains(kind, "/") {
		return "", false, &RuleError{Field: "resources.reservations.genericResources", Value: kind, Msg: MsgGenericResource}
	}
	return kind, false, nil
}

// MsgGenericResource is the refusal of a generic resource Kubernetes cannot name.
const MsgGenericResource = "must be an extended resource name like example.com/device (or gpu, which is nvidia.com/gpu)"

// dockerSockets are the paths of the Docker Engine's socket.
var dockerSockets = map[string]bool{"/var/run/docker.sock": true, "/run/docker.sock": true}

// dockerSocketUsers name what replaces the Docker Engine socket for the images that commonly
// mount it, by the image's repository.
var dockerSocketUsers = []struct{ image, instead string }{
	{"traefik", "Traefik reads services from Kubernetes itself: run it with its kubernetes provider (providers.kubernetesIngress or providers.kubernetesCRD) instead of the docker/swarm provider, or leave it out (stack deploy --leave-out-proxy) and let the cluster's gateway route the other services' Traefik labels"},
	{"dockersamples/visualizer", "the Swarm visualizer is kubectl swarm viz (or the operator's --viz-bind-address)"},
	{"portainer/agent", "Portainer manages Kubernetes through its Kubernetes agent (the portainer-agent-k8s manifests), not the Swarm agent"},
	{"portainer/portainer", "Portainer manages Kubernetes through its Kubernetes agent (the portainer-agent-k8s manifests)"},
}

// DockerSocket refuses a bind mount of the Docker Engine's socket: a Kubernetes node runs its
// containers through the kubelet's runtime (containerd, CRI-O) and has no Docker Engine, so the
// task could never talk to it. The message names what replaces it for the image's common case.
func DockerSocket(source, image string) error {
	if !dockerSockets[path.Clean(source)] {
		return nil
	}
	msg := MsgDockerSocket
	repo := image
	if i := strings.LastIndexAny(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	repo = strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "library/")
	for _, u := range dockerSocketUsers {
		if repo == u.image {
			msg += "; " + u.instead
		}
	}
	return &RuleError{Field: "mounts", Value: source, Msg: msg}
}

// MsgDockerSocket is the refusal of a bind mount of the Docker Engine's socket.
const MsgDockerSocket = "a Kubernetes node has no Docker Engine socket (its containers run on the kubelet's runtime); a task that needs the engine's API needs the Kubernetes API instead"

// GPUResource is the extended resource of a compose device request with the gpu capability
// (deploy.resources.reservations.devices), by its driver: the vendors' device plugins
// advertise nvidia.com/gpu and amd.com/gpu.
func GPUResource(driver string) (string, error) {
	switch strings.ToLower(driver) {
	case "", "nvidia":
		return GPU, nil
	case "amd":
		return "amd.com/gpu", nil
	}
	return "", fmt.Errorf("GPU driver %q has no known Kubernetes device plugin resource: use nvidia or amd, or a generic_resources entry naming the extended resource (example.com/gpu)", driver)
}
