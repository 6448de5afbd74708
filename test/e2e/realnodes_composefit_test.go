//go:build e2e && realnodes

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

const bindStack = `
services:
  app:
    image: kubeswarm.test/web:1
    hostname: "{{.Service.Name}}-{{.Task.Slot}}"
    sysctls:
      net.ipv4.tcp_syncookies: 1
    volumes:
      - ./conf/app.conf:/etc/app/app.conf:ro
      - ./site:/srv/site
    deploy:
      replicas: 2
  tuned:
    image: kubeswarm.test/web:1
    sysctls:
      net.core.somaxconn: 1024
`

// TestRealProjectBinds: on real kubelets, a compose project's file and folder binds are read in
// the tasks where the binds put them, read-only, with the files' modes; a per-task hostname
// template leaves each task its own hostname; a safe sysctl runs, and a namespaced one that the
// kubelets do not allow is rejected by them as the Honored condition said it would be.
func TestRealProjectBinds(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "docker-compose.yml"), bindStack)
	for name, content := range map[string]string{"conf/app.conf": "listen = 80\n", "site/index.html": "hello\n", "site/js/app.js": "run()\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), content)
	}
	mustSwarm(t, ns, "stack", "deploy", "-c", filepath.Join(dir, "docker-compose.yml"), "bn")
	waitRunning(t, 120*time.Second, ns, "bn-app", 2)

	hosts := map[string]bool{}
	for _, p := range runningTasks(t, ns, "bn-app") {
		for _, c := range []struct{ path, content, mode string }{
			{"/etc/app/app.conf", "listen = 80\n", "0444"},
			{"/srv/site/index.html", "hello\n", "0444"},
			{"/srv/site/js/app.js", "run()\n", "0444"},
		} {
			got, err := statFile(p.Status.PodIP, "80", c.path)
			if err != nil {
				t.Fatalf("reading %s in %s: %v", c.path, p.Name, err)
			}
			if got.Content != c.content || got.Mode != c.mode {
				t.Errorf("%s in %s: content %q mode %s, want %q mode %s", c.path, p.Name, got.Content, got.Mode, c.content, c.mode)
			}
		}
		body, err := get("http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/")
		if err != nil {
			t.Fatal(err)
		}
		host := parseAnswer(body).Host
		if host != p.Name {
			t.Errorf("task %s answers host=%s, want its own name", p.Name, host)
		}
		hosts[host] = true
	}
	if len(hosts) != 2 {
		t.Errorf("the two tasks' hostnames: %v, want two", hosts)
	}

	// The kubelets run without --allowed-unsafe-sysctls: the task that asks for one is
	// rejected, as Honored says.
	waitSvc(t, 60*time.Second, ns, "bn-tuned", "Honored names the sysctl", func(s *swarmv1.Service) error {
		if c := meta.FindStatusCondition(s.Status.Conditions, "Honored"); c == nil || !strings.Contains(c.Message, "net.core.somaxconn") {
			return fmt.Errorf("Honored = %+v", c)
		}
		return nil
	})
	eventually(t, 120*time.Second, "the kubelet rejects the task (SysctlForbidden)", func() error {
		pods := &corev1.PodList{}
		if err := k8sClient.List(t.Context(), pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": "bn-tuned"}); err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Status.Reason == "SysctlForbidden" {
				return nil
			}
		}
		return fmt.Errorf("%d tasks, none rejected", len(pods.Items))
	})
}
