package files

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRender: swarmkit's context and functions (template/context.go), for a task whose context
// the pod gives.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "context"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "context", "secret-0"), []byte("s3cret"), 0o400))
	must(t, os.WriteFile(filepath.Join(dir, "context", "config-0"), []byte("listen 80"), 0o400))
	env := map[string]string{
		EnvNodeName: "worker1", EnvTaskName: "web-7d9f-abcde", EnvTaskID: "uid-1",
		TemplateContextEnv: `{"serviceID":"svc-uid","serviceName":"web","serviceLabels":{"team":"shop"},` +
			`"env":["GREETING=hello","EMPTY=","TEMPLATED={{.Task.Name}}"],` +
			`"secrets":{"db_pass":"context/secret-0"},"configs":{"/etc/nginx.conf":"context/config-0"}}`,
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct{ name, text, want, wantErr string }{
		{name: "service", text: "{{.Service.Name}} {{.Service.ID}} {{.Service.Labels.team}}", want: "web svc-uid shop"},
		{name: "task and node", text: "{{.Task.Name}} {{.Task.ID}} {{.Node.Hostname}} {{.Node.ID}}", want: "web-7d9f-abcde uid-1 worker1 worker1"},
		{name: "platform is the node's", text: "{{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}", want: runtime.GOOS + "/" + runtime.GOARCH},
		{name: "no slot without one", text: "[{{.Task.Slot}}]", want: "[]"},
		{name: "env as written, unknown is empty", text: `{{env "GREETING"}} {{env "TEMPLATED"}} [{{env "NONE"}}]`, want: "hello {{.Task.Name}} []"},
		{name: "secret and config by target", text: `{{secret "db_pass"}} {{config "/etc/nginx.conf"}}`, want: "s3cret listen 80"},
		{name: "join", text: `{{join "," "a" "b"}}`, want: "a,b"},
		{name: "a secret the task does not have", text: `{{secret "other"}}`,
			wantErr: `template: expansion:1:2: executing "expansion" at <secret "other">: error calling secret: secret target other not found`},
		{name: "a missing key", text: `{{.Service.Labels.nope}}`,
			wantErr: `template: expansion:1:10: executing "expansion" at <.Service.Labels.nope>: map has no entry for key "nope"`},
		{name: "an unknown function", text: `{{nosuch}}`, wantErr: `template: expansion:1: function "nosuch" not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.text, getenv, dir)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, string(got)); err == nil && diff != "" {
				t.Errorf("rendered (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckTemplate: what no task could expand is refused before writing, in swarmkit's words.
func TestCheckTemplate(t *testing.T) {
	for text, want := range map[string]string{
		`{{.Task.Name}} {{secret "x"}} {{env "A"}} {{config "c"}} {{join "," "a"}}`: "",
		`{{nosuchfunc "x"}}`: `config conf: failed to expand templated config: template: expansion:1: function "nosuchfunc" not defined`,
		`{{.Task.Name`:       `config conf: failed to expand templated config: template: expansion:1: unclosed action`,
	} {
		got := ""
		if err := CheckTemplate("config", "conf", []byte(text)); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", text, got, want)
		}
	}
	if err := CheckTemplateDriver("config", "conf", "jinja"); err == nil {
		t.Error("a driver other than golang is accepted")
	}
}

// TestInstallTemplate: install-files renders a templated item and copies a plain one as is.
func TestInstallTemplate(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(from, "config-0"), []byte("task={{.Task.Name}}"), 0o400))
	must(t, os.WriteFile(filepath.Join(from, "config-1"), []byte("task={{.Task.Name}}"), 0o400))
	t.Setenv(EnvTaskName, "web-1")
	items := []Item{{From: "config-0", Mode: 0o444, To: "a", Template: true}, {From: "config-1", Mode: 0o444, To: "b"}}
	for _, it := range items {
		back, err := Parse(it.String())
		if err != nil || back != it {
			t.Fatalf("%q read back as %+v, %v", it.String(), back, err)
		}
	}
	if err := Install(from, to, items); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(to, f))
		must(t, err)
		got[f] = string(b)
	}
	if diff := cmp.Diff(map[string]string{"a": "task=web-1", "b": "task={{.Task.Name}}"}, got); diff != "" {
		t.Errorf("installed (-want +got):\n%s", diff)
	}
}
