package compose

import (
	"context"
	"slices"
	"strings"
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

// TestProxies: a proxy that binds the Docker socket cannot run on Kubernetes: convert refuses it
// naming the flag that leaves it out; with LeaveOutProxies it is left out before anything is
// read, with a warning. A proxy that only turns on its docker provider is found by Proxies and
// reported by ReplaceProxies.
func TestProxies(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": votingTraefik})
	if _, err := loadAndConvert(paths, nil); err == nil || !strings.Contains(err.Error(), "--leave-out-proxy") {
		t.Fatalf("a proxy binding the Docker socket: %v, want the refusal naming --leave-out-proxy", err)
	}
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(p, "app", ConvertOptions{LeaveOutProxies: true})
	// portainer/agent binds the socket too and is no proxy: it is still refused.
	if err == nil || !strings.Contains(err.Error(), `service "portainer-agent"`) || strings.Contains(err.Error(), `service "traefik"`) || strings.Contains(err.Error(), `service "caddy"`) {
		t.Fatalf("LeaveOutProxies: %v, want only portainer-agent refused", err)
	}
	noAgent := strings.Replace(votingTraefik, "  portainer-agent:\n    image: portainer/agent\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n", "", 1)
	p, err = Load(context.Background(), LoadOptions{Files: writeProject(t, map[string]string{"docker-compose.yml": noAgent}), Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Convert(p, "app", ConvertOptions{LeaveOutProxies: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Stack.Spec.Services {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"files-only", "result"}, names); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	for _, svc := range []string{"traefik (Traefik)", "caddy (caddy-docker-proxy)"} {
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.HasPrefix(w, "Service "+svc+" is left out (--leave-out-proxy)") }) {
			t.Errorf("warnings %q lack %s left out", r.Warnings, svc)
		}
	}

	// A Traefik that reads the engine through its swarm provider over TCP (no socket bind).
	tcp := "services:\n  traefik:\n    image: traefik:v3.1\n    command: [--providers.swarm.endpoint=tcp://manager:2375, --providers.swarm.exposedByDefault=false]\n"
	r, err = loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": tcp}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Proxy{{Service: "traefik", Kind: "Traefik", ExposedByDefault: ptr.To(false)}}, Proxies(r.Stack)); diff != "" {
		t.Errorf("Proxies (-want +got):\n%s", diff)
	}
	before := len(r.Warnings)
	r.ReplaceProxies()
	if got := r.Warnings[before:]; len(got) != 1 || !strings.Contains(got[0], "it is deployed all the same (leave it out with --leave-out-proxy)") {
		t.Errorf("warnings %q", got)
	}
}
