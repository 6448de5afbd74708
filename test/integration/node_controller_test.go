package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// The test plays the kubelet and other controllers with its own field manager.
const otherManager = "someone-else"

// createKubeNode creates a Ready Kubernetes node, as a kubelet would register it (envtest has
// no kubelet), and deletes it at the end of the test.
func createKubeNode(t *testing.T, name string, controlPlane bool, ip string) *corev1.Node {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64"}}}
	if controlPlane {
		n.Labels["node-role.kubernetes.io/control-plane"] = ""
		n.Spec.Taints = []corev1.Taint{{Key: translate.ControlPlaneTaint, Effect: corev1.TaintEffectNoSchedule}}
	}
	if err := k8sClient.Create(ctx, n, client.FieldOwner(otherManager)); err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	t.Cleanup(func() { deleteKubeNode(t, name) })
	setNodeReady(t, name, corev1.ConditionTrue, ip)
	return n
}

func deleteKubeNode(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	_ = k8sClient.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	// The controller deletes the Node of a node that left (envtest has no garbage collector).
	eventually(t, "the Node of "+name+" goes", func() error {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &swarmv1.Node{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%w)", err)
		}
		return nil
	})
}

// setNodeReady writes the node status as a kubelet does: Ready condition, address, versions.
func setNodeReady(t *testing.T, name string, ready corev1.ConditionStatus, ip string) {
	t.Helper()
	eventually(t, "writing the status of node "+name, func() error {
		n := &corev1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		now := metav1.Now()
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now}}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
		n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64"}
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
		return k8sClient.Status().Update(context.Background(), n, client.FieldOwner(otherManager))
	})
}

// updateKubeNode changes a Kubernetes node as another controller would (its own field manager).
func updateKubeNode(t *testing.T, name string, mutate func(*corev1.Node)) {
	t.Helper()
	eventually(t, "updating node "+name, func() error {
		n := &corev1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		mutate(n)
		return k8sClient.Update(context.Background(), n, client.FieldOwner(otherManager))
	})
}

func updateSwarmNode(t *testing.T, name string, mutate func(*swarmv1.Node)) {
	t.Helper()
	eventually(t, "updating Node "+name, func() error {
		n := &swarmv1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		mutate(n)
		return k8sClient.Update(context.Background(), n)
	})
}

// waitNode waits until the Kubernetes node and its Node pass check.
func waitNode(t *testing.T, name, what string, check func(*corev1.Node, *swarmv1.Node) error) (*corev1.Node, *swarmv1.Node) {
	t.Helper()
	n, sn := &corev1.Node{}, &swarmv1.Node{}
	eventually(t, name+": "+what, func() error {
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, sn); err != nil {
			return err
		}
		return check(n, sn)
	})
	return n, sn
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect })
}

// TestNodeLifecycle: a Node per Kubernetes node, created when the node joins (manager for a
// control-plane node, worker otherwise), with the labels constraints match and docker node ls's
// status; its task count follows the pods; it goes when the node goes, and a node that joins
// again under the same name is a new node.
func TestNodeLifecycle(t *testing.T) {
	ctx := context.Background()
	mgrNode := createKubeNode(t, "it-life-manager", true, "10.1.0.1")
	createKubeNode(t, "it-life-worker", false, "fd00::2")

	kn, sn := waitNode(t, "it-life-manager", "a manager Node with its status", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.State != swarmv1.NodeReady || sn.Status.Role != swarmv1.RoleManager || sn.Status.ObservedGeneration != sn.Generation {
			return fmt.Errorf("status %+v", sn.Status)
		}
		return nil
	})
	if sn.Spec.Role != swarmv1.RoleManager || sn.Spec.Availability != swarmv1.AvailabilityActive {
		t.Errorf("spec = %+v, want manager, active", sn.Spec)
	}
	if len(sn.OwnerReferences) != 1 || sn.OwnerReferences[0].UID != kn.UID || sn.OwnerReferences[0].Kind != "Node" {
		t.Errorf("owner references = %+v, want the Kubernetes node", sn.OwnerReferences)
	}
	st := sn.Status
	// No operator replica runs on these nodes (envtest): no Leader, the Ready manager is Reachable.
	if st.ID != string(kn.UID) || st.Hostname != "it-life-manager" || st.Addr != "10.1.0.1" || st.ManagerStatus != swarmv1.ManagerReachable ||
		st.EngineVersion != "v1.37.2" || st.Platform != (swarmv1.Platform{OS: "linux", Architecture: "x86_64"}) ||
		st.Resources.CPUs.String() != "4" || st.Resources.Memory.String() != "8Gi" || st.Availability != swarmv1.AvailabilityActive || st.Tasks != 0 {
		t.Errorf("status = %+v", st)
	}
	for k, v := range map[string]string{translate.NodeLabelRole: "manager", translate.NodeLabelID: string(kn.UID), translate.NodeLabelIP: "10.1.0.1",
		"node-role.kubernetes.io/control-plane": ""} {
		if got, ok := kn.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if !hasTaint(kn, translate.ControlPlaneTaint, corev1.TaintEffectNoSchedule) {
		t.Errorf("the control-plane taint went: %+v", kn.Spec.Taints)
	}

	wkn, wsn := waitNode(t, "it-life-worker", "a worker Node", func(_ *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.Role != swarmv1.RoleWorker {
			return fmt.Errorf("status %+v", sn.Status)
		}
		return nil
	})
	if wsn.Status.ManagerStatus != "" || wkn.Labels[translate.NodeLabelRole] != "worker" || wkn.Labels[translate.NodeLabelIP] != "fd00--2" {
		t.Errorf("worker: manager status %q, labels %v", wsn.Status.ManagerStatus, wkn.Labels)
	}

	// Tasks: kubeswarm's pods bound to the node count; others and finished ones do not.
	ns := newNamespace(t)
	pod := func(name string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{NodeName: "it-life-manager", AutomountServiceAccountToken: ptr.To(false),
				Containers: []corev1.Container{{Name: "task", Image: "nginx"}}}}
	}
	taskLabels := map[string]string{translate.LabelService: "web", translate.LabelManagedBy: translate.ManagedByValue}
	for _, p := range []*corev1.Pod{pod("web-1", taskLabels), pod("web-2", taskLabels), pod("other", map[string]string{"app": "other"})} {
		if err := k8sClient.Create(ctx, p); err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
	waitNode(t, "it-life-manager", "2 tasks", func(_ *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.Tasks != 2 {
			return fmt.Errorf("tasks %d", sn.Status.Tasks)
		}
		return nil
	})
	done := pod("web-1", nil)
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(done), done); err != nil {
		t.Fatal(err)
	}
	done.Status.Phase = corev1.PodSucceeded
	if err := k8sClient.Status().Update(ctx, done); err != nil {
		t.Fatalf("finishing pod web-1: %v", err)
	}
	waitNode(t, "it-life-manager", "1 task once one finished", func(_ *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.Tasks != 1 {
			return fmt.Errorf("tasks %d", sn.Status.Tasks)
		}
		return nil
	})

	// The node goes down: Down, Unreachable, Ready=False.
	setNodeReady(t, "it-life-manager", corev1.ConditionUnknown, "10.1.0.1")
	waitNode(t, "it-life-manager", "Down and Unreachable", func(_ *corev1.Node, sn *swarmv1.Node) error {
		c := meta.FindStatusCondition(sn.Status.Conditions, swarmv1.ConditionReady)
		if sn.Status.State != swarmv1.NodeDown || sn.Status.ManagerStatus != swarmv1.ManagerUnreachable || c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("state %q, manager status %q, Ready %+v", sn.Status.State, sn.Status.ManagerStatus, c)
		}
		return nil
	})

	// A Node deleted by hand comes back while its Kubernetes node exists.
	if err := k8sClient.Delete(ctx, wsn); err != nil {
		t.Fatal(err)
	}
	waitNode(t, "it-life-worker", "the deleted Node is made again", func(_ *corev1.Node, sn *swarmv1.Node) error {
		if sn.UID == wsn.UID {
			return fmt.Errorf("still the old Node")
		}
		return nil
	})

	// The node leaves and joins again under the same name: a new node (new ID, default spec).
	updateSwarmNode(t, "it-life-manager", func(n *swarmv1.Node) { n.Spec.Availability = swarmv1.AvailabilityPause })
	if err := k8sClient.Delete(ctx, mgrNode); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Node goes with the Kubernetes node", func() error {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: "it-life-manager"}, &swarmv1.Node{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there (%w)", err)
		}
		return nil
	})
	again := createKubeNode(t, "it-life-manager", false, "10.1.0.9")
	waitNode(t, "it-life-manager", "a new Node for the new node", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.ID != string(again.UID) || sn.Spec.Availability != swarmv1.AvailabilityActive || sn.Spec.Role != swarmv1.RoleWorker ||
			kn.Labels[translate.NodeLabelID] != string(again.UID) {
			return fmt.Errorf("spec %+v, status id %q, label %q", sn.Spec, sn.Status.ID, kn.Labels[translate.NodeLabelID])
		}
		return nil
	})
}

// TestNodeAvailability: pause is a NoSchedule taint, drain a NoExecute taint, active none; the
// taints of others stay, whatever happens to kubeswarm's.
func TestNodeAvailability(t *testing.T) {
	createKubeNode(t, "it-avail", true, "10.1.0.3")
	waitNode(t, "it-avail", "the Node", func(*corev1.Node, *swarmv1.Node) error { return nil })
	foreign := corev1.Taint{Key: "example.com/maintenance", Value: "soon", Effect: corev1.TaintEffectPreferNoSchedule}
	updateKubeNode(t, "it-avail", func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, foreign) })

	for _, step := range []struct {
		a      swarmv1.NodeAvailability
		effect corev1.TaintEffect
	}{
		{swarmv1.AvailabilityPause, corev1.TaintEffectNoSchedule},
		{swarmv1.AvailabilityDrain, corev1.TaintEffectNoExecute},
		{swarmv1.AvailabilityActive, ""},
	} {
		updateSwarmNode(t, "it-avail", func(n *swarmv1.Node) { n.Spec.Availability = step.a })
		kn, _ := waitNode(t, "it-avail", string(step.a), func(kn *corev1.Node, sn *swarmv1.Node) error {
			var ours []corev1.Taint
			for _, t := range kn.Spec.Taints {
				if t.Key == nodes.TaintAvailability {
					ours = append(ours, t)
				}
			}
			switch {
			case step.effect == "" && len(ours) != 0, step.effect != "" && (len(ours) != 1 || ours[0].Effect != step.effect || ours[0].Value != string(step.a)):
				return fmt.Errorf("kubeswarm's taints %+v", ours)
			case sn.Status.Availability != step.a:
				return fmt.Errorf("status availability %q", sn.Status.Availability)
			}
			return nil
		})
		if !hasTaint(kn, foreign.Key, foreign.Effect) || !hasTaint(kn, translate.ControlPlaneTaint, corev1.TaintEffectNoSchedule) {
			t.Errorf("%s: others' taints were touched: %+v", step.a, kn.Spec.Taints)
		}
	}
}

// TestNodeRoleAndLabels: promote/demote change the role label; spec.labels become node labels;
// dropping one removes it only when kubeswarm alone set it; a label someone else set to another
// value is left alone and reported; a hand edit of kubeswarm's role label is undone.
func TestNodeRoleAndLabels(t *testing.T) {
	// Another manager, so that it-labels is not the last one when it is demoted
	// (TestNodeLastManagerStays).
	createKubeNode(t, "it-labels-manager", true, "10.1.0.8")
	createKubeNode(t, "it-labels", false, "10.1.0.4")
	waitNode(t, "it-labels", "the Node", func(*corev1.Node, *swarmv1.Node) error { return nil })
	waitNode(t, "it-labels-manager", "a manager", func(_ *corev1.Node, sn *swarmv1.Node) error {
		if sn.Spec.Role != swarmv1.RoleManager {
			return fmt.Errorf("role %q", sn.Spec.Role)
		}
		return nil
	})
	updateKubeNode(t, "it-labels", func(n *corev1.Node) {
		n.Labels["example.com/team"] = "ops" // someone else's, kubeswarm never set it
		n.Labels["rack"] = "r1"              // someone else's, kubeswarm will set it too
	})

	// docker node promote; docker node update --label-add zone=a --label-add rack=r1.
	updateSwarmNode(t, "it-labels", func(n *swarmv1.Node) {
		n.Spec.Role = swarmv1.RoleManager
		n.Spec.Labels = map[string]string{"zone": "a", "rack": "r1"}
	})
	waitNode(t, "it-labels", "promoted and labelled", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if kn.Labels[translate.NodeLabelRole] != "manager" || kn.Labels["zone"] != "a" || sn.Status.Role != swarmv1.RoleManager ||
			sn.Status.ManagerStatus != swarmv1.ManagerReachable {
			return fmt.Errorf("labels %v, status role %q manager status %q", kn.Labels, sn.Status.Role, sn.Status.ManagerStatus)
		}
		return nil
	})

	// docker node update --label-rm zone --label-rm rack; docker node demote.
	updateSwarmNode(t, "it-labels", func(n *swarmv1.Node) {
		n.Spec.Role = swarmv1.RoleWorker
		n.Spec.Labels = nil
	})
	kn, _ := waitNode(t, "it-labels", "demoted, zone removed", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if _, ok := kn.Labels["zone"]; ok || kn.Labels[translate.NodeLabelRole] != "worker" || sn.Status.ManagerStatus != "" {
			return fmt.Errorf("labels %v, manager status %q", kn.Labels, sn.Status.ManagerStatus)
		}
		return nil
	})
	if kn.Labels["rack"] != "r1" || kn.Labels["example.com/team"] != "ops" {
		t.Errorf("someone else's labels went: %v", kn.Labels)
	}

	// A label someone else holds with another value: left alone, reported, and nothing fights.
	updateSwarmNode(t, "it-labels", func(n *swarmv1.Node) { n.Spec.Labels = map[string]string{"example.com/team": "dev", "disk": "ssd"} })
	kn, _ = waitNode(t, "it-labels", "the conflict is reported", func(kn *corev1.Node, sn *swarmv1.Node) error {
		c := meta.FindStatusCondition(sn.Status.Conditions, swarmv1.ConditionDegraded)
		if kn.Labels["disk"] != "ssd" || c == nil || c.Status != metav1.ConditionTrue || c.Reason != nodes.ReasonLabelsNotApplied {
			return fmt.Errorf("labels %v, Degraded %+v", kn.Labels, c)
		}
		return nil
	})
	if kn.Labels["example.com/team"] != "ops" {
		t.Errorf("someone else's label was overwritten: %v", kn.Labels)
	}

	// A hand edit of kubeswarm's role label is undone.
	updateKubeNode(t, "it-labels", func(n *corev1.Node) { n.Labels[translate.NodeLabelRole] = "manager" })
	waitNode(t, "it-labels", "the role label is put back", func(kn *corev1.Node, _ *swarmv1.Node) error {
		if kn.Labels[translate.NodeLabelRole] != "worker" {
			return fmt.Errorf("role label %q", kn.Labels[translate.NodeLabelRole])
		}
		return nil
	})
}

// TestNodeNoWritesWhenNothingChanged: heartbeats, annotations and touches of a converged node
// and its Node make the operator write nothing.
func TestNodeNoWritesWhenNothingChanged(t *testing.T) {
	createKubeNode(t, "it-idle", true, "10.1.0.5")
	updateSwarmNode(t, "it-idle", func(n *swarmv1.Node) {
		n.Spec.Availability = swarmv1.AvailabilityPause
		n.Spec.Labels = map[string]string{"zone": "a"}
	})
	waitNode(t, "it-idle", "converged", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if sn.Status.Availability != swarmv1.AvailabilityPause || kn.Labels["zone"] != "a" || sn.Status.ObservedGeneration != sn.Generation {
			return fmt.Errorf("status %+v", sn.Status)
		}
		return nil
	})
	time.Sleep(time.Second) // the last events of convergence
	before := operatorWrites.mark()
	for i := range 5 {
		setNodeReady(t, "it-idle", corev1.ConditionTrue, "10.1.0.5") // a heartbeat: new times only
		updateKubeNode(t, "it-idle", func(n *corev1.Node) {
			if n.Annotations == nil {
				n.Annotations = map[string]string{}
			}
			n.Annotations["test/touch"] = fmt.Sprint(i)
			n.Labels["test.example.com/touch"] = fmt.Sprint(i) // someone else's label: a full reconcile
		})
		updateSwarmNode(t, "it-idle", func(n *swarmv1.Node) {
			if n.Annotations == nil {
				n.Annotations = map[string]string{}
			}
			n.Annotations["test/touch"] = fmt.Sprint(i)
		})
		time.Sleep(300 * time.Millisecond)
	}
	if got := operatorWrites.writesSince(before, "/nodes/it-idle"); len(got) != 0 {
		t.Errorf("the operator made %d writes while nothing changed, want 0: %v", len(got), got)
	}
}

// TestNodeLastManagerStays: a Node edited with kubectl to demote the last manager (the plugin and
// the Engine API refuse it first, in swarmkit's words; CEL sees one object) stays a manager,
// Degraded LastManager, until another node is a manager: then it is demoted.
func TestNodeLastManagerStays(t *testing.T) {
	all := &swarmv1.NodeList{}
	if err := k8sClient.List(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	for _, n := range all.Items {
		if n.Spec.Role == swarmv1.RoleManager {
			t.Skipf("node %s of another test is a manager", n.Name)
		}
	}
	createKubeNode(t, "it-last", true, "10.1.0.6")
	createKubeNode(t, "it-next", false, "10.1.0.7")
	waitNode(t, "it-last", "a manager", func(kn *corev1.Node, sn *swarmv1.Node) error {
		if kn.Labels[translate.NodeLabelRole] != "manager" || sn.Status.Role != swarmv1.RoleManager {
			return fmt.Errorf("role label %q, status role %q", kn.Labels[translate.NodeLabelRole], sn.Status.Role)
		}
		return nil
	})
	waitNode(t, "it-next", "a worker", func(*corev1.Node, *swarmv1.Node) error { return nil })

	updateSwarmNode(t, "it-last", func(n *swarmv1.Node) { n.Spec.Role = swarmv1.RoleWorker })
	waitNode(t, "it-last", "kept a manager, Degraded", func(kn *corev1.Node, sn *swarmv1.Node) error {
		c := meta.FindStatusCondition(sn.Status.Conditions, swarmv1.ConditionDegraded)
		if kn.Labels[translate.NodeLabelRole] != "manager" || sn.Status.Role != swarmv1.RoleManager || sn.Status.ObservedGeneration != sn.Generation ||
			c == nil || c.Reason != nodes.ReasonLastManager || !strings.HasPrefix(c.Message, "attempting to demote the last manager of the swarm") {
			return fmt.Errorf("role label %q, status role %q, Degraded %+v", kn.Labels[translate.NodeLabelRole], sn.Status.Role, c)
		}
		return nil
	})

	// docker node promote it-next: it-last's demotion now goes through.
	updateSwarmNode(t, "it-next", func(n *swarmv1.Node) { n.Spec.Role = swarmv1.RoleManager })
	waitNode(t, "it-last", "demoted", func(kn *corev1.Node, sn *swarmv1.Node) error {
		c := meta.FindStatusCondition(sn.Status.Conditions, swarmv1.ConditionDegraded)
		if kn.Labels[translate.NodeLabelRole] != "worker" || sn.Status.Role != swarmv1.RoleWorker || c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("role label %q, status role %q, Degraded %+v", kn.Labels[translate.NodeLabelRole], sn.Status.Role, c)
		}
		return nil
	})
}
