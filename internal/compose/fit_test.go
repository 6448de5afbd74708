package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// service is the converted service web of a project made of files.
func convertWeb(t *testing.T, files map[string]string) (*Result, swarmv1.StackService, error) {
	t.Helper()
	paths := writeProject(t, files)
	r, err := loadAndConvert(paths, nil)
	if err != nil {
		return nil, swarmv1.StackService{}, err
	}
	for _, s := range r.Stack.Spec.Services {
		if s.Name == "web" {
			return r, s, nil
		}
	}
	t.Fatal("no service web")
	return nil, swarmv1.StackService{}, nil
}

func warningsOf(r *Result) string { return strings.Join(r.Warnings, "\n") }

// warnsOnly checks that the warnings say want, or that there are none when want is empty.
func warnsOnly(t *testing.T, r *Result, want string) {
	t.Helper()
	if w := warningsOf(r); want == "" && w != "" || !strings.Contains(w, want) {
		t.Errorf("warnings %q, want %q", w, want)
	}
}

// TestProjectBinds: a bind of the project's own files is a read-only config, mounted where the
// bind was, made from the files on this machine; a folder is a config per file; what a
// ConfigMap cannot hold is refused with its size; the Docker socket is refused naming what
// replaces it; other host paths stay bind mounts, with a warning.
func TestProjectBinds(t *testing.T) {
	const compose = "docker-compose.yml"
	web := func(image, volumes string) string {
		return "services:\n  web:\n    image: " + image + "\n    volumes:\n" + volumes
	}
	big := strings.Repeat("x", 600<<10)
	cases := []struct {
		name        string
		files       map[string]string
		exec        []string // files made executable
		wantConfigs []swarmv1.FileReference
		wantData    map[string]string // ConfigMap → its one key's data
		wantMounts  []swarmv1.Mount
		wantWarn    []string
		wantErr     string
	}{
		{name: "a file",
			files:       map[string]string{compose: web("nginx", "      - ./conf/nginx.conf:/etc/nginx/nginx.conf:ro\n"), "conf/nginx.conf": "events {}\n"},
			wantConfigs: []swarmv1.FileReference{{Source: "bind_conf_nginx.conf", Target: "/etc/nginx/nginx.conf", Mode: ptr.To[int32](0o444)}},
			wantData:    map[string]string{"app-bind-conf-nginx-conf": "events {}\n"},
			wantWarn:    []string{`service "web": volumes[0]: ./conf/nginx.conf is mounted from the ConfigMap app-bind-conf-nginx-conf, read-only, as a Swarm config`}},
		{name: "a folder with a nested one and a script",
			files: map[string]string{compose: web("nginx", "      - ./site:/usr/share/nginx/html\n"), "site/index.html": "hi", "site/css/a.css": "body{}", "site/run.sh": "#!/bin/sh\n"},
			exec:  []string{"site/run.sh"},
			wantConfigs: []swarmv1.FileReference{
				{Source: "bind_site_css_a.css", Target: "/usr/share/nginx/html/css/a.css", Mode: ptr.To[int32](0o444)},
				{Source: "bind_site_index.html", Target: "/usr/share/nginx/html/index.html", Mode: ptr.To[int32](0o444)},
				{Source: "bind_site_run.sh", Target: "/usr/share/nginx/html/run.sh", Mode: ptr.To[int32](0o555)},
			},
			wantData: map[string]string{"app-bind-site-css-a-css": "body{}", "app-bind-site-index-html": "hi", "app-bind-site-run-sh": "#!/bin/sh\n"},
			wantWarn: []string{"./site is mounted from 3 ConfigMaps (app-bind-site-css-a-css, …), read-only", "the task cannot write there: use a volume for data it writes"}},
		{name: "a file whose name a ConfigMap key cannot have",
			files:       map[string]string{compose: web("nginx", "      - './conf/my site+1.conf:/etc/site.conf:ro'\n"), "conf/my site+1.conf": "x"},
			wantConfigs: []swarmv1.FileReference{{Source: "bind_conf_my-site-1.conf", Target: "/etc/site.conf", Mode: ptr.To[int32](0o444)}},
			wantData:    map[string]string{"app-bind-conf-my-site-1-conf": "x"}},
		{name: "a folder too large",
			files:   map[string]string{compose: web("nginx", "      - ./big:/data:ro\n"), "big/a": big, "big/b": big},
			wantErr: `volumes[0]: ./big holds more than 1 MiB (1.2 MiB at least)`},
		{name: "missing",
			files:   map[string]string{compose: web("nginx", "      - ./nope.conf:/etc/nope.conf\n")},
			wantErr: `volumes[0]: invalid mount config for type "bind": bind source path does not exist: ./nope.conf`},
		{name: "the Docker socket for Traefik",
			files:   map[string]string{compose: web("traefik:v3.1", "      - /var/run/docker.sock:/var/run/docker.sock:ro\n")},
			wantErr: `mounts[0]: /var/run/docker.sock: a Kubernetes node has no Docker Engine socket (its containers run on the kubelet's runtime); a task that needs the engine's API needs the Kubernetes API instead; Traefik reads services from Kubernetes itself`},
		{name: "the Docker socket for the visualizer",
			files:   map[string]string{compose: web("dockersamples/visualizer:stable", "      - /var/run/docker.sock:/var/run/docker.sock\n")},
			wantErr: "the Swarm visualizer is kubectl swarm viz"},
		{name: "the Docker socket for Portainer's agent",
			files:   map[string]string{compose: web("portainer/agent:2.21.0", "      - type: bind\n        source: /run/docker.sock\n        target: /var/run/docker.sock\n")},
			wantErr: "Portainer manages Kubernetes through its Kubernetes agent"},
		{name: "a host path",
			files:      map[string]string{compose: web("nginx", "      - /var/log/nginx:/var/log/nginx\n")},
			wantMounts: []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/log/nginx", Target: "/var/log/nginx"}},
			wantWarn:   []string{"bind mount /var/log/nginx:/var/log/nginx: /var/log/nginx is a path on the node that runs the task (a hostPath), not on this machine: the operator refuses it unless it runs with --allow-bind-mounts"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeProject(t, tc.files)
			for _, f := range tc.exec {
				if err := os.Chmod(filepath.Join(filepath.Dir(paths[0]), f), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			r, err := loadAndConvert(paths, nil)
			if testutil.Refused(t, err, tc.wantErr) {
				return
			}
			s := r.Stack.Spec.Services[0]
			if diff := cmp.Diff(tc.wantConfigs, s.Configs); diff != "" {
				t.Errorf("configs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMounts, s.Mounts); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
			got := map[string]string{}
			for _, cm := range r.ConfigMaps {
				for _, v := range cm.Data {
					got[cm.Name] = v
				}
				if cm.Annotations[AnnotationBindSource] == "" {
					t.Errorf("ConfigMap %s does not say which file it holds", cm.Name)
				}
			}
			if len(tc.wantData) == 0 {
				tc.wantData = map[string]string{}
			}
			if diff := cmp.Diff(tc.wantData, got); diff != "" {
				t.Errorf("ConfigMaps (-want +got):\n%s", diff)
			}
			for _, w := range tc.wantWarn {
				if !strings.Contains(warningsOf(r), w) {
					t.Errorf("warnings do not say %q:\n%s", w, warningsOf(r))
				}
			}
		})
	}
}

// TestUserNames: Kubernetes runs numeric users only. root is 0; another name leaves the
// image's own user, with a warning naming the fix; a group name drops the group.
func TestUserNames(t *testing.T) {
	cases := []struct {
		user, want, wantWarn string
	}{
		{user: "1000", want: "1000"},
		{user: "1000:1000", want: "1000:1000"},
		{user: "root", want: "0"},
		{user: "root:root", want: "0:0"},
		{user: "www-data", want: "", wantWarn: `user: "www-data" is a user name, which Kubernetes does not resolve: the tasks run as the image's own user`},
		{user: "1000:staff", want: "1000", wantWarn: `group "staff" is a name`},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			r, s, err := convertWeb(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    user: \"" + tc.user + "\"\n"})
			if err != nil {
				t.Fatal(err)
			}
			if s.User != tc.want {
				t.Errorf("user %q, want %q", s.User, tc.want)
			}
			warnsOnly(t, r, tc.wantWarn)
		})
	}
}

// TestGPUs: docker compose's GPU device requests, which docker stack deploy ignores, ask for the
// device plugin's extended resource; Swarm's generic resource kind gpu is the same resource.
func TestGPUs(t *testing.T) {
	cases := []struct {
		name     string
		deploy   string
		want     []swarmv1.GenericResource
		wantWarn string
		wantErr  string
	}{
		{name: "two nvidia GPUs", deploy: "devices:\n            - capabilities: [gpu]\n              driver: nvidia\n              count: 2",
			want: []swarmv1.GenericResource{{Kind: "nvidia.com/gpu", Value: 2}}},
		{name: "all GPUs", deploy: "devices:\n            - capabilities: [gpu]",
			want: []swarmv1.GenericResource{{Kind: "nvidia.com/gpu", Value: 1}}, wantWarn: "count all: Kubernetes asks for a number of GPUs; 1 nvidia.com/gpu is asked for"},
		{name: "GPUs by id", deploy: "devices:\n            - capabilities: [gpu]\n              device_ids: ['0', '3']",
			want: []swarmv1.GenericResource{{Kind: "nvidia.com/gpu", Value: 2}}, wantWarn: "device_ids 0, 3: Kubernetes' device plugin picks the GPUs"},
		{name: "amd", deploy: "devices:\n            - capabilities: [gpu]\n              driver: amd\n              count: 1",
			want: []swarmv1.GenericResource{{Kind: "amd.com/gpu", Value: 1}}},
		{name: "a device and a generic resource of one kind", deploy: "devices:\n            - capabilities: [gpu]\n              count: 1\n          generic_resources:\n            - discrete_resource_spec: {kind: nvidia.com/gpu, value: 1}",
			want: []swarmv1.GenericResource{{Kind: "nvidia.com/gpu", Value: 2}}},
		{name: "an unknown driver", deploy: "devices:\n            - capabilities: [gpu]\n              driver: acme\n              count: 1",
			wantErr: `deploy.resources.reservations.devices[0].driver: GPU driver "acme" has no known Kubernetes device plugin resource`},
		{name: "Swarm's gpu kind", deploy: "generic_resources:\n            - discrete_resource_spec: {kind: gpu, value: 1}",
			want: []swarmv1.GenericResource{{Kind: "gpu", Value: 1}}, wantWarn: `service "web": resources.reservations.genericResources: gpu is the extended resource nvidia.com/gpu`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, s, err := convertWeb(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        reservations:\n          " + tc.deploy + "\n"})
			if testutil.Refused(t, err, tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, s.Resources.Reservations.GenericResources); diff != "" {
				t.Errorf("generic resources (-want +got):\n%s", diff)
			}
			warnsOnly(t, r, tc.wantWarn)
		})
	}
}
