package nodes

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// nodeWrapper builds a Kubernetes node: makeNode("worker1").ready().obj().
type nodeWrapper struct{ corev1.Node }

func makeNode(name string) *nodeWrapper {
	return &nodeWrapper{corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name),
		Labels: map[string]string{corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64"}}}}
}

func (w *nodeWrapper) obj() *corev1.Node { return &w.Node }

func (w *nodeWrapper) condition(s corev1.ConditionStatus, reason string) *nodeWrapper {
	w.Status.Conditions = append(w.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: s, Reason: reason,
		LastHeartbeatTime: metav1.Now()})
	return w
}

func (w *nodeWrapper) ready() *nodeWrapper { return w.condition(corev1.ConditionTrue, "KubeletReady") }

func (w *nodeWrapper) label(k, v string) *nodeWrapper { w.Labels[k] = v; return w }

func (w *nodeWrapper) addr(typ corev1.NodeAddressType, a string) *nodeWrapper {
	w.Status.Addresses = append(w.Status.Addresses, corev1.NodeAddress{Type: typ, Address: a})
	return w
}

func (w *nodeWrapper) kubelet(version, os, arch string) *nodeWrapper {
	w.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: version, OperatingSystem: os, Architecture: arch}
	return w
}

func (w *nodeWrapper) allocatable(cpu, mem string) *nodeWrapper {
	w.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	return w
}

func swarmNode(name string, role swarmv1.NodeRole, a swarmv1.NodeAvailability, lbls map[string]string) *swarmv1.Node {
	return &swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 3}, Spec: swarmv1.NodeSpec{Role: role, Availability: a, Labels: lbls}}
}

var (
	controlPlane = corev1.Taint{Key: translate.ControlPlaneTaint, Effect: corev1.TaintEffectNoSchedule}
	unreachable  = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	pauseTaint   = corev1.Taint{Key: TaintAvailability, Value: "pause", Effect: corev1.TaintEffectNoSchedule}
	drainTaint   = corev1.Taint{Key: TaintAvailability, Value: "drain", Effect: corev1.TaintEffectNoExecute}
)

func TestTaints(t *testing.T) {
	cases := []struct {
		name        string
		current     []corev1.Taint
		a           swarmv1.NodeAvailability
		want        []corev1.Taint
		wantChanged bool
	}{
		{name: "active on an untainted node writes nothing", a: swarmv1.AvailabilityActive},
		{name: "active keeps others' taints", current: []corev1.Taint{controlPlane}, a: swarmv1.AvailabilityActive, want: []corev1.Taint{controlPlane}},
		{name: "pause adds a NoSchedule taint after the others", current: []corev1.Taint{controlPlane}, a: swarmv1.AvailabilityPause,
			want: []corev1.Taint{controlPlane, pauseTaint}, wantChanged: true},
		{name: "drain adds a NoExecute taint", a: swarmv1.AvailabilityDrain, want: []corev1.Taint{drainTaint}, wantChanged: true},
		{name: "pause to drain replaces kubeswarm's taint only", current: []corev1.Taint{pauseTaint, unreachable}, a: swarmv1.AvailabilityDrain,
			want: []corev1.Taint{unreachable, drainTaint}, wantChanged: true},
		{name: "drain to active removes it", current: []corev1.Taint{controlPlane, drainTaint, unreachable}, a: swarmv1.AvailabilityActive,
			want: []corev1.Taint{controlPlane, unreachable}, wantChanged: true},
		{name: "already drained: no change, order kept", current: []corev1.Taint{drainTaint, controlPlane}, a: swarmv1.AvailabilityDrain,
			want: []corev1.Taint{drainTaint, controlPlane}},
		{name: "a duplicate goes", current: []corev1.Taint{pauseTaint, pauseTaint}, a: swarmv1.AvailabilityPause,
			want: []corev1.Taint{pauseTaint}, wantChanged: true},
		{name: "our key with a foreign effect is replaced", current: []corev1.Taint{{Key: TaintAvailability, Value: "pause", Effect: corev1.TaintEffectPreferNoSchedule}},
			a: swarmv1.AvailabilityPause, want: []corev1.Taint{pauseTaint}, wantChanged: true},
		{name: "unset availability is active", current: []corev1.Taint{pauseTaint}, a: "", wantChanged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := Taints(tc.current, tc.a)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if applied := AppliedAvailability(got); tc.a != "" && applied != tc.a {
				t.Errorf("the result realises %q, want %q", applied, tc.a)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	node := makeNode("worker1").addr(corev1.NodeInternalIP, "172.18.0.3").obj()
	cases := []struct {
		name         string
		node         *corev1.Node
		sn           *swarmv1.Node
		want         map[string]string
		wantProblems []string
	}{
		{name: "role, id and ip", node: node, sn: swarmNode("worker1", swarmv1.RoleWorker, "", nil),
			want: map[string]string{translate.NodeLabelRole: "worker", translate.NodeLabelID: "uid-worker1", translate.NodeLabelIP: "172.18.0.3"}},
		{name: "spec labels map to the same keys", node: node, sn: swarmNode("worker1", swarmv1.RoleManager, "", map[string]string{"zone": "a", "example.com/disk": "ssd"}),
			want: map[string]string{translate.NodeLabelRole: "manager", translate.NodeLabelID: "uid-worker1", translate.NodeLabelIP: "172.18.0.3", "zone": "a", "example.com/disk": "ssd"}},
		{name: "unset role is worker; no address, no ip label", node: makeNode("n").obj(), sn: swarmNode("n", "", "", nil),
			want: map[string]string{translate.NodeLabelRole: "worker", translate.NodeLabelID: "uid-n"}},
		{name: "IPv6 as node.ip constraints write it", node: makeNode("n").addr(corev1.NodeInternalIP, "fd00:0::10").obj(), sn: swarmNode("n", swarmv1.RoleWorker, "", nil),
			want: map[string]string{translate.NodeLabelRole: "worker", translate.NodeLabelID: "uid-n", translate.NodeLabelIP: "fd00--10"}},
		{name: "invalid and reserved labels are reported, not applied", node: node,
			sn:   swarmNode("worker1", swarmv1.RoleWorker, "", map[string]string{"bad key": "x", "ok": "has space", translate.NodeLabelRole: "manager", "fine": "1"}),
			want: map[string]string{translate.NodeLabelRole: "worker", translate.NodeLabelID: "uid-worker1", translate.NodeLabelIP: "172.18.0.3", "fine": "1"},
			wantProblems: []string{
				"label bad key: not a valid Kubernetes label key: ",
				"label ok=has space: not a valid Kubernetes label value: ",
				"label swarm.kubeswarm.io/role: the prefix swarm.kubeswarm.io/ is kubeswarm's own",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := Labels(tc.node, tc.sn)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if len(problems) != len(tc.wantProblems) {
				t.Fatalf("problems = %q, want %d", problems, len(tc.wantProblems))
			}
			for i, p := range problems {
				if !strings.HasPrefix(p, tc.wantProblems[i]) {
					t.Errorf("problem %d = %q, want it to start with %q", i, p, tc.wantProblems[i])
				}
			}
		})
	}
}

func TestApplicableLabels(t *testing.T) {
	cases := []struct {
		name             string
		want, live, own  map[string]string
		wantApply        map[string]string
		wantNumConflicts int
	}{
		{name: "new label", want: map[string]string{"zone": "a"}, live: map[string]string{}, own: nil, wantApply: map[string]string{"zone": "a"}},
		{name: "someone else's label with the same value is shared", want: map[string]string{"zone": "a"}, live: map[string]string{"zone": "a"},
			wantApply: map[string]string{"zone": "a"}},
		{name: "someone else's label with another value is left alone", want: map[string]string{"zone": "a", "disk": "ssd"}, live: map[string]string{"zone": "b"},
			wantApply: map[string]string{"disk": "ssd"}, wantNumConflicts: 1},
		{name: "our own label changes value", want: map[string]string{"zone": "a"}, live: map[string]string{"zone": "b"}, own: map[string]string{"zone": "b"},
			wantApply: map[string]string{"zone": "a"}},
		{name: "kubeswarm's keys are always set", want: map[string]string{translate.NodeLabelRole: "manager"}, live: map[string]string{translate.NodeLabelRole: "worker"},
			wantApply: map[string]string{translate.NodeLabelRole: "manager"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apply, conflicts := ApplicableLabels(tc.want, tc.live, tc.own)
			if diff := cmp.Diff(tc.wantApply, apply); diff != "" {
				t.Errorf("applied labels (-want +got):\n%s", diff)
			}
			if len(conflicts) != tc.wantNumConflicts {
				t.Errorf("conflicts = %q, want %d", conflicts, tc.wantNumConflicts)
			}
		})
	}
}

func TestInitialRole(t *testing.T) {
	def, _ := labels.Parse(DefaultManagerSelector)
	byName, _ := labels.Parse("kubernetes.io/hostname in (node-a,node-b)")
	cases := []struct {
		name string
		node *corev1.Node
		sel  labels.Selector
		want swarmv1.NodeRole
	}{
		{"control-plane node is a manager", makeNode("manager1").label("node-role.kubernetes.io/control-plane", "").obj(), def, swarmv1.RoleManager},
		{"other nodes are workers", makeNode("worker1").obj(), def, swarmv1.RoleWorker},
		{"a list of names", makeNode("node-b").obj(), byName, swarmv1.RoleManager},
		{"empty selector: no managers", makeNode("manager1").label("node-role.kubernetes.io/control-plane", "").obj(), labels.Everything(), swarmv1.RoleWorker},
		{"nil selector: no managers", makeNode("manager1").obj(), nil, swarmv1.RoleWorker},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := InitialRole(tc.node, tc.sel); got != tc.want {
				t.Errorf("InitialRole = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestManagerStatus(t *testing.T) {
	cases := []struct {
		role   swarmv1.NodeRole
		state  swarmv1.NodeState
		leader bool
		want   swarmv1.ManagerStatus
	}{
		{swarmv1.RoleWorker, swarmv1.NodeReady, false, ""},
		{swarmv1.RoleWorker, swarmv1.NodeReady, true, ""},
		{swarmv1.RoleManager, swarmv1.NodeReady, true, swarmv1.ManagerLeader},
		{swarmv1.RoleManager, swarmv1.NodeDown, true, swarmv1.ManagerLeader},
		{swarmv1.RoleManager, swarmv1.NodeReady, false, swarmv1.ManagerReachable},
		{swarmv1.RoleManager, swarmv1.NodeDown, false, swarmv1.ManagerUnreachable},
		{swarmv1.RoleManager, swarmv1.NodeUnknown, false, swarmv1.ManagerUnreachable},
	}
	for _, tc := range cases {
		if got := ManagerStatus(tc.role, tc.state, tc.leader); got != tc.want {
			t.Errorf("ManagerStatus(%s, %s, leader %v) = %q, want %q", tc.role, tc.state, tc.leader, got, tc.want)
		}
	}
}

func TestState(t *testing.T) {
	cases := []struct {
		node *corev1.Node
		want swarmv1.NodeState
	}{
		{makeNode("a").ready().obj(), swarmv1.NodeReady},
		{makeNode("b").condition(corev1.ConditionFalse, "KubeletNotReady").obj(), swarmv1.NodeDown},
		{makeNode("c").condition(corev1.ConditionUnknown, "NodeStatusUnknown").obj(), swarmv1.NodeDown},
		{makeNode("d").obj(), swarmv1.NodeUnknown},
	}
	for _, tc := range cases {
		if got := State(tc.node); got != tc.want {
			t.Errorf("State(%s) = %q, want %q", tc.node.Name, got, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	node := makeNode("manager1").ready().addr(corev1.NodeInternalIP, "172.18.0.2").addr(corev1.NodeHostName, "manager1.local").
		kubelet("v1.37.2", "linux", "arm64").allocatable("32", "256Gi").obj()
	sn := swarmNode("manager1", swarmv1.RoleManager, swarmv1.AvailabilityDrain, nil)
	got := Status(node, sn, Observed{Tasks: 4, LeaderNode: "manager1", Availability: swarmv1.AvailabilityDrain, Role: swarmv1.RoleManager})
	cpu, mem := resource.MustParse("32"), resource.MustParse("256Gi")
	want := swarmv1.NodeStatus{ObservedGeneration: 3, ID: "uid-manager1", Hostname: "manager1.local", Addr: "172.18.0.2",
		State: swarmv1.NodeReady, Availability: swarmv1.AvailabilityDrain, Role: swarmv1.RoleManager, ManagerStatus: swarmv1.ManagerLeader,
		EngineVersion: "v1.37.2", Platform: swarmv1.Platform{OS: "linux", Architecture: "aarch64"},
		Resources: swarmv1.NodeResources{CPUs: &cpu, Memory: &mem}, Tasks: 4,
		Conditions: []metav1.Condition{
			{Type: swarmv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonNodeReady, Message: "The Kubernetes node is Ready", ObservedGeneration: 3},
			{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonAsRequested,
				Message: "Role, availability and labels are applied to the Kubernetes node", ObservedGeneration: 3},
		}}
	ignoreTimes := cmp.Transformer("noTime", func(c metav1.Condition) metav1.Condition { c.LastTransitionTime = metav1.Time{}; return c })
	if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	// The same inputs again give the same status: the controller then writes nothing.
	sn.Status = got
	again := Status(node, sn, Observed{Tasks: 4, LeaderNode: "manager1", Availability: swarmv1.AvailabilityDrain, Role: swarmv1.RoleManager})
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("a second pass changed the status (-first +second):\n%s", diff)
	}

	// Down, another leader, a label left out: Unreachable, Ready False, Degraded True.
	down := makeNode("manager1").condition(corev1.ConditionUnknown, "NodeStatusUnknown").obj()
	st := Status(down, sn, Observed{LeaderNode: "worker1", Availability: swarmv1.AvailabilityActive, Role: swarmv1.RoleManager, LabelProblems: []string{"label zone: x"}})
	if st.State != swarmv1.NodeDown || st.ManagerStatus != swarmv1.ManagerUnreachable || st.Platform.Architecture != "x86_64" {
		t.Errorf("state %q, manager status %q, arch %q; want Down, Unreachable, x86_64 (from the label)", st.State, st.ManagerStatus, st.Platform.Architecture)
	}
	if c := findCondition(st.Conditions, swarmv1.ConditionReady); c.Status != metav1.ConditionFalse || c.Reason != ReasonNodeDown {
		t.Errorf("Ready = %+v, want False NodeDown", c)
	}
	if c := findCondition(st.Conditions, swarmv1.ConditionDegraded); c.Status != metav1.ConditionTrue || c.Reason != ReasonLabelsNotApplied || c.Message != "label zone: x" {
		t.Errorf("Degraded = %+v, want True LabelsNotApplied", c)
	}

	// A demotion of the last manager, kept a manager: Degraded with swarmkit's words.
	st = Status(node, sn, Observed{Availability: swarmv1.AvailabilityActive, Role: swarmv1.RoleManager, HeldManager: true})
	c := findCondition(st.Conditions, swarmv1.ConditionDegraded)
	c.LastTransitionTime = metav1.Time{}
	want2 := metav1.Condition{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: ReasonLastManager, ObservedGeneration: 3,
		Message: "attempting to demote the last manager of the swarm: the node stays a manager; promote another node first"}
	if diff := cmp.Diff(want2, c); diff != "" || st.Role != swarmv1.RoleManager {
		t.Errorf("Degraded (-want +got):\n%s\nrole %s", diff, st.Role)
	}
}

func findCondition(cs []metav1.Condition, typ string) metav1.Condition {
	for _, c := range cs {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// TestSwarmVisibleChange: heartbeats do not reach the controller; what docker node ls shows does.
func TestSwarmVisibleChange(t *testing.T) {
	base := makeNode("worker1").ready().addr(corev1.NodeInternalIP, "172.18.0.3").kubelet("v1.37.2", "linux", "amd64").allocatable("32", "256Gi").obj()
	cases := []struct {
		name   string
		mutate func(*corev1.Node)
		want   bool
	}{
		{"heartbeat", func(n *corev1.Node) {
			n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(time.Now().Add(time.Minute))
			n.ResourceVersion = "2"
		}, false},
		{"images and annotations", func(n *corev1.Node) {
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"nginx"}}}
			n.Annotations = map[string]string{"x": "y"}
		}, false},
		{"not ready", func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }, true},
		{"label", func(n *corev1.Node) { n.Labels["zone"] = "a" }, true},
		{"taint", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{unreachable} }, true},
		{"kubelet upgrade", func(n *corev1.Node) { n.Status.NodeInfo.KubeletVersion = "v1.38.0" }, true},
		{"address", func(n *corev1.Node) { n.Status.Addresses[0].Address = "10.0.0.1" }, true},
		{"allocatable", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourceCPU] = resource.MustParse("16") }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			updated := base.DeepCopy()
			tc.mutate(updated)
			if got := SwarmVisibleChange(base, updated); got != tc.want {
				t.Errorf("SwarmVisibleChange = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIsTask(t *testing.T) {
	task := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{translate.LabelService: "web", translate.LabelManagedBy: translate.ManagedByValue}},
			Spec: corev1.PodSpec{NodeName: "worker1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		mutate(p)
		return p
	}
	now := metav1.Now()
	cases := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"running task", task(func(*corev1.Pod) {}), true},
		{"pending, bound", task(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), true},
		{"not bound yet", task(func(p *corev1.Pod) { p.Spec.NodeName = "" }), false},
		{"being deleted", task(func(p *corev1.Pod) { p.DeletionTimestamp = &now }), false},
		{"finished", task(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), false},
		{"not a service's pod", task(func(p *corev1.Pod) { delete(p.Labels, translate.LabelService) }), false},
	}
	for _, tc := range cases {
		if got := IsTask(tc.pod); got != tc.want {
			t.Errorf("%s: IsTask = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLeaseIdentity(t *testing.T) {
	for _, node := range []string{"manager1", "ip-10-0-0-1.ec2.internal", "node_with_underscore", ""} {
		id := LeaseIdentity(node, "0c1f6b9e-5a7e-4c1f-9a6e-3b8d2f1e4c5a")
		if got := NodeOfIdentity(id); got != node {
			t.Errorf("NodeOfIdentity(%q) = %q, want %q", id, got, node)
		}
	}
	if got := NodeOfIdentity("hostname-without-suffix"); got != "" {
		t.Errorf("NodeOfIdentity of a foreign identity = %q, want empty", got)
	}
}

func TestNewNode(t *testing.T) {
	n := makeNode("worker1").obj()
	sn := NewNode(n, swarmv1.RoleWorker)
	if sn.Name != "worker1" || OwnerUID(sn) != n.UID || sn.Spec.Availability != swarmv1.AvailabilityActive || sn.Spec.Role != swarmv1.RoleWorker {
		t.Errorf("NewNode = %+v", sn)
	}
	if OwnerUID(&swarmv1.Node{}) != "" {
		t.Errorf("a Node made by hand has an owner")
	}
}

// TestLastManager: the last manager is not demoted (swarmkit manager/controlapi/node.go,
// UpdateNode): the doors refuse it (CheckRole), and the controller keeps a Node edited with
// kubectl a manager (HeldManager), Degraded with swarmkit's words.
func TestLastManager(t *testing.T) {
	gone := swarmNode("manager2", swarmv1.RoleManager, "", nil)
	gone.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	gone.Finalizers = []string{"x"}
	others := map[string][]swarmv1.Node{
		"none":             nil,
		"a worker":         {*swarmNode("worker1", swarmv1.RoleWorker, "", nil), *swarmNode("worker2", "", "", nil)},
		"a manager":        {*swarmNode("worker1", swarmv1.RoleWorker, "", nil), *swarmNode("manager2", swarmv1.RoleManager, "", nil)},
		"a manager, going": {*gone},
	}
	cases := []struct {
		name     string
		role     swarmv1.NodeRole // the node's spec now
		to       swarmv1.NodeRole
		others   string
		wantErr  string
		wantHeld bool // when its spec says `to` and it is a manager on its Kubernetes node
	}{
		{"demote the only manager", swarmv1.RoleManager, swarmv1.RoleWorker, "a worker", LastManager, true},
		{"demote the only node", swarmv1.RoleManager, swarmv1.RoleWorker, "none", LastManager, true},
		{"an empty role is worker", swarmv1.RoleManager, "", "a worker", LastManager, true},
		{"demote with another manager", swarmv1.RoleManager, swarmv1.RoleWorker, "a manager", "", false},
		{"the other manager is being deleted", swarmv1.RoleManager, swarmv1.RoleWorker, "a manager, going", LastManager, true},
		{"promote", swarmv1.RoleWorker, swarmv1.RoleManager, "a worker", "", false},
		{"a worker stays one", swarmv1.RoleWorker, swarmv1.RoleWorker, "a worker", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := swarmNode("manager1", tc.role, "", nil)
			all := append([]swarmv1.Node{*n}, others[tc.others]...)
			err := CheckRole(n, tc.to, all)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			edited := swarmNode("manager1", tc.to, "", nil)
			got := []any{gotErr, HeldManager(edited, swarmv1.RoleManager, all), HeldManager(edited, swarmv1.RoleWorker, all)}
			if diff := cmp.Diff([]any{tc.wantErr, tc.wantHeld, false}, got); diff != "" {
				t.Errorf("refusal, held as a manager, held when not one (-want +got):\n%s", diff)
			}
		})
	}
}
