//go:build e2e && !realnodes

package e2e

import (
	"fmt"
	"testing"
	"time"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestConstraintCase: Swarm compares constraint keys and values case-insensitively (swarmkit
// manager/constraint/constraint.go), Kubernetes label values exactly. A node labelled disk=SSD
// takes the tasks of node.labels.disk==ssd, a spelling no rule foresees (rack=aB) those of
// node.labels.rack==AB once a node carries it, and != keeps the tasks off every spelling.
func TestConstraintCase(t *testing.T) {
	ns := newNamespace(t)
	labelNode(t, "worker2", "disk-case", "SSD")

	svcSpec(t, ns, "on-ssd", constrained(2, "NODE.LABELS.disk-case==ssd"))
	svcSpec(t, ns, "not-ssd", constrained(3, "node.labels.disk-case != Ssd"))
	svcSpec(t, ns, "on-rack", constrained(2, "node.labels.rack-case==AB"))

	if got := waitRunning(t, 60*time.Second, ns, "on-ssd", 2); fmt.Sprint(got) != fmt.Sprint(map[string]int{"worker2": 2}) {
		t.Errorf("on-ssd: tasks by node %v, want both on worker2 (disk-case=SSD)", got)
	}
	if got := waitRunning(t, 60*time.Second, ns, "not-ssd", 3); got["worker2"] != 0 {
		t.Errorf("not-ssd: tasks by node %v, want none on worker2 (disk-case=SSD)", got)
	}
	waitSvc(t, 60*time.Second, ns, "on-rack", "no node has the rack yet: the tasks wait", func(s *swarmv1.Service) error {
		if s.Status.Replicas != "0/2" {
			return fmt.Errorf("replicas %q", s.Status.Replicas)
		}
		return nil
	})
	// A node labelled afterwards, in a spelling of its own, takes the waiting tasks.
	labelNode(t, "worker1", "rack-case", "aB")
	if got := waitRunning(t, 60*time.Second, ns, "on-rack", 2); fmt.Sprint(got) != fmt.Sprint(map[string]int{"worker1": 2}) {
		t.Errorf("on-rack: tasks by node %v, want both on worker1 (rack-case=aB)", got)
	}
}
