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

// TestDockerServiceNames: a service naming another by docker's <stack>_<service> is warned that
// no DNS name can have "_", with the name that resolves.
func TestDockerServiceNames(t *testing.T) {
	tests := []struct {
		name, web string
		want      []string
	}{
		{name: "the environment names the stack's db by docker's name", web: "    environment: {DB_HOST: wp_db}\n",
			want: []string{`service "web": "wp_db" is docker's name of a service of the stack, which no Kubernetes DNS name can be; use "wp-db" (its Kubernetes Service), or its short name on a shared network`}},
		{name: "the command names it", web: "    command: [\"--upstream=http://wp_db:80\"]\n",
			want: []string{`service "web": "wp_db" is docker's name of a service of the stack, which no Kubernetes DNS name can be; use "wp-db" (its Kubernetes Service), or its short name on a shared network`}},
		{name: "the short name and the Kubernetes name say nothing", web: "    environment: {DB_HOST: db, OTHER: wp-db}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n" + tt.web + "  db:\n    image: mysql\n"})
			p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Convert(p, "wp", ConvertOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
