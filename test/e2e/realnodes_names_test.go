//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// namesStack is a stack whose app finds its db by the short name, as the seed's wordpress
// finds dbcluster; VERSION tells the two stacks' databases apart.
func namesStack(stack, port, dbExpose string) string {
	return fmt.Sprintf(`
services:
  db:
    image: kubeswarm.test/web:1
    environment: {VERSION: %[1]s-db}
%[3]s    deploy: {replicas: 2}
  app:
    image: kubeswarm.test/web:1
    environment: {VERSION: %[1]s-app}
    ports: ["%[2]s:80"]
`, stack, port, dbExpose)
}

// TestRealStackNames: two stacks in one namespace each have a service db and an app that asks
// for db by that name: each app reaches its own stack's db, never the other's (Swarm scopes
// names to a stack's networks). A db with exposed ports answers at a virtual IP that outlives
// its tasks; one without resolves to its tasks; tasks-db resolves to every task.
func TestRealStackNames(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ips := nodeIPs(t)
	dir := t.TempDir()
	stacks := map[string]string{"shop": "8101", "blog": "8102"}
	expose := map[string]string{"shop": "    expose: [\"80\"]\n", "blog": ""}
	for _, st := range []string{"shop", "blog"} {
		file := filepath.Join(dir, st+".yml")
		writeFile(t, file, namesStack(st, stacks[st], expose[st]))
		mustSwarm(t, ns, "stack", "deploy", "-c", file, st)
	}
	app := func(st, path string) (string, error) {
		return get("http://" + net.JoinHostPort(ips["worker1"], stacks[st]) + path)
	}
	for _, st := range []string{"shop", "blog"} {
		waitRunning(t, 120*time.Second, ns, st+"-db", 2)
		waitRunning(t, 120*time.Second, ns, st+"-app", 1)
		eventually(t, 60*time.Second, st+"'s app reaches its own db by the name db", func() error {
			body, err := app(st, "/fetch?url="+url.QueryEscape("http://db/"))
			if err != nil {
				return err
			}
			if v := parseAnswer(body).Version; v != st+"-db" {
				return fmt.Errorf("db answered version %q, want %s-db: %q", v, st, body)
			}
			return nil
		})
	}

	// tasks-db: every task of db, in each stack.
	for _, st := range []string{"shop", "blog"} {
		eventually(t, 60*time.Second, st+"'s tasks-db names both of its db tasks", func() error {
			body, err := app(st, "/resolve?name=tasks-db")
			if err != nil {
				return err
			}
			return sameAddresses(strings.Fields(body), taskIPs(t, ns, st+"-db"))
		})
	}
	// blog's db has no ports: its name is its tasks' addresses (Swarm's dnsrr).
	eventually(t, 30*time.Second, "blog's db resolves to its tasks", func() error {
		body, err := app("blog", "/resolve?name=db")
		if err != nil {
			return err
		}
		return sameAddresses(strings.Fields(body), taskIPs(t, ns, "blog-db"))
	})

	// shop's db exposes 80: its name is a virtual IP, which keeps answering when every task is
	// replaced (a client that resolved it once, as nginx's proxy_pass does, still reaches db).
	kube := &corev1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-db"}, kube); err != nil {
		t.Fatal(err)
	}
	vip := kube.Spec.ClusterIP
	body, err := app("shop", "/resolve?name=db")
	if err != nil || strings.TrimSpace(body) != vip {
		t.Fatalf("shop's db resolves to %q (%v), want its virtual IP %s", body, err, vip)
	}
	old := taskIPs(t, ns, "shop-db")
	for _, p := range tasks(t, ns, "shop-db") {
		if err := k8sClient.Delete(context.Background(), &p); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 120*time.Second, "the virtual IP answers from db's new tasks", func() error {
		now := taskIPs(t, ns, "shop-db")
		if len(now) != 2 || slices.ContainsFunc(now, func(a string) bool { return slices.Contains(old, a) }) {
			return fmt.Errorf("tasks %v, want two new ones (old %v)", now, old)
		}
		body, err := app("shop", "/fetch?url="+url.QueryEscape("http://"+vip+"/"))
		if err != nil {
			return err
		}
		if v := parseAnswer(body).Version; v != "shop-db" {
			return fmt.Errorf("%s answered %q", vip, body)
		}
		return nil
	})
}

// taskIPs are the addresses of a service's running tasks.
func taskIPs(t *testing.T, ns, service string) []string {
	t.Helper()
	var out []string
	for _, p := range runningTasks(t, ns, service) {
		if p.Status.PodIP != "" {
			out = append(out, p.Status.PodIP)
		}
	}
	return out
}

func sameAddresses(got, want []string) error {
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		return fmt.Errorf("addresses %v, want the tasks' %v", got, want)
	}
	return nil
}
