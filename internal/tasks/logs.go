package tasks

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// HasEarlierRun tells whether the kubelet keeps the log of a task's earlier run: its container
// was restarted in place (a restart condition, a job's OnFailure) and runs again or ended again.
// Swarm makes a new task for each restart, each with its own log (swarmkit
// manager/orchestrator/restart/restart.go); the kubelet keeps only the run before the current
// one (pods/log previous=true). While the container waits to be started again, its last run is
// the current log, and the one before it cannot be read.
func HasEarlierRun(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name != translate.ContainerName {
			continue
		}
		last := c.LastTerminationState.Terminated
		if last == nil {
			return false
		}
		switch {
		case c.State.Running != nil:
			return true
		case c.State.Terminated != nil:
			return c.State.Terminated.ContainerID != last.ContainerID
		}
	}
	return false
}

// OpenLogs opens the logs of a task as docker shows a task that restarted: the earlier run kept
// by the kubelet (HasEarlierRun), then the current one, each read with opts (tail and since
// apply to each run, as docker's to each task). An earlier run's log that is gone already (the
// container restarted again meanwhile) is left out. The caller reads the streams in order and
// closes them.
func OpenLogs(ctx context.Context, pods corev1client.PodsGetter, p *corev1.Pod, opts corev1.PodLogOptions) ([]io.ReadCloser, error) {
	var out []io.ReadCloser
	if HasEarlierRun(p) {
		prev := opts
		prev.Previous, prev.Follow = true, false
		if s, err := pods.Pods(p.Namespace).GetLogs(p.Name, &prev).Stream(ctx); err == nil {
			out = append(out, s)
		}
	}
	cur, err := pods.Pods(p.Namespace).GetLogs(p.Name, &opts).Stream(ctx)
	if err != nil {
		for _, s := range out {
			_ = s.Close()
		}
		return nil, err
	}
	return append(out, cur), nil
}
