package translate

import (
	"testing"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestHostNetworkRule: a service on the host network runs as Swarm runs one, and only where the
// operator allows the node's network.
func TestHostNetworkRule(t *testing.T) {
	host := []swarmv1.NetworkAttachment{{Name: "host"}}
	cases := []struct {
		name      string
		spec      swarmv1.ServiceSpec
		disallow  bool
		wantNotes string
		wantErr   string
	}{
		{name: "a service on other networks is not the rule's", spec: swarmv1.ServiceSpec{
			Networks: []swarmv1.NetworkAttachment{{Name: "backend"}},
			Ports:    []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp"}}}, disallow: true},
		{name: "host alone with a host-mode port on its target", spec: swarmv1.ServiceSpec{Networks: host,
			Ports: []swarmv1.PortConfig{{Target: 9100, Published: 9100, Protocol: "tcp", Mode: swarmv1.PortModeHost}}}},
		{name: "a published port other than the target is not used", spec: swarmv1.ServiceSpec{Networks: host,
			Ports: []swarmv1.PortConfig{{Target: 9100, Published: 9101, Protocol: "tcp", Mode: swarmv1.PortModeHost}}},
			wantNotes: "ports[0]: on the host network the task answers on the node's port 9100 (its target), not 9101"},
		{name: "an ingress port is refused", spec: swarmv1.ServiceSpec{Networks: host,
			Ports: []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp", Mode: swarmv1.PortModeIngress}}},
			wantErr: "ports[0]: published port 8080 is in ingress mode, which a service on the host network cannot use"},
		{name: "host with another network is refused", spec: swarmv1.ServiceSpec{
			Networks: []swarmv1.NetworkAttachment{{Name: "host"}, {Name: "backend"}}},
			wantErr: "networks: a service on the host network is on no other network (it has 2)"},
		{name: "refused without --allow-host-network", spec: swarmv1.ServiceSpec{Networks: host}, disallow: true,
			wantErr: "networks: the host network is not allowed: the operator runs with --allow-host-network=false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Networks, svc.Spec.Ports = tc.spec.Networks, tc.spec.Ports
			notes, err := hostNetworkRule(svc, Options{AllowHostNetwork: !tc.disallow})
			if testutil.Refused(t, err, tc.wantErr) {
				return
			}
			testutil.SaysOnly(t, "notes", notes, tc.wantNotes)
		})
	}
}
