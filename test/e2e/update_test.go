//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func replicated(image string, replicas int32, uc *swarmv1.UpdateConfig) swarmv1.ServiceSpec {
	return swarmv1.ServiceSpec{Image: image, Replicas: ptr.To(replicas), UpdateConfig: uc}
}

func images(pods []corev1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		out[p.Spec.Containers[0].Image]++
	}
	return out
}

// watchPeak counts the most tasks of a service that exist at once (not being deleted) until
// stop is called.
func watchPeak(t *testing.T, ns, service string) (stop func() int) {
	t.Helper()
	w, err := k8sWatch(ns, service)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	live, peak := map[string]bool{}, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Deleted || p.DeletionTimestamp != nil {
				delete(live, p.Name)
			} else {
				live[p.Name] = true
			}
			peak = max(peak, len(live))
			mu.Unlock()
		}
	}()
	return func() int {
		w.Stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func k8sWatch(ns, service string) (watch.Interface, error) {
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, err
	}
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return wc.Watch(context.Background(), &corev1.PodList{}, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": service})
}

// TestUpdateOrder: stop-first never runs more tasks than replicas during an update; start-first
// starts the new task before stopping the old one, so one more runs for a while. Both end with
// every task on the new image and the update completed.
func TestUpdateOrder(t *testing.T) {
	for _, tc := range []struct {
		order    swarmv1.UpdateOrder
		wantPeak int
	}{{swarmv1.OrderStopFirst, 3}, {swarmv1.OrderStartFirst, 4}} {
		t.Run(string(tc.order), func(t *testing.T) {
			ns := newNamespace(t)
			svcSpec(t, ns, "web", replicated("nginx:1.26", 3, &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](1), Order: tc.order}))
			waitReady(t, ns, "web", "3/3")
			stop := watchPeak(t, ns, "web")
			updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:1.27" })
			waitSvc(t, 90*time.Second, ns, "web", "the update completes", func(s *swarmv1.Service) error {
				if updateStateOf(s) != swarmv1.UpdateStateCompleted || s.Status.UpdateStatus.CompletedAt == nil {
					return fmt.Errorf("updateStatus %+v", s.Status.UpdateStatus)
				}
				return nil
			})
			peak := stop()
			if got := images(tasks(t, ns, "web")); got["nginx:1.27"] != 3 || len(got) != 1 {
				t.Errorf("images after the update: %v", got)
			}
			if peak != tc.wantPeak {
				t.Errorf("at most %d tasks existed at once during the update, want %d", peak, tc.wantPeak)
			}
		})
	}
}

// TestUpdateDelay: docker service update --update-delay 10s: batches are 10 s apart, so
// replacing 3 tasks one at a time takes at least 20 s.
func TestUpdateDelay(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "redis", replicated("redis:3.0.6", 3, &swarmv1.UpdateConfig{Delay: &metav1Duration10s}))
	waitReady(t, ns, "redis", "3/3")
	start := time.Now()
	updateSvc(t, ns, "redis", func(s *swarmv1.Service) { s.Spec.Image = "redis:3.0.7" })
	waitSvc(t, 120*time.Second, ns, "redis", "the update completes", func(s *swarmv1.Service) error {
		if updateStateOf(s) != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("updateStatus %+v", s.Status.UpdateStatus)
		}
		return nil
	})
	if took := time.Since(start); took < 20*time.Second {
		t.Errorf("the update took %s, want at least 20s (two 10s delays between three batches)", took)
	}
}

// TestUpdateFailurePauses: failure_action pause (the default). New tasks that crash pause the
// update: status says which task, the rollout stops, and the old tasks that were not replaced
// keep running.
func TestUpdateFailurePauses(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "web", replicated("nginx:1.26", 3, nil))
	waitReady(t, ns, "web", "3/3")
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:fail" })
	waitSvc(t, 60*time.Second, ns, "web", "the update is paused", func(s *swarmv1.Service) error {
		if u := s.Status.UpdateStatus; updateStateOf(s) != swarmv1.UpdateStatePaused || !strings.Contains(u.Message, "update paused due to failure or early termination of task web-") {
			return fmt.Errorf("updateStatus %+v", u)
		}
		return nil
	})
	time.Sleep(5 * time.Second) // the rollout must not go on
	got := images(tasks(t, ns, "web"))
	if got["nginx:1.26"] != 2 || got["nginx:fail"] != 1 {
		t.Errorf("tasks by image %v, want 2 old still running and the 1 failed new one (parallelism 1, stop-first)", got)
	}
	s := getSvc(t, ns, "web")
	if isReady(s) || s.Status.Replicas != "2/3" {
		t.Errorf("replicas %q ready %v, want 2/3 and not Ready", s.Status.Replicas, isReady(s))
	}
}

// TestUpdateFailureRollsBack: failure_action rollback brings the previous spec back by itself,
// every task runs the old image again, and the previous spec is cleared.
func TestUpdateFailureRollsBack(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "web", replicated("nginx:1.26", 3, &swarmv1.UpdateConfig{FailureAction: swarmv1.FailureActionRollback}))
	waitReady(t, ns, "web", "3/3")
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:fail" })
	s := waitSvc(t, 120*time.Second, ns, "web", "the rollback completes", func(s *swarmv1.Service) error {
		if updateStateOf(s) != swarmv1.UpdateStateRollbackCompleted || s.Spec.Image != "nginx:1.26" || !isReady(s) {
			return fmt.Errorf("image %s updateStatus %+v replicas %s", s.Spec.Image, s.Status.UpdateStatus, s.Status.Replicas)
		}
		return nil
	})
	if s.Status.PreviousSpec != nil {
		t.Errorf("previousSpec %v, want none after an automatic rollback", s.Status.PreviousSpec)
	}
	if got := images(tasks(t, ns, "web")); got["nginx:1.26"] != 3 || len(got) != 1 {
		t.Errorf("tasks by image %v, want 3 on the old image", got)
	}
}

// TestRollbackTwice: docker service rollback, twice: back to the previous image, then forward
// again, each time with every task replaced.
func TestRollbackTwice(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "redis", replicated("redis:3.0.6", 3, nil))
	waitReady(t, ns, "redis", "3/3")
	updateSvc(t, ns, "redis", func(s *swarmv1.Service) { s.Spec.Image = "redis:3.0.7" })
	waitSvc(t, 60*time.Second, ns, "redis", "the update completes", func(s *swarmv1.Service) error {
		if updateStateOf(s) != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("updateStatus %+v", s.Status.UpdateStatus)
		}
		return nil
	})
	for i, want := range []string{"redis:3.0.6", "redis:3.0.7"} {
		updateSvc(t, ns, "redis", func(s *swarmv1.Service) {
			s.Annotations = map[string]string{swarmv1.AnnotationRollback: fmt.Sprint(i + 1)}
		})
		waitSvc(t, 90*time.Second, ns, "redis", fmt.Sprintf("rollback %d completes on %s", i+1, want), func(s *swarmv1.Service) error {
			if s.Spec.Image != want || updateStateOf(s) != swarmv1.UpdateStateRollbackCompleted {
				return fmt.Errorf("image %s updateStatus %+v", s.Spec.Image, s.Status.UpdateStatus)
			}
			return nil
		})
		if got := images(tasks(t, ns, "redis")); got[want] != 3 || len(got) != 1 {
			t.Errorf("rollback %d: tasks by image %v, want 3 on %s", i+1, got, want)
		}
	}
}

// TestStoppedNodeAndForceUpdate: the tasks of a node that stops are rescheduled on the others
// within about a minute; when the node comes back they stay where they are (as in Swarm), and
// docker service update --force spreads them again.
func TestStoppedNodeAndForceUpdate(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "web", replicated("nginx", 3, nil))
	if got := waitRunning(t, 60*time.Second, ns, "web", 3); got["worker2"] != 1 {
		t.Fatalf("tasks by node %v, want one on worker2", got)
	}
	t.Cleanup(func() { localCluster(t, "start-node", "worker2") })
	stopped := time.Now()
	localCluster(t, "stop-node", "worker2")
	var byNode map[string]int
	eventually(t, 120*time.Second, "worker2's task is rescheduled", func() error {
		var n int
		var err error
		byNode, n, err = runningPods(context.Background(), ns, "web")
		if err != nil {
			return err
		}
		if n != 3 || byNode["worker2"] != 0 {
			return fmt.Errorf("%d running by node %v", n, byNode)
		}
		return nil
	})
	t.Logf("worker2's task ran elsewhere %s after the node stopped", time.Since(stopped).Round(time.Second))
	localCluster(t, "start-node", "worker2")
	waitNodeReady(t, 60*time.Second, "worker2", corev1.ConditionTrue)
	time.Sleep(5 * time.Second)
	if got, _, _ := runningPods(context.Background(), ns, "web"); got["worker2"] != 0 {
		t.Errorf("tasks moved back to worker2 by themselves: %v (Swarm leaves them)", got)
	}
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.ForceUpdate++ })
	eventually(t, 90*time.Second, "--force spreads the tasks again", func() error {
		got, n, err := runningPods(context.Background(), ns, "web")
		if err != nil {
			return err
		}
		if n != 3 || got["worker2"] != 1 || got["worker1"] != 1 || got["manager1"] != 1 {
			return fmt.Errorf("%d running by node %v", n, got)
		}
		return nil
	})
}
