//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestRealJobCountsRestartsPerTask: a replicated job counts --restart-max-attempts per task, as
// swarmkit's restart supervisor does (by slot):
//
//	docker service create --name gate kubeswarm.test/web:1            # its /healthz made to fail
//	docker service create --name batch --mode replicated-job --replicas 3 \
//	    --restart-condition on-failure --restart-max-attempts 1 kubeswarm.test/web:1 get http://<gate>/healthz
//
// Each of batch's 3 tasks fails its first run (the gate fails), then the gate is healed and each
// task's retry completes: Swarm completes the job (each slot restarted once, within its 1
// attempt), where one Job-wide backoffLimit of 1 would have failed it at the second failure.
func TestRealJobCountsRestartsPerTask(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ctx := context.Background()
	mustSwarm(t, ns, "service", "create", "-d", "--name", "gate", "kubeswarm.test/web:1")
	waitRunning(t, 120*time.Second, ns, "gate", 1)
	gate := runningTasks(t, ns, "gate")[0]
	gateURL := "http://" + net.JoinHostPort(gate.Status.PodIP, "80")
	if _, err := send("POST", gateURL+"/healthz/fail", ""); err != nil {
		t.Fatalf("making the gate fail: %v", err)
	}
	if _, err := get(gateURL + "/healthz"); err == nil {
		t.Fatal("the gate's /healthz still answers 2xx")
	}

	mustSwarm(t, ns, "service", "create", "-d", "--name", "batch", "--mode", "replicated-job", "--replicas", "3",
		"--restart-condition", "on-failure", "--restart-max-attempts", "1", "kubeswarm.test/web:1", "get", gateURL+"/healthz")

	// Every task of batch fails its first run.
	var firstFailures []time.Time
	eventually(t, 120*time.Second, "each of batch's tasks failed once", func() error {
		firstFailures = firstFailures[:0]
		failed := map[string]bool{}
		for _, p := range tasks(t, ns, "batch") {
			if p.Status.Phase == corev1.PodFailed {
				failed[p.Annotations[batchv1.JobCompletionIndexAnnotation]] = true
				if cs := p.Status.ContainerStatuses; len(cs) > 0 && cs[0].State.Terminated != nil {
					firstFailures = append(firstFailures, cs[0].State.Terminated.FinishedAt.Time)
				}
			}
		}
		if len(failed) != 3 {
			return fmt.Errorf("failed indexes %v", failed)
		}
		return nil
	})
	sort.Slice(firstFailures, func(i, j int) bool { return firstFailures[i].Before(firstFailures[j]) })
	figure(t, "batch: its 3 tasks' first runs failed within %s of each other", firstFailures[len(firstFailures)-1].Sub(firstFailures[0]))
	if _, err := send("POST", gateURL+"/healthz/ok", ""); err != nil {
		t.Fatalf("healing the gate: %v", err)
	}

	// Each task's retry completes, and so does the job: one failed and one completed task per slot.
	waitSvc(t, 150*time.Second, ns, "batch", "the job completes", func(s *swarmv1.Service) error {
		c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready: %+v", c)
		}
		return nil
	})
	runs := map[string][]corev1.PodPhase{}
	for _, p := range tasks(t, ns, "batch") {
		i := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		runs[i] = append(runs[i], p.Status.Phase)
	}
	for _, i := range []string{"0", "1", "2"} {
		sort.Slice(runs[i], func(a, b int) bool { return runs[i][a] < runs[i][b] })
		if got := fmt.Sprint(runs[i]); got != "[Failed Succeeded]" {
			t.Errorf("slot %s: runs %s, want one failed and one completed", i, got)
		}
	}
	job := &batchv1.Job{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "batch"}, job); err != nil {
		t.Fatal(err)
	}
	if job.Status.Succeeded != 3 || job.Status.Failed != 3 || !jobCondition(job, batchv1.JobComplete) {
		t.Errorf("Job: succeeded %d failed %d conditions %+v; want 3, 3, Complete", job.Status.Succeeded, job.Status.Failed, job.Status.Conditions)
	}
	if out := mustSwarm(t, ns, "service", "ls", "--format", "{{.Name}} {{.Replicas}}", "--filter", "name=batch"); !strings.Contains(out, "batch 0/3 (3/3 completed)") {
		t.Errorf("service ls: %q, want batch 0/3 (3/3 completed)", out)
	}
	// service ps: a completed task per slot (0 named by its node, as docker names slot 0), each
	// slot's failed run as its history, shut down.
	out := mustSwarm(t, ns, "service", "ps", "--format", "{{.Name}}|{{.DesiredState}}|{{.CurrentState}}", "batch")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var names []string
	for _, l := range lines {
		f := strings.Split(l, "|")
		switch {
		case len(f) == 3 && f[0] == ` \_ batch` && f[1] == "Shutdown" && strings.HasPrefix(f[2], "Failed"):
			names = append(names, "history")
		case len(f) == 3 && f[1] == "Complete" && strings.HasPrefix(f[2], "Complete"):
			names = append(names, f[0])
		default:
			names = append(names, "unexpected: "+l)
		}
	}
	if got := fmt.Sprint(names); !strings.HasPrefix(got, "[batch.") || !strings.HasSuffix(got, " batch.1 batch.2 history history history]") {
		t.Errorf("service ps: %q, want batch.<node>, batch.1, batch.2 complete, then 3 failed runs shut down", out)
	}

}

// TestRealLogsOfARestartedTask: the logs of a task restarted in place (here by its failing
// healthcheck, as Swarm replaces an unhealthy task) show its earlier run, then the current one:
// Swarm's two tasks' logs. The kubelet keeps the earlier run while the current one runs.
func TestRealLogsOfARestartedTask(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	writeFile(t, file, `
services:
  web:
    image: kubeswarm.test/web:1
    healthcheck:
      test: ["CMD", "/web", "healthcheck"]
      interval: 1s
      timeout: 1s
      retries: 2
`)
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "lg")
	waitRunning(t, 120*time.Second, ns, "lg-web", 1)
	task := runningTasks(t, ns, "lg-web")[0]
	url := "http://" + net.JoinHostPort(task.Status.PodIP, "80")
	_, _ = get(url + "/before-restart") // a 404, logged by the first run
	if _, err := send("POST", url+"/healthz/fail", ""); err != nil {
		t.Fatalf("making the task unhealthy: %v", err)
	}
	eventually(t, 90*time.Second, "the task is restarted and runs", func() error {
		p := &corev1.Pod{}
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(&task), p); err != nil {
			return err
		}
		if cs := p.Status.ContainerStatuses; len(cs) == 0 || cs[0].RestartCount == 0 || cs[0].State.Running == nil || !cs[0].Ready {
			return fmt.Errorf("not restarted and ready: %+v", cs)
		}
		return nil
	})
	_, _ = get(url + "/after-restart") // logged by the second run
	eventually(t, 30*time.Second, "both runs in the task's logs, in order", func() error {
		out, _, err := swarm(t, ns, "service", "logs", "--no-task-ids", "lg-web")
		if err != nil {
			return err
		}
		before, fail, after := strings.Index(out, "GET /before-restart"), strings.Index(out, "POST /healthz/fail"), strings.Index(out, "GET /after-restart")
		if before < 0 || fail < before || after < fail || strings.Count(out, "listening on :80") != 2 {
			return fmt.Errorf("logs %q: want the first run's lines (GET /before-restart, POST /healthz/fail), then the second's (GET /after-restart), each run's start", out)
		}
		return nil
	})
}

func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
