package swarmsyntax

import (
	"fmt"
	"strings"

	"github.com/docker/go-connections/nat"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// ParseExpose reads a compose `expose:` entry, "PORT[-PORT][/PROTOCOL]" (go-connections/nat, as
// docker reads EXPOSE), into exposed ports, one per port of a range.
func ParseExpose(s string) ([]swarmv1.ExposedPort, error) {
	proto, port := nat.SplitProtoPort(strings.TrimSpace(s))
	if port == "" {
		return nil, fmt.Errorf("invalid port %q: want PORT[-PORT][/PROTOCOL]", s)
	}
	first, last, err := nat.ParsePortRange(port)
	if err != nil {
		return nil, fmt.Errorf("invalid port %q: %w", s, err)
	}
	if first < 1 {
		return nil, fmt.Errorf("invalid port %q: ports are between 1 and 65535", s)
	}
	protocol, ok := Protocol(proto)
	if !ok {
		return nil, fmt.Errorf("invalid protocol %q: must be tcp, udp or sctp", strings.ToLower(proto))
	}
	return exposed(first, last, protocol), nil
}

func exposed(first, last uint64, proto string) []swarmv1.ExposedPort {
	var out []swarmv1.ExposedPort
	for p := first; p <= last; p++ {
		out = append(out, swarmv1.ExposedPort{Port: int32(p), Protocol: proto})
	}
	return out
}
