package dockerapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestHostNetwork: Swarm's predefined network host is found (docker service create --network
// host inspects it), a service on it is on host, and it cannot be removed.
func TestHostNetwork(t *testing.T) {
	api, c := newTestServer(t)
	var n network.Inspect
	if code := api.do("GET", "/networks/host", nil, &n); code != http.StatusOK {
		t.Fatalf("inspect host: %d", code)
	}
	if n.Name != "host" || n.Driver != "host" || n.Labels["com.docker.swarm.predefined"] != "true" {
		t.Errorf("host network: %+v", n.Network)
	}
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "exporter"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "prom/node-exporter"},
			Networks: []swarm.NetworkAttachmentConfig{{Target: n.ID}}}}
	if code := api.do("POST", "/services/create", spec, nil); code != http.StatusCreated {
		t.Fatalf("service create --network host: %d", code)
	}
	svc := &swarmv1.Service{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: "exporter"}, svc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]swarmv1.NetworkAttachment{{Name: "host"}}, svc.Spec.Networks); diff != "" {
		t.Errorf("the service's networks (-want +got):\n%s", diff)
	}
	var e common.ErrorResponse
	if code := api.do("DELETE", "/networks/host", nil, &e); code != http.StatusForbidden || e.Message != "host is a pre-defined network and cannot be removed" {
		t.Errorf("network rm host: %d %q", code, e.Message)
	}
}
