//go:build e2e && !realnodes

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func constrained(replicas int32, constraints ...string) swarmv1.ServiceSpec {
	return swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To(replicas), Placement: &swarmv1.Placement{Constraints: constraints}}
}

// TestConstraints: node.hostname, node.role and node.labels constraints place tasks only on the
// nodes that meet them; a constraint no node meets leaves the tasks pending, with the reason.
func TestConstraints(t *testing.T) {
	ns := newNamespace(t)
	labelNode(t, "worker2", "type", "db")

	svcSpec(t, ns, "on-worker1", constrained(2, "node.hostname==worker1"))
	svcSpec(t, ns, "on-managers", constrained(2, "node.role==manager"))
	svcSpec(t, ns, "on-db", constrained(2, "node.labels.type==db"))
	svcSpec(t, ns, "not-db", constrained(4, "node.labels.type!=db"))
	svcSpec(t, ns, "nowhere", constrained(2, "node.labels.type==gpu"))

	for name, want := range map[string]map[string]int{
		"on-worker1":  {"worker1": 2},
		"on-managers": {"manager1": 2},
		"on-db":       {"worker2": 2},
	} {
		if got := waitRunning(t, 60*time.Second, ns, name, 2); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: tasks by node %v, want %v", name, got, want)
		}
	}
	if got := waitRunning(t, 60*time.Second, ns, "not-db", 4); got["worker2"] != 0 {
		t.Errorf("not-db: tasks by node %v, want none on worker2", got)
	}
	waitSvc(t, 60*time.Second, ns, "nowhere", "the unplaceable tasks are pending, with the reason", func(s *swarmv1.Service) error {
		c := readyCondition(s)
		if s.Status.Replicas != "0/2" || c == nil || !strings.Contains(c.Message, "2 pending: no suitable node") || !strings.Contains(c.Message, "affinity") {
			return fmt.Errorf("replicas %q Ready %+v", s.Status.Replicas, c)
		}
		return nil
	})
}

// TestSpreadPreference: spread=node.labels.zone splits the tasks between the zones, not only
// between nodes: with zone a on manager1 and worker1 and zone b on worker2, half go to worker2.
func TestSpreadPreference(t *testing.T) {
	ns := newNamespace(t)
	labelNode(t, "manager1", "zone", "a")
	labelNode(t, "worker1", "zone", "a")
	labelNode(t, "worker2", "zone", "b")
	spec := swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](4),
		Placement: &swarmv1.Placement{Preferences: []swarmv1.PlacementPreference{{Spread: "node.labels.zone"}}}}
	svcSpec(t, ns, "spread", spec)
	got := waitRunning(t, 60*time.Second, ns, "spread", 4)
	if zoneB := got["worker2"]; zoneB != 2 {
		t.Errorf("tasks by node %v: zone b (worker2) has %d, want 2 of 4", got, zoneB)
	}
}

// TestGlobalFollowsNodes: a global service runs a task on a node that joins, and loses it when
// the node leaves.
func TestGlobalFollowsNodes(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "agent", swarmv1.ServiceSpec{Image: "busybox", Mode: swarmv1.ModeGlobal})
	n := len(nodeNames(t))
	waitRunning(t, 60*time.Second, ns, "agent", n)
	t.Cleanup(func() { localCluster(t, "remove-node", "worker9") })
	localCluster(t, "add-node", "worker9")
	if got := waitRunning(t, 60*time.Second, ns, "agent", n+1); got["worker9"] != 1 {
		t.Errorf("tasks by node %v, want one on the new node worker9", got)
	}
	waitSvc(t, 30*time.Second, ns, "agent", "status counts the new node", func(s *swarmv1.Service) error {
		if want := fmt.Sprintf("%d/%d", n+1, n+1); s.Status.Replicas != want {
			return fmt.Errorf("replicas %q, want %s", s.Status.Replicas, want)
		}
		return nil
	})
	localCluster(t, "remove-node", "worker9")
	waitSvc(t, 90*time.Second, ns, "agent", "the task of the removed node is gone", func(s *swarmv1.Service) error {
		if want := fmt.Sprintf("%d/%d", n, n); s.Status.Replicas != want {
			return fmt.Errorf("replicas %q, want %s", s.Status.Replicas, want)
		}
		return nil
	})
}
