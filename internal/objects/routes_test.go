package objects

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// A service behind a proxy publishes no port on Swarm; its Kubernetes Service still offers the
// port the proxy labels route to, so that a Gateway or Ingress reaches the tasks.
func TestServiceOffersRoutePorts(t *testing.T) {
	cases := []struct {
		name  string
		ports []swarmv1.PortConfig
		want  []int32
	}{
		{name: "no published port", want: []int32{80}},
		{name: "host-mode port for another target", ports: []swarmv1.PortConfig{{Target: 9090, Published: 9090, Mode: swarmv1.PortModeHost}}, want: []int32{9090, 80}},
		{name: "already offered", ports: []swarmv1.PortConfig{{Target: 80, Published: 8080, Mode: swarmv1.PortModeHost}}, want: []int32{80}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &swarmv1.Service{}
			svc.Name, svc.Namespace = "result", "ns"
			svc.Spec.Image = "result:1"
			svc.Spec.Ports = tc.ports
			svc.Spec.Labels = map[string]string{
				"traefik.enable":                                        "true",
				"traefik.http.routers.result.rule":                      "Host(`result.example.com`)",
				"traefik.http.services.result.loadbalancer.server.port": "80",
			}
			objs, err := Build(svc, Inputs{}, translate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []int32
			for _, p := range objs.Service.Spec.Ports {
				got = append(got, *p.Port)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Service ports (-want +got):\n%s", diff)
			}
		})
	}
}
