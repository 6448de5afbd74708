package dockerapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
	"k8s.io/utils/ptr"
)

// TestLabelsAsWritten: a service label of any length comes back from inspect as written (a
// Traefik key longer than any Kubernetes annotation name); a route host that is no DNS name is
// refused before anything is written, naming the label.
func TestLabelsAsWritten(t *testing.T) {
	api, _ := newTestServer(t)
	const long = "traefik.http.middlewares.client.headers.customresponseheaders.Cache-control"
	spec := func(name string, labels map[string]string) swarm.ServiceSpec {
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: labels},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx"}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(1))}}}
	}
	if code := api.do("POST", "/services/create", spec("web", map[string]string{long: "no-store"}), nil); code != http.StatusCreated {
		t.Fatalf("service create: %d", code)
	}
	var got swarm.Service
	if code := api.do("GET", "/services/web", nil, &got); code != http.StatusOK {
		t.Fatalf("inspect: %d", code)
	}
	if got.Spec.Labels[long] != "no-store" {
		t.Errorf("inspect labels: %v", got.Spec.Labels)
	}

	var e struct{ Message string }
	code := api.do("POST", "/services/create", spec("bad", map[string]string{
		"traefik.http.routers.bad.rule":                      "Host(`my_app.example.com`)",
		"traefik.http.services.bad.loadbalancer.server.port": "80",
	}), &e)
	if code != http.StatusBadRequest || !strings.Contains(e.Message, `label traefik.http.routers.bad.rule: host "my_app.example.com" is not a DNS name`) {
		t.Errorf("bad route host: %d %q", code, e.Message)
	}
	if code := api.do("GET", "/services/bad", nil, nil); code != http.StatusNotFound {
		t.Errorf("the refused service was written: %d", code)
	}
}
