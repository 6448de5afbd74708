package dockerapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Logs: `docker service logs` reads GET /services/{id}/logs (or /tasks/{id}/logs) with
// details=1 and prints each line's task and node itself (docker/cli
// cli/command/service/logs.go: logWriter parses "[<time> ]<details> <line>"). The endpoint reads
// each task's pod log (pods/log) and writes docker's stream (the daemon's
// api/server/httputils/write_log_stream.go): per line the timestamp when asked, the details
// com.docker.swarm.node.id, .service.id and .task.id, then the line, each line one frame of the
// multiplexed stream that stdcopy reads.

// logQuery is what a logs request asks for.
type logQuery struct {
	stdout, stderr, follow, timestamps, details bool
	opts                                        corev1.PodLogOptions
}

func readLogQuery(r *http.Request) (logQuery, error) {
	q := logQuery{stdout: boolParam(r, "stdout"), stderr: boolParam(r, "stderr"), follow: boolParam(r, "follow"),
		timestamps: boolParam(r, "timestamps"), details: boolParam(r, "details")}
	if !q.stdout && !q.stderr {
		return q, invalid("Bad parameters: you must choose at least one stream")
	}
	// The timestamps are always read: the lines are in time order, and docker's come with its
	// fixed-width format when asked.
	q.opts = corev1.PodLogOptions{Container: translate.ContainerName, Follow: q.follow, Timestamps: true}
	if tail := r.URL.Query().Get("tail"); tail != "" && tail != "all" {
		n, err := strconv.ParseInt(tail, 10, 64)
		if err != nil || n < 0 {
			return q, invalid("invalid value for \"tail\": %q", tail)
		}
		q.opts.TailLines = ptr.To(n)
	}
	if since := r.URL.Query().Get("since"); since != "" && since != "0" {
		t, err := unixTimestamp(since)
		if err != nil {
			return q, invalid("invalid value for \"since\": %v", err)
		}
		q.opts.SinceTime = &metav1.Time{Time: t}
	}
	return q, nil
}

// unixTimestamp reads the client's "seconds[.nanoseconds]" (docker's api/types/time).
func unixTimestamp(v string) (time.Time, error) {
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(s, ns).UTC(), nil
}

// writeFrame writes one frame of docker's multiplexed stream: a header [stream, 0, 0, 0,
// big-endian uint32 size], then the bytes (stdcopy.StdCopy reads it; moby's API module has no
// writer).
func writeFrame(w io.Writer, stream stdcopy.StdType, p []byte) error {
	var h [8]byte
	h[0] = byte(stream)
	binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// logDetails are the details docker's daemon puts before each line of a task: url-encoded
// key=value pairs joined by commas.
func logDetails(nodeID, serviceID, taskID string) string {
	pairs := [][2]string{{"com.docker.swarm.node.id", nodeID}, {"com.docker.swarm.service.id", serviceID}, {"com.docker.swarm.task.id", taskID}}
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
	}
	return strings.Join(out, ",")
}

// logLine is one line of a pod's log (read with timestamps) as docker's stream has it.
func logLine(kubeLine string, details string, q logQuery) []byte {
	stamp, text, ok := strings.Cut(kubeLine, " ")
	if !ok {
		stamp, text = kubeLine, ""
	}
	var b strings.Builder
	if q.timestamps {
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			b.WriteString(t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") + " ")
		} else {
			b.WriteString(stamp + " ")
		}
	}
	if q.details {
		b.WriteString(details + " ")
	}
	b.WriteString(text)
	b.WriteString("\n")
	return []byte(b.String())
}

// logTask is a task whose log is read.
type logTask struct {
	pod     *corev1.Pod
	details string
}

func (s *Server) serviceLogs(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.findService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.logs(w, r, svc, "")
}

func (s *Server) taskLogs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pods := &corev1.PodList{}
	if err := s.Client.List(ctx, pods, client.InNamespace(s.Namespace), client.HasLabels{translate.LabelService}); err != nil {
		return fmt.Errorf("listing tasks: %w", err)
	}
	p, ok, _ := match(pods.Items, r.PathValue("id"), func(x corev1.Pod) string { return ID(x.UID) }, func(corev1.Pod) string { return "" })
	if !ok {
		return notFound("task %s not found", r.PathValue("id"))
	}
	svc, err := s.findService(ctx, p.Labels[translate.LabelService])
	if err != nil {
		return err
	}
	return s.logs(w, r, svc, ID(p.UID))
}

// followPoll is how often a followed service's tasks are listed again, for tasks started since.
var followPoll = 2 * time.Second

// logTasks are the service's tasks (or the one task taskID) that have a log: on a node, their
// container started. Tasks being removed are left out of a service's logs.
func (s *Server) logTasks(ctx context.Context, svc *swarmv1.Service, taskID string) ([]logTask, error) {
	pods := &corev1.PodList{}
	if err := s.Client.List(ctx, pods, client.InNamespace(s.Namespace), client.MatchingLabels{translate.LabelService: svc.Name}); err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	nodeList, err := s.listNodes(ctx)
	if err != nil {
		return nil, err
	}
	nodeIDs := map[string]string{}
	for i := range nodeList {
		nodeIDs[nodeList[i].Name] = nodeID(&nodeList[i])
	}
	var out []logTask
	for i := range pods.Items {
		p := &pods.Items[i]
		id := ID(p.UID)
		if (taskID != "" && id != taskID) || (taskID == "" && p.DeletionTimestamp != nil) || !started(p) {
			continue
		}
		out = append(out, logTask{pod: p, details: logDetails(nodeIDs[tasks.Node(p)], ID(svc.UID), id)})
	}
	return out, nil
}

// started tells whether a task's container has run, so that it has a log.
func started(p *corev1.Pod) bool {
	if p.Spec.NodeName == "" {
		return false
	}
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil || c.State.Terminated != nil || c.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return len(p.Status.ContainerStatuses) == 0 // no status to go by: try
}

// logs streams the logs of a service's tasks (or of the one task taskID). Following a service
// also follows the tasks it starts meanwhile, from their first line, as Swarm does.
func (s *Server) logs(w http.ResponseWriter, r *http.Request, svc *swarmv1.Service, taskID string) error {
	ctx := r.Context()
	if s.Clientset == nil {
		return errorf(http.StatusNotImplemented, "kubeswarm: this endpoint reads no pod logs; use kubectl swarm service logs")
	}
	q, err := readLogQuery(r)
	if err != nil {
		return err
	}
	selected, err := s.logTasks(ctx, svc, taskID)
	if err != nil {
		return err
	}

	mux := !svc.Spec.TTY
	contentType := types.MediaTypeRawStream
	if mux {
		contentType = types.MediaTypeMultiplexedStream
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var mu sync.Mutex
	write := func(stream stdcopy.StdType, line []byte) {
		mu.Lock()
		defer mu.Unlock()
		if mux {
			_ = writeFrame(w, stream, line)
		} else {
			_, _ = w.Write(line)
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	var wg sync.WaitGroup
	seen := map[string]bool{}
	stream := func(t logTask, q logQuery) {
		seen[string(t.pod.UID)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.streamPodLog(ctx, t, q, write); err != nil {
				// As the daemon does: on the system-error stream, and the other tasks go on.
				write(stdcopy.Systemerr, []byte(fmt.Sprintf("Error grabbing logs: %v\n", err)))
			}
		}()
	}
	for _, t := range selected {
		stream(t, q)
	}
	if q.follow && taskID == "" {
		fresh := q
		fresh.opts.TailLines, fresh.opts.SinceTime = nil, nil
		tick := time.NewTicker(followPoll)
		defer tick.Stop()
		for done := false; !done; {
			select {
			case <-ctx.Done():
				done = true
			case <-tick.C:
				more, err := s.logTasks(ctx, svc, "")
				if err != nil {
					continue // the client asked to follow: a failed listing is tried again
				}
				for _, t := range more {
					if !seen[string(t.pod.UID)] {
						stream(t, fresh)
					}
				}
			}
		}
	}
	wg.Wait()
	return nil
}

// streamPodLog copies a task's pod log, line by line, its earlier run first when the kubelet
// keeps one. Kubernetes keeps one log per container
// (stdout and stderr together): every line is written to the stdout stream when stdout is asked
// for, else to the stderr stream.
func (s *Server) streamPodLog(ctx context.Context, t logTask, q logQuery, write func(stdcopy.StdType, []byte)) error {
	// A task restarted in place shows its earlier run first (tasks.OpenLogs).
	streams, err := tasks.OpenLogs(ctx, s.Clientset.CoreV1(), t.pod, q.opts)
	if err != nil {
		return fmt.Errorf("reading the log of task %s: %w", ID(t.pod.UID), err)
	}
	defer func() {
		for _, st := range streams {
			_ = st.Close()
		}
	}()
	to := stdcopy.Stdout
	if !q.stdout {
		to = stdcopy.Stderr
	}
	for _, stream := range streams {
		sc := bufio.NewScanner(stream)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			write(to, logLine(sc.Text(), t.details, q))
		}
		if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}
