package compose

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertNamespaceAndOrder(t *testing.T) {
	paths := writeProject(t, map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: nginx\n    secrets: [key]\n    configs: [conf]\nsecrets:\n  key:\n    file: ./key\nconfigs:\n  conf:\n    file: ./conf\n",
		"key":                "k",
		"conf":               "c",
	})
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Convert(p, "wp", ConvertOptions{Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range r.Objects() {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{"Secret prod/wp-key", "ConfigMap prod/wp-conf", "Stack prod/wp"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	y, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, unwanted := range []string{"status:", "creationTimestamp"} {
		if strings.Contains(string(y), unwanted) {
			t.Errorf("the YAML has %q:\n%s", unwanted, y)
		}
	}
	if n := strings.Count(string(y), "\n---\n"); n != 2 {
		t.Errorf("the YAML has %d separators, want 2:\n%s", n, y)
	}
}

func TestSkipInterpolation(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      GREETING: hello $$USER ${NAME:-you}\n"})
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{"TAG": "1"}, SkipInterpolation: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Convert(p, "app", ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stack.Spec.Services[0]
	if s.Image != "nginx:${TAG}" || s.Env[0].Value != "hello $$USER ${NAME:-you}" {
		t.Errorf("interpolated although skipped: image %q, env %q", s.Image, s.Env[0].Value)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
}

func TestEnvironmentAndEnvFiles(t *testing.T) {
	files := map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      - FROM_ENV\n",
		".env":               "TAG=from-dotenv\nFROM_ENV=dotenv\n",
		"other.env":          "TAG=from-other\n",
	}
	tests := []struct {
		name      string
		env       map[string]string
		envFiles  func(dir string) []string
		wantImage string
		wantEnv   string
	}{
		{name: ".env by default", env: map[string]string{}, wantImage: "nginx:from-dotenv", wantEnv: "dotenv"},
		{name: "the environment wins over .env", env: map[string]string{"TAG": "from-env", "FROM_ENV": "shell"}, wantImage: "nginx:from-env", wantEnv: "shell"},
		{name: "explicit env files", env: map[string]string{}, envFiles: func(dir string) []string { return []string{dir + "/other.env"} }, wantImage: "nginx:from-other"},
		{name: "no env files", env: map[string]string{}, envFiles: func(string) []string { return []string{} }, wantImage: "nginx:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeProject(t, files)
			opts := LoadOptions{Files: paths, Environment: tc.env}
			if tc.envFiles != nil {
				opts.EnvFiles = tc.envFiles(strings.TrimSuffix(paths[0], "/docker-compose.yml"))
			}
			p, err := Load(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Convert(p, "app", ConvertOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s := r.Stack.Spec.Services[0]
			if s.Image != tc.wantImage {
				t.Errorf("image %q, want %q", s.Image, tc.wantImage)
			}
			gotEnv := ""
			if len(s.Env) > 0 {
				gotEnv = s.Env[0].Value
			}
			if gotEnv != tc.wantEnv {
				t.Errorf("FROM_ENV %q, want %q", gotEnv, tc.wantEnv)
			}
		})
	}
}

func TestConvertErrorsInTheSecondFile(t *testing.T) {
	const base, override = "docker-compose.yml", "docker-compose.override.yml"
	tests := []struct {
		name     string
		override string
		want     []string
	}{
		{name: "group", override: "services:\n  web:\n    group_add: [staff]\n", want: []string{`service "web": group_add:`}},
		{name: "constraint", override: "services:\n  web:\n    deploy:\n      placement:\n        constraints: [node.zone == a]\n", want: []string{`service "web": deploy.placement.constraints:`}},
		{name: "forbidden", override: "services:\n  web:\n    cpu_shares: 512\n", want: []string{`service "web": cpu_shares: Set resource limits using deploy.resources`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeProject(t, map[string]string{base: "services:\n  web:\n    image: nginx\n    user: \"1000\"\n", override: tc.override}, base, override)
			_, err := loadAndConvert(paths, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), paths[1]+": "+w) {
					t.Errorf("the error does not say %q in %s:\n%v", w, override, err)
				}
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      A: $UNSET_A\n      B: ${UNSET_B:-default}\n      C: $$NOT_A_VARIABLE\n"})
	r, err := loadAndConvert(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`The "TAG" variable is not set. Defaulting to a blank string.`,
		`The "UNSET_A" variable is not set. Defaulting to a blank string.`,
	}
	if diff := cmp.Diff(want, r.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestLoadWithoutFiles(t *testing.T) {
	if _, err := Load(context.Background(), LoadOptions{}); err == nil {
		t.Error("no error without files")
	}
	if _, err := Load(context.Background(), LoadOptions{Files: []string{"/does/not/exist.yml"}}); err == nil || !strings.Contains(err.Error(), "/does/not/exist.yml") {
		t.Errorf("got %v, want an error naming the missing file", err)
	}
	if _, err := Convert(nil, "app", ConvertOptions{}); err == nil {
		t.Error("no error without a project")
	}
}

// TestDockerKeysSetToZero: docker warns about a key of its lists whatever its value.
func TestDockerKeysSetToZero(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    privileged: false\n    restart: \"no\"\n    expose: []\n"})
	r, err := loadAndConvert(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Ignoring unsupported options: privileged, restart",
	}
	if diff := cmp.Diff(want, r.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if rp := r.Stack.Spec.Services[0].RestartPolicy; rp != nil {
		t.Errorf("restart: \"no\" gave a restart policy %+v", rp)
	}
}

// TestVolumeDrivers: docker's local driver over NFS is an NFS volume (no claim); another driver
// is warned about, naming the claim made instead; an NFS volume without a server is refused.
func TestVolumeDrivers(t *testing.T) {
	file := `services:
  db:
    image: mysql
    volumes: [shared:/var/lib/mysql, fast:/cache]
volumes:
  shared:
    driver_opts: {type: nfs, o: "addr=10.0.0.5,rw,nfsvers=4", device: ":/exports/mysql"}
  fast:
    driver: rexray/ebs
`
	r, err := loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": file}), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `volume "fast": driver rexray/ebs with options map[] has no Kubernetes equivalent: the claim app-fast of the cluster's storage class is made instead`
	if !slices.Contains(r.Warnings, want) {
		t.Errorf("warnings %q, want %q", r.Warnings, want)
	}
	if m := r.Stack.Spec.Services[0].Mounts; len(m) != 2 {
		t.Fatalf("mounts %+v", m)
	}
	bad := strings.Replace(file, `o: "addr=10.0.0.5,rw,nfsvers=4", `, "", 1)
	_, err = loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": bad}), nil)
	if err == nil || !strings.Contains(err.Error(), "an nfs volume needs the server's address") {
		t.Errorf("err %v, want the missing server named", err)
	}
}

// TestDollarsAsDockerStackDeploy: compose's own escape `$$` reaches the service as `$` (as
// docker stack deploy sends it to Swarm), and `$(A)` is no compose variable: it stays as written
// in environment, command and entrypoint (the operator then keeps both from Kubernetes'
// expansion: objects.TestValuesAsWritten).
func TestDollarsAsDockerStackDeploy(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: alpine\n" +
		"    environment:\n      B: '$(A) pa$$$$w'\n" +
		"    command: ['echo', '$$HOME', '$(A)']\n" +
		"    entrypoint: ['/bin/sh', '-c', 'echo $$$$']\n"})
	r, err := loadAndConvert(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stack.Spec.Services[0]
	got := struct{ Env, Command, Entrypoint []string }{Command: s.Command, Entrypoint: s.Entrypoint}
	for _, e := range s.Env {
		got.Env = append(got.Env, e.Name+"="+e.Value)
	}
	want := struct{ Env, Command, Entrypoint []string }{
		Env:        []string{"B=$(A) pa$$w"},
		Command:    []string{"echo", "$HOME", "$(A)"},
		Entrypoint: []string{"/bin/sh", "-c", "echo $$"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
}

// TestTemplateDriver: a config of template_driver golang is marked for the operator to render
// per task; one that no task could expand, or another driver, is refused before writing.
func TestTemplateDriver(t *testing.T) {
	compose := func(driver, content string) string {
		return "services:\n  web:\n    image: nginx\n    configs: [conf]\nconfigs:\n  conf:\n    content: '" + content + "'\n    template_driver: " + driver + "\n"
	}
	tests := []struct {
		name, driver, content, wantErr string
	}{
		{name: "golang", driver: "golang", content: "{{.Task.Name}}"},
		{name: "an unknown function", driver: "golang", content: `{{nosuch "x"}}`, wantErr: `function "nosuch" not defined`},
		{name: "another driver", driver: "jinja", content: "x", wantErr: `template driver "jinja" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := loadAndConvert(writeProject(t, map[string]string{"docker-compose.yml": compose(tt.driver, tt.content)}), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.ConfigMaps[0].Annotations["swarm.kubeswarm.io/template-driver"]; got != "golang" {
				t.Errorf("the ConfigMap's template driver annotation is %q", got)
			}
			if len(r.Warnings) != 0 {
				t.Errorf("warnings %q", r.Warnings)
			}
		})
	}
}

// TestRestartDelayWarns: deploy.restart_policy.delay is warned about as the operator reports it
// (the kubelet's back-off restarts the task, not the delay).
func TestRestartDelayWarns(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n    deploy:\n      restart_policy:\n        condition: on-failure\n        delay: 3s\n"})
	r, err := loadAndConvert(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`service "web": restartPolicy.delay=3s: a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay`}
	if diff := cmp.Diff(want, r.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
