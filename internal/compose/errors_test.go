package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// project writes files (name → content) into a new directory and returns the paths of the
// compose files among them, in the order given by names.
func writeProject(t *testing.T, files map[string]string, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	for n, content := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(names) == 0 {
		names = []string{"docker-compose.yml"}
	}
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
	}
	return paths
}

func loadAndConvert(paths []string, env map[string]string) (*Result, error) {
	if env == nil {
		env = map[string]string{}
	}
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: env})
	if err != nil {
		return nil, err
	}
	return Convert(p, "app", ConvertOptions{})
}

func TestErrors(t *testing.T) {
	const base = "docker-compose.yml"
	const override = "docker-compose.override.yml"
	tests := []struct {
		name  string
		files map[string]string
		order []string // compose files, default docker-compose.yml
		env   map[string]string
		// want are the parts the message must contain; the file is given by its base name.
		file string
		want []string
	}{
		{
			name:  "yaml syntax",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n   ports: [80]\n"},
			file:  base,
			want:  []string{"line 3", "did not find expected key"},
		},
		{
			name:  "unknown service in depends_on",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    depends_on: [db]\n"},
			file:  base,
			want:  []string{`service "web"`, "depends_on", `undefined service "db"`},
		},
		{
			name:  "bad port string",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n  api:\n    image: api\n    ports: [\"8080:80\", \"80:80:80:80\"]\n"},
			file:  base,
			want:  []string{`service "api"`, "ports[1]"},
		},
		{
			name:  "bad published port",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    ports:\n      - target: 80\n        published: eighty\n"},
			file:  base,
			want:  []string{`service "web"`, "ports[0]", `invalid published port "eighty"`},
		},
		{
			name:  "target port out of range",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    ports: [\"8080:70000\"]\n"},
			file:  base,
			want:  []string{`service "web"`, "ports"},
		},
		{
			name:  "duplicate published port",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    ports: [\"80:80\", \"80:81\"]\n"},
			file:  base,
			want:  []string{`service "web"`, "ports", "80/tcp: a published port may only be used once per protocol"},
		},
		{
			name:  "undefined secret",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    secrets: [db_pass]\n"},
			file:  base,
			want:  []string{`service "web"`, "secrets", `undefined secret "db_pass"`},
		},
		{
			name:  "undefined config",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    configs: [site]\n"},
			file:  base,
			want:  []string{`service "web"`, "configs", `undefined config "site"`},
		},
		{
			name:  "undefined network",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    networks: [front]\n"},
			file:  base,
			want:  []string{`service "web"`, "networks", `undefined network "front"`},
		},
		{
			name:  "undefined volume",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    volumes: [\"data:/data\"]\n"},
			file:  base,
			want:  []string{`service "web"`, "volumes[0]", `undefined volume "data"`},
		},
		{
			name:  "missing required variable",
			files: map[string]string{base: "services:\n  web:\n    image: nginx:${TAG:?set TAG to the release}\n"},
			file:  base,
			want:  []string{`service "web"`, "image", "set TAG to the release"},
		},
		{
			name:  "missing required variable in the second file",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n", override: "services:\n  web:\n    environment:\n      DSN: ${DSN:?DSN is required}\n"},
			order: []string{base, override},
			file:  override,
			want:  []string{`service "web"`, "environment", "DSN is required"},
		},
		{
			name:  "bad port in the second file",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n", override: "services:\n  web:\n    ports: [\"1:2:3:4\"]\n"},
			order: []string{base, override},
			file:  override,
			want:  []string{`service "web"`, "ports[0]"},
		},
		{
			name:  "unknown dependency added by the second file",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n", override: "services:\n  web:\n    depends_on: [cache]\n"},
			order: []string{base, override},
			file:  override,
			want:  []string{`service "web"`, "depends_on", `undefined service "cache"`},
		},
		{
			name:  "invalid interpolation",
			files: map[string]string{base: "services:\n  web:\n    image: nginx:${TAG\n"},
			file:  base,
			want:  []string{`service "web"`, "image", "invalid interpolation format"},
		},
		{
			name:  "unknown key",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    replica: 3\n"},
			file:  base,
			want:  []string{`service "web"`, "replica"},
		},
		{
			name:  "bad memory unit",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits:\n          memory: 12Q\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.resources.limits.memory"},
		},
		{
			name:  "bad duration",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    stop_grace_period: 10parsecs\n"},
			file:  base,
			want:  []string{`service "web"`, "stop_grace_period"},
		},
		{
			name:  "replicas not a number",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      replicas: many\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.replicas"},
		},
		{
			name:  "cpus too precise",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits:\n          cpus: \"0.0000000001\"\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.resources.limits.cpus", "too precise"},
		},
		{
			name:  "unknown mode",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      mode: everywhere\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.mode", "unknown mode: everywhere"},
		},
		{
			name:  "replicas with global",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      mode: global\n      replicas: 2\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.replicas", "replicas can only be used with replicated or replicated-job mode"},
		},
		{
			name:  "unknown endpoint mode",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      endpoint_mode: round-robin\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.endpoint_mode"},
		},
		{
			name:  "unknown failure action",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      update_config:\n        failure_action: retry\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.update_config.failure_action"},
		},
		{
			name:  "rollback of a rollback",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      rollback_config:\n        failure_action: rollback\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.rollback_config.failure_action", "never rolled back"},
		},
		{
			name:  "update config of a job",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      mode: replicated-job\n      update_config:\n        parallelism: 2\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.update_config", "not supported for jobs"},
		},
		{
			name:  "unknown restart condition",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      restart_policy:\n        condition: sometimes\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.restart_policy.condition"},
		},
		{
			name:  "invalid restart",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    restart: sometimes\n"},
			file:  base,
			want:  []string{`service "web"`, "restart", "unknown policy 'sometimes'"},
		},
		{
			name:  "a sysctl no kubelet runs (the operator's verdict)",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    sysctls:\n      vm.max_map_count: 262144\n"},
			file:  base,
			want:  []string{`service "web"`, "sysctls: vm.max_map_count: forbidden sysctl"},
		},
		{
			name:  "group name",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    group_add: [audio]\n"},
			file:  base,
			want:  []string{`service "web"`, "group_add", "numeric"},
		},
		{
			name:  "healthcheck test and disable",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      disable: true\n"},
			file:  base,
			want:  []string{`service "web"`, "healthcheck", "test and disable can't be set at the same time"},
		},
		{
			name:  "invalid constraint",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      placement:\n        constraints: [node.colour == blue]\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.placement.constraints", "node.colour == blue"},
		},
		{
			name:  "invalid role constraint",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      placement:\n        constraints: [node.role == boss]\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.placement.constraints", "manager or worker"},
		},
		{
			name:  "invalid spread",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      placement:\n        preferences:\n          - spread: node.hostname\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.placement.preferences"},
		},
		{
			name:  "max replicas per node of a global service",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    deploy:\n      mode: global\n      placement:\n        max_replicas_per_node: 1\n"},
			file:  base,
			want:  []string{`service "web"`, "deploy.placement.max_replicas_per_node"},
		},
		{
			name:  "extra host not an address",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    extra_hosts: [\"gw:host-gateway\"]\n"},
			file:  base,
			want:  []string{`service "web"`, "extra_hosts", "host-gateway"},
		},
		{
			name:  "no image",
			files: map[string]string{base: "services:\n  web:\n    build: .\n"},
			file:  base,
			want:  []string{`service "web"`, "image", "is required"},
		},
		{
			name:  "npipe volume",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    volumes:\n      - type: npipe\n        source: \\\\.\\pipe\\docker_engine\n        target: /pipe\n"},
			file:  base,
			want:  []string{`service "web"`, "volumes[0]", `volume type "npipe" is not supported`},
		},
		{
			name:  "forbidden options",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    mem_limit: 1g\n  db:\n    image: postgres\n    volumes_from: [web]\n"},
			file:  base,
			want:  []string{"Compose file contains unsupported options:", `service "web": mem_limit: Set resource limits using deploy.resources`, `service "db": volumes_from: To share a volume between services`},
		},
		{
			name:  "service name that is no DNS label",
			files: map[string]string{base: "services:\n  web_:\n    image: nginx\n"},
			file:  base,
			want:  []string{`service "web_"`, "DNS label"},
		},
		{
			name:  "service names that clash",
			files: map[string]string{base: "services:\n  web_app:\n    image: nginx\n  web-app:\n    image: nginx\n"},
			file:  base,
			want:  []string{`service "web_app"`, `"web-app"`},
		},
		{
			name:  "secret names that clash",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\nsecrets:\n  db_pass:\n    environment: X\n  db-pass:\n    environment: X\n", ".env": "X=1\n"},
			file:  base,
			want:  []string{`secret "db_pass"`, `"app-db-pass"`},
		},
		{
			name:  "secret file missing",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    secrets: [key]\nsecrets:\n  key:\n    file: ./missing.key\n"},
			file:  base,
			want:  []string{`secret "key"`, "file", "missing.key"},
		},
		{
			name:  "secret from an unset variable",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\n    secrets: [token]\nsecrets:\n  token:\n    environment: API_TOKEN\n"},
			file:  base,
			want:  []string{`secret "token"`, "environment", "API_TOKEN is not set"},
		},
		{
			name:  "secret driver",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\nsecrets:\n  token:\n    driver: vault\n"},
			file:  base,
			want:  []string{`secret "token"`, "driver", "not supported"},
		},
		{
			name:  "unknown volume extension key",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\nvolumes:\n  data:\n    x-kubeswarm:\n      sise: 1Gi\n"},
			file:  base,
			want:  []string{`volume "data"`, "x-kubeswarm", "sise"},
		},
		{
			name:  "bad volume size",
			files: map[string]string{base: "services:\n  web:\n    image: nginx\nvolumes:\n  data:\n    x-kubeswarm:\n      size: lots\n"},
			file:  base,
			want:  []string{`volume "data"`, "x-kubeswarm.size"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeProject(t, tc.files, tc.order...)
			_, err := loadAndConvert(paths, tc.env)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if os.Getenv("SHOW_ERRORS") != "" {
				t.Log(msg)
			}
			file := filepath.Join(filepath.Dir(paths[0]), tc.file)
			if !strings.HasPrefix(msg, file+": ") && !strings.Contains(msg, "\n"+file+": ") {
				t.Errorf("the error does not name the file %s:\n%s", tc.file, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestInvalidStackName(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  web:\n    image: nginx\n"})
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"My_Stack", "1st", "", strings.Repeat("s", 64)} {
		if _, err := Convert(p, stack, ConvertOptions{}); err == nil || !strings.Contains(err.Error(), "invalid stack name") {
			t.Errorf("stack %q: got %v, want an invalid stack name error", stack, err)
		}
	}
}

func TestStackNameTooLongForAService(t *testing.T) {
	paths := writeProject(t, map[string]string{"docker-compose.yml": "services:\n  " + strings.Repeat("w", 40) + ":\n    image: nginx\n"})
	p, err := Load(context.Background(), LoadOptions{Files: paths, Environment: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(p, "a-rather-long-stack-name-here", ConvertOptions{})
	if err == nil || !strings.Contains(err.Error(), "at most 63 characters") {
		t.Errorf("got %v, want an error about the Service name's length", err)
	}
}

// TestLabelsOfAnyLength: deploy.labels keep a key of any length as written (the production
// stack's Traefik Cache-control header), reported only as left off the objects' annotations;
// a route host that is no DNS name is refused, naming the file, the service and the label.
func TestLabelsOfAnyLength(t *testing.T) {
	const long = "traefik.http.middlewares.client.headers.customresponseheaders.Cache-control"
	paths := writeProject(t, map[string]string{"docker-compose.yml": `services:
  web:
    image: nginx
    deploy:
      labels:
        traefik.http.routers.client.rule: Host(` + "`app.example.com`" + `)
        traefik.http.routers.client.middlewares: client
        ` + long + `: no-store
        traefik.http.services.client.loadbalancer.server.port: "80"
`})
	res, err := loadAndConvert(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stack.Spec.Services[0].Labels[long]; got != "no-store" {
		t.Errorf("label %s = %q, want no-store", long, got)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "is kept in the service's spec but not copied to the annotations") {
		t.Errorf("warnings do not say the label is kept:\n%s", w)
	}

	bad := writeProject(t, map[string]string{"docker-compose.yml": `services:
  web:
    image: nginx
    deploy:
      labels:
        traefik.http.routers.web.rule: Host(` + "`my_app.example.com`" + `)
        traefik.http.services.web.loadbalancer.server.port: "80"
`})
	if _, err := loadAndConvert(bad, nil); err == nil || !strings.Contains(err.Error(), `label traefik.http.routers.web.rule: host "my_app.example.com" is not a DNS name`) || !strings.Contains(err.Error(), "web") {
		t.Errorf("a route host that is no DNS name: %v", err)
	}
}
