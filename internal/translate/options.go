package translate

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Options are the operator-wide settings that shape the objects.
type Options struct {
	// NodePortRange is the cluster's service node-port range (kube-apiserver
	// --service-node-port-range). A published port inside it becomes the nodePort itself.
	NodePortRange PortRange
	// IngressServiceType is NodePort (default) or LoadBalancer: the Kubernetes Service type for
	// a service with ingress-mode ports.
	IngressServiceType corev1.ServiceType
	// NodeFailureTimeout is how long replicated tasks stay on an unreachable or not-ready node
	// (default 30s).
	NodeFailureTimeout time.Duration
	// AllowBindMounts lets bind mounts become hostPath volumes.
	AllowBindMounts bool
	// AllowHostNetwork lets services on the host network run with the node's network
	// (hostNetwork).
	AllowHostNetwork bool
	// ClusterDNS is the address of the cluster's DNS server (the kube-dns Service); with it a
	// stack's tasks search their networks' DNS domains first. Empty: after the kubelet's.
	ClusterDNS string
	// ClusterDomain is the cluster's DNS domain (default cluster.local).
	ClusterDomain string
	// LatestPullPolicy replaces Always, the pull policy of :latest and untagged images, where
	// the nodes have their images loaded beforehand and no registry (empty: Always).
	LatestPullPolicy corev1.PullPolicy
	// FilesImage is the operator's own image (its binary at /manager): an init container of it
	// installs the secrets and configs that belong to a uid or gid other than root
	// (internal/files). Without it those files stay root's, and Honored says so.
	FilesImage string
}

// PortRange is an inclusive port range.
type PortRange struct{ Min, Max int32 }

// DefaultNodePortRange is Kubernetes' default service node-port range.
var DefaultNodePortRange = PortRange{Min: 30000, Max: 32767}

// Contains tells whether p is in the range.
func (r PortRange) Contains(p int32) bool { return p >= r.Min && p <= r.Max }

// NodePortRangeOrDefault is the cluster's node-port range: the option, else Kubernetes' default.
func (o Options) NodePortRangeOrDefault() PortRange {
	if o.NodePortRange.Max == 0 {
		return DefaultNodePortRange
	}
	return o.NodePortRange
}

// IngressServiceTypeOrDefault is the type of the Kubernetes Service of a service with ingress
// ports: the option, else NodePort.
func (o Options) IngressServiceTypeOrDefault() corev1.ServiceType {
	if o.IngressServiceType == "" {
		return corev1.ServiceTypeNodePort
	}
	return o.IngressServiceType
}

// DefaultClusterDomain is the cluster DNS domain when the operator is not told another.
const DefaultClusterDomain = "cluster.local"
