package cli

import (
	"context"
	"fmt"
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
// Slots: Kubernetes pods of a Deployment have no slot, so kubeswarm numbers a service's current
// tasks (pods neither terminating nor finished) 1…N in the order they were created (then by
// name): `web.1` is the oldest running task. Tasks of a job are numbered over all its pods the
// same way. Terminating and failed pods of long-running services are shown as history lines,
// `\_ web`, after the current ones. Global tasks are named `svc.<node>`.
type task struct {
	pod     *corev1.Pod
	service *swarmv1.Service
	slot    int
	history bool
}

func (t task) name() string {
	if t.service.Spec.Mode.IsGlobal() {
		return t.service.Name + "." + taskNode(t.pod)
	}
	if t.history {
		return t.service.Name
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

func taskNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	// A DaemonSet's pod names its node in its affinity before it is bound.
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == "metadata.name" && len(f.Values) == 1 {
					return f.Values[0]
				}
			}
		}
	}
	return ""
}

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
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i].CreationTimestamp, pods[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return pods[i].Name < pods[j].Name
	})
	var current, history []task
	job := svc.Spec.Mode.IsJob()
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || (!job && podFinished(p)) {
			history = append(history, task{pod: p, service: svc, history: true})
			continue
		}
		current = append(current, task{pod: p, service: svc, slot: len(current) + 1})
	}
	if svc.Spec.Mode.IsGlobal() {
		sort.SliceStable(current, func(i, j int) bool { return naturalLess(taskNode(current[i].pod), taskNode(current[j].pod)) })
	}
	// History: newest first, as docker lists older tasks of a slot.
	sort.SliceStable(history, func(i, j int) bool {
		a, b := history[i].pod.CreationTimestamp, history[j].pod.CreationTimestamp
		return b.Before(&a)
	})
	return append(current, history...)
}

// taskState is a task's state in Swarm's words, the time it entered it and its error.
func taskState(t task) (state string, since time.Time, errMsg string) {
	p := t.pod
	since = p.CreationTimestamp.Time
	if p.DeletionTimestamp != nil {
		return "shutdown", p.DeletionTimestamp.Time, ""
	}
	var cs *corev1.ContainerStatus
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == translate.ContainerName || cs == nil {
			cs = &p.Status.ContainerStatuses[i]
		}
	}
	exitErr := func(term *corev1.ContainerStateTerminated) string {
		if term == nil {
			return ""
		}
		if term.ExitCode != 0 {
			return fmt.Sprintf("task: non-zero exit (%d)", term.ExitCode)
		}
		return ""
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		if cs != nil && cs.State.Terminated != nil {
			since = cs.State.Terminated.FinishedAt.Time
		}
		return "complete", since, ""
	case corev1.PodFailed:
		msg := p.Status.Message
		if cs != nil && cs.State.Terminated != nil {
			since = cs.State.Terminated.FinishedAt.Time
			if e := exitErr(cs.State.Terminated); e != "" {
				msg = e
			}
		}
		return "failed", since, msg
	}
	if p.Spec.NodeName == "" {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return "pending", since, "no suitable node (" + c.Message + ")"
			}
		}
		return "pending", since, ""
	}
	if cs == nil {
		return "assigned", since, ""
	}
	switch {
	case cs.State.Running != nil:
		since = cs.State.Running.StartedAt.Time
		if cs.Ready {
			return "running", since, ""
		}
		return "starting", since, ""
	case cs.State.Waiting != nil:
		w := cs.State.Waiting
		switch w.Reason {
		case "ContainerCreating", "PodInitializing", "":
			return "preparing", since, ""
		case "CrashLoopBackOff":
			if cs.LastTerminationState.Terminated != nil {
				since = cs.LastTerminationState.Terminated.FinishedAt.Time
				return "failed", since, exitErr(cs.LastTerminationState.Terminated)
			}
			return "failed", since, w.Reason
		}
		msg := w.Reason
		if w.Message != "" {
			msg += ": " + w.Message
		}
		return "rejected", since, msg
	case cs.State.Terminated != nil:
		return "failed", cs.State.Terminated.FinishedAt.Time, exitErr(cs.State.Terminated)
	}
	return "assigned", since, ""
}

func desiredState(t task) string {
	switch {
	case t.history || t.pod.DeletionTimestamp != nil:
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

func taskImage(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name == translate.ContainerName {
			return c.Image
		}
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Image
	}
	return ""
}

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
