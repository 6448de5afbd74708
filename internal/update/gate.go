package update

import (
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Gate is the scheduling gate on every task of a replicated service: the scheduler leaves a task
// alone until the Service controller lets it go (Admit, Release). Two Swarm rules that a
// Deployment cannot keep by itself are kept there:
//   - stop-first never runs the old and the new task of a slot at once. A Deployment does not
//     count a terminating pod (its process may still run for its grace period), so with
//     maxSurge 0 it starts the new pod while the old one stops; Kubernetes v1.37 has no
//     Deployment field to wait (KEP-3973 gave only status.terminatingReplicas; the policy is
//     KEP-5882, not in any release). A held task goes only when fewer tasks than the service's
//     replicas are alive, terminating ones included.
//   - maxReplicasPerNode N > 1 caps N tasks per node (swarmkit manager/scheduler/filter.go,
//     MaxReplicasFilter). No scheduling rule counts to N; a held task goes with a node affinity
//     that leaves out the nodes that already hold N, one task at a time, so that two tasks
//     cannot take a node's last place together.
//   - restart condition none or on-failure leaves a slot empty once its task has ended (any
//     exit, or exit 0), and so does Swarm until the service is updated (swarmkit
//     manager/orchestrator/restart/restart.go: Restart shuts the task down and, when
//     shouldRestart says no, makes none in its place). The kubelet does not start the ended
//     container again (the container's own restartPolicy, translate), but its ReplicaSet makes
//     a new pod for the ended one: that pod stays held (StaysStopped) as long as the ended task
//     is there.
const Gate = "swarm.kubeswarm.io/admission"

// MaxReplicasMessage is swarmkit's explanation for a task that no node can take because each
// holds maxReplicasPerNode tasks of the service (MaxReplicasFilter.Explain).
const MaxReplicasMessage = "max replicas per node limit exceed"

// AnnotationWaiting is on a held task that waits for a reason of Swarm's scheduler (its value,
// MaxReplicasMessage): `service ps` shows it as docker does, "no suitable node (…)".
const AnnotationWaiting = "swarm.kubeswarm.io/waiting"

// AnnotationStopped is on a held task that stands for a task that ended and that Swarm's restart
// condition leaves stopped (its value says which condition): it is never let go, and it is no
// task of the service's (`service ps`, the visualizer and the counts leave it out).
const AnnotationStopped = "swarm.kubeswarm.io/stays-stopped"

// StandIn tells whether a task is the held stand-in of a task that stays stopped.
func StandIn(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[AnnotationStopped]
	return ok && Held(pod)
}

// StaysStopped tells whether a task that ended stays stopped under restart condition c, as
// swarmkit's restart supervisor decides (restart.go, shouldRestart): none restarts nothing,
// on-failure restarts what failed, any (the default) everything. A task evicted or lost with
// its node is no ending of the task's own: its slot is filled again.
func StaysStopped(pod *corev1.Pod, c swarmv1.RestartCondition) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return c == swarmv1.RestartNone || c == swarmv1.RestartOnFailure
	case corev1.PodFailed:
		return c == swarmv1.RestartNone && pod.Status.Reason == ""
	}
	return false
}

// Held tells whether a task waits behind Gate.
func Held(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == Gate })
}

// AdmitRules are what decides which held tasks of a service go.
type AdmitRules struct {
	// Replicas is the number of tasks the service runs.
	Replicas int32
	// StopFirst: the update order in force is stop-first.
	StopFirst bool
	// MaxPerNode is placement.maxReplicasPerNode when above 1 (1 is the scheduler's own pod
	// anti-affinity), else 0.
	MaxPerNode int32
	// Down tells whether a node is down (marked down, or not ready): a task terminating there
	// no longer counts, as Swarm counts no task on a down node.
	Down func(node string) bool
	// Restart is the service's restart condition ("" is any).
	Restart swarmv1.RestartCondition
}

// Admission is which held tasks go now.
type Admission struct {
	// Release are the held tasks to let go, oldest first.
	Release []*corev1.Pod
	// AvoidNodes are the nodes the released tasks must not go to (they hold MaxPerNode tasks).
	AvoidNodes []string
	// Retry are released tasks that no node took while some node they avoid has room again:
	// they are to be deleted, so that their replacements are admitted afresh (a released
	// task's node affinity can no longer change).
	Retry []*corev1.Pod
	// Waiting says why the tasks still held or unplaced wait for a node, in Swarm's words (""
	// when none waits for a reason of Swarm's scheduler).
	Waiting string
	// StandIns are the held tasks that stand for ended tasks that stay stopped (Restart): they
	// stay held, marked with AnnotationStopped.
	StandIns []*corev1.Pod
}

// WaitingMessage is the message a task waits with (AnnotationWaiting on a held task, or a
// released one that no node takes while it avoids full nodes), "" when none.
func WaitingMessage(pod *corev1.Pod) string {
	if Held(pod) {
		return pod.Annotations[AnnotationWaiting]
	}
	if pod.Spec.NodeName == "" && unschedulable(pod) && len(avoidedNodes(pod)) > 0 {
		return MaxReplicasMessage
	}
	return ""
}

// NoNodeMessage is the scheduler's word on a task it did not place (PodScheduled False), ""
// when it said none or the task only waits behind a scheduling gate (it lacks no node: the
// scheduler's "blocked due to non-empty scheduling gates" stays a moment after Release).
func NoNodeMessage(pod *corev1.Pod) (string, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != corev1.PodReasonSchedulingGated {
			return c.Message, true
		}
	}
	return "", false
}

// Admit decides which held tasks among pods (the service's tasks) go now.
func Admit(pods []corev1.Pod, r AdmitRules) Admission {
	var held, inFlight []*corev1.Pod
	alive := int32(0)
	perNode := map[string]int32{}
	// stopped counts, per ReplicaSet (pod-template-hash), the ended tasks that stay stopped: the
	// ReplicaSet made a pod in place of each. A StatefulSet's pods have no such label: it
	// replaces an ended pod by deleting it first (translate reports it), so none stands in.
	stopped := map[string]int{}
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			if !ofStatefulSet(p) && p.DeletionTimestamp == nil && StaysStopped(p, r.Restart) {
				stopped[p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]]++
			}
			continue
		}
		switch {
		case Held(p):
			if p.DeletionTimestamp == nil {
				held = append(held, p)
			}
		case p.DeletionTimestamp != nil:
			// A stopping task runs until its process is gone, unless its node is down.
			if p.Spec.NodeName != "" && (r.Down == nil || !r.Down(p.Spec.NodeName)) {
				alive++
			}
		default:
			alive++
			if p.Spec.NodeName == "" {
				inFlight = append(inFlight, p)
			} else {
				perNode[p.Spec.NodeName]++
			}
		}
	}
	sort.Slice(held, func(i, j int) bool { return olderThan(held[i], held[j]) })

	var a Admission
	if len(stopped) > 0 {
		// The newest held tasks of each ReplicaSet stand in for its ended ones.
		var rest []*corev1.Pod
		for i := len(held) - 1; i >= 0; i-- {
			p := held[i]
			if h := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; stopped[h] > 0 {
				stopped[h]--
				a.StandIns = append(a.StandIns, p)
				continue
			}
			rest = append([]*corev1.Pod{p}, rest...)
		}
		held = rest
	}

	budget := int32(len(held))
	if r.StopFirst {
		budget = max(0, r.Replicas-alive)
	}
	if r.MaxPerNode > 1 {
		for n, c := range perNode {
			if c >= r.MaxPerNode {
				a.AvoidNodes = append(a.AvoidNodes, n)
			}
		}
		sort.Strings(a.AvoidNodes)
		for _, p := range inFlight {
			avoided := avoidedNodes(p)
			if !unschedulable(p) || len(avoided) == 0 {
				continue
			}
			if slices.ContainsFunc(avoided, func(n string) bool { return perNode[n] < r.MaxPerNode }) {
				a.Retry = append(a.Retry, p)
			} else {
				a.Waiting = MaxReplicasMessage
			}
		}
		// One task in flight at a time: the next one's nodes to avoid depend on where it goes.
		if len(inFlight) > 0 {
			budget = 0
		}
		budget = min(budget, 1)
	}
	a.Release = held[:min(int(budget), len(held))]
	return a
}

// ofStatefulSet tells whether a task is a StatefulSet's (a per-slot service's).
func ofStatefulSet(p *corev1.Pod) bool {
	c := metav1.GetControllerOfNoCopy(p)
	return c != nil && c.Kind == "StatefulSet"
}

func olderThan(a, b *corev1.Pod) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// avoidedNodes are the nodes a released task was told to avoid (Release put the same
// requirements in every term, so the first one tells).
func avoidedNodes(p *corev1.Pod) []string {
	if p.Spec.Affinity == nil || p.Spec.Affinity.NodeAffinity == nil || p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return nil
	}
	var out []string
	for _, f := range terms[0].MatchFields {
		if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpNotIn {
			out = append(out, f.Values...)
		}
	}
	return out
}

// Release lets a held task go: it removes Gate and, when avoid is not empty, adds to the task's
// node affinity that it must not go to those nodes (what a gated pod's spec may still take:
// more requirements in each term; a node-name requirement takes one value, so one each).
func Release(pod *corev1.Pod, avoid []string) {
	pod.Spec.SchedulingGates = slices.DeleteFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == Gate })
	if len(pod.Spec.SchedulingGates) == 0 {
		pod.Spec.SchedulingGates = nil
	}
	if len(avoid) == 0 {
		return
	}
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{}}}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		for _, n := range avoid {
			terms[i].MatchFields = append(terms[i].MatchFields,
				corev1.NodeSelectorRequirement{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpNotIn, Values: []string{n}})
		}
	}
}
