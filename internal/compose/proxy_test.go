package compose

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
)

// votingTraefik is dockersamples/example-voting-app's result behind Traefik on Swarm: the proxy
// reads the Docker socket and routes by the result service's deploy.labels.
const votingTraefik = `services:
  traefik:
    image: traefik:v3.1
    command:
      - --providers.swarm.endpoint=unix:///var/run/docker.sock
      - --providers.swarm.exposedByDefault=false
      - --entrypoints.web.address=:80
    ports: ["80:80"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
    deploy:
      placement:
        constraints: [node.role == manager]
  result:
    image: dockersamples/examplevotingapp_result
    deploy:
      labels:
        traefik.enable: "true"
        traefik.http.routers.result.rule: Host(` + "`result.example.com`" + `)
        traefik.http.services.result.loadbalancer.server.port: "80"
  caddy:
    image: lucaslorentz/caddy-docker-proxy:2.9
    ports: ["443:443"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
  files-only:
    image: traefik:v2.11
    command: ["--providers.file.directory=/etc/traefik"]
  portainer-agent:
    image: portainer/agent
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
`

func TestProxies(t *testing.T) {
	r, err := loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": votingTraefik}), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Proxy{
		{Service: "caddy", Kind: "caddy-docker-proxy"},
		{Service: "traefik", Kind: "Traefik", ExposedByDefault: ptr.To(false)},
	}
	if diff := cmp.Diff(want, Proxies(r.Stack)); diff != "" {
		t.Errorf("Proxies (-want +got):\n%s", diff)
	}

	cases := []struct {
		leaveOut     bool
		wantServices []string
		wantWarning  string
	}{
		{false, []string{"caddy", "files-only", "portainer-agent", "result", "traefik"},
			"Service traefik (Traefik) routed HTTP by reading the Docker socket; on Kubernetes the cluster's gateway does that: kubeswarm turns the other services' labels into HTTP routes (its exposedByDefault=false is the operator's --routes-exposed-by-default=false); it is deployed all the same (leave it out with --leave-out-proxy)"},
		{true, []string{"files-only", "portainer-agent", "result"},
			"Service traefik (Traefik) routed HTTP by reading the Docker socket; on Kubernetes the cluster's gateway does that: kubeswarm turns the other services' labels into HTTP routes (its exposedByDefault=false is the operator's --routes-exposed-by-default=false); the service is left out"},
	}
	for _, tc := range cases {
		r, err := loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": votingTraefik}), map[string]string{})
		if err != nil {
			t.Fatal(err)
		}
		before := len(r.Warnings)
		r.ReplaceProxies(tc.leaveOut)
		var names []string
		for _, s := range r.Stack.Spec.Services {
			names = append(names, s.Name)
		}
		if diff := cmp.Diff(tc.wantServices, names); diff != "" {
			t.Errorf("leaveOut=%v: services (-want +got):\n%s", tc.leaveOut, diff)
		}
		if got := r.Warnings[before:]; len(got) != 2 || got[1] != tc.wantWarning {
			t.Errorf("leaveOut=%v: warnings %q, want the caddy one and %q", tc.leaveOut, got, tc.wantWarning)
		}
	}
}
