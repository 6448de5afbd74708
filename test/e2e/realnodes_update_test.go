//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestRealStopFirstUpdate: a stop-first update (docker's default order) of a one-replica
// database never shows two running tasks — two database processes on one volume:
//
//	docker service create --name db --env STOP_DELAY=4s --mount type=volume,source=db-data,target=/var/lib/mysql mysql:5.7
//	docker service update --env-add VERSION=2 db
//
// The stand-in database takes 4 s to stop after SIGTERM (STOP_DELAY), as a database flushing its
// data does; a Deployment alone starts the new task during those 4 s. The test polls the
// service's pods, terminating ones included, every 100 ms through the update and counts running
// containers.
func TestRealStopFirstUpdate(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "db", "--env", "STOP_DELAY=4s",
		"--mount", "type=volume,source=db-data,target=/var/lib/mysql", "mysql:5.7")
	waitReady(t, ns, "db", "1/1")
	old := runningTasks(t, ns, "db")
	if len(old) != 1 {
		t.Fatalf("want one running task, got %d", len(old))
	}

	var (
		mu          sync.Mutex
		most        int
		mostSeen    string
		oldStopping bool // the old task was seen stopping with its process still running
		pollErr     error
	)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods := &corev1.PodList{}
			if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": "db"}); err != nil {
				if ctx.Err() == nil {
					mu.Lock()
					pollErr = err
					mu.Unlock()
				}
				return
			}
			n, running := 0, []string{}
			for _, p := range pods.Items {
				for _, c := range p.Status.ContainerStatuses {
					if c.State.Running == nil {
						continue
					}
					n++
					state := "running"
					if p.DeletionTimestamp != nil {
						state = "stopping"
						if p.UID == old[0].UID {
							mu.Lock()
							oldStopping = true
							mu.Unlock()
						}
					}
					running = append(running, fmt.Sprintf("%s on %s (%s)", p.Name, p.Spec.NodeName, state))
				}
			}
			mu.Lock()
			if n > most {
				most, mostSeen = n, strings.Join(running, ", ")
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()

	start := time.Now()
	mustSwarm(t, ns, "service", "update", "-d", "--env-add", "VERSION=2", "db")
	waitSvc(t, 120*time.Second, ns, "db", "the update completes", func(s *swarmv1.Service) error {
		if st := updateStateOf(s); st != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("update state %q", st)
		}
		return nil
	})
	eventually(t, 60*time.Second, "the new task runs", func() error {
		now := runningTasks(t, ns, "db")
		if len(now) != 1 || now[0].UID == old[0].UID {
			return fmt.Errorf("running: %d tasks", len(now))
		}
		return nil
	})
	took := time.Since(start)
	stop()
	<-done

	mu.Lock()
	defer mu.Unlock()
	if pollErr != nil {
		t.Fatalf("listing the tasks: %v", pollErr)
	}
	if !oldStopping {
		t.Fatalf("the old task was never seen stopping with its process running: the test saw no window in which a second task could run")
	}
	if most > 1 {
		t.Fatalf("a stop-first update ran %d tasks at once: %s", most, mostSeen)
	}
	figure(t, "stop-first update of a one-replica database (4 s stop): %.1f s, at most %d running task", took.Seconds(), most)
}
