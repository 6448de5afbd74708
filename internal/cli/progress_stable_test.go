package cli

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestRunningSince(t *testing.T) {
	svc := makeService("web").Obj()
	at := func(age time.Duration) task {
		return task{pod: makePod("web", "web-"+age.String(), "worker1", age, true), service: svc}
	}
	waiting := at(time.Second)
	waiting.pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	old := at(time.Millisecond)
	old.history = true
	tests := []struct {
		name  string
		tasks []task
		want  time.Time
	}{
		{"none", nil, time.Time{}},
		{"the last start", []task{at(time.Minute), at(10 * time.Second), at(time.Hour)}, testNow.Add(-10 * time.Second)},
		{"history and waiting tasks do not count", []task{at(time.Minute), old, waiting}, testNow.Add(-time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runningSince(tt.tasks); !got.Equal(tt.want) {
				t.Errorf("runningSince = %v, want %v", got, tt.want)
			}
		})
	}
}

// A service whose tasks have run longer than the monitor period is verified at once: a stack
// deploy --detach=false does not watch each of its services for 5 s anew.
func TestWaitCountsTheMonitorFromTheTasksStart(t *testing.T) {
	saved := stableWait
	stableWait = nil // the service's monitor period: docker's default 5 s
	t.Cleanup(func() { stableWait = saved })
	web := makeService("web").Replicas(1).Converged().Obj()
	f := factoryWith([]*swarmv1.Service{web}, makePod("web", "web-1", "worker1", time.Minute, true))
	start := time.Now()
	out, _, err := run(t, f, "service", "scale", "web=1")
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the wait took %s for tasks running for a minute", took)
	}
	if !strings.Contains(out, "verify: Service converged") || strings.Contains(out, "Waiting") {
		t.Errorf("output:\n%s", out)
	}
}
