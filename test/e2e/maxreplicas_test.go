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

// TestMaxReplicasPerNode: maxReplicasPerNode 2 caps 2 tasks per node, as swarmkit's
// MaxReplicasFilter does, not a spread: with 8 replicas on the 3 nodes, 6 run (2 on each) and 2
// stay pending with docker's message; scaled to 6, all run.
//
//	docker service create --name capped --replicas 8 --replicas-max-per-node 2 nginx
func TestMaxReplicasPerNode(t *testing.T) {
	ns := newNamespace(t)
	nodes := nodeNames(t)
	if len(nodes) != 3 {
		t.Fatalf("the test wants the local cluster's 3 nodes, found %v", nodes)
	}
	svcSpec(t, ns, "capped", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](8),
		Placement: &swarmv1.Placement{MaxReplicasPerNode: ptr.To[int32](2)}})

	byNode := waitRunning(t, 90*time.Second, ns, "capped", 6)
	for _, n := range nodes {
		if byNode[n] != 2 {
			t.Fatalf("tasks by node %v, want 2 on each node", byNode)
		}
	}
	waitSvc(t, 60*time.Second, ns, "capped", "the extra tasks are pending with docker's message", func(s *swarmv1.Service) error {
		c := readyCondition(s)
		if s.Status.Replicas != "6/8 (max 2 per node)" || c == nil || !strings.Contains(c.Message, "2 pending: no suitable node (max replicas per node limit exceed)") {
			return fmt.Errorf("replicas %q Ready %+v", s.Status.Replicas, c)
		}
		return nil
	})
	// Still 2 per node a while later: nothing lets the extra tasks in.
	time.Sleep(3 * time.Second)
	if byNode := waitRunning(t, 10*time.Second, ns, "capped", 6); fmt.Sprint(byNode) != fmt.Sprint(map[string]int{nodes[0]: 2, nodes[1]: 2, nodes[2]: 2}) {
		t.Fatalf("tasks by node %v, want 2 on each node", byNode)
	}
	out := mustSwarm(t, ns, "service", "ps", "--no-trunc", "capped")
	if n := strings.Count(out, "no suitable node (max replicas per node limit exceed)"); n != 2 {
		t.Fatalf("service ps shows docker's message for %d tasks, want 2:\n%s", n, out)
	}

	updateSvc(t, ns, "capped", func(s *swarmv1.Service) { s.Spec.Replicas = ptr.To[int32](6) })
	waitSvc(t, 60*time.Second, ns, "capped", "scaled to 6, every task runs", func(s *swarmv1.Service) error {
		if s.Status.Replicas != "6/6 (max 2 per node)" || !isReady(s) {
			return fmt.Errorf("replicas %q Ready %+v", s.Status.Replicas, readyCondition(s))
		}
		return nil
	})
}
