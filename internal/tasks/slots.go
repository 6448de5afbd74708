package tasks

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// IsTask tells whether a pod is a kubeswarm task: a pod of a kubeswarm service, finished ones
// included (a job's tasks show as complete), except the held stand-in of a task that stays
// stopped (update.StandIn), which Swarm would not have made.
func IsTask(p *corev1.Pod) bool {
	return p.Labels[translate.LabelService] != "" && p.Labels[translate.LabelManagedBy] == translate.ManagedByValue && !update.StandIn(p)
}

// Ordered are a service's tasks as `service ps` and the docker API list them: its pods but the
// held stand-ins of tasks that stay stopped, oldest first, with their slots (AssignSlots; none
// for a global service, whose tasks are named by node).
func Ordered(pods []corev1.Pod, global bool) ([]corev1.Pod, Slots) {
	out := make([]corev1.Pod, 0, len(pods))
	for i := range pods {
		if !update.StandIn(&pods[i]) {
			out = append(out, pods[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].CreationTimestamp, out[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return out[i].Name < out[j].Name
	})
	if global {
		return out, nil
	}
	ptrs := make([]*corev1.Pod, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, AssignSlots(ptrs, nil)
}

// Key is a task's key in Slots: namespace/pod.
func Key(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// Slots maps tasks (by Key) to their slots.
type Slots map[string]int

// AssignSlots gives each replicated task a slot, Swarm's task number within its service: the
// one rule of `service ps` and the visualizer. A per-slot service's task (a StatefulSet's pod)
// has its slot: its ordinal (Ordinal). As in Swarm, a task keeps the slot it had in prev
// (the visualizer's previous build; `service ps`, run once, has none). The others, oldest first, take the lowest free slots of their service, so that a
// replacement takes the slot its predecessor left. A task that is over (being deleted, or
// finished in a long-running service) keeps its slot but does not hold it: its replacement
// shows the same number, and docker service ps shows the old task shut down in that slot. Tasks
// that are over and had no slot yet number after the others.
func AssignSlots(pods []*corev1.Pod, prev Slots) Slots {
	type key struct{ ns, svc string }
	byService := map[key][]*corev1.Pod{}
	for _, p := range pods {
		k := key{p.Namespace, p.Labels[translate.LabelService]}
		byService[k] = append(byService[k], p)
	}
	known := func(p *corev1.Pod) int {
		if n := Ordinal(p); n > 0 {
			return n
		}
		return prev[Key(p)]
	}
	out := Slots{}
	for _, ps := range byService {
		slices.SortFunc(ps, func(a, b *corev1.Pod) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		held := map[int]bool{}
		// A replicated job's tasks have their slots (JobSlot).
		for _, p := range ps {
			if s, ok := JobSlot(p); ok {
				out[Key(p)] = s
			}
		}
		// Live tasks first, so that a task that is over never blocks its own replacement.
		for _, p := range ps {
			if _, ok := out[Key(p)]; ok {
				continue
			}
			if s := known(p); s > 0 && !over(p) && !held[s] {
				held[s] = true
				out[Key(p)] = s
			}
		}
		var fresh []*corev1.Pod
		for _, p := range ps {
			if _, ok := out[Key(p)]; ok {
				continue
			}
			if s := known(p); s > 0 && over(p) {
				out[Key(p)] = s
				continue
			}
			fresh = append(fresh, p)
		}
		slices.SortStableFunc(fresh, func(a, b *corev1.Pod) int { return cmp.Compare(boolInt(over(a)), boolInt(over(b))) })
		next := 1
		for _, p := range fresh {
			for held[next] {
				next++
			}
			held[next] = true
			out[Key(p)] = next
		}
	}
	return out
}

// Ordinal is the slot of a per-slot service's task: its StatefulSet's ordinal (the pod's
// apps.kubernetes.io/pod-index label; the ordinals start at 1, objects.statefulSet); 0 for any
// other task.
func Ordinal(p *corev1.Pod) int {
	c := metav1.GetControllerOfNoCopy(p)
	if c == nil || c.Kind != "StatefulSet" {
		return 0
	}
	n, err := strconv.Atoi(p.Labels[appsv1.PodIndexLabel])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// over tells whether a task no longer holds its slot: it is being deleted, or it finished and is
// not a job's (a job's finished tasks are its completions).
func over(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return true
	}
	if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		return false
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "Job" {
			return false
		}
	}
	return true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
