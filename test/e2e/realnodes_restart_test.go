//go:build e2e && realnodes

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// TestRealRestartConditions: Swarm's restart conditions on long-running services, on real
// containers (swarmkit manager/orchestrator/restart/restart.go, shouldRestart):
//
//	docker service create --name once --restart-condition none kubeswarm.test/web:1 lookup localhost
//	docker service create --name retry --restart-condition on-failure kubeswarm.test/web:1 get http://127.0.0.1:1/
//	docker service create --name each --mode global --restart-condition on-failure kubeswarm.test/web:1 lookup localhost
//
// `once` exits 0 and stays stopped: service ps shows it Complete and shut down, nothing runs in
// its place, the service is converged at 0/1. `retry` fails every time and is started again.
// `each` exits 0 on every node and is started again in place: a DaemonSet replaces an ended pod
// at once, so a global service keeps the kubelet's restarts, and Honored says so.
func TestRealRestartConditions(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "once", "--restart-condition", "none", "kubeswarm.test/web:1", "lookup", "localhost")
	mustSwarm(t, ns, "service", "create", "-d", "--name", "retry", "--restart-condition", "on-failure", "kubeswarm.test/web:1", "get", "http://127.0.0.1:1/")
	mustSwarm(t, ns, "service", "create", "-d", "--name", "each", "--mode", "global", "--restart-condition", "on-failure", "kubeswarm.test/web:1", "lookup", "localhost")

	waitSvc(t, 90*time.Second, ns, "once", "the ended task is counted as stopped", func(s *swarmv1.Service) error {
		c := readyCondition(s)
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "1 ended and stay stopped (restart condition none)") {
			return fmt.Errorf("Ready: %+v", c)
		}
		return nil
	})
	eventually(t, 90*time.Second, "retry's task is started again after failing", func() error {
		for _, p := range tasks(t, ns, "retry") {
			for _, c := range p.Status.ContainerStatuses {
				if c.RestartCount > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("no restart yet")
	})
	// A global service's task that exits is started again in place (its DaemonSet would replace
	// an ended pod at once), and the Service says so.
	waitSvc(t, 90*time.Second, ns, "each", "the difference is reported", func(s *swarmv1.Service) error {
		c := meta.FindStatusCondition(s.Status.Conditions, "Honored")
		if c == nil || !strings.Contains(c.Message, "a global service's task that exits with status 0 is started again on its node") {
			return fmt.Errorf("Honored: %+v", c)
		}
		return nil
	})
	eventually(t, 90*time.Second, "each's tasks are started again in place", func() error {
		pods := tasks(t, ns, "each")
		for _, p := range pods {
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount == 0 {
				return fmt.Errorf("task %s on %s: no restart yet", p.Name, p.Spec.NodeName)
			}
		}
		if len(pods) == 0 {
			return fmt.Errorf("no task")
		}
		return nil
	})
	nodes := len(tasks(t, ns, "each"))

	// Watch for a while: nothing is started again.
	time.Sleep(15 * time.Second)
	var ended, standIns int
	for _, p := range tasks(t, ns, "once") {
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			ended++
			if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
				t.Errorf("once: task %s restarted %d times", p.Name, n)
			}
		case update.StandIn(&p):
			standIns++
		default:
			t.Errorf("once: task %s is %s (held %v): something took the stopped task's place", p.Name, p.Status.Phase, update.Held(&p))
		}
	}
	if ended != 1 || standIns > 1 {
		t.Errorf("once: %d ended tasks and %d held stand-ins, want 1 and at most 1", ended, standIns)
	}
	if out := mustSwarm(t, ns, "service", "ps", "--format", "{{.Name}} {{.DesiredState}} {{.CurrentState}}", "once"); !strings.HasPrefix(out, "once.1 Shutdown Complete") || strings.Count(out, "\n") != 1 {
		t.Errorf("service ps once:\n%s\nwant one line, once.1 Shutdown Complete …", out)
	}
	if out := mustSwarm(t, ns, "service", "ls", "--format", "{{.Name}} {{.Replicas}}", "--filter", "name=once"); strings.TrimSpace(out) != "once 0/1" {
		t.Errorf("service ls: %q, want once 0/1", out)
	}
	if pods := tasks(t, ns, "each"); len(pods) != nodes {
		t.Errorf("each: %d tasks after 15 s, want the same %d (restarted in place, not replaced)", len(pods), nodes)
	}
}
