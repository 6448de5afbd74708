//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestRealRoutingMeshAndHostMode is the seed's first check, then its host-mode one:
//
//	docker service create --name nginx --replicas 3 --publish 8000:80 nginx
//	  "open manager1, worker1 and worker2 on port 8000 and nginx answers on each"
//	docker service create --name host-nginx --publish mode=host,published=8000,target=80 --replicas 2 nginx
//	  only the two nodes with a task answer, each from its own task; the third refuses.
//
// Both publish 8000, so they run one after the other.
func TestRealRoutingMeshAndHostMode(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ips := nodeIPs(t)

	start := time.Now()
	mustSwarm(t, ns, "service", "create", "-d", "--name", "nginx", "--replicas", "3", "--publish", "8000:80", "nginx")
	byNode := waitRunning(t, 120*time.Second, ns, "nginx", 3)
	if len(byNode) != 3 {
		t.Fatalf("want one task on each node, got %v", byNode)
	}
	// Every node answers on 8000, from its own task and from tasks on the other nodes.
	eventually(t, 60*time.Second, "HTTP on :8000 of every node", func() error {
		for node, ip := range ips {
			if _, err := get("http://" + net.JoinHostPort(ip, "8000") + "/"); err != nil {
				return fmt.Errorf("%s: %w", node, err)
			}
		}
		return nil
	})
	figure(t, "service create --replicas 3 --publish 8000:80 nginx: HTTP answer on every node %.1fs after create", time.Since(start).Seconds())

	owners := taskNodes(t, ns, "nginx")
	eventually(t, 30*time.Second, "each node's :8000 reaches tasks on other nodes too", func() error {
		for node, ip := range ips {
			seen := map[string]int{}
			for range 24 {
				body, err := get("http://" + net.JoinHostPort(ip, "8000") + "/")
				if err != nil {
					return fmt.Errorf("%s: %w", node, err)
				}
				a := parseAnswer(body)
				if a.Version != "nginx-standin" {
					return fmt.Errorf("%s answered %q, not the nginx stand-in", node, body)
				}
				seen[owners[a.Host]]++
			}
			if len(seen) < 2 {
				return fmt.Errorf("%s:8000 answered only from tasks on %v", node, seen)
			}
			t.Logf("%s:8000 (%s) x24 answered from tasks on %v", node, ip, seen)
		}
		return nil
	})

	mustSwarm(t, ns, "service", "rm", "nginx")
	eventually(t, 60*time.Second, "port 8000 released", func() error {
		for node, ip := range ips {
			if !refused(net.JoinHostPort(ip, "8000")) {
				return fmt.Errorf("%s:8000 still answers", node)
			}
		}
		return nil
	})

	mustSwarm(t, ns, "service", "create", "-d", "--name", "host-nginx", "--publish", "mode=host,published=8000,target=80", "--replicas", "2", "nginx")
	byNode = waitRunning(t, 120*time.Second, ns, "host-nginx", 2)
	owners = taskNodes(t, ns, "host-nginx")
	eventually(t, 30*time.Second, "host mode answers only where a task runs, from that task", func() error {
		for node, ip := range ips {
			addr := net.JoinHostPort(ip, "8000")
			if byNode[node] == 0 {
				if !refused(addr) {
					return fmt.Errorf("%s has no task but %s does not refuse", node, addr)
				}
				continue
			}
			for range 6 {
				body, err := get("http://" + addr + "/")
				if err != nil {
					return fmt.Errorf("%s: %w", node, err)
				}
				if got := owners[parseAnswer(body).Host]; got != node {
					return fmt.Errorf("%s answered from a task on %q: %q", addr, got, body)
				}
			}
		}
		return nil
	})
}

// TestRealSeedStack deploys the seed's own compose file (wordpress and mysql:5.7 are the
// project's stand-ins): the web service reaches dbcluster by its short name over cluster DNS,
// writes a row, and answers on a worker's :8080; after `stack rm wp` and `stack deploy` again
// the row is still there (named volumes outlive the stack, as in Swarm).
func TestRealSeedStack(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ips := nodeIPs(t)
	file, _ := filepath.Abs("../compose/seed/docker-compose.yml")

	deploy := func() {
		t.Helper()
		mustSwarm(t, ns, "stack", "deploy", "-c", file, "wp")
		waitReady(t, ns, "wp-dbcluster", "1/1")
		byNode := waitRunning(t, 120*time.Second, ns, "wp-wordpress", 2)
		if byNode["manager1"] != 0 {
			t.Fatalf("node.role == worker: wordpress runs on manager1: %v", byNode)
		}
		db := runningTasks(t, ns, "wp-dbcluster")
		if len(db) != 1 || db[0].Spec.NodeName != "manager1" {
			t.Fatalf("node.hostname == manager1: dbcluster runs on %v", db)
		}
	}
	deploy()
	row := "hello-" + ns
	worker := "http://" + net.JoinHostPort(ips["worker1"], "8080")
	eventually(t, 60*time.Second, "wordpress writes a row to dbcluster through worker1:8080", func() error {
		_, err := send("POST", worker+"/rows", row)
		return err
	})
	for _, node := range []string{"worker1", "worker2", "manager1"} {
		url := "http://" + net.JoinHostPort(ips[node], "8080") + "/"
		eventually(t, 30*time.Second, "the page on "+node+":8080 shows the row", func() error {
			body, err := get(url)
			if err != nil {
				return err
			}
			if !strings.Contains(body, row) || parseAnswer(body).Role != "wordpress" {
				return fmt.Errorf("page without the row: %q", body)
			}
			return nil
		})
	}

	mustSwarm(t, ns, "stack", "rm", "wp")
	eventually(t, 120*time.Second, "stack rm removes the tasks", func() error {
		if n := len(tasks(t, ns, "wp-dbcluster")) + len(tasks(t, ns, "wp-wordpress")); n > 0 {
			return fmt.Errorf("%d tasks left", n)
		}
		return nil
	})
	deploy()
	eventually(t, 60*time.Second, "the row written before stack rm is there after the next deploy", func() error {
		body, err := get(worker + "/")
		if err != nil {
			return err
		}
		if !strings.Contains(body, row) {
			return fmt.Errorf("page without the row: %q", body)
		}
		return nil
	})
}

// healthStack has services with a CMD healthcheck (the image has no shell): web is healthy,
// sick's image always fails its healthcheck.
const healthStack = `
services:
  web:
    image: kubeswarm.test/web:1
    ports: ["8001:80"]
    healthcheck: &check
      test: ["CMD", "/web", "healthcheck"]
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      replicas: 2
  sick:
    image: kubeswarm.test/web:unhealthy
    ports: ["8004:80"]
    healthcheck: *check
`

// TestRealHealthcheckAndRollback: a task whose healthcheck fails is kept out of the Service's
// endpoints (its published port answers nothing) and, as Swarm replaces an unhealthy task, it
// is restarted and comes back healthy; a rolling update to a version that crashes, with
// failure_action rollback, comes back to the old version, which answers.
func TestRealHealthcheckAndRollback(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ips := nodeIPs(t)
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	writeFile(t, file, healthStack)
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "hc")
	waitRunning(t, 120*time.Second, ns, "hc-web", 2)

	// sick never passes its healthcheck: never in the endpoints, and :8004 answers nothing,
	// while web answers on :8001 of every node.
	eventually(t, 60*time.Second, "sick's task has started", func() error {
		for _, p := range tasks(t, ns, "hc-sick") {
			for _, c := range p.Status.ContainerStatuses {
				if c.State.Running != nil || c.RestartCount > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("not started yet")
	})
	eventually(t, 60*time.Second, "web answers on :8001 of every node", func() error {
		for node, ip := range ips {
			if _, err := get("http://" + net.JoinHostPort(ip, "8001") + "/"); err != nil {
				return fmt.Errorf("%s: %w", node, err)
			}
		}
		return nil
	})
	for range 3 {
		ready, err := readyEndpoints(ns, "hc-sick")
		if err != nil {
			t.Fatal(err)
		}
		if len(ready) > 0 {
			t.Fatalf("an unhealthy task is in sick's endpoints: %v", ready)
		}
		for node, ip := range ips {
			if body, err := get("http://" + net.JoinHostPort(ip, "8004") + "/"); err == nil {
				t.Fatalf("%s:8004 answered from an unhealthy task: %q", node, body)
			}
			if _, err := get("http://" + net.JoinHostPort(ip, "8001") + "/"); err != nil {
				t.Fatalf("%s:8001: %v", node, err)
			}
		}
		time.Sleep(time.Second)
	}

	// One of web's tasks turns unhealthy: it is restarted (Swarm replaces an unhealthy task; the
	// restart is quicker than the endpoints can show it leaving) and comes back healthy.
	sick := runningTasks(t, ns, "hc-web")[0]
	if _, err := send("POST", "http://"+net.JoinHostPort(sick.Status.PodIP, "80")+"/healthz/fail", ""); err != nil {
		t.Fatalf("making %s unhealthy: %v", sick.Name, err)
	}
	eventually(t, 60*time.Second, sick.Name+" is restarted and back in the endpoints", func() error {
		p := &corev1.Pod{}
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(&sick), p); err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount == 0 {
			return fmt.Errorf("not restarted")
		}
		ready, err := readyEndpoints(ns, "hc-web")
		if err != nil {
			return err
		}
		if !ready[sick.Status.PodIP] {
			return fmt.Errorf("%s not ready in %v", sick.Status.PodIP, ready)
		}
		return nil
	})

	// docker service create --update-failure-action rollback …; docker service update --image <crashing>
	mustSwarm(t, ns, "service", "create", "-d", "--name", "roll", "--replicas", "2", "--publish", "8002:80",
		"--update-failure-action", "rollback", "--update-monitor", "5s", "kubeswarm.test/web:1")
	waitReady(t, ns, "roll", "2/2")
	mustSwarm(t, ns, "service", "update", "-d", "--image", "kubeswarm.test/web:crash", "roll")
	s := waitSvc(t, 180*time.Second, ns, "roll", "the failed update rolled back", func(s *swarmv1.Service) error {
		if st := updateStateOf(s); st != swarmv1.UpdateStateRollbackCompleted {
			return fmt.Errorf("update state %q", st)
		}
		return nil
	})
	if s.Spec.Image != "kubeswarm.test/web:1" {
		t.Fatalf("after the rollback the image is %q", s.Spec.Image)
	}
	waitRunning(t, 120*time.Second, ns, "roll", 2)
	for node, ip := range ips {
		url := "http://" + net.JoinHostPort(ip, "8002") + "/"
		eventually(t, 30*time.Second, node+":8002 answers from the old version", func() error {
			for range 6 {
				body, err := get(url)
				if err != nil {
					return err
				}
				if v := parseAnswer(body).Version; v != "1" {
					return fmt.Errorf("version %q answered", v)
				}
			}
			return nil
		})
	}
}

// readyEndpoints lists the addresses a Kubernetes Service sends traffic to (ready endpoints of
// its EndpointSlices).
func readyEndpoints(ns, service string) (map[string]bool, error) {
	slices := &discoveryv1.EndpointSliceList{}
	if err := k8sClient.List(context.Background(), slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: service}); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				for _, a := range e.Addresses {
					out[a] = true
				}
			}
		}
	}
	return out, nil
}

const secretStack = `
services:
  app:
    image: kubeswarm.test/web:1
    secrets:
      - source: db_pass
        mode: 0400
    configs:
      - source: app_conf
        target: /etc/app/app.conf
        mode: 0440
secrets:
  db_pass:
    file: ./db_pass.txt
configs:
  app_conf:
    file: ./app.conf
`

// TestRealSecretsAndConfigs: a secret is readable at /run/secrets/NAME and a config at its
// target, with the modes asked for.
func TestRealSecretsAndConfigs(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "docker-compose.yml"), secretStack)
	writeFile(t, filepath.Join(dir, "db_pass.txt"), "s3cr3t-"+ns)
	writeFile(t, filepath.Join(dir, "app.conf"), "listen = 80\n")
	mustSwarm(t, ns, "stack", "deploy", "-c", filepath.Join(dir, "docker-compose.yml"), "sc")
	waitRunning(t, 120*time.Second, ns, "sc-app", 1)
	ip := runningTasks(t, ns, "sc-app")[0].Status.PodIP

	for _, c := range []struct{ path, content, mode string }{
		{"/run/secrets/db_pass", "s3cr3t-" + ns, "0400"},
		{"/etc/app/app.conf", "listen = 80\n", "0440"},
	} {
		got, err := statFile(ip, "80", c.path)
		if err != nil {
			t.Fatalf("reading %s in the task: %v", c.path, err)
		}
		if got.Content != c.content || got.Mode != c.mode {
			t.Errorf("%s: content %q mode %s, want %q mode %s", c.path, got.Content, got.Mode, c.content, c.mode)
		}
	}
}

// TestRealNodeFailure is the seed's `docker-machine stop manager1`: the workers' tasks keep
// answering throughout, manager1's task runs elsewhere, `service ps` shows it Shutdown, and
// after `docker-machine start manager1` nothing moves back until `service update --force`.
// It stops a node, so it runs alone (not parallel), before the parallel tests.
func TestRealNodeFailure(t *testing.T) {
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "web", "--replicas", "3", "--publish", "8003:80", "kubeswarm.test/web:1")
	byNode := waitRunning(t, 120*time.Second, ns, "web", 3)
	if byNode["manager1"] != 1 {
		t.Fatalf("want a task on manager1, got %v", byNode)
	}
	var onWorkers []corev1.Pod
	var victim string
	for _, p := range runningTasks(t, ns, "web") {
		if p.Spec.NodeName == "manager1" {
			victim = p.Name
		} else {
			onWorkers = append(onWorkers, p)
		}
	}

	// Ask every worker task, four times a second, until the replacement answers.
	var failures, requests atomic.Int64
	stopProbe := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range onWorkers {
		wg.Add(1)
		go func(url string) {
			defer wg.Done()
			for {
				select {
				case <-stopProbe:
					return
				case <-time.After(250 * time.Millisecond):
				}
				requests.Add(1)
				if _, err := get(url); err != nil {
					failures.Add(1)
				}
			}
		}("http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/")
	}

	stopped := time.Now()
	localCluster(t, "stop-node", "manager1")
	t.Cleanup(func() { localCluster(t, "start-node", "manager1", "--wait") })
	eventually(t, 180*time.Second, "manager1's task answers on another node", func() error {
		for _, p := range runningTasks(t, ns, "web") {
			if p.Name == victim || p.Spec.NodeName == "manager1" {
				continue
			}
			if p.CreationTimestamp.Time.Before(stopped) {
				continue
			}
			if _, err := get("http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/"); err == nil {
				return nil
			}
		}
		return fmt.Errorf("no replacement answers yet")
	})
	replaced := time.Since(stopped)
	close(stopProbe)
	wg.Wait()
	waitNodeReady(t, 60*time.Second, "manager1", corev1.ConditionUnknown)
	figure(t, "stop-node manager1: its task answering on another node after %.1fs (a real Swarm here: 19.7s)", replaced.Seconds())
	if failures.Load() > 0 {
		t.Errorf("the workers' tasks failed %d of %d requests while manager1 was down", failures.Load(), requests.Load())
	}
	t.Logf("the workers' tasks answered %d requests while manager1 was down", requests.Load())

	out := mustSwarm(t, ns, "service", "ps", "--format", "{{.Name}} {{.Node}} {{.DesiredState}}", "web")
	if !strings.Contains(out, "manager1 Shutdown") {
		t.Errorf("service ps does not show manager1's task Shutdown:\n%s", out)
	}

	localCluster(t, "start-node", "manager1", "--wait")
	time.Sleep(10 * time.Second)
	byNode = waitRunning(t, 60*time.Second, ns, "web", 3)
	if byNode["manager1"] != 0 {
		t.Fatalf("tasks moved back to manager1 without --force: %v", byNode)
	}
	mustSwarm(t, ns, "service", "update", "-d", "--force", "web")
	eventually(t, 120*time.Second, "service update --force spreads the tasks again", func() error {
		byNode, n, err := runningPods(context.Background(), ns, "web")
		if err != nil {
			return err
		}
		if n != 3 || byNode["manager1"] != 1 || len(tasks(t, ns, "web")) != 3 {
			return fmt.Errorf("%d running: %v", n, byNode)
		}
		return nil
	})
}

// TestRealPushedImageRollsOut: an image pushed to the registry after the service was created
// (the nodes have never seen it) rolls out with `service update --image`: the nodes pull it
// from the cluster's registry, as Swarm nodes pull from Docker Hub.
func TestRealPushedImageRollsOut(t *testing.T) {
	t.Parallel()
	reg := registryOrSkip(t)
	ns := newNamespace(t)
	ips := nodeIPs(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "pushed", "--replicas", "2", "--publish", "8005:80", "kubeswarm.test/web:1")
	waitReady(t, ns, "pushed", "2/2")

	version := "pushed-" + ns
	pushVersion(t, reg, "web:1", "web:"+version, version)
	mustSwarm(t, ns, "service", "update", "-d", "--image", "kubeswarm.test/web:"+version, "pushed")
	eventually(t, 120*time.Second, "every node's :8005 answers from the pushed image", func() error {
		for node, ip := range ips {
			for range 6 {
				body, err := get("http://" + net.JoinHostPort(ip, "8005") + "/")
				if err != nil {
					return fmt.Errorf("%s: %w", node, err)
				}
				if v := parseAnswer(body).Version; v != version {
					return fmt.Errorf("%s answered version %q", node, v)
				}
			}
		}
		return nil
	})
}
