// Package nodes computes what kubeswarm's Node controller writes: the labels and the
// availability taint of a Kubernetes node, and the Swarm status of a Node. Every function here is
// pure: no client, no context, deterministic output, so that the controller can compare what it
// wants with what exists and write nothing when they agree.
package nodes

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

const (
	// TaintAvailability is the key of the taint that realises a paused or drained node. It is
	// kubeswarm's own: tasks tolerate only the control-plane taint and a short not-ready /
	// unreachable one, and DaemonSet pods do not tolerate it either, so a drain evicts global
	// tasks too, as in Swarm.
	TaintAvailability = "swarm.kubeswarm.io/availability"

	// ReservedPrefix is the label prefix kubeswarm keeps for itself; spec.labels may not use it.
	ReservedPrefix = "swarm.kubeswarm.io/"

	// DefaultManagerSelector picks the nodes whose Node starts as a manager: control-plane nodes
	// (the label kubeadm, kind and the local cluster put on them).
	DefaultManagerSelector = "node-role.kubernetes.io/control-plane"
)

// AvailabilityTaint is the taint that realises an availability, nil for active: pause is a
// NoSchedule taint (running tasks stay), drain a NoExecute taint (every task leaves).
func AvailabilityTaint(a swarmv1.NodeAvailability) *corev1.Taint {
	switch a {
	case swarmv1.AvailabilityPause:
		return &corev1.Taint{Key: TaintAvailability, Value: string(a), Effect: corev1.TaintEffectNoSchedule}
	case swarmv1.AvailabilityDrain:
		return &corev1.Taint{Key: TaintAvailability, Value: string(a), Effect: corev1.TaintEffectNoExecute}
	}
	return nil
}

// Taints is the node's taint list with kubeswarm's availability taint set for a: every other
// taint is kept as it is, in its place. changed is false when current already is that list, so
// that the controller writes nothing. The list is atomic for server-side apply, so the caller
// writes it whole, guarded by the resourceVersion it read.
func Taints(current []corev1.Taint, a swarmv1.NodeAvailability) (taints []corev1.Taint, changed bool) {
	want := AvailabilityTaint(a)
	found := false
	for _, t := range current {
		if t.Key != TaintAvailability {
			taints = append(taints, t)
			continue
		}
		if want != nil && !found && t.Value == want.Value && t.Effect == want.Effect {
			taints, found = append(taints, t), true
			continue
		}
		changed = true // a stale or duplicate kubeswarm taint goes
	}
	if want != nil && !found {
		taints, changed = append(taints, *want), true
	}
	return taints, changed
}

// AppliedAvailability reads the availability that a node's taints realise.
func AppliedAvailability(taints []corev1.Taint) swarmv1.NodeAvailability {
	a := swarmv1.AvailabilityActive
	for _, t := range taints {
		if t.Key != TaintAvailability {
			continue
		}
		switch {
		case t.Effect == corev1.TaintEffectNoExecute:
			return swarmv1.AvailabilityDrain
		case t.Effect == corev1.TaintEffectNoSchedule:
			a = swarmv1.AvailabilityPause
		}
	}
	return a
}

// InitialRole is the role a new Node starts with: manager when the Kubernetes node matches the
// manager selector (by default, control-plane nodes), worker otherwise. Afterwards the Node's
// spec.role is the truth (docker node promote / demote).
func InitialRole(node *corev1.Node, managers labels.Selector) swarmv1.NodeRole {
	if managers != nil && !managers.Empty() && managers.Matches(labels.Set(node.Labels)) {
		return swarmv1.RoleManager
	}
	return swarmv1.RoleWorker
}

// Role is the Node's role, worker when unset.
func Role(sn *swarmv1.Node) swarmv1.NodeRole {
	if sn.Spec.Role == "" {
		return swarmv1.RoleWorker
	}
	return sn.Spec.Role
}

// Availability is the Node's availability, active when unset.
func Availability(sn *swarmv1.Node) swarmv1.NodeAvailability {
	if sn.Spec.Availability == "" {
		return swarmv1.AvailabilityActive
	}
	return sn.Spec.Availability
}

// Labels are the labels kubeswarm wants on the Kubernetes node: the ones placement constraints
// match (role, ID, IP) and the Node's spec.labels. A spec label that Kubernetes cannot hold, or
// that uses kubeswarm's reserved prefix, is left out and described in problems.
func Labels(node *corev1.Node, sn *swarmv1.Node) (want map[string]string, problems []string) {
	want = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(sn.Spec.Labels)) {
		v := sn.Spec.Labels[k]
		switch {
		case strings.HasPrefix(k, ReservedPrefix):
			problems = append(problems, fmt.Sprintf("label %s: the prefix %s is kubeswarm's own", k, ReservedPrefix))
		case len(validation.IsQualifiedName(k)) > 0:
			problems = append(problems, fmt.Sprintf("label %s: not a valid Kubernetes label key: %s", k, strings.Join(validation.IsQualifiedName(k), "; ")))
		case len(validation.IsValidLabelValue(v)) > 0:
			problems = append(problems, fmt.Sprintf("label %s=%s: not a valid Kubernetes label value: %s", k, v, strings.Join(validation.IsValidLabelValue(v), "; ")))
		default:
			want[k] = v
		}
	}
	want[translate.NodeLabelRole] = string(Role(sn))
	if node.UID != "" {
		want[translate.NodeLabelID] = string(node.UID)
	}
	if ip := IPLabelValue(Addr(node)); ip != "" {
		want[translate.NodeLabelIP] = ip
	}
	return want, problems
}

// IPLabelValue is the node-ip label value of an address, as node.ip constraints write it (':'
// becomes '-'); empty when the address is not an IP or does not fit a label value.
func IPLabelValue(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	v := strings.ReplaceAll(ip.String(), ":", "-")
	if len(validation.IsValidLabelValue(v)) > 0 {
		return ""
	}
	return v
}

// ApplicableLabels removes from want the labels that belong to someone else: a label the node
// carries with another value, that kubeswarm does not own (owned are the labels its field
// manager owns). kubeswarm's own keys are always kept: they are its to set. Taking such a label
// over would fight whoever set it, and removing it later would remove their label; so it is
// left alone and reported in conflicts.
func ApplicableLabels(want, live, owned map[string]string) (apply map[string]string, conflicts []string) {
	apply = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		v := want[k]
		cur, onNode := live[k]
		_, ours := owned[k]
		if onNode && cur != v && !ours && !strings.HasPrefix(k, ReservedPrefix) {
			conflicts = append(conflicts, fmt.Sprintf("label %s is %q on the Kubernetes node, set by someone else; kubeswarm leaves it (wanted %q)", k, cur, v))
			continue
		}
		apply[k] = v
	}
	return apply, conflicts
}

// State is the node's Swarm state from its Ready condition: Ready when True, Down when False
// or Unknown (the kubelet stopped reporting: Swarm's heartbeat failure), Unknown when the node
// has no Ready condition yet.
func State(node *corev1.Node) swarmv1.NodeState {
	c := readyCondition(node)
	switch {
	case IsMarkedDown(node):
		return swarmv1.NodeDown
	case c == nil:
		return swarmv1.NodeUnknown
	case c.Status == corev1.ConditionTrue:
		return swarmv1.NodeReady
	default:
		return swarmv1.NodeDown
	}
}

func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// ManagerStatus is the MANAGER STATUS of docker node ls: empty for workers; Leader for the
// manager whose node hosts the operator replica that holds the leader-election lease; for other
// managers Reachable when the node is Ready and Unreachable otherwise.
func ManagerStatus(role swarmv1.NodeRole, state swarmv1.NodeState, isLeader bool) swarmv1.ManagerStatus {
	switch {
	case role != swarmv1.RoleManager:
		return ""
	case isLeader:
		return swarmv1.ManagerLeader
	case state == swarmv1.NodeReady:
		return swarmv1.ManagerReachable
	default:
		return swarmv1.ManagerUnreachable
	}
}

// Hostname is the node's host name: its Hostname address, else its hostname label, else its name.
func Hostname(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeHostName && a.Address != "" {
			return a.Address
		}
	}
	if h := node.Labels[corev1.LabelHostname]; h != "" {
		return h
	}
	return node.Name
}

// Addr is the node's address: its InternalIP, else its ExternalIP.
func Addr(node *corev1.Node) string {
	for _, typ := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
		for _, a := range node.Status.Addresses {
			if a.Type == typ && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}

// dockerArch turns Kubernetes' (GOARCH) architecture names into the ones docker reports (uname).
var dockerArch = map[string]string{
	"amd64": "x86_64", "arm64": "aarch64", "arm": "armv7l", "386": "i686",
}

// Platform is the node's OS and architecture, in docker's names (x86_64, aarch64).
func Platform(node *corev1.Node) swarmv1.Platform {
	os, arch := node.Status.NodeInfo.OperatingSystem, node.Status.NodeInfo.Architecture
	if os == "" {
		os = node.Labels[corev1.LabelOSStable]
	}
	if arch == "" {
		arch = node.Labels[corev1.LabelArchStable]
	}
	if a, ok := dockerArch[arch]; ok {
		arch = a
	}
	return swarmv1.Platform{OS: os, Architecture: arch}
}

// Resources are the node's allocatable CPUs and memory.
func Resources(node *corev1.Node) swarmv1.NodeResources {
	var r swarmv1.NodeResources
	if q, ok := node.Status.Allocatable[corev1.ResourceCPU]; ok {
		r.CPUs = &q
	}
	if q, ok := node.Status.Allocatable[corev1.ResourceMemory]; ok {
		r.Memory = &q
	}
	return r
}

// IsTask tells whether a pod counts as a swarm task on its node: a pod of a kubeswarm service,
// bound to a node, neither finished nor being deleted.
func IsTask(pod *corev1.Pod) bool {
	return tasks.IsTask(pod) && pod.Spec.NodeName != "" && pod.DeletionTimestamp == nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// view is what kubeswarm reads of a Kubernetes node. Heartbeats (condition times, the node
// Lease) and image lists are not in it.
type view struct {
	uid, hostname, addr, kubelet string
	ready, readyReason           string
	platform                     swarmv1.Platform
	cpu, memory                  string
	labels                       map[string]string
	taints                       []string
}

func viewOf(n *corev1.Node) view {
	v := view{uid: string(n.UID), hostname: Hostname(n), addr: Addr(n), kubelet: n.Status.NodeInfo.KubeletVersion,
		platform: Platform(n), labels: n.Labels}
	if c := readyCondition(n); c != nil {
		v.ready, v.readyReason = string(c.Status), c.Reason
	}
	r := Resources(n)
	if r.CPUs != nil {
		v.cpu = r.CPUs.String()
	}
	if r.Memory != nil {
		v.memory = r.Memory.String()
	}
	for _, t := range n.Spec.Taints {
		v.taints = append(v.taints, t.ToString())
	}
	sort.Strings(v.taints)
	return v
}

// SwarmVisibleChange tells whether an update of a Kubernetes node changed anything the Node
// controller reads. Heartbeats change the node often without changing what Swarm shows; they
// need no reconcile.
func SwarmVisibleChange(old, updated *corev1.Node) bool {
	a, b := viewOf(old), viewOf(updated)
	return a.uid != b.uid || a.hostname != b.hostname || a.addr != b.addr || a.kubelet != b.kubelet ||
		a.ready != b.ready || a.readyReason != b.readyReason || a.platform != b.platform ||
		a.cpu != b.cpu || a.memory != b.memory || !maps.Equal(a.labels, b.labels) || !slices.Equal(a.taints, b.taints)
}

// LeaseIdentity is the leader-election identity of an operator replica: the name of the node it
// runs on, then a unique suffix, so that `kubectl get lease` shows which node leads.
func LeaseIdentity(nodeName, unique string) string {
	return nodeName + "_" + unique
}

// NodeOfIdentity is the node name in a leader-election identity made by LeaseIdentity.
func NodeOfIdentity(identity string) string {
	i := strings.LastIndexByte(identity, '_')
	if i < 0 {
		return ""
	}
	return identity[:i]
}

// NewNode is the Node made for a Kubernetes node that joined: same name, the initial role,
// active, owned by the Kubernetes node so that the garbage collector removes it with the node.
func NewNode(node *corev1.Node, role swarmv1.NodeRole) *swarmv1.Node {
	return &swarmv1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:            node.Name,
			Labels:          map[string]string{translate.LabelManagedBy: translate.ManagedByValue},
			OwnerReferences: []metav1.OwnerReference{OwnerReference(node)},
		},
		Spec: swarmv1.NodeSpec{Role: role, Availability: swarmv1.AvailabilityActive},
	}
}

// OwnerUID is the UID of the Kubernetes node a Node was made for; empty for a Node made by hand
// (which the controller adopts).
func OwnerUID(sn *swarmv1.Node) types.UID {
	for _, o := range sn.OwnerReferences {
		if o.APIVersion == "v1" && o.Kind == "Node" {
			return o.UID
		}
	}
	return ""
}

// OwnerReference is a Node's reference to its Kubernetes node.
func OwnerReference(node *corev1.Node) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
}

// LastManager is swarmkit's refusal to demote the last manager (manager/controlapi/node.go,
// UpdateNode: FailedPrecondition).
const LastManager = "attempting to demote the last manager of the swarm"

// ReasonLastManager: the Node's spec demotes the last manager; it stays a manager.
const ReasonLastManager = "LastManager"

// CheckRole refuses what swarmkit's UpdateNode refuses of a role change: demoting the last
// manager, a manager when no other Node is one. all are the swarm's Nodes (n may be among them);
// a Node being deleted is no manager any more.
func CheckRole(n *swarmv1.Node, role swarmv1.NodeRole, all []swarmv1.Node) error {
	if Role(n) != swarmv1.RoleManager || (role != swarmv1.RoleWorker && role != "") {
		return nil
	}
	if otherManager(n.Name, all) {
		return nil
	}
	return errors.New(LastManager)
}

// HeldManager tells whether the Node controller keeps sn a manager though its spec says worker:
// it is a manager on its Kubernetes node now (applied, the role label) and no other Node is one.
// That is a Node edited with kubectl: the plugin and the Engine API refuse it first (CheckRole),
// and no admission rule can, since CEL sees one object.
func HeldManager(sn *swarmv1.Node, applied swarmv1.NodeRole, all []swarmv1.Node) bool {
	return Role(sn) == swarmv1.RoleWorker && applied == swarmv1.RoleManager && !otherManager(sn.Name, all)
}

// otherManager tells whether a Node other than name is a manager (by its spec).
func otherManager(name string, all []swarmv1.Node) bool {
	for i := range all {
		if all[i].Name != name && all[i].DeletionTimestamp.IsZero() && Role(&all[i]) == swarmv1.RoleManager {
			return true
		}
	}
	return false
}
