package objects

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestConstraintValuesIgnoreCase: Swarm compares a node.labels value case-insensitively
// (swarmkit manager/constraint, Match: strings.EqualFold), Kubernetes exactly; the requirement
// lists the common spellings, and any other one the cluster's nodes carry, so that a node
// labelled zone=East meets node.labels.zone==east (and fails !=) as in Swarm.
func TestConstraintValuesIgnoreCase(t *testing.T) {
	nodes := []map[string]string{
		{"zone": "East", "kubernetes.io/hostname": "w1"},
		{"zone": "eAsT"},
		{"zone": "west"},
		{"rack": "east"},
	}
	for _, tc := range []struct {
		constraint string
		nodes      []map[string]string
		wantOp     corev1.NodeSelectorOperator
		wantKey    string
		want       []string
	}{
		{constraint: "node.labels.zone==east", wantOp: corev1.NodeSelectorOpIn, wantKey: "zone", want: []string{"EAST", "East", "east"}},
		{constraint: "node.labels.zone==east", nodes: nodes, wantOp: corev1.NodeSelectorOpIn, wantKey: "zone", want: []string{"EAST", "East", "eAsT", "east"}},
		{constraint: "node.labels.zone!=EAST", nodes: nodes, wantOp: corev1.NodeSelectorOpNotIn, wantKey: "zone", want: []string{"EAST", "East", "eAsT", "east"}},
		{constraint: "engine.labels.zone==WEST", nodes: nodes, wantOp: corev1.NodeSelectorOpIn, wantKey: "zone", want: []string{"WEST", "West", "west"}},
		// The label name keeps its case, as swarmkit looks it up (NodeMatches).
		{constraint: "node.labels.Zone==east", nodes: nodes, wantOp: corev1.NodeSelectorOpIn, wantKey: "Zone", want: []string{"EAST", "East", "east"}},
		{constraint: "node.labels.tier==3", nodes: nodes, wantOp: corev1.NodeSelectorOpIn, wantKey: "tier", want: []string{"3"}},
		{constraint: "node.hostname==W1", nodes: nodes, wantOp: corev1.NodeSelectorOpIn, wantKey: corev1.LabelHostname, want: []string{"w1"}},
	} {
		t.Run(tc.constraint, func(t *testing.T) {
			svc := testutil.MakeService("s", "n").Constraint(tc.constraint).Obj()
			got, err := Build(svc, Inputs{NodeLabels: tc.nodes}, wide)
			if err != nil {
				t.Fatal(err)
			}
			req := podSpec(got).Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
			if *req.Key != tc.wantKey || *req.Operator != tc.wantOp {
				t.Errorf("requirement on %s %s, want %s %s", *req.Key, *req.Operator, tc.wantKey, tc.wantOp)
			}
			if diff := cmp.Diff(tc.want, req.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			// The scheduler's verdict on each node is Swarm's.
			spec, err := TaskPodSpec(svc, tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			sel := nodeaffinity.NewLazyErrorNodeSelector(spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
			c, _ := swarmsyntax.ParseConstraint(tc.constraint)
			for _, labels := range tc.nodes {
				if c.NodeLabel() == "" {
					break
				}
				swarm := c.Matches(labels[c.NodeLabel()]) == c.Equal
				if kube, _ := sel.Match(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: labels}}); kube != swarm {
					t.Errorf("node %v: the scheduler says %v, Swarm %v", labels, kube, swarm)
				}
			}
		})
	}
}

func TestNeedsNodeLabels(t *testing.T) {
	for c, want := range map[string]bool{"node.labels.zone==east": true, "ENGINE.LABELS.disk==ssd": true, "node.role==manager": false, "node.hostname==a": false} {
		if got := translate.NeedsNodeLabels(&testutil.MakeService("s", "n").Constraint(c).Obj().Spec); got != want {
			t.Errorf("translate.NeedsNodeLabels(%s) = %v, want %v", c, got, want)
		}
	}
	if translate.NeedsNodeLabels(&testutil.MakeService("s", "n").Obj().Spec) {
		t.Errorf("a service without constraints needs no node labels")
	}
}
