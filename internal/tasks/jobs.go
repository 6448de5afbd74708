package tasks

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// JobSlot is the slot of a replicated job's task: its completion index (objects.jobs makes the
// Job Indexed), 0 to replicas-1, as swarmkit numbers a replicated job's slots
// (manager/orchestrator/jobs/replicated/reconciler.go); a retry keeps its task's index, as
// swarmkit's keeps its slot. ok is false for other pods (a global job's, or a Job made before
// Jobs were Indexed), which AssignSlots numbers by age.
func JobSlot(p *corev1.Pod) (slot int, ok bool) {
	v, found := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !found {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}

// Retried tells which of a service's job tasks failed and were retried: a newer task has their
// slot (JobSlot). swarmkit shuts such a task down (its desired state) when it starts the retry
// (manager/orchestrator/restart/restart.go, Restart), so `service ps` lists it as its slot's
// history.
func Retried(pods []corev1.Pod) map[string]bool {
	newest := map[int]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		if s, ok := JobSlot(p); ok {
			if n := newest[s]; n == nil || n.CreationTimestamp.Before(&p.CreationTimestamp) ||
				(n.CreationTimestamp.Equal(&p.CreationTimestamp) && n.Name < p.Name) {
				newest[s] = p
			}
		}
	}
	out := map[string]bool{}
	for i := range pods {
		p := &pods[i]
		if s, ok := JobSlot(p); ok && p.Status.Phase == corev1.PodFailed && newest[s] != p {
			out[Key(p)] = true
		}
	}
	return out
}
