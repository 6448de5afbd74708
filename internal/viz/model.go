// Package viz is kubeswarm's visualizer, the Swarm visualizer (dockersamples/visualizer) for
// Kubernetes: a web page with a column per node and a card per task, coloured by service, kept
// live through server-sent events fed by informers.
//
// This file is the model: pure functions that turn Kubernetes nodes, kubeswarm's Node objects and
// task pods into what the page shows, and the deltas between two such views. No client, no
// context, deterministic output.
package viz

import (
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Node is a column of the page: what docker node ls shows of a node.
type Node struct {
	// Name is the Kubernetes node's name (the column's key).
	Name string `json:"name"`
	// Hostname as docker node ls shows it.
	Hostname string `json:"hostname"`
	// Role is manager or worker.
	Role string `json:"role"`
	// ManagerStatus is Leader, Reachable or Unreachable for managers.
	ManagerStatus string `json:"managerStatus,omitempty"`
	// Availability is active, pause or drain, as applied to the node.
	Availability string `json:"availability"`
	// State is Ready, Down or Unknown.
	State string `json:"state"`
	// Addr is the node's address.
	Addr string `json:"addr,omitempty"`
}

// Task is a card: one pod of a kubeswarm service.
type Task struct {
	// ID is namespace/pod (the card's key).
	ID string `json:"id"`
	// Namespace and Stack are what the page filters by.
	Namespace string `json:"namespace"`
	Stack     string `json:"stack,omitempty"`
	// Service is the kubeswarm Service's name.
	Service string `json:"service"`
	// Name is docker's task name without the ID: service.slot for replicated tasks,
	// service.node for global ones.
	Name string `json:"name"`
	// Slot is the task's slot (replicated services; 0 for global ones).
	Slot int `json:"slot,omitempty"`
	// Pod is the pod's name.
	Pod string `json:"pod"`
	// Node is the node the task is on; empty while it waits for one.
	Node string `json:"node,omitempty"`
	// Image is the task's image, Tag the part the card shows (tag, or a short digest).
	Image string `json:"image"`
	Tag   string `json:"tag"`
	// State is docker's task state: pending, assigned, preparing, starting, running, complete,
	// failed, shutdown, unknown.
	State string `json:"state"`
	// Message says why a task is not running (a container's waiting reason, the scheduler's
	// reason), when there is one.
	Message string `json:"message,omitempty"`
	// Created is when the pod was made; the page shows the age.
	Created time.Time `json:"created"`
	// Hue (0-359) and Tone (0 bright, 1 dark) are the service's colour, the same for every task
	// of a service name.
	Hue  int `json:"hue"`
	Tone int `json:"tone"`
}

// View is everything the page shows: the JSON snapshot.
type View struct {
	// Version counts the changes the server has seen; each delta moves it by one.
	Version uint64 `json:"version"`
	// Now is the server's time, so that the page computes ages without trusting its own clock.
	Now   time.Time `json:"now"`
	Nodes []Node    `json:"nodes"`
	Tasks []Task    `json:"tasks"`
}

// Delta turns one View into the next: nodes and tasks added or changed, and keys removed.
type Delta struct {
	// Version is the View's version after the delta; the page applies it only on top of
	// Version-1 and reloads otherwise.
	Version      uint64    `json:"version"`
	Now          time.Time `json:"now"`
	Nodes        []Node    `json:"nodes,omitempty"`
	RemovedNodes []string  `json:"removedNodes,omitempty"`
	Tasks        []Task    `json:"tasks,omitempty"`
	RemovedTasks []string  `json:"removedTasks,omitempty"`
}

// Empty tells whether the delta changes nothing.
func (d *Delta) Empty() bool {
	return len(d.Nodes) == 0 && len(d.RemovedNodes) == 0 && len(d.Tasks) == 0 && len(d.RemovedTasks) == 0
}

// Slots remembers the slot of each task (by ID) between two builds (tasks.AssignSlots), for the
// tasks whose pods carry none yet.
type Slots = tasks.Slots

// Build turns the cluster's state into the view. Kubernetes nodes and kubeswarm Nodes are joined
// by name (a kubeswarm Node tells role, availability and state as docker node ls does; without one,
// they are read off the Kubernetes node). Pods that are not kubeswarm tasks are left out. prev
// holds the slots of the previous build; the slots of this one are returned. Nodes come sorted
// managers first then by name (numbers in names compare as numbers), tasks by ID.
func Build(now time.Time, kubeNodes []*corev1.Node, swarmNodes []*swarmv1.Node, pods []*corev1.Pod, prev Slots) (View, Slots) {
	v := View{Now: now, Nodes: BuildNodes(kubeNodes, swarmNodes)}
	type item struct {
		id string
		p  *corev1.Pod
	}
	var replicated []*corev1.Pod
	items := make([]item, 0, len(pods))
	for _, p := range pods {
		if !tasks.IsTask(p) {
			continue
		}
		items = append(items, item{taskID(p), p})
		if global(p) == "" {
			replicated = append(replicated, p)
		}
	}
	slots := tasks.AssignSlots(replicated, prev)
	// Sorting the pods rather than the (bigger) tasks.
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.id, b.id) })
	v.Tasks = make([]Task, len(items))
	for i, it := range items {
		v.Tasks[i] = TaskOf(it.p, slots[it.id])
	}
	return v, slots
}

// BuildNodes joins Kubernetes nodes and kubeswarm Nodes by name into columns.
func BuildNodes(kubeNodes []*corev1.Node, swarmNodes []*swarmv1.Node) []Node {
	byName := map[string]*swarmv1.Node{}
	for _, sn := range swarmNodes {
		byName[sn.Name] = sn
	}
	out := make([]Node, 0, len(kubeNodes))
	seen := map[string]bool{}
	for _, kn := range kubeNodes {
		seen[kn.Name] = true
		out = append(out, NodeOf(kn, byName[kn.Name]))
	}
	for _, sn := range swarmNodes {
		if !seen[sn.Name] {
			// A Node whose Kubernetes node is gone (it is about to be deleted too).
			out = append(out, NodeOf(nil, sn))
		}
	}
	slices.SortFunc(out, compareNodes)
	return out
}

// NodeOf is a node's column. Either argument may be nil (not both).
func NodeOf(kn *corev1.Node, sn *swarmv1.Node) Node {
	var n Node
	if kn != nil {
		n = Node{
			Name:         kn.Name,
			Hostname:     nodes.Hostname(kn),
			Role:         string(swarmv1.RoleWorker),
			Availability: string(nodes.AppliedAvailability(kn.Spec.Taints)),
			State:        string(nodes.State(kn)),
			Addr:         nodes.Addr(kn),
		}
		if r := kn.Labels[translate.NodeLabelRole]; r != "" {
			n.Role = r
		}
	} else {
		n = Node{Name: sn.Name, Hostname: sn.Name, Role: string(nodes.Role(sn)), Availability: string(nodes.Availability(sn)),
			State: string(swarmv1.NodeDown)}
	}
	if sn == nil {
		return n
	}
	st := sn.Status
	if st.Hostname != "" {
		n.Hostname = st.Hostname
	}
	if st.Addr != "" {
		n.Addr = st.Addr
	}
	if st.State != "" && kn != nil {
		n.State = string(st.State)
	}
	// Role and availability as asked (docker node ls shows the spec too): a drain shows at once,
	// before the Node controller has tainted the node.
	n.Role = string(nodes.Role(sn))
	n.Availability = string(nodes.Availability(sn))
	n.ManagerStatus = string(st.ManagerStatus)
	if n.Role != string(swarmv1.RoleManager) {
		n.ManagerStatus = ""
	}
	return n
}

func compareNodes(a, b Node) int {
	am, bm := a.Role == string(swarmv1.RoleManager), b.Role == string(swarmv1.RoleManager)
	if am != bm {
		if am {
			return -1
		}
		return 1
	}
	if c := sortorder.Compare(a.Hostname, b.Hostname); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func taskID(p *corev1.Pod) string { return tasks.Key(p) }

// global is the node a global service's task belongs to ("" for replicated tasks): a
// DaemonSet's pod, or the pod of a global job's per-node Job.
func global(p *corev1.Pod) string {
	if n := p.Labels[translate.LabelNode]; n != "" {
		return n
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			if p.Spec.NodeName != "" {
				return p.Spec.NodeName
			}
			return nodeOfDaemonPod(p)
		}
	}
	return ""
}

// nodeOfDaemonPod is the node a DaemonSet pod is meant for, "?" when it cannot be told.
func nodeOfDaemonPod(p *corev1.Pod) string {
	if n := tasks.Node(p); n != "" {
		return n
	}
	return "?"
}

// TaskOf is a pod's card, with its slot (0 for global services).
func TaskOf(p *corev1.Pod, slot int) Task {
	svc := p.Labels[translate.LabelService]
	t := Task{
		ID:        taskID(p),
		Namespace: p.Namespace,
		Stack:     p.Labels[translate.LabelStack],
		Service:   svc,
		Pod:       p.Name,
		Node:      p.Spec.NodeName,
		Created:   p.CreationTimestamp.UTC(),
	}
	t.Hue, t.Tone = Colour(svc)
	if n := global(p); n != "" {
		t.Name = svc + "." + n
	} else {
		t.Slot = slot
		t.Name = svc + "." + strconv.Itoa(slot)
		if _, job := tasks.JobSlot(p); job && slot == 0 {
			t.Name = svc + "." + p.Spec.NodeName // docker names a task of slot 0 by its node, as `service ps`
		}
	}
	t.Image = taskImage(p)
	t.Tag = ImageTag(t.Image)
	t.State, t.Message = TaskState(p)
	return t
}

func taskImage(p *corev1.Pod) string { return tasks.Image(p) }

// ImageTag is the part of an image reference a card shows: its tag ("latest" when there is
// none), or the first 12 hex digits of its digest.
func ImageTag(image string) string {
	if name, digest, ok := strings.Cut(image, "@"); ok {
		_, hex, _ := strings.Cut(digest, ":")
		if len(hex) > 12 {
			hex = hex[:12]
		}
		if tag := ImageTag(name); tag != "latest" {
			return tag + "@" + hex
		}
		return "@" + hex
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if _, tag, ok := strings.Cut(last, ":"); ok && tag != "" {
		return tag
	}
	return "latest"
}

// TaskState is docker's state of a task (as docker service ps shows it) and why it is not
// running, read off its pod.
func TaskState(p *corev1.Pod) (state, message string) {
	state, _, message = tasks.State(p)
	return state, message
}

// Colour is a service's colour on the page, hashed from its name so that a service keeps it
// across reloads, browsers and clusters: one of 24 (12 hues 30 degrees apart, bright or dark).
// Two services either share a colour or look clearly different, which close hues would not.
func Colour(service string) (hue, tone int) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(service))
	i := h.Sum32() % 24
	return int(i%12)*30 + 8, int(i / 12)
}

// Diff is the delta from old to updated (updated's version and time): the nodes and tasks that
// are new or changed, and the keys of those that are gone. Both views' lists are sorted as
// Build sorts them; the result is in that order too.
func Diff(old, updated *View) Delta {
	d := Delta{Version: updated.Version, Now: updated.Now}
	oldNodes := make(map[string]*Node, len(old.Nodes))
	for i := range old.Nodes {
		oldNodes[old.Nodes[i].Name] = &old.Nodes[i]
	}
	newNodes := make(map[string]bool, len(updated.Nodes))
	for _, n := range updated.Nodes {
		newNodes[n.Name] = true
		if o, ok := oldNodes[n.Name]; !ok || *o != n {
			d.Nodes = append(d.Nodes, n)
		}
	}
	for _, n := range old.Nodes {
		if !newNodes[n.Name] {
			d.RemovedNodes = append(d.RemovedNodes, n.Name)
		}
	}
	// Tasks are sorted by ID: a merge walk.
	i, j := 0, 0
	for i < len(old.Tasks) || j < len(updated.Tasks) {
		switch {
		case j == len(updated.Tasks) || (i < len(old.Tasks) && old.Tasks[i].ID < updated.Tasks[j].ID):
			d.RemovedTasks = append(d.RemovedTasks, old.Tasks[i].ID)
			i++
		case i == len(old.Tasks) || updated.Tasks[j].ID < old.Tasks[i].ID:
			d.Tasks = append(d.Tasks, updated.Tasks[j])
			j++
		default:
			if !sameTask(&old.Tasks[i], &updated.Tasks[j]) {
				d.Tasks = append(d.Tasks, updated.Tasks[j])
			}
			i++
			j++
		}
	}
	return d
}

func sameTask(a, b *Task) bool {
	return a.ID == b.ID && a.Namespace == b.Namespace && a.Stack == b.Stack && a.Service == b.Service && a.Name == b.Name &&
		a.Slot == b.Slot && a.Pod == b.Pod && a.Node == b.Node && a.Image == b.Image && a.Tag == b.Tag && a.State == b.State &&
		a.Message == b.Message && a.Created.Equal(b.Created) && a.Hue == b.Hue && a.Tone == b.Tone
}

// Apply is Diff's inverse, for tests and for the page's logic written in Go: the view after d.
func Apply(v View, d Delta) View {
	out := View{Version: d.Version, Now: d.Now}
	nodes := map[string]Node{}
	for _, n := range v.Nodes {
		nodes[n.Name] = n
	}
	for _, n := range d.RemovedNodes {
		delete(nodes, n)
	}
	for _, n := range d.Nodes {
		nodes[n.Name] = n
	}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, n)
	}
	slices.SortFunc(out.Nodes, compareNodes)
	tasks := map[string]Task{}
	for _, t := range v.Tasks {
		tasks[t.ID] = t
	}
	for _, id := range d.RemovedTasks {
		delete(tasks, id)
	}
	for _, t := range d.Tasks {
		tasks[t.ID] = t
	}
	out.Tasks = make([]Task, 0, len(tasks))
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, t)
	}
	slices.SortFunc(out.Tasks, func(a, b Task) int { return strings.Compare(a.ID, b.ID) })
	return out
}
