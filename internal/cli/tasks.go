package cli

import (
	"context"
	"fmt"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// task is a pod seen as a Swarm task.
//
// Slots: a per-slot service's tasks (a StatefulSet's pods) have theirs, their ordinal; Deployment
// pods have none, so tasks.AssignSlots, the visualizer's rule too, numbers them as Swarm would: oldest first, a task that is over (terminating, or failed in a
// long-running service) leaving its slot to its replacement. The visualizer also remembers slots
// between builds; `service ps`, run once, numbers as its first build does. Terminating and failed
// pods of long-running services are shown as history lines, `\_ web`, after the current ones,
// unless nothing took their place: a task that ended and stays stopped (restart condition none
// or on-failure) is its slot's current task, shut down, as docker shows it. Global tasks are
// named `svc.<node>`.
type task struct {
	pod     *corev1.Pod
	service *swarmv1.Service
	slot    int
	history bool
	// stopped: the slot's last task ended and nothing took its place.
	stopped bool
}

func (t task) name() string {
	if t.service.Spec.Mode.IsGlobal() {
		return t.service.Name + "." + taskNode(t.pod)
	}
	if t.history {
		return t.service.Name
	}
	if _, ok := tasks.JobSlot(t.pod); ok && t.slot == 0 {
		// A replicated job's slot 0: docker names a task of slot 0 by its node
		// (docker/cli cli/command/task/print.go), here the node's name as for global tasks.
		return t.service.Name + "." + taskNode(t.pod)
	}
	return fmt.Sprintf("%s.%d", t.service.Name, t.slot)
}

// displayName is the NAME column: history tasks are prefixed `\_ `.
func (t task) displayName() string {
	if t.history {
		return ` \_ ` + t.name()
	}
	return t.name()
}

func taskNode(p *corev1.Pod) string { return tasks.Node(p) }

func podFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// serviceTasks lists a service's pods as tasks, current ones first in slot order.
func serviceTasks(ctx context.Context, c client.Client, svc *swarmv1.Service) ([]task, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(svc.Namespace), client.MatchingLabels(translate.SelectorLabels(svc.Name))); err != nil {
		return nil, fmt.Errorf("listing the tasks of service %s: %w", svc.Name, err)
	}
	return tasksOf(svc, pods.Items), nil
}

func tasksOf(svc *swarmv1.Service, pods []corev1.Pod) []task {
	pods, slots := tasks.Ordered(pods, svc.Spec.Mode.IsGlobal())
	var current, history, ended []task
	job := svc.Spec.Mode.IsJob()
	// place is where a task runs in its service: its slot, or for a global task its node.
	place := func(p *corev1.Pod) string {
		if svc.Spec.Mode.IsGlobal() {
			return taskNode(p)
		}
		return fmt.Sprint(slots[tasks.Key(p)])
	}
	taken := map[string]bool{}
	retried := tasks.Retried(pods)
	for i := range pods {
		p := &pods[i]
		switch {
		case p.DeletionTimestamp != nil, retried[tasks.Key(p)]:
			history = append(history, task{pod: p, service: svc, history: true})
		case !job && podFinished(p):
			ended = append(ended, task{pod: p, service: svc, slot: slots[tasks.Key(p)]})
		default:
			current = append(current, task{pod: p, service: svc, slot: slots[tasks.Key(p)]})
			taken[place(p)] = true
		}
	}
	// Newest first: the last task of a slot nothing took is the slot's current one.
	for i := len(ended) - 1; i >= 0; i-- {
		t := ended[i]
		if k := place(t.pod); !taken[k] {
			taken[k] = true
			t.stopped = true
			current = append(current, t)
			continue
		}
		t.history = true
		history = append(history, t)
	}
	if svc.Spec.Mode.IsGlobal() {
		sortorder.Sort(current, func(t task) string { return taskNode(t.pod) })
	} else {
		sort.SliceStable(current, func(i, j int) bool { return current[i].slot < current[j].slot })
	}
	// History: newest first, as docker lists older tasks of a slot.
	sort.SliceStable(history, func(i, j int) bool {
		a, b := history[i].pod.CreationTimestamp, history[j].pod.CreationTimestamp
		return b.Before(&a)
	})
	return append(current, history...)
}

// taskState is a task's state in Swarm's words, the time it entered it and its error.
func taskState(t task) (state string, since time.Time, errMsg string) { return tasks.State(t.pod) }

func desiredState(t task) string {
	switch {
	case t.history || t.stopped || t.pod.DeletionTimestamp != nil:
		return "Shutdown"
	case t.service.Spec.Mode.IsJob():
		return "Complete"
	}
	return "Running"
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// taskPorts is the PORTS column of service ps: the task's host-mode ports.
func taskPorts(p *corev1.Pod) string {
	var parts []string
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.HostPort != 0 {
				parts = append(parts, fmt.Sprintf("*:%d->%d/%s", cp.HostPort, cp.ContainerPort, strings.ToLower(string(cp.Protocol))))
			}
		}
	}
	return strings.Join(parts, ", ")
}

func taskImage(p *corev1.Pod) string { return tasks.Image(p) }

// taskRow is a row of the task table (service ps, node ps, stack ps).
type taskRow struct {
	ID           string
	Name         string
	Image        string
	Node         string
	DesiredState string
	CurrentState string
	Error        string
	Ports        string
}

const taskTableFormat = "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}"

var taskHeaders = map[string]string{"ID": "ID", "Name": "NAME", "Image": "IMAGE", "Node": "NODE",
	"DesiredState": "DESIRED STATE", "CurrentState": "CURRENT STATE", "Error": "ERROR", "Ports": "PORTS"}

func newTaskRow(t task, now time.Time, noTrunc bool) taskRow {
	state, since, errMsg := taskState(t)
	if errMsg != "" {
		if !noTrunc && len(errMsg) > 30 {
			errMsg = errMsg[:29] + "…"
		}
		errMsg = fmt.Sprintf("%q", errMsg)
	}
	current := title(state)
	if !since.IsZero() {
		current += " " + strings.ToLower(humanDuration(now.Sub(since))) + " ago"
	}
	image := taskImage(t.pod)
	if !noTrunc {
		if i := strings.Index(image, "@"); i >= 0 {
			image = image[:i]
		}
	}
	return taskRow{
		ID: shortID(string(t.pod.UID), noTrunc), Name: t.displayName(), Image: image, Node: taskNode(t.pod),
		DesiredState: desiredState(t), CurrentState: current, Error: errMsg, Ports: taskPorts(t.pod),
	}
}
