// Package tasks reads Swarm's view of a task off its pod: docker's task state, the image and the
// node. The plugin (docker service ps) and the visualizer both use it, so they tell the same
// story.
package tasks

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// Image is the image of the task's container.
func Image(p *corev1.Pod) string {
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

// Node is the node a task runs on, or is meant for: a DaemonSet (or global-job) pod names its
// node in its affinity (a metadata.name field selector) before it is bound. "" when neither.
func Node(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
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

// State is the task's state in Swarm's words (new … running, complete, shutdown, failed,
// rejected, as docker service ps shows it), the time it entered it, and its error.
func State(p *corev1.Pod) (state string, since time.Time, errMsg string) {
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
		if term == nil || term.ExitCode == 0 {
			return ""
		}
		return fmt.Sprintf("task: non-zero exit (%d)", term.ExitCode)
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
		if msg == "" {
			msg = p.Status.Reason
		}
		return "failed", since, msg
	case corev1.PodUnknown:
		return "unknown", since, p.Status.Message
	}
	if p.Spec.NodeName == "" {
		if m := update.WaitingMessage(p); m != "" {
			return "pending", since, "no suitable node (" + m + ")"
		}
		// A task held by kubeswarm (update.Gate) waits its turn, it lacks no node.
		if msg, ok := update.NoNodeMessage(p); ok {
			return "pending", since, "no suitable node (" + msg + ")"
		}
		return "pending", since, ""
	}
	switch {
	case cs == nil || (cs.State.Running == nil && cs.State.Waiting == nil && cs.State.Terminated == nil):
		// No container state yet: the pod's phase and Ready condition say what there is.
		if p.Status.Phase != corev1.PodRunning {
			return "assigned", since, ""
		}
		if podReady(p) {
			return "running", since, ""
		}
		return "starting", since, ""
	case cs.State.Running != nil:
		since = cs.State.Running.StartedAt.Time
		if cs.Ready || podReady(p) {
			return "running", since, ""
		}
		return "starting", since, ""
	case cs.State.Waiting != nil:
		w := cs.State.Waiting
		msg := w.Reason
		if w.Message != "" {
			msg += ": " + w.Message
		}
		switch w.Reason {
		case "ContainerCreating", "PodInitializing", "":
			// An init container (the one that installs owned secrets) that cannot run is the
			// task's reason.
			if state, msg := initFailure(p); state != "" {
				return state, since, msg
			}
			return "preparing", since, ""
		case "CrashLoopBackOff":
			if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 {
				return "failed", t.FinishedAt.Time, exitErr(t)
			}
			return "failed", since, msg
		}
		return "rejected", since, msg + pullAuthHint(w)
	default:
		return "failed", cs.State.Terminated.FinishedAt.Time, exitErr(cs.State.Terminated)
	}
}

// podReady tells whether the pod's Ready condition is True (a task has one container).
func podReady(p *corev1.Pod) bool {
	c := update.ReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// initFailure is the state and error of a task whose init container cannot run: rejected when it
// cannot start (its image, its config), failed when it exits non-zero; "" while all is well.
func initFailure(p *corev1.Pod) (state, msg string) {
	for _, cs := range p.Status.InitContainerStatuses {
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			return "failed", fmt.Sprintf("%s: non-zero exit (%d)", cs.Name, cs.State.Terminated.ExitCode)
		case cs.State.Waiting == nil:
		case cs.State.Waiting.Reason == "CrashLoopBackOff":
			if t := cs.LastTerminationState.Terminated; t != nil {
				return "failed", fmt.Sprintf("%s: non-zero exit (%d)", cs.Name, t.ExitCode)
			}
			return "failed", cs.Name + ": " + cs.State.Waiting.Reason
		case cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing" && cs.State.Waiting.Reason != "ContainerCreating":
			msg := cs.Name + ": " + cs.State.Waiting.Reason
			if cs.State.Waiting.Message != "" {
				msg += ": " + cs.State.Waiting.Message
			}
			return "rejected", msg
		}
	}
	return "", ""
}

// pullAuthHint is said after a pull that the registry refused for want of credentials: docker's
// --with-registry-auth gives the tasks the client's (spec.registryAuthSecret).
func pullAuthHint(w *corev1.ContainerStateWaiting) string {
	if w.Reason != "ErrImagePull" && w.Reason != "ImagePullBackOff" {
		return ""
	}
	m := strings.ToLower(w.Message)
	for _, s := range []string{"401 unauthorized", "unauthorized", "authorization failed", "no basic auth credentials", "authentication required"} {
		if strings.Contains(m, s) {
			return " (the registry wants credentials: deploy with --with-registry-auth after docker login)"
		}
	}
	return ""
}
