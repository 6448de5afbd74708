package swarmsyntax

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestPortTaken(t *testing.T) {
	now := metav1.Now()
	svc := func(name string, deleting bool, ports ...swarmv1.PortConfig) swarmv1.Service {
		s := swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: swarmv1.ServiceSpec{Ports: ports}}
		if deleting {
			s.DeletionTimestamp = &now
		}
		return s
	}
	web := swarmv1.PortConfig{Published: 8000, Target: 80}
	for _, tc := range []struct {
		name   string
		want   swarmv1.PortConfig
		others []swarmv1.Service
		holder string
	}{
		{name: "taken", want: web, others: []swarmv1.Service{svc("web", false, web)}, holder: "web"},
		{name: "taken, tcp written out", want: web, others: []swarmv1.Service{svc("web", false, swarmv1.PortConfig{Published: 8000, Target: 3000, Protocol: "tcp"})}, holder: "web"},
		{name: "removed service (being deleted) holds no port", want: web, others: []swarmv1.Service{svc("web", true, web)}},
		{name: "the service itself", want: web, others: []swarmv1.Service{svc("api", false, web)}},
		{name: "other protocol", want: web, others: []swarmv1.Service{svc("dns", false, swarmv1.PortConfig{Published: 8000, Target: 53, Protocol: "udp"})}},
		{name: "host mode", want: web, others: []swarmv1.Service{svc("agent", false, swarmv1.PortConfig{Published: 8000, Target: 80, Mode: swarmv1.PortModeHost})}},
		{name: "not published", want: swarmv1.PortConfig{Target: 80}, others: []swarmv1.Service{svc("web", false, web)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &swarmv1.ServiceSpec{Ports: []swarmv1.PortConfig{tc.want}}
			p, by := PortTaken(spec, "api", tc.others)
			switch {
			case tc.holder == "" && by != nil:
				t.Errorf("PortTaken = %d by %s, want free", p.Published, by.Name)
			case tc.holder != "" && (by == nil || by.Name != tc.holder || p.Published != tc.want.Published):
				t.Errorf("PortTaken = %d by %v, want %d by %s", p.Published, by, tc.want.Published, tc.holder)
			}
		})
	}
}
