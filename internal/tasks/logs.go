package tasks

import (
	"bufio"
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// HasEarlierRun tells whether the kubelet keeps the log of a task's earlier run: its container
// was restarted in place (a restart condition, a job's OnFailure, a failed healthcheck) and runs
// again. Swarm makes a new task for each restart, each with its own log (swarmkit
// manager/orchestrator/restart/restart.go); the kubelet keeps one ended container per pod and
// container name (pkg/kubelet/pod_container_deletor.go: it removes the older ones each time a
// container ends), so only the run before the current one (pods/log previous=true), and only
// while the current one runs: once it ended too, or while it waits to be started again, the
// ended one is the current log and nothing before it is kept.
func HasEarlierRun(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == translate.ContainerName {
			return c.State.Running != nil && c.LastTerminationState.Terminated != nil
		}
	}
	return false
}

// goneLog is how the kubelet answers for a container whose log it removed meanwhile (pods/log
// answers 200 with it as the body).
const goneLog = "unable to retrieve container logs for "

// OpenLogs opens the logs of a task as docker shows a task that restarted: the earlier run kept
// by the kubelet (HasEarlierRun), then the current one, each read with opts (tail and since
// apply to each run, as docker's to each task). An earlier run's log that is gone already (the
// container ended again meanwhile) is left out. The caller reads the streams in order and
// closes them.
func OpenLogs(ctx context.Context, pods corev1client.PodsGetter, p *corev1.Pod, opts corev1.PodLogOptions) ([]io.ReadCloser, error) {
	var out []io.ReadCloser
	if HasEarlierRun(p) {
		prev := opts
		prev.Previous, prev.Follow = true, false
		if s, err := pods.Pods(p.Namespace).GetLogs(p.Name, &prev).Stream(ctx); err == nil {
			r := bufio.NewReader(s)
			if head, _ := r.Peek(len(goneLog)); string(head) == goneLog {
				_ = s.Close()
			} else {
				out = append(out, readCloser{r, s})
			}
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

// readCloser reads through a buffered reader and closes the stream under it.
type readCloser struct {
	io.Reader
	io.Closer
}
