package compose

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestExternalNetworkName: an external network is known by its `name:`, as docker stack deploy
// looks it up (docker/cli cli/compose/convert/compose.go, Networks); without one, by its key.
func TestExternalNetworkName(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": `services:
  web:
    image: nginx
    networks: [front, shared, back]
networks:
  front:
    external: true
    name: traefik_public
  shared:
    external: true
  back:
    internal: true
`})
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Convert(p, "wp", ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []swarmv1.StackNetwork{
		{Name: "back", Internal: true},
		{Name: "front", External: true, ExternalName: "traefik-public"},
		{Name: "shared", External: true},
	}
	if diff := cmp.Diff(want, r.Stack.Spec.Networks); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}
	for _, w := range r.Warnings {
		t.Errorf("unexpected warning: %s", w)
	}
}
