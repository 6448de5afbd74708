package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"

	swarmtasks "github.com/kubeswarm/kubeswarm/internal/tasks"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// ServiceLogsOptions is `service logs SERVICE|TASK`: the pods/log API of each task, each line
// prefixed docker's way, `web.1.<task id>@<node>    | `.
type ServiceLogsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	podLogs    *corev1.PodLogOptions
	follow     bool
	since      string
	tail       string
	timestamps bool
	noTaskIDs  bool
	noTrunc    bool
	raw        bool
	details    bool
	noResolve  bool
}

func newServiceLogsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceLogsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] SERVICE|TASK",
		Short: "Fetch the logs of a service or task",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	fl.StringVar(&o.since, "since", "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	// docker has -n for --tail; kubectl's -n is the namespace.
	fl.StringVar(&o.tail, "tail", "all", "Number of lines to show from the end of the logs")
	fl.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	fl.BoolVar(&o.noTaskIDs, "no-task-ids", false, "Do not include task IDs in output")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	fl.BoolVar(&o.raw, "raw", false, "Do not neatly format logs")
	fl.BoolVar(&o.details, "details", false, "Show extra details provided to logs")
	fl.BoolVar(&o.noResolve, "no-resolve", false, "Do not map IDs to Names in output")
	return cmd
}

// Complete reads the argument and makes the clients: the pods/log API is the clientset's.
func (o *ServiceLogsOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	if err := o.clientOptions.Complete(f, cmd, args); err != nil {
		return err
	}
	return o.completeClientset(f)
}

// Validate reads --tail and --since into the pods/log options.
func (o *ServiceLogsOptions) Validate() error {
	var err error
	o.podLogs, err = o.logOptions(o.clock.Now())
	return err
}

// logOptions turns docker's flags into the pods/log options.
func (o *ServiceLogsOptions) logOptions(now time.Time) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{Container: translate.ContainerName, Follow: o.follow, Timestamps: o.timestamps}
	if o.tail != "" && o.tail != "all" {
		var n int64
		if _, err := fmt.Sscan(o.tail, &n); err != nil || n < 0 {
			return nil, flagError("tail", o.tail, errors.New("must be a number or \"all\""))
		}
		opts.TailLines = ptr.To(n)
	}
	if o.since != "" {
		if d, err := time.ParseDuration(o.since); err == nil {
			opts.SinceTime = &metav1.Time{Time: now.Add(-d)}
		} else if t, err := time.Parse(time.RFC3339Nano, o.since); err == nil {
			opts.SinceTime = &metav1.Time{Time: t}
		} else {
			return nil, flagError("since", o.since, errors.New("must be a duration or an RFC 3339 time"))
		}
	}
	return opts, nil
}

// Run streams the logs of every task of the service (or of one task, named web.1 or by ID).
func (o *ServiceLogsOptions) Run(ctx context.Context) error {
	c, ns, ref := o.client, o.namespace, o.args[0]
	svcName, taskRef, _ := strings.Cut(ref, ".")
	svc, err := getService(ctx, c, ns, svcName)
	if err != nil {
		if taskRef == "" {
			return err
		}
		return fmt.Errorf("no such task or service: %s", ref)
	}
	tasks, err := serviceTasks(ctx, c, svc)
	if err != nil {
		return err
	}
	var selected []task
	for _, t := range tasks {
		if t.history {
			continue
		}
		if taskRef == "" || t.name() == ref || strings.HasPrefix(shortID(string(t.pod.UID), true), taskRef) {
			selected = append(selected, t)
		}
	}
	if taskRef != "" && len(selected) == 0 {
		return fmt.Errorf("no such task or service: %s", ref)
	}
	prefixes := make([]string, len(selected))
	width := 0
	for i, t := range selected {
		p := t.name()
		if !o.noTaskIDs {
			p += "." + shortID(string(t.pod.UID), o.noTrunc)
		}
		p += "@" + taskNode(t.pod)
		prefixes[i] = p
		width = max(width, len(p))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(selected))
	for i, t := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A task restarted in place shows its earlier run first (tasks.OpenLogs).
			streams, err := swarmtasks.OpenLogs(ctx, o.clientset.CoreV1(), t.pod, *o.podLogs)
			if err != nil {
				errs[i] = fmt.Errorf("reading the logs of task %s: %w", t.name(), err)
				return
			}
			prefix := ""
			if !o.raw {
				prefix = fmt.Sprintf("%-*s    | ", width, prefixes[i])
			}
			for _, stream := range streams {
				sc := bufio.NewScanner(stream)
				sc.Buffer(make([]byte, 64*1024), 1024*1024)
				for sc.Scan() {
					mu.Lock()
					fmt.Fprintln(o.Out, prefix+sc.Text())
					mu.Unlock()
				}
				if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
					errs[i] = err
				}
				_ = stream.Close()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
