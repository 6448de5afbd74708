package nodes

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Condition reasons of Nodes.
const (
	// ReasonNodeReady: the Kubernetes node is Ready.
	ReasonNodeReady = "NodeReady"
	// ReasonNodeDown: the Kubernetes node is not Ready (or stopped reporting).
	ReasonNodeDown = "NodeDown"
	// ReasonNodeStatusUnknown: the Kubernetes node has not reported a Ready condition yet.
	ReasonNodeStatusUnknown = "NodeStatusUnknown"
	// ReasonLabelsNotApplied: some spec labels are not on the Kubernetes node (invalid, reserved,
	// or set by someone else to another value).
	ReasonLabelsNotApplied = "LabelsNotApplied"
)

// Observed is what the controller found and did, besides the two objects.
type Observed struct {
	// Tasks is the number of swarm tasks on the node.
	Tasks int32
	// LeaderNode is the node that hosts the leading operator replica; empty when unknown.
	LeaderNode string
	// Availability and Role are what the Kubernetes node's taints and labels realise now.
	Availability swarmv1.NodeAvailability
	Role         swarmv1.NodeRole
	// LabelProblems are the spec labels left off the Kubernetes node, and why.
	LabelProblems []string
	// Failure is the error of a write to the Kubernetes node that failed, empty when none did.
	Failure string
	// HeldManager: the spec demotes the last manager, which stays one (HeldManager).
	HeldManager bool
}

// Status is the Node's status: what docker node ls and docker node inspect show. It starts from
// the current status so that conditions keep their transition times.
func Status(node *corev1.Node, sn *swarmv1.Node, obs Observed) swarmv1.NodeStatus {
	st := *sn.Status.DeepCopy()
	st.ObservedGeneration = sn.Generation
	st.ID = string(node.UID)
	st.Hostname = Hostname(node)
	st.Addr = Addr(node)
	st.State = State(node)
	st.Availability = obs.Availability
	st.Role = obs.Role
	st.ManagerStatus = ManagerStatus(obs.Role, st.State, obs.LeaderNode != "" && obs.LeaderNode == node.Name)
	st.EngineVersion = node.Status.NodeInfo.KubeletVersion
	st.Platform = Platform(node)
	st.Resources = Resources(node)
	st.Tasks = obs.Tasks

	ready := metav1.Condition{Type: swarmv1.ConditionReady, ObservedGeneration: sn.Generation}
	switch c := readyCondition(node); {
	case st.State == swarmv1.NodeReady:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, ReasonNodeReady, "The Kubernetes node is Ready"
	case IsMarkedDown(node):
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonNodeDown
		ready.Message = "The node's kubelet stopped renewing its lease: its replicated tasks were moved elsewhere"
	case c == nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionUnknown, ReasonNodeStatusUnknown, "The Kubernetes node has not reported whether it is Ready"
	default:
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonNodeDown
		ready.Message = fmt.Sprintf("The Kubernetes node's Ready condition is %s (%s); its tasks move elsewhere after the services' node failure timeout", c.Status, c.Reason)
	}
	meta.SetStatusCondition(&st.Conditions, ready)

	degraded := metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonAsRequested,
		Message: "Role, availability and labels are applied to the Kubernetes node", ObservedGeneration: sn.Generation}
	switch {
	case obs.Failure != "":
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionTrue, swarmv1.ReasonApplyFailed, obs.Failure
	case obs.HeldManager:
		degraded.Status, degraded.Reason = metav1.ConditionTrue, ReasonLastManager
		degraded.Message = LastManager + ": the node stays a manager; promote another node first"
	case len(obs.LabelProblems) > 0:
		degraded.Status, degraded.Reason, degraded.Message = metav1.ConditionTrue, ReasonLabelsNotApplied, strings.Join(obs.LabelProblems, "; ")
	}
	meta.SetStatusCondition(&st.Conditions, degraded)
	return st
}
