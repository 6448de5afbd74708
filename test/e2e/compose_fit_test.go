//go:build e2e && !realnodes

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// writeFiles writes a compose project into a new folder and returns its compose file.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "docker-compose.yml")
}

// TestPluginStackWhatDeploysRuns: a compose file as real ones are written — a project file
// bind-mounted, a per-task hostname, a namespaced sysctl, a GPU — deploys and runs, its
// approximations reported; one the operator would refuse (the Docker socket) is refused by
// `stack deploy` before anything is written.
func TestPluginStackWhatDeploysRuns(t *testing.T) {
	ns := newNamespace(t)
	file := writeFiles(t, map[string]string{
		"docker-compose.yml": `services:
  web:
    image: nginx
    hostname: "{{.Task.Name}}"
    user: www-data
    sysctls:
      net.core.somaxconn: 1024
    volumes:
      - ./conf/nginx.conf:/etc/nginx/nginx.conf:ro
    deploy:
      replicas: 2
`,
		"conf/nginx.conf": "events {}\nhttp { server { listen 80; } }\n",
	})
	_, errOut, err := swarm(t, ns, "stack", "deploy", "-c", file, "fit")
	if err != nil {
		t.Fatalf("stack deploy: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		`service "web": volumes[0]: ./conf/nginx.conf is mounted from the ConfigMap fit-bind-conf-nginx-conf, read-only`,
		`service "web": user: "www-data" is a user name`,
		`hostname "{{.Task.Name}}": each task's hostname is its own task's name`,
		"sysctls net.core.somaxconn: not among the kubelet's safe sysctls",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stack deploy's warnings lack %q:\n%s", want, errOut)
		}
	}
	cm := &corev1.ConfigMap{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "fit-bind-conf-nginx-conf"}, cm); err != nil {
		t.Fatalf("the bind's ConfigMap: %v", err)
	}
	if got := cm.Data["bind_conf_nginx.conf"]; got != "events {}\nhttp { server { listen 80; } }\n" {
		t.Errorf("the ConfigMap holds %q", got)
	}
	waitRunning(t, 60*time.Second, ns, "fit-web", 2)
	svc := waitSvc(t, 30*time.Second, ns, "fit-web", "Honored reports the approximations", func(s *swarmv1.Service) error {
		c := meta.FindStatusCondition(s.Status.Conditions, "Honored")
		if c == nil || !strings.Contains(c.Message, "hostname") || !strings.Contains(c.Message, "net.core.somaxconn") {
			return fmt.Errorf("Honored = %+v", c)
		}
		return nil
	})
	d := &appsv1.Deployment{}
	if err := k8sClient.Get(t.Context(), client.ObjectKeyFromObject(svc), d); err != nil {
		t.Fatal(err)
	}
	mounted := false
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.MountPath == "/etc/nginx/nginx.conf" && m.SubPath == "bind_conf_nginx.conf" && m.ReadOnly {
			mounted = true
		}
	}
	if !mounted || d.Spec.Template.Spec.Hostname != "" {
		t.Errorf("the task template mounts %+v, hostname %q; want nginx.conf read-only from the ConfigMap and the pods' own hostnames",
			d.Spec.Template.Spec.Containers[0].VolumeMounts, d.Spec.Template.Spec.Hostname)
	}

	// What the operator would refuse is refused before anything is written.
	refused := writeFiles(t, map[string]string{
		"docker-compose.yml": `services:
  proxy:
    image: traefik:v3.1
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock:ro
  app:
    image: nginx
    configs: [site]
configs:
  site:
    content: hello
`,
	})
	out, errOut, err := swarm(t, ns, "stack", "deploy", "-c", refused, "bad")
	if err == nil || !strings.Contains(errOut, "a Kubernetes node has no Docker Engine socket") || !strings.Contains(errOut, "kubernetes provider") {
		t.Errorf("stack deploy with the Docker socket: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	if strings.Contains(out, "Creating") {
		t.Errorf("stack deploy printed %q before refusing", out)
	}
	stacks := &swarmv1.StackList{}
	cms := &corev1.ConfigMapList{}
	if err := k8sClient.List(t.Context(), stacks, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.List(t.Context(), cms, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/stack": "bad"}); err != nil {
		t.Fatal(err)
	}
	if len(stacks.Items) != 1 || len(cms.Items) != 0 {
		t.Errorf("after the refusal: %d stacks (want only fit), %d ConfigMaps of stack bad", len(stacks.Items), len(cms.Items))
	}
}
