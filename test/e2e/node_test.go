//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// getSwarmNode reads the Node of a Kubernetes node.
func getSwarmNode(name string) (*swarmv1.Node, error) {
	sn := &swarmv1.Node{}
	return sn, k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, sn)
}

// waitSwarmNode waits until the Node passes check.
func waitSwarmNode(t *testing.T, timeout time.Duration, name, what string, check func(*swarmv1.Node) error) *swarmv1.Node {
	t.Helper()
	var sn *swarmv1.Node
	eventually(t, timeout, name+": "+what, func() (err error) {
		if sn, err = getSwarmNode(name); err != nil {
			return err
		}
		return check(sn)
	})
	return sn
}

// updateSwarmNode changes a Node's spec (docker node update).
func updateSwarmNode(t *testing.T, name string, mutate func(*swarmv1.Node)) {
	t.Helper()
	eventually(t, 10*time.Second, "updating Node "+name, func() error {
		sn, err := getSwarmNode(name)
		if err != nil {
			return err
		}
		mutate(sn)
		return k8sClient.Update(context.Background(), sn)
	})
}

// keepNodeSpec restores a Node's current spec at the end of the test, even a failed one: other
// tests share the nodes.
func keepNodeSpec(t *testing.T, name string) {
	t.Helper()
	sn, err := getSwarmNode(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		updateSwarmNode(t, name, func(n *swarmv1.Node) { n.Spec = sn.Spec })
		waitSwarmNode(t, 60*time.Second, name, "restored", func(n *swarmv1.Node) error {
			if n.Status.ObservedGeneration != n.Generation || n.Status.Role != n.Spec.Role || n.Status.Availability != n.Spec.Availability {
				return fmt.Errorf("spec %+v, status role %q availability %q", n.Spec, n.Status.Role, n.Status.Availability)
			}
			return nil
		})
	})
}

// setAvailability and setRole change a Node for the rest of the test.
func setAvailability(t *testing.T, name string, a swarmv1.NodeAvailability) {
	t.Helper()
	keepNodeSpec(t, name)
	updateSwarmNode(t, name, func(sn *swarmv1.Node) { sn.Spec.Availability = a })
}

func setRole(t *testing.T, name string, r swarmv1.NodeRole) {
	t.Helper()
	keepNodeSpec(t, name)
	updateSwarmNode(t, name, func(sn *swarmv1.Node) { sn.Spec.Role = r })
}

// localClusterNode runs hack/local-cluster.sh with args (stop-node, start-node) against the
// cluster under test (KUBESWARM_CLUSTER, KUBECONFIG).
func localClusterNode(t *testing.T, args ...string) {
	t.Helper()
	script, err := filepath.Abs("../../hack/local-cluster.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/local-cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// podsOn lists a namespace's task pods by node (every pod still bound there, running or not,
// until it is gone), and how many run and are ready.
func podsOn(t *testing.T, ns string) (all, running map[string]map[string]int) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	all, running = map[string]map[string]int{}, map[string]map[string]int{}
	add := func(m map[string]map[string]int, svc, node string) {
		if m[svc] == nil {
			m[svc] = map[string]int{}
		}
		m[svc][node]++
	}
	for _, p := range pods.Items {
		svc := p.Labels[translate.LabelService]
		if p.Spec.NodeName == "" {
			continue
		}
		add(all, svc, p.Spec.NodeName)
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && podReady(&p) {
			add(running, svc, p.Spec.NodeName)
		}
	}
	return all, running
}

func total(byNode map[string]int) (n int) {
	for _, c := range byNode {
		n += c
	}
	return n
}

// since polls f every 100 ms until it returns nil and returns the time from start then: for
// the timings the tests report.
func since(t *testing.T, start time.Time, timeout time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	var err error
	for time.Since(start) < timeout {
		if err = f(); err == nil {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still not so after %s: %v", what, timeout, err)
	return 0
}

// newTaskService creates a service in ns and waits until n tasks run.
func newTaskService(t *testing.T, ns, name string, spec swarmv1.ServiceSpec, n int) {
	t.Helper()
	create(t, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec})
	eventually(t, 90*time.Second, fmt.Sprintf("%d tasks of %s run", n, name), func() error {
		_, running := podsOn(t, ns)
		if got := total(running[name]); got != n {
			return fmt.Errorf("%d running: %v", got, running[name])
		}
		return nil
	})
}

// TestNodeLs: docker node ls. A Node per Kubernetes node; manager1 (the control-plane node) is
// the manager and hosts the operator, so it is the Leader; all are Ready and Active; the
// Kubernetes nodes carry the labels that constraints match.
func TestNodeLs(t *testing.T) {
	ctx := context.Background()
	list := &corev1.NodeList{}
	if err := k8sClient.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	for _, kn := range list.Items {
		wantRole, wantMS := swarmv1.RoleWorker, swarmv1.ManagerStatus("")
		if _, cp := kn.Labels["node-role.kubernetes.io/control-plane"]; cp {
			wantRole, wantMS = swarmv1.RoleManager, swarmv1.ManagerReachable
		}
		if kn.Name == mainOperatorNode && mainOperator != nil {
			wantMS = swarmv1.ManagerLeader
		}
		sn := waitSwarmNode(t, 30*time.Second, kn.Name, "reported as docker node ls shows it", func(sn *swarmv1.Node) error {
			st := sn.Status
			if st.ObservedGeneration != sn.Generation || st.State != swarmv1.NodeReady || sn.Spec.Role != wantRole || st.Role != wantRole ||
				st.ManagerStatus != wantMS || st.Availability != swarmv1.AvailabilityActive || st.ID != string(kn.UID) || st.Hostname != kn.Name ||
				st.EngineVersion != kn.Status.NodeInfo.KubeletVersion || st.Platform != (swarmv1.Platform{OS: "linux", Architecture: "x86_64"}) ||
				st.Resources.CPUs == nil || st.Addr == "" {
				return fmt.Errorf("spec role %q, status %+v; want role %s, manager status %q", sn.Spec.Role, st, wantRole, wantMS)
			}
			return nil
		})
		st := sn.Status
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(&kn), &kn); err != nil {
			t.Fatal(err)
		}
		if kn.Labels[translate.NodeLabelRole] != string(wantRole) || kn.Labels[translate.NodeLabelID] != string(kn.UID) ||
			kn.Labels[translate.NodeLabelIP] != nodes.IPLabelValue(st.Addr) {
			t.Errorf("%s: labels %v", kn.Name, kn.Labels)
		}
		t.Logf("%s %-9s %-6s %-7s %-10s %s", st.ID, kn.Name, st.State, st.Availability, st.ManagerStatus, st.EngineVersion)
	}
}

// TestDrainPauseActive: the seed's docker node update --availability. Draining manager1 moves
// its replicated tasks to the workers and removes its global task; active again brings the
// global task back while replicated tasks stay where they are (as in Swarm); pausing worker1
// leaves its tasks running but places no new ones there.
func TestDrainPauseActive(t *testing.T) {
	ns := newNamespace(t)
	newTaskService(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](3)}, 3)
	newTaskService(t, ns, "agent", swarmv1.ServiceSpec{Image: "busybox", Mode: swarmv1.ModeGlobal}, 3)
	if _, running := podsOn(t, ns); running["web"]["manager1"] != 1 || running["agent"]["manager1"] != 1 {
		t.Fatalf("before the drain, tasks by node: %v; want one web and one agent task on manager1", running)
	}
	waitSwarmNode(t, 30*time.Second, "manager1", "counts its 2 tasks", func(sn *swarmv1.Node) error {
		if sn.Status.Tasks != 2 {
			return fmt.Errorf("tasks %d", sn.Status.Tasks)
		}
		return nil
	})

	// docker node update --availability drain manager1
	start := time.Now()
	setAvailability(t, "manager1", swarmv1.AvailabilityDrain)
	emptied := since(t, start, 90*time.Second, "manager1 has no tasks left", func() error {
		if all, _ := podsOn(t, ns); all["web"]["manager1"]+all["agent"]["manager1"] > 0 {
			return fmt.Errorf("tasks still on manager1: %v", all)
		}
		return nil
	})
	replaced := since(t, start, 90*time.Second, "web runs 3 tasks on the workers, agent one on each worker", func() error {
		_, running := podsOn(t, ns)
		if got := total(running["web"]); got != 3 || running["web"]["manager1"] != 0 {
			return fmt.Errorf("web runs %v", running["web"])
		}
		if running["agent"]["worker1"] != 1 || running["agent"]["worker2"] != 1 || running["agent"]["manager1"] != 0 {
			return fmt.Errorf("agent runs %v", running["agent"])
		}
		return nil
	})
	t.Logf("drain: manager1 empty after %s, web back to 3 running tasks after %s", emptied.Round(100*time.Millisecond), replaced.Round(100*time.Millisecond))
	waitSwarmNode(t, 30*time.Second, "manager1", "drained, no tasks", func(sn *swarmv1.Node) error {
		if sn.Status.Availability != swarmv1.AvailabilityDrain || sn.Status.Tasks != 0 {
			return fmt.Errorf("availability %q tasks %d", sn.Status.Availability, sn.Status.Tasks)
		}
		return nil
	})

	// docker node update --availability active manager1: the global task comes back; the
	// replicated ones stay where they are.
	_, before := podsOn(t, ns)
	updateSwarmNode(t, "manager1", func(sn *swarmv1.Node) { sn.Spec.Availability = swarmv1.AvailabilityActive })
	eventually(t, 60*time.Second, "the global task is back on manager1", func() error {
		if _, running := podsOn(t, ns); running["agent"]["manager1"] != 1 {
			return fmt.Errorf("agent runs %v", running["agent"])
		}
		return nil
	})
	if _, after := podsOn(t, ns); fmt.Sprint(after["web"]) != fmt.Sprint(before["web"]) {
		t.Errorf("web's tasks moved when manager1 became active: %v → %v (Swarm leaves them)", before["web"], after["web"])
	}

	// docker node update --availability pause worker1: its tasks stay; new ones go elsewhere.
	_, before = podsOn(t, ns)
	setAvailability(t, "worker1", swarmv1.AvailabilityPause)
	waitSwarmNode(t, 30*time.Second, "worker1", "paused", func(sn *swarmv1.Node) error {
		if sn.Status.Availability != swarmv1.AvailabilityPause {
			return fmt.Errorf("availability %q", sn.Status.Availability)
		}
		return nil
	})
	scaleWeb := func(replicas int32) {
		eventually(t, 10*time.Second, "scaling web", func() error {
			s := &swarmv1.Service{}
			if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, s); err != nil {
				return err
			}
			s.Spec.Replicas = ptr.To(replicas)
			return k8sClient.Update(context.Background(), s)
		})
	}
	scaleWeb(6)
	eventually(t, 60*time.Second, "web runs 6 tasks", func() error {
		if _, running := podsOn(t, ns); total(running["web"]) != 6 {
			return fmt.Errorf("web runs %v", running["web"])
		}
		return nil
	})
	_, after := podsOn(t, ns)
	if after["web"]["worker1"] != before["web"]["worker1"] || after["agent"]["worker1"] != 1 {
		t.Errorf("paused worker1: web %d → %d tasks, agent %d; want web unchanged and its agent task kept",
			before["web"]["worker1"], after["web"]["worker1"], after["agent"]["worker1"])
	}
	t.Logf("tasks by node after scaling to 6 with worker1 paused: %v", after["web"])
}

// TestPromoteAndManagerConstraint: docker node promote worker2; a service constrained to
// node.role==manager with 2 replicas runs both tasks on managers, one on each.
func TestPromoteAndManagerConstraint(t *testing.T) {
	ns := newNamespace(t)
	setRole(t, "worker2", swarmv1.RoleManager)
	waitSwarmNode(t, 30*time.Second, "worker2", "a reachable manager", func(sn *swarmv1.Node) error {
		if sn.Status.Role != swarmv1.RoleManager || sn.Status.ManagerStatus != swarmv1.ManagerReachable {
			return fmt.Errorf("role %q manager status %q", sn.Status.Role, sn.Status.ManagerStatus)
		}
		return nil
	})
	spec := swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2), Placement: &swarmv1.Placement{Constraints: []string{"node.role==manager"}}}
	newTaskService(t, ns, "mgr", spec, 2)
	if _, running := podsOn(t, ns); running["mgr"]["manager1"] != 1 || running["mgr"]["worker2"] != 1 {
		t.Errorf("tasks by node %v, want one on manager1 and one on the promoted worker2", running["mgr"])
	}
}

// TestStoppedManagerIsDown: a manager that stops (its node stops heartbeating) shows Down and
// Unreachable; its tasks move to the other nodes while theirs keep running.
func TestStoppedManagerIsDown(t *testing.T) {
	ns := newNamespace(t)
	setRole(t, "worker2", swarmv1.RoleManager)
	newTaskService(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](3)}, 3)
	_, before := podsOn(t, ns)
	if before["web"]["worker2"] != 1 {
		t.Fatalf("tasks by node %v, want one on worker2", before["web"])
	}

	t.Cleanup(func() { localClusterNode(t, "start-node", "worker2", "--wait") })
	start := time.Now()
	localClusterNode(t, "stop-node", "worker2")
	waitSwarmNode(t, 90*time.Second, "worker2", "Down and Unreachable", func(sn *swarmv1.Node) error {
		if sn.Status.State != swarmv1.NodeDown || sn.Status.ManagerStatus != swarmv1.ManagerUnreachable {
			return fmt.Errorf("state %q manager status %q", sn.Status.State, sn.Status.ManagerStatus)
		}
		return nil
	})
	down := time.Since(start)
	eventually(t, 150*time.Second, "web runs 3 tasks on manager1 and worker1", func() error {
		_, running := podsOn(t, ns)
		if running["web"]["manager1"]+running["web"]["worker1"] != 3 {
			return fmt.Errorf("web runs %v", running["web"])
		}
		return nil
	})
	t.Logf("stopped worker2: Down after %s, its task replaced after %s", down.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	_, after := podsOn(t, ns)
	for _, n := range []string{"manager1", "worker1"} {
		if after["web"][n] < before["web"][n] {
			t.Errorf("a task on %s stopped: %v → %v", n, before["web"], after["web"])
		}
	}
}

// TestLeaderFailover: three operator replicas with leader election, on manager1, worker1 and
// worker2, all three managers (as Swarm's usual three managers). The replica on manager1 leads: manager1 is the Leader. Killing
// it (no graceful hand-over) makes another replica the leader once the lease expires, and
// docker node ls follows: its node is the Leader, manager1 is Reachable again.
func TestLeaderFailover(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t) // holds the Lease, so that it goes with the test
	setRole(t, "worker1", swarmv1.RoleManager)
	setRole(t, "worker2", swarmv1.RoleManager)
	stopMainOperator(t)

	// Short timings by default; E2E_LEADER_LEASE=15s measures the operator's defaults (15s/10s/2s).
	lease := envDuration("E2E_LEADER_LEASE", 5*time.Second)
	renew, retry := lease*2/3, lease*2/15
	start := func(node string) *operatorProcess {
		p, err := startOperatorProcess("operator-"+node, node, "--leader-elect", "--leader-election-namespace="+ns,
			"--leader-elect-lease-duration="+lease.String(), "--leader-elect-renew-deadline="+renew.String(),
			"--leader-elect-retry-period="+retry.String(), "--metrics-bind-address=0", "--zap-log-level=2")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			p.stop()
			if t.Failed() {
				if data, err := os.ReadFile(p.log); err == nil {
					lines := strings.Split(string(data), "\n")
					t.Logf("log of the replica on %s (last 30 lines):\n%s", node, strings.Join(lines[max(0, len(lines)-30):], "\n"))
				}
			}
		})
		return p
	}
	holder := func() (string, error) {
		l := &coordinationv1.Lease{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubeswarm-operator"}, l); err != nil {
			return "", err
		}
		return ptr.Deref(l.Spec.HolderIdentity, ""), nil
	}
	managerStatuses := func() (map[string]swarmv1.ManagerStatus, error) {
		out := map[string]swarmv1.ManagerStatus{}
		for _, n := range []string{"manager1", "worker1", "worker2"} {
			sn, err := getSwarmNode(n)
			if err != nil {
				return nil, err
			}
			out[n] = sn.Status.ManagerStatus
		}
		return out, nil
	}
	wantStatuses := func(leader string) func() error {
		return func() error {
			got, err := managerStatuses()
			if err != nil {
				return err
			}
			for n, ms := range got {
				want := swarmv1.ManagerReachable
				if n == leader {
					want = swarmv1.ManagerLeader
				}
				if ms != want {
					return fmt.Errorf("manager statuses %v, want %s Leader and the others Reachable", got, leader)
				}
			}
			return nil
		}
	}

	first := start("manager1")
	eventually(t, 60*time.Second, "the replica on manager1 leads", func() error {
		if h, err := holder(); err != nil || nodes.NodeOfIdentity(h) != "manager1" {
			return fmt.Errorf("lease holder %q (%w)", h, err)
		}
		return nil
	})
	start("worker1")
	start("worker2")
	eventually(t, 30*time.Second, "docker node ls: manager1 Leader, worker1 and worker2 Reachable", wantStatuses("manager1"))
	time.Sleep(2 * retry) // the followers are candidates now
	if h, _ := holder(); nodes.NodeOfIdentity(h) != "manager1" {
		t.Fatalf("the lease moved to %q without a failure", h)
	}

	killed := time.Now()
	first.kill()
	var next string
	tookOver := since(t, killed, 60*time.Second, "another replica takes the lease", func() error {
		h, err := holder()
		if next = nodes.NodeOfIdentity(h); err != nil || next == "manager1" || next == "" {
			return fmt.Errorf("lease holder %q (%w)", h, err)
		}
		return nil
	})
	shown := since(t, killed, 60*time.Second, "docker node ls follows the new leader", wantStatuses(next))
	t.Logf("leader failover (lease %s, renew %s, retry %s): replica on %s leads %s after the kill; node statuses after %s",
		lease, renew, retry, next, tookOver.Round(100*time.Millisecond), shown.Round(100*time.Millisecond))
}
