package nodes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

func TestEligible(t *testing.T) {
	node := func(name, role string, ready bool, taints ...corev1.Taint) corev1.Node {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{translate.NodeLabelRole: role, corev1.LabelHostname: name}},
			Spec:   corev1.NodeSpec{Taints: taints},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
	}
	nodes := []corev1.Node{
		node("manager1", "manager", true, corev1.Taint{Key: translate.ControlPlaneTaint, Effect: corev1.TaintEffectNoSchedule}),
		node("worker1", "worker", true),
		node("worker2", "worker", true, corev1.Taint{Key: "swarm.kubeswarm.io/availability", Value: "drain", Effect: corev1.TaintEffectNoExecute}),
		node("worker3", "worker", false),
	}
	cases := []struct {
		constraint string
		mounts     []swarmv1.Mount
		want       []string
	}{
		{constraint: "", want: []string{"manager1", "worker1"}},
		{constraint: "node.role==worker", want: []string{"worker1"}},
		{constraint: "node.hostname!=manager1", want: []string{"worker1"}},
		// Whether bind mounts are allowed is the operator's verdict on the service, not a
		// question of where its tasks may run.
		{constraint: "node.role==worker", mounts: []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/log", Target: "/log"}}, want: []string{"worker1"}},
	}
	for _, tc := range cases {
		w := testutil.MakeService("s", "n").Mode(swarmv1.ModeGlobalJob)
		if tc.constraint != "" {
			w.Constraint(tc.constraint)
		}
		w.Spec.Mounts = tc.mounts
		got, err := Eligible(w.Obj(), nodes)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q: eligible nodes (-want +got):\n%s", tc.constraint, diff)
		}
	}
}
