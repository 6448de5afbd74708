//go:build e2e && !realnodes

package e2e

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestPluginServiceWalkthrough walks the seed's service commands with the plugin, checking the
// cluster after each step.
func TestPluginServiceWalkthrough(t *testing.T) {
	ns := newNamespace(t)

	// docker service create --replicas 3 --name web -p 8000:80 nginx (waits, with progress).
	out := mustSwarm(t, ns, "service", "create", "--replicas", "3", "--name", "web", "-p", "8000:80", "--timeout", "2m", "nginx")
	for _, want := range []string{"overall progress: 3 out of 3 tasks", "verify: Service converged"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q", want)
		}
	}
	if id := strings.SplitN(out, "\n", 2)[0]; len(id) != 25 {
		t.Errorf("create printed %q first, want the service ID", id)
	}
	byNode := waitRunning(t, 30*time.Second, ns, "web", 3)
	if len(byNode) < 2 {
		t.Errorf("3 tasks on %v: not spread", byNode)
	}

	// docker service ls (the docker client sent the image tagged: nginx:latest)
	rows := tableRows(mustSwarm(t, ns, "service", "ls"))
	if !slices.Equal(rows[0], []string{"ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"}) {
		t.Errorf("service ls header %v", rows[0])
	}
	if r := rowOf(rows, 1, "web"); !slices.Equal(r[2:], []string{"replicated", "3/3", "nginx:latest", "*:8000->80/tcp"}) {
		t.Errorf("service ls row %v", r)
	}

	// docker service ps web
	rows = tableRows(mustSwarm(t, ns, "service", "ps", "web"))
	if strings.Join(rows[0], " ") != "ID NAME IMAGE NODE DESIRED STATE CURRENT STATE ERROR PORTS" {
		t.Errorf("service ps header %v", rows[0])
	}
	for i := 1; i <= 3; i++ {
		if r := rowOf(rows, 1, fmt.Sprintf("web.%d", i)); r == nil || r[4] != "Running" || r[5] != "Running" {
			t.Errorf("service ps: web.%d is %v", i, r)
		}
	}

	// docker service scale web=4
	out = mustSwarm(t, ns, "service", "scale", "web=4", "--timeout", "2m")
	if !strings.HasPrefix(out, "web scaled to 4\n") || !strings.Contains(out, "verify: Service converged") {
		t.Errorf("scale output %q", out)
	}
	waitRunning(t, 30*time.Second, ns, "web", 4)

	// docker service update --publish-add 8080:80 --detach=true web
	mustSwarm(t, ns, "service", "update", "--publish-add", "8080:80", "--detach=true", "web")
	if p := portsOf(getSvc(t, ns, "web")); !slices.Equal(p, []int32{8000, 8080}) {
		t.Fatalf("ports after publish-add: %v", p)
	}
	waitObserved(t, ns, "web")

	// docker service rollback (twice): back to 8000 only, then to 8000+8080 again.
	mustSwarm(t, ns, "service", "rollback", "--detach=true", "web")
	s := waitObserved(t, ns, "web")
	if p := portsOf(s); !slices.Equal(p, []int32{8000}) {
		t.Errorf("ports after the first rollback: %v", p)
	}
	out = mustSwarm(t, ns, "service", "rollback", "--timeout", "2m", "web")
	if !strings.Contains(out, "verify: Service converged") {
		t.Errorf("rollback output lacks convergence: %q", out)
	}
	s = waitObserved(t, ns, "web")
	if p := portsOf(s); !slices.Equal(p, []int32{8000, 8080}) {
		t.Errorf("ports after the second rollback: %v", p)
	}
	waitSvc(t, 30*time.Second, ns, "web", "PORTS shows both", func(s *swarmv1.Service) error {
		if s.Status.PortsSummary != "*:8000->80/tcp, *:8080->80/tcp" {
			return fmt.Errorf("PORTS %q", s.Status.PortsSummary)
		}
		return nil
	})

	// docker service update --publish-rm 8080:80 --detach=true web
	mustSwarm(t, ns, "service", "update", "--publish-rm", "8080:80", "--detach=true", "web")
	if p := portsOf(getSvc(t, ns, "web")); !slices.Equal(p, []int32{8000}) {
		t.Errorf("ports after publish-rm: %v", p)
	}

	// A rolling update that waits: docker service update --image … (progress, converged).
	out = mustSwarm(t, ns, "service", "update", "--image", "nginx:1.27", "--timeout", "2m", "web")
	if !strings.HasPrefix(out, "web\n") || !strings.Contains(out, "verify: Service converged") {
		t.Errorf("update output %q", out)
	}
	eventually(t, 30*time.Second, "every task runs nginx:1.27", func() error {
		for _, p := range tasks(t, ns, "web") {
			if p.Spec.Containers[0].Image != "nginx:1.27" {
				return fmt.Errorf("%s runs %s", p.Name, p.Spec.Containers[0].Image)
			}
		}
		return nil
	})

	// docker service inspect --pretty web
	out = mustSwarm(t, ns, "service", "inspect", "--pretty", "web")
	for _, want := range []string{"Name:", "web", "Replicas:", "4", "nginx:1.27", "PublishedPort = 8000"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect --pretty lacks %q", want)
		}
	}

	// A published port already in use is refused, and nothing is written.
	_, errOut, err := swarm(t, ns, "service", "create", "-d", "--name", "web2", "-p", "8000:80", "nginx")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(errOut, "port 8000 is already in use by service web") {
		t.Errorf("second service on port 8000: %v %q", err, errOut)
	}
	list := &swarmv1.ServiceList{}
	if err := k8sClient.List(t.Context(), list, client.InNamespace(ns)); err != nil || len(list.Items) != 1 {
		t.Errorf("services after the refused create: %d (%v)", len(list.Items), err)
	}
	if _, errOut, err := swarm(t, ns, "service", "scale", "web=x"); err == nil || !strings.Contains(errOut, "invalid replicas value x") {
		t.Errorf("scale web=x: %v %q", err, errOut)
	}
	if _, errOut, err := swarm(t, ns, "service", "ps", "nope"); err == nil || !strings.Contains(errOut, "no such service: nope") {
		t.Errorf("ps nope: %v %q", err, errOut)
	}

	// docker service rm web: the Service and its tasks go.
	if out := mustSwarm(t, ns, "service", "rm", "web"); out != "web\n" {
		t.Errorf("rm printed %q", out)
	}
	eventually(t, 60*time.Second, "web and its tasks are gone", func() error {
		if n := len(tasks(t, ns, "web")); n > 0 {
			return fmt.Errorf("%d tasks left", n)
		}
		return k8sClient.List(t.Context(), list, client.InNamespace(ns))
	})
}

// TestPluginNodes: docker node ls / update --availability / promote / demote, on the Node
// resources; every node is restored at the end.
func TestPluginNodes(t *testing.T) {
	rows := tableRows(mustSwarm(t, "", "node", "ls"))
	if strings.Join(rows[0], " ") != "ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS ENGINE VERSION" {
		t.Errorf("node ls header %v", rows[0])
	}
	for _, n := range []string{"manager1", "worker1", "worker2"} {
		if r := rowOf(rows, 1, n); r == nil || r[2] != "Ready" {
			t.Errorf("node ls row for %s: %v", n, r)
		}
	}
	if r := rowOf(rows, 1, "manager1"); r == nil || r[3] != "Active" || r[4] != "Leader" {
		t.Errorf("manager1 is %v, want Active Leader", r)
	}
	if out := mustSwarm(t, "", "info"); !strings.Contains(out, "Swarm: active") {
		t.Errorf("info: %q", out)
	}

	keepNodeSpec(t, "worker2")
	if out := mustSwarm(t, "", "node", "update", "--availability", "drain", "worker2"); out != "worker2\n" {
		t.Errorf("node update printed %q", out)
	}
	waitSwarmNode(t, 30*time.Second, "worker2", "drained", func(n *swarmv1.Node) error {
		if n.Status.Availability != swarmv1.AvailabilityDrain {
			return fmt.Errorf("availability %q", n.Status.Availability)
		}
		return nil
	})
	if r := rowOf(tableRows(mustSwarm(t, "", "node", "ls")), 1, "worker2"); r == nil || r[3] != "Drain" {
		t.Errorf("node ls after drain: %v", r)
	}
	mustSwarm(t, "", "node", "update", "--availability", "active", "worker2")
	waitSwarmNode(t, 30*time.Second, "worker2", "active", func(n *swarmv1.Node) error {
		if n.Status.Availability != swarmv1.AvailabilityActive {
			return fmt.Errorf("availability %q", n.Status.Availability)
		}
		return nil
	})

	if out := mustSwarm(t, "", "node", "promote", "worker2"); out != "Node worker2 promoted to a manager in the swarm.\n" {
		t.Errorf("promote printed %q", out)
	}
	waitSwarmNode(t, 30*time.Second, "worker2", "a manager", func(n *swarmv1.Node) error {
		if n.Status.Role != swarmv1.RoleManager || n.Status.ManagerStatus != swarmv1.ManagerReachable {
			return fmt.Errorf("role %q manager status %q", n.Status.Role, n.Status.ManagerStatus)
		}
		return nil
	})
	if out := mustSwarm(t, "", "node", "promote", "worker2"); out != "Node worker2 is already a manager.\n" {
		t.Errorf("second promote printed %q", out)
	}
	if out := mustSwarm(t, "", "node", "demote", "worker2"); out != "Manager worker2 demoted in the swarm.\n" {
		t.Errorf("demote printed %q", out)
	}
	waitSwarmNode(t, 30*time.Second, "worker2", "a worker", func(n *swarmv1.Node) error {
		if n.Status.Role != swarmv1.RoleWorker || n.Status.ManagerStatus != "" {
			return fmt.Errorf("role %q manager status %q", n.Status.Role, n.Status.ManagerStatus)
		}
		return nil
	})
	if _, errOut, err := swarm(t, "", "node", "update", "--availability", "off", "worker2"); err == nil || !strings.Contains(errOut, `invalid argument "off" for "--availability" flag`) {
		t.Errorf("bad availability: %v %q", err, errOut)
	}
}

// TestPluginStack: docker stack deploy of the seed's compose file, stack ls/services/ps, rm;
// the volume outlives stack rm, is used again by the next deploy, and goes with volume rm.
func TestPluginStack(t *testing.T) {
	ns := newNamespace(t)
	out, errOut, err := swarm(t, ns, "stack", "deploy", "--compose-file", "../compose/seed/docker-compose.yml", "wp")
	if err != nil {
		t.Fatalf("stack deploy: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Creating network wp_common", "Creating service wp_wordpress", "Creating service wp_dbcluster"} {
		if !strings.Contains(out, want) {
			t.Errorf("stack deploy output lacks %q", want)
		}
	}
	for _, name := range []string{"wp-wordpress", "wp-dbcluster"} {
		waitSvc(t, 60*time.Second, ns, name, "created by the Stack", func(*swarmv1.Service) error { return nil })
	}
	waitRunning(t, 60*time.Second, ns, "wp-dbcluster", 1)
	rows := tableRows(mustSwarm(t, ns, "stack", "ls"))
	if r := rowOf(rows, 0, "wp"); !slices.Equal(rows[0], []string{"NAME", "SERVICES"}) || r == nil || r[1] != "2" {
		t.Errorf("stack ls: %v", rows)
	}
	rows = tableRows(mustSwarm(t, ns, "stack", "services", "wp"))
	if rowOf(rows, 1, "wp-wordpress") == nil || rowOf(rows, 1, "wp-dbcluster") == nil {
		t.Errorf("stack services: %v", rows)
	}
	if r := rowOf(tableRows(mustSwarm(t, ns, "stack", "ps", "wp")), 1, "wp-dbcluster.1"); r == nil || r[3] != "manager1" {
		t.Errorf("stack ps: wp-dbcluster.1 is %v, want it on manager1", r)
	}
	// The database's volume: in use, so volume rm refuses it, naming the task.
	if r := rowOf(tableRows(mustSwarm(t, ns, "volume", "ls")), 1, "wp-mysql-vol-wp-dbcluster-1"); r == nil || r[0] == "" {
		t.Errorf("volume ls lacks wp-mysql-vol-wp-dbcluster-1: %v", r)
	}
	if _, errOut, err := swarm(t, ns, "volume", "rm", "wp-mysql-vol-wp-dbcluster-1"); err == nil || !strings.Contains(errOut, "remove wp-mysql-vol-wp-dbcluster-1: volume is in use - [wp-dbcluster.1]") {
		t.Errorf("volume rm of a volume in use: %v %q", err, errOut)
	}
	claim := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, claim); err != nil {
		t.Fatal(err)
	}

	removeStack := func() {
		t.Helper()
		out := mustSwarm(t, ns, "stack", "rm", "wp")
		if !strings.Contains(out, "Removing service wp_dbcluster\nRemoving service wp_wordpress\n") || !strings.Contains(out, "Removing network wp_common") {
			t.Errorf("stack rm output %q", out)
		}
		if strings.Contains(strings.ToLower(out), "volume") {
			t.Errorf("stack rm speaks of volumes: %q", out)
		}
		eventually(t, 60*time.Second, "the stack's services and tasks are gone", func() error {
			list := &swarmv1.ServiceList{}
			if err := k8sClient.List(t.Context(), list, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(list.Items) > 0 {
				return fmt.Errorf("%d services left", len(list.Items))
			}
			// Terminating tasks still hold the volume: wait for every pod to be gone.
			pods := &corev1.PodList{}
			if err := k8sClient.List(t.Context(), pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": "wp-dbcluster"}); err != nil {
				return err
			}
			if n := len(pods.Items); n > 0 {
				return fmt.Errorf("%d dbcluster pods left", n)
			}
			return nil
		})
	}
	removeStack()
	// docker stack rm keeps volumes: the same claim is there, and the next deploy uses it.
	if out := mustSwarm(t, ns, "volume", "ls", "-q", "--filter", "dangling=true"); !slices.Contains(strings.Fields(out), "wp-mysql-vol-wp-dbcluster-1") {
		t.Errorf("volume ls -q -f dangling=true after stack rm: %q, want wp-mysql-vol-wp-dbcluster-1", out)
	}
	mustSwarm(t, ns, "stack", "deploy", "-c", "../compose/seed/docker-compose.yml", "wp")
	waitRunning(t, 60*time.Second, ns, "wp-dbcluster", 1)
	again := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, again); err != nil || again.UID != claim.UID {
		t.Errorf("after the second deploy, claim wp-mysql-vol-wp-dbcluster-1: %v, UID %s, want the first one %s", err, again.UID, claim.UID)
	}

	// Removing the data is an act of its own: volume rm, once no task uses the volume.
	removeStack()
	if out := mustSwarm(t, ns, "volume", "rm", "wp-mysql-vol-wp-dbcluster-1"); out != "wp-mysql-vol-wp-dbcluster-1\n" {
		t.Errorf("volume rm printed %q", out)
	}
	eventually(t, 60*time.Second, "the claim is gone", func() error {
		if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("wp-mysql-vol-wp-dbcluster-1: %w", err)
		}
		return nil
	})
	if out := mustSwarm(t, ns, "volume", "ls", "-q"); strings.Contains(out, "wp-mysql-vol-wp-dbcluster-1") {
		t.Errorf("volume ls -q after volume rm: %q", out)
	}
}

// TestPluginSeedScheduling: the seed's placement, publish mode, global, scale, --force and
// update-delay commands with the plugin.
func TestPluginSeedScheduling(t *testing.T) {
	ns := newNamespace(t)

	// docker service create --name nginx --constraint 'node.role==manager' --replicas 2 --detach=true nginx
	mustSwarm(t, ns, "service", "create", "--name", "nginx", "--constraint", "node.role==manager", "--replicas", "2", "--detach=true", "nginx")
	if got := waitRunning(t, 60*time.Second, ns, "nginx", 2); got["manager1"] != 2 {
		t.Errorf("node.role==manager tasks on %v, want both on manager1", got)
	}

	// docker service create --name host-nginx --publish mode=host,published=8000,target=80 --replicas 2 nginx
	mustSwarm(t, ns, "service", "create", "--name", "host-nginx", "--publish", "mode=host,published=8000,target=80", "--replicas", "2", "--timeout", "2m", "nginx")
	if got := waitRunning(t, 30*time.Second, ns, "host-nginx", 2); len(got) != 2 {
		t.Errorf("host-mode tasks on %v, want two nodes", got)
	}
	rows := tableRows(mustSwarm(t, ns, "service", "ps", "host-nginx"))
	for _, r := range rows[1:] {
		if r[len(r)-1] != "*:8000->80/tcp" {
			t.Errorf("service ps host-nginx row %v lacks the host port", r)
		}
	}
	if r := rowOf(tableRows(mustSwarm(t, ns, "service", "ls")), 1, "host-nginx"); len(r) != 5 {
		t.Errorf("service ls shows host-mode ports in PORTS: %v", r)
	}

	// docker service create --name web --mode global nginx
	mustSwarm(t, ns, "service", "create", "--name", "global-web", "--mode", "global", "--timeout", "2m", "nginx")
	if got := waitRunning(t, 30*time.Second, ns, "global-web", 3); len(got) != 3 {
		t.Errorf("global tasks on %v, want one per node", got)
	}
	if out := mustSwarm(t, ns, "service", "ps", "--format", "{{.Name}}", "global-web"); out != "global-web.manager1\nglobal-web.worker1\nglobal-web.worker2\n" {
		t.Errorf("global task names %q", out)
	}
	if _, errOut, err := swarm(t, ns, "service", "scale", "global-web=2"); err == nil || !strings.Contains(errOut, "scale can only be used with replicated or replicated-job mode") {
		t.Errorf("scale of a global service: %v %q", err, errOut)
	}

	// docker service create --name web --replicas 2 nginx; scale web=4; scale web=2
	mustSwarm(t, ns, "service", "create", "--name", "web", "--replicas", "2", "--timeout", "2m", "nginx")
	for _, n := range []int{4, 2} {
		mustSwarm(t, ns, "service", "scale", fmt.Sprintf("web=%d", n), "--timeout", "2m")
		waitRunning(t, 30*time.Second, ns, "web", n)
		if r := rowOf(tableRows(mustSwarm(t, ns, "service", "ls")), 1, "web"); r == nil || r[3] != fmt.Sprintf("%d/%d", n, n) {
			t.Errorf("service ls after scale web=%d: %v", n, r)
		}
	}

	// docker service update --force web: every task is replaced.
	before := map[string]bool{}
	for _, p := range tasks(t, ns, "web") {
		before[string(p.UID)] = true
	}
	mustSwarm(t, ns, "service", "update", "--force", "--timeout", "2m", "web")
	eventually(t, 60*time.Second, "every task of web replaced", func() error {
		ps := tasks(t, ns, "web")
		for _, p := range ps {
			if before[string(p.UID)] {
				return fmt.Errorf("task %s is still there", p.Name)
			}
		}
		if len(ps) != 2 {
			return fmt.Errorf("%d tasks", len(ps))
		}
		return nil
	})

	// docker service create --replicas 3 --name redis --update-delay 10s redis:3.0.6, then
	// docker service update --image redis:3.0.7 redis: one task at a time, 10 s apart.
	mustSwarm(t, ns, "service", "create", "--replicas", "3", "--name", "redis", "--update-delay", "10s", "--timeout", "2m", "redis:3.0.6")
	out := mustSwarm(t, ns, "service", "inspect", "--pretty", "redis")
	if !strings.Contains(out, "Delay:") || !strings.Contains(out, "10s") {
		t.Errorf("inspect --pretty lacks the update delay:\n%s", out)
	}
	start := time.Now()
	out = mustSwarm(t, ns, "service", "update", "--image", "redis:3.0.7", "--detach=false", "--timeout", "3m", "redis")
	took := time.Since(start)
	for _, want := range []string{"overall progress: 2 out of 3 tasks", "overall progress: 3 out of 3 tasks", "verify: Service converged"} {
		if !strings.Contains(out, want) {
			t.Errorf("update progress lacks %q", want)
		}
	}
	if took < 20*time.Second {
		t.Errorf("the rolling update took %s; with --update-delay 10s, 3 tasks take at least 20 s", took)
	}
	for _, p := range tasks(t, ns, "redis") {
		if p.Spec.Containers[0].Image != "redis:3.0.7" {
			t.Errorf("task %s runs %s after the update", p.Name, p.Spec.Containers[0].Image)
		}
	}
	rows = tableRows(mustSwarm(t, ns, "service", "ps", "redis"))
	for i := 1; i <= 3; i++ {
		if r := rowOf(rows, 1, fmt.Sprintf("redis.%d", i)); r == nil || r[2] != "redis:3.0.7" {
			t.Errorf("service ps: redis.%d is %v", i, r)
		}
	}
}
