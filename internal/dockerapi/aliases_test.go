package dockerapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"

	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// TestServiceAliasVerdict: through the Engine API, a network alias of a service of its own that
// is no DNS label is refused before anything is written, naming the field; a stack's service's
// alias (docker stack deploy gives each its compose name, web_app here) is not, as the stack's
// networks name it (internal/stack's dns.go).
func TestServiceAliasVerdict(t *testing.T) {
	api, _ := newTestServer(t)
	cases := []struct {
		name     string
		labels   map[string]string
		network  string
		alias    string
		wantCode int
		wantMsg  string
	}{
		{name: "cache", network: "n1", alias: "kv", wantCode: http.StatusCreated},
		{name: "dotted", network: "n1", alias: "my.cache", wantCode: http.StatusBadRequest, wantMsg: `networks[0].aliases[0]: "my.cache" cannot name the service in DNS`},
		{name: "wp_web_app", labels: map[string]string{stack.LabelDockerStackNamespace: "wp"}, network: "wp_default", alias: "web_app", wantCode: http.StatusCreated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var net network.CreateResponse
			if code := api.do("POST", "/networks/create", network.CreateRequest{Name: tc.network, Labels: tc.labels}, &net); code != http.StatusCreated && code != http.StatusConflict {
				t.Fatalf("network create: %d", code)
			}
			var nets []network.Summary
			api.do("GET", "/networks", nil, &nets)
			for _, n := range nets {
				if n.Name == tc.network {
					net.ID = n.ID
				}
			}
			spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: tc.name, Labels: tc.labels},
				TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x"},
					Networks: []swarm.NetworkAttachmentConfig{{Target: net.ID, Aliases: []string{tc.alias}}}}}
			var e struct{ Message string }
			code := api.do("POST", "/services/create", spec, &e)
			if code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) {
				t.Fatalf("create: %d %q, want %d saying %q", code, e.Message, tc.wantCode, tc.wantMsg)
			}
			if code != http.StatusCreated {
				if code := api.do("GET", "/services/"+tc.name, nil, nil); code != http.StatusNotFound {
					t.Errorf("the refused service was written: %d", code)
				}
			}
		})
	}
}
