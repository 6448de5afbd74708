//go:build e2e && realnodes

package e2e

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// sameNameStack is a public stack's shape: service proxy on network proxy (both would be the
// Kubernetes name proxy-proxy), and a web service on it with an alias.
const sameNameStack = `
services:
  proxy:
    image: kubeswarm.test/web:1
    environment: {VERSION: proxy}
    ports: ["8161:80"]
    networks: [proxy]
  web:
    image: kubeswarm.test/web:1
    environment: {VERSION: web}
    networks:
      proxy:
        aliases: [site]
networks:
  proxy: {}
`

// externalFront and externalBack are two stacks on the external network shared: back's api has
// an alias there.
const externalFront = `
services:
  app:
    image: kubeswarm.test/web:1
    environment: {VERSION: front-app}
    ports: ["8163:80"]
    networks: [shared]
networks:
  shared: {external: true}
`

const externalBack = `
services:
  api:
    image: kubeswarm.test/web:1
    environment: {VERSION: back-api}
    deploy: {replicas: 2}
    networks:
      shared:
        aliases: [cache]
networks:
  shared: {external: true}
`

// TestRealNetworks: names on networks, as tasks resolve and reach them.
func TestRealNetworks(t *testing.T) {
	t.Parallel()
	ips := nodeIPs(t)

	t.Run("names across stacks on an external network", func(t *testing.T) {
		// front's app finds back's api on their external network by its short name, its
		// alias there, and back-api (docker's back_api, which no DNS name can be); tasks-api
		// names every task of api.
		ns := newNamespace(t)
		dir := t.TempDir()
		for name, content := range map[string]string{"front": externalFront, "back": externalBack} {
			writeFile(t, filepath.Join(dir, name+".yml"), content)
			mustSwarm(t, ns, "stack", "deploy", "-c", filepath.Join(dir, name+".yml"), name)
		}
		waitRunning(t, 120*time.Second, ns, "front-app", 1)
		waitRunning(t, 120*time.Second, ns, "back-api", 2)
		app := "http://" + net.JoinHostPort(ips["worker1"], "8163")
		for _, name := range []string{"api", "cache", "back-api"} {
			eventually(t, 60*time.Second, "front's app reaches back's api as "+name, func() error {
				body, err := get(app + "/fetch?url=" + url.QueryEscape("http://"+name+"/"))
				if err != nil {
					return err
				}
				if v := parseAnswer(body).Version; v != "back-api" {
					return fmt.Errorf("%s answered version %q, want back-api: %q", name, v, body)
				}
				return nil
			})
		}
		eventually(t, 60*time.Second, "tasks-api names both of api's tasks", func() error {
			body, err := get(app + "/resolve?name=tasks-api")
			if err != nil {
				return err
			}
			return sameAddresses(strings.Fields(body), taskIPs(t, ns, "back-api"))
		})
		// The stacks share the network's names; they go with the last of them.
		mustSwarm(t, ns, "stack", "rm", "back")
		eventually(t, 60*time.Second, "api no longer resolves once back is removed", func() error {
			body, err := get(app + "/resolve?name=api")
			// The lookup fails (no such host; server misbehaving where the cluster's DNS cannot
			// forward the bare name upstream).
			if err == nil {
				return fmt.Errorf("api resolves to %q, want a failed lookup", body)
			}
			if !strings.Contains(err.Error(), "looking up api") {
				return fmt.Errorf("want a failed lookup: %w", err)
			}
			return nil
		})
	})

	t.Run("service named as its network", func(t *testing.T) {
		// Refused before: the network's DNS Service gives way (proxy-proxy-net), and the stack
		// deploys and runs; its proxy reaches web by name and alias, and itself by its name.
		ns := newNamespace(t)
		file := filepath.Join(t.TempDir(), "docker-compose.yml")
		writeFile(t, file, sameNameStack)
		mustSwarm(t, ns, "stack", "deploy", "-c", file, "proxy")
		waitRunning(t, 120*time.Second, ns, "proxy-proxy", 1)
		waitRunning(t, 120*time.Second, ns, "proxy-web", 1)
		for name, want := range map[string]string{"web": "web", "site": "web", "proxy": "proxy"} {
			eventually(t, 60*time.Second, "proxy reaches "+name, func() error {
				body, err := get("http://" + net.JoinHostPort(ips["worker1"], "8161") + "/fetch?url=" + url.QueryEscape("http://"+name+"/"))
				if err != nil {
					return err
				}
				if v := parseAnswer(body).Version; v != want {
					return fmt.Errorf("%s answered version %q, want %s: %q", name, v, want, body)
				}
				return nil
			})
		}
	})
}

// TestRealHostNetwork: a service on the host network answers on each node's own address at its
// port, its tasks' addresses are the nodes'; without --allow-host-network, and with an
// ingress port, it is refused. It restarts the tests' operator, so it is not parallel.
func TestRealHostNetwork(t *testing.T) {
	ips := nodeIPs(t)
	ns := newNamespace(t)
	// The tests' operator runs without the flag: the service is refused, naming it.
	mustSwarm(t, ns, "service", "create", "--detach", "--name", "refused", "--network", "host", "kubeswarm.test/web:1")
	waitSvc(t, 60*time.Second, ns, "refused", "InvalidSpec naming --allow-host-network", func(s *swarmv1.Service) error {
		if c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded); c == nil || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, "--allow-host-network") {
			return fmt.Errorf("conditions %+v", s.Status.Conditions)
		}
		return nil
	})
	// An ingress port is refused before anything is written, whatever the flag.
	if _, errOut, err := swarm(t, ns, "service", "create", "--detach", "--name", "ingress", "--network", "host", "-p", "8162:80", "kubeswarm.test/web:1"); err == nil || !strings.Contains(errOut, "ingress mode") {
		t.Errorf("service create --network host -p 8162:80: %v %q, want refused for the ingress port", err, errOut)
	}

	stopMainOperator(t)
	op, err := startOperatorProcess("operator-hostnet", mainOperatorNode, "--zap-log-level=2", "--allow-host-network")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		op.stop()
		if t.Failed() {
			if data, err := os.ReadFile(op.log); err == nil {
				lines := strings.Split(string(data), "\n")
				t.Logf("operator log (last 60 lines):\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
			}
		}
	})
	const port = "18431"
	start := time.Now()
	mustSwarm(t, ns, "service", "create", "--detach", "--name", "hostweb", "--mode", "global", "--network", "host",
		"--publish", "mode=host,published="+port+",target="+port, "-e", "PORT="+port, "-e", "VERSION=hostnet", "kubeswarm.test/web:1")
	waitRunning(t, 120*time.Second, ns, "hostweb", len(ips))
	figure(t, "service create --network host --mode global: %d tasks running %.1fs after create", len(ips), time.Since(start).Seconds())
	tasks := runningTasks(t, ns, "hostweb")
	if len(tasks) != len(ips) {
		t.Fatalf("%d running tasks of hostweb, want one per node (%d)", len(tasks), len(ips))
	}
	for _, p := range tasks {
		if want := ips[p.Spec.NodeName]; p.Status.PodIP != want || !p.Spec.HostNetwork {
			t.Errorf("task %s on %s: address %s hostNetwork %v, want the node's %s", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Spec.HostNetwork, want)
		}
	}
	for node, ip := range ips {
		eventually(t, 60*time.Second, "the task on "+node+" answers at the node's address", func() error {
			body, err := get("http://" + net.JoinHostPort(ip, port) + "/")
			if err != nil {
				return err
			}
			if a := parseAnswer(body); a.Version != "hostnet" {
				return fmt.Errorf("%s:%s answered %q, want version hostnet", ip, port, body)
			}
			return nil
		})
	}
	// The refused service runs now that the operator allows the host network.
	waitRunning(t, 120*time.Second, ns, "refused", 1)
}
