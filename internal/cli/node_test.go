package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func makeNode(name string, role swarmv1.NodeRole, avail swarmv1.NodeAvailability, state swarmv1.NodeState, ms swarmv1.ManagerStatus) *swarmv1.Node {
	cpu, mem := resource.MustParse("4"), resource.MustParse("8Gi")
	return &swarmv1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(testNow.Add(-24 * time.Hour)), Generation: 1},
		Spec:       swarmv1.NodeSpec{Role: role, Availability: avail},
		Status: swarmv1.NodeStatus{ObservedGeneration: 1, ID: string(testUID("node/" + name)), Hostname: name, State: state, Availability: avail, Role: role,
			ManagerStatus: ms, EngineVersion: "v1.34.0", Addr: "10.0.0.1", Platform: swarmv1.Platform{OS: "linux", Architecture: "x86_64"},
			Resources: swarmv1.NodeResources{CPUs: &cpu, Memory: &mem}},
	}
}

func seedNodes() []client.Object {
	return []client.Object{
		makeNode("worker2", swarmv1.RoleWorker, swarmv1.AvailabilityActive, swarmv1.NodeReady, ""),
		makeNode("manager1", swarmv1.RoleManager, swarmv1.AvailabilityActive, swarmv1.NodeReady, swarmv1.ManagerLeader),
		makeNode("worker1", swarmv1.RoleWorker, swarmv1.AvailabilityDrain, swarmv1.NodeDown, ""),
		makeNode("manager2", swarmv1.RoleManager, swarmv1.AvailabilityPause, swarmv1.NodeReady, swarmv1.ManagerReachable),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker1"}},
	}
}

func TestNodeLsAndInspect(t *testing.T) {
	f := newTestFactory(seedNodes()...)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"node_ls", nil},
		{"node_ls_filter_role", []string{"-f", "role=manager"}},
		{"node_ls_quiet", []string{"-q"}},
		{"node_ls_format", []string{"--format", "{{.Hostname}}: {{.ManagerStatus}} {{.TLSStatus}}"}},
	} {
		out, _, err := run(t, f, append([]string{"node", "ls"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, tc.golden, out)
	}
	out, _, err := run(t, f, "node", "inspect", "--pretty", "manager1")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "node_inspect_pretty", out)
	out, _, err = run(t, f, "node", "inspect", "-f", "{{.Spec.Role}} {{.Description.Hostname}} {{.ManagerStatus.Leader}}", "manager1")
	if err != nil || out != "manager manager1 true\n" {
		t.Errorf("inspect -f: %q %v", out, err)
	}
	// A node's template sees its Go shape: numbers print whole, not as JSON's floats.
	if out, _, err := run(t, f, "node", "inspect", "-f", "{{.Description.Resources.NanoCPUs}}", "manager1"); err != nil || out != "4000000000\n" {
		t.Errorf("inspect -f NanoCPUs: %q %v", out, err)
	}
	// Without flags: one JSON array, in the order named.
	out, _, err = run(t, f, "node", "inspect", "worker2", "manager1")
	var nodes []inspectedNode
	if err != nil || json.Unmarshal([]byte(out), &nodes) != nil || len(nodes) != 2 || nodes[0].Spec.Name != "worker2" || nodes[1].Spec.Name != "manager1" {
		t.Errorf("inspect as JSON: %q %v", out, err)
	}
	// By ID prefix, as docker allows.
	id := string(testUID("node/worker2"))[:6]
	if out, _, err := run(t, f, "node", "inspect", "-f", "{{.Spec.Name}}", id); err != nil || out != "worker2\n" {
		t.Errorf("inspect by ID prefix: %q %v", out, err)
	}
	if _, _, err := run(t, f, "node", "inspect", "nope"); err == nil || err.Error() != "no such node: nope" {
		t.Errorf("unknown node: %v", err)
	}
}

func TestNodeUpdatePromoteDemoteRm(t *testing.T) {
	f := newTestFactory(seedNodes()...)
	get := func(name string) *swarmv1.Node {
		n := &swarmv1.Node{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Name: name}, n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	out, _, err := run(t, f, "node", "update", "--availability", "drain", "--label-add", "zone=a", "--label-add", "ssd", "manager1")
	if err != nil || out != "manager1\n" {
		t.Fatalf("update: %q %v", out, err)
	}
	n := get("manager1")
	if n.Spec.Availability != swarmv1.AvailabilityDrain || n.Spec.Labels["zone"] != "a" || n.Spec.Labels["ssd"] != "" || len(n.Spec.Labels) != 2 {
		t.Errorf("spec after update: %+v", n.Spec)
	}
	if _, _, err := run(t, f, "node", "update", "--label-rm", "nope", "manager1"); err == nil || err.Error() != "key nope doesn't exist in node's labels" {
		t.Errorf("label-rm of a missing key: %v", err)
	}
	if _, _, err := run(t, f, "node", "update", "--availability", "off", "manager1"); err == nil || !strings.Contains(err.Error(), `invalid argument "off" for "--availability" flag`) {
		t.Errorf("bad availability: %v", err)
	}
	if _, _, err := run(t, f, "node", "update", "--label-rm", "zone", "--availability", "active", "manager1"); err != nil {
		t.Fatal(err)
	}
	if n := get("manager1"); n.Spec.Availability != swarmv1.AvailabilityActive || len(n.Spec.Labels) != 1 {
		t.Errorf("spec after second update: %+v", n.Spec)
	}

	out, _, err = run(t, f, "node", "promote", "worker2", "manager1")
	if err != nil || out != "Node worker2 promoted to a manager in the swarm.\nNode manager1 is already a manager.\n" {
		t.Errorf("promote: %q %v", out, err)
	}
	out, _, err = run(t, f, "node", "demote", "worker2", "worker1")
	if err != nil || out != "Manager worker2 demoted in the swarm.\nNode worker1 is already a worker.\n" {
		t.Errorf("demote: %q %v", out, err)
	}
	if get("worker2").Spec.Role != swarmv1.RoleWorker {
		t.Error("worker2 is not a worker again")
	}

	if _, _, err := run(t, f, "node", "rm", "worker2"); err == nil || err.Error() != "node worker2 is not down and can't be removed" {
		t.Errorf("rm of a ready node: %v", err)
	}
	if _, _, err := run(t, f, "node", "rm", "manager2"); err == nil || !strings.Contains(err.Error(), "must be demoted to worker before removal") {
		t.Errorf("rm of a manager: %v", err)
	}
	if out, _, err := run(t, f, "node", "rm", "worker1"); err != nil || out != "worker1\n" {
		t.Errorf("rm of a down node: %q %v", out, err)
	}
	if err := f.c.Get(t.Context(), client.ObjectKey{Name: "worker1"}, &corev1.Node{}); err == nil {
		t.Error("the Kubernetes node worker1 is still there")
	}
}

// TestDemoteLastManager: the last manager is not demoted, in swarmkit's words (UpdateNode), by
// node demote or node update --role; with another manager it is.
func TestDemoteLastManager(t *testing.T) {
	f := newTestFactory(seedNodes()...)
	role := func(name string) swarmv1.NodeRole {
		n := &swarmv1.Node{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Name: name}, n); err != nil {
			t.Fatal(err)
		}
		return n.Spec.Role
	}
	type step struct {
		Args    string
		Out     string
		Err     string
		Manager [2]swarmv1.NodeRole // manager1's and manager2's roles after
	}
	steps := []step{
		{Args: "node demote manager2", Out: "Manager manager2 demoted in the swarm.\n", Manager: [2]swarmv1.NodeRole{"manager", "worker"}},
		{Args: "node demote manager1", Err: "attempting to demote the last manager of the swarm", Manager: [2]swarmv1.NodeRole{"manager", "worker"}},
		{Args: "node update --role worker manager1", Err: "attempting to demote the last manager of the swarm", Manager: [2]swarmv1.NodeRole{"manager", "worker"}},
		{Args: "node update --role manager manager2", Out: "manager2\n", Manager: [2]swarmv1.NodeRole{"manager", "manager"}},
		{Args: "node update --role worker manager1", Out: "manager1\n", Manager: [2]swarmv1.NodeRole{"worker", "manager"}},
	}
	var got []step
	for _, s := range steps {
		out, _, err := run(t, f, strings.Fields(s.Args)...)
		g := step{Args: s.Args, Out: out, Manager: [2]swarmv1.NodeRole{role("manager1"), role("manager2")}}
		if err != nil {
			g.Err = err.Error()
		}
		got = append(got, g)
	}
	if diff := cmp.Diff(steps, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestNodePs(t *testing.T) {
	objs := append(seedNodes(), makeService("web").Replicas(3).Obj(),
		makePod("web", "web-1", "manager1", time.Hour, true), makePod("web", "web-2", "worker2", time.Hour, true),
		makePod("web", "web-3", "manager1", time.Minute, true))
	f := newTestFactory(objs...)
	out, _, err := run(t, f, "node", "ps", "--format", "{{.Name}} {{.Node}}", "manager1")
	if err != nil || out != "web.1 manager1\nweb.3 manager1\n" {
		t.Errorf("node ps manager1: %q %v", out, err)
	}
	out, _, err = run(t, f, "node", "ps", "--format", "{{.Name}} {{.Node}}")
	if err != nil || out != "web.1 manager1\nweb.3 manager1\nweb.2 worker2\n" {
		t.Errorf("node ps: %q %v", out, err)
	}
}
