package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestConstraintSpellingsFollowNodes: a node.labels constraint's node affinity lists the
// spellings of its value that the cluster's nodes carry (Swarm compares values
// case-insensitively), and a node that joins with a new spelling is added to it.
func TestConstraintSpellingsFollowNodes(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("zoned", ns).Constraint("node.labels.zone-case==east").Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	values := func() ([]string, error) {
		d, err := get(ctx, ns, "zoned", &appsv1.Deployment{})
		if err != nil {
			return nil, err
		}
		return d.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values, nil
	}
	eventually(t, "the affinity lists the common spellings", func() error {
		got, err := values()
		if err != nil {
			return err
		}
		if want := []string{"EAST", "East", "east"}; !slices.Equal(got, want) {
			return fmt.Errorf("values %v, want %v", got, want)
		}
		return nil
	})
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "case-node", Labels: map[string]string{"zone-case": "eaST"}}}
	if err := k8sClient.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(ctx, node) })
	eventually(t, "the new node's spelling is added", func() error {
		got, err := values()
		if err != nil {
			return err
		}
		if want := []string{"EAST", "East", "eaST", "east"}; !slices.Equal(got, want) {
			return fmt.Errorf("values %v, want %v", got, want)
		}
		return nil
	})
}
