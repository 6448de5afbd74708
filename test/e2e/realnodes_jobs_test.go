//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
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
// swarmkit's restart supervisor does (by slot), and the logs of a task restarted in place show
// both its runs:
//
//	docker service create --name gate kubeswarm.test/web:1            # its /healthz made to fail
//	docker service create --name batch --mode replicated-job --replicas 3 \
//	    --restart-condition on-failure --restart-max-attempts 1 kubeswarm.test/web:1 get http://<gate>/healthz
//	docker service create --name once --mode replicated-job --restart-condition on-failure \
//	    kubeswarm.test/web:1 get http://<gate>/healthz
//
// Each of batch's 3 tasks fails its first run (the gate fails), then the gate is healed and each
// task's retry completes: Swarm completes the job (each slot restarted once, within its 1
// attempt), where one Job-wide backoffLimit of 1 would have failed it at the second failure.
// once's container is restarted in place (no limit: OnFailure): its logs show the failed run,
// then the run that completed.
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
	mustSwarm(t, ns, "service", "create", "-d", "--name", "once", "--mode", "replicated-job",
		"--restart-condition", "on-failure", "kubeswarm.test/web:1", "get", gateURL+"/healthz")

	// Every task of batch fails its first run, and once's first run fails.
	var firstFailures []time.Time
	eventually(t, 120*time.Second, "each of batch's tasks and once's task failed once", func() error {
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
		for _, p := range tasks(t, ns, "once") {
			for _, c := range p.Status.ContainerStatuses {
				if (c.State.Terminated != nil && c.State.Terminated.ExitCode != 0) || (c.LastTerminationState.Terminated != nil && c.LastTerminationState.Terminated.ExitCode != 0) {
					return nil
				}
			}
		}
		return fmt.Errorf("once has not failed yet")
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

	// once's task completed in the container restarted in place; its logs show the failed run
	// (the kubelet's previous log), then the run that completed.
	eventually(t, 120*time.Second, "once completes", func() error {
		for _, p := range tasks(t, ns, "once") {
			if p.Status.Phase == corev1.PodSucceeded {
				if p.Status.ContainerStatuses[0].RestartCount == 0 {
					return fmt.Errorf("completed without a restart")
				}
				return nil
			}
		}
		return fmt.Errorf("not completed")
	})
	out := mustSwarm(t, ns, "service", "logs", "--no-task-ids", "once")
	failedAt := strings.Index(out, "web: GET "+gateURL+"/healthz: status")
	okAt := strings.LastIndex(out, "| ok\n")
	if failedAt < 0 || okAt < failedAt {
		t.Errorf("once's logs %q: want the failed run's line, then the completed run's", out)
	}
}

func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
