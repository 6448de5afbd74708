package translate

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// PublishedPorts are the ports as really published, read from the live Kubernetes Service: an
// ingress port answers on its nodePort (the load balancer's port for LoadBalancer Services),
// a host-mode port on its published port.
func PublishedPorts(spec *swarmv1.ServiceSpec, live *corev1.Service) []swarmv1.PortStatus {
	var out []swarmv1.PortStatus
	for _, p := range spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		st := swarmv1.PortStatus{Target: p.Target, Protocol: proto, Mode: swarmv1.PortModeHost, Published: p.Published}
		if isIngress(p) {
			st.Mode, st.Published = swarmv1.PortModeIngress, livePublished(p, live)
		}
		out = append(out, st)
	}
	return out
}

func livePublished(p swarmv1.PortConfig, live *corev1.Service) int32 {
	if live == nil {
		return 0
	}
	var fallback int32
	for _, sp := range live.Spec.Ports {
		if sp.TargetPort.IntVal != p.Target || !strings.EqualFold(string(sp.Protocol), p.Protocol) {
			continue
		}
		if p.Published != 0 && (sp.NodePort == p.Published || (live.Spec.Type == corev1.ServiceTypeLoadBalancer && sp.Port == p.Published)) {
			return p.Published
		}
		if fallback == 0 && (p.Published == 0 || sp.Port == p.Target || sp.Port == p.Published) {
			fallback = sp.NodePort
		}
	}
	return fallback
}

// PortsSummary is the PORTS column of docker service ls: the ingress ports as
// "*:8000->80/tcp", consecutive ones merged into ranges ("*:80-81->80-81/tcp").
func PortsSummary(ports []swarmv1.PortStatus) string {
	var in []swarmv1.PortStatus
	for _, p := range ports {
		if p.Mode == swarmv1.PortModeIngress {
			in = append(in, p)
		}
	}
	sort.SliceStable(in, func(i, j int) bool {
		if in[i].Protocol != in[j].Protocol {
			return in[i].Protocol < in[j].Protocol
		}
		if in[i].Published != in[j].Published {
			return in[i].Published < in[j].Published
		}
		return in[i].Target < in[j].Target
	})
	var parts []string
	for i := 0; i < len(in); {
		j := i
		for j+1 < len(in) && in[j+1].Protocol == in[i].Protocol &&
			in[j+1].Published == in[j].Published+1 && in[j+1].Target == in[j].Target+1 && in[j].Published != 0 {
			j++
		}
		pub, tgt := portOrRange(in[i].Published, in[j].Published), portOrRange(in[i].Target, in[j].Target)
		parts = append(parts, fmt.Sprintf("*:%s->%s/%s", pub, tgt, in[i].Protocol))
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func portOrRange(a, b int32) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d-%d", a, b)
}

// ReplicasSummary is the REPLICAS column of docker service ls: "running/desired", with
// " (max N per node)" when the service caps tasks per node.
func ReplicasSummary(s *swarmv1.ServiceSpec, running, desired int32) string {
	out := fmt.Sprintf("%d/%d", running, desired)
	if p := s.Placement; p != nil && p.MaxReplicasPerNode != nil && *p.MaxReplicasPerNode > 0 {
		out += fmt.Sprintf(" (max %d per node)", *p.MaxReplicasPerNode)
	}
	return out
}

// JobReplicasSummary is the REPLICAS column of docker service ls for jobs:
// "running/desired (completed/total completed)".
func JobReplicasSummary(running, desired, completed, total int32) string {
	return fmt.Sprintf("%d/%d (%d/%d completed)", running, desired, completed, total)
}

// ParsePortRange reads a node-port range as kube-apiserver's --service-node-port-range writes
// it ("30000-32767", or "30000+2767").
func ParsePortRange(s string) (PortRange, error) {
	r, err := utilnet.ParsePortRange(s)
	if err != nil || r.Base < 1 || r.Size < 1 {
		return PortRange{}, fmt.Errorf("%q must be MIN-MAX within 1-65535", s)
	}
	return PortRange{Min: int32(r.Base), Max: int32(r.Base + r.Size - 1)}, nil
}

// String writes the range as kube-apiserver does ("30000-32767").
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }
