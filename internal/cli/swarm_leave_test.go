package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
)

func TestLeave(t *testing.T) {
	k8sNode := func() *corev1.Node {
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "worker1", Labels: map[string]string{
				"kubernetes.io/hostname": "worker1", nodes.ReservedPrefix + "role": "worker"}},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{
				{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule},
				{Key: nodes.TaintAvailability, Value: "drain", Effect: corev1.TaintEffectNoExecute}}},
		}
	}
	claim := func() *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db-data",
			OwnerReferences: []metav1.OwnerReference{
				{APIVersion: "swarm.kubeswarm.io/v1alpha1", Kind: "Stack", Name: "db", UID: "1", Controller: ptr.To(true)},
				{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "2"}}}}
	}
	cases := []struct {
		name      string
		args      []string
		installed bool
		denied    string
		wantErr   string
		wantOut   string
		// after --crds: the swarm's objects are gone, the nodes and the claim cleaned
		wantGone bool
	}{
		{name: "not installed", args: []string{"--force"}, wantErr: "this node is not part of a swarm"},
		{name: "without --force, docker's warning", installed: true, wantErr: "You are attempting to leave the swarm on a node that is participating as a manager."},
		{
			name: "a missing right is named before anything goes", args: []string{"--force", "--crds"}, installed: true,
			denied:  "delete customresourcedefinitions.apiextensions.k8s.io (cluster-wide)",
			wantErr: "missing rights to leave the swarm: nothing was changed; the kubeconfig's user\n  cannot delete customresourcedefinitions.apiextensions.k8s.io (cluster-wide)",
		},
		{name: "the operator only", args: []string{"--force"}, installed: true, wantOut: "Node left the swarm.\nkubeswarm's operator is removed"},
		{name: "the operator and the CRDs", args: []string{"-f", "--crds"}, installed: true, wantOut: "Node left the swarm.\nkubeswarm's operator and CRDs are removed", wantGone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFactory(k8sNode(), claim())
			if tc.installed {
				crdsEstablishedAfter(f, 1)
				if _, _, err := run(t, f, "init"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.denied != "" {
				f.denied[tc.denied] = true
			}
			out, _, err := run(t, f, append([]string{"leave"}, tc.args...)...)
			operator := client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}
			operatorErr := f.c.Get(t.Context(), operator, &appsv1.Deployment{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("leave: got error %v, want one containing %q", err, tc.wantErr)
				}
				if tc.installed && operatorErr != nil {
					t.Errorf("a refused leave removed the operator: %v", operatorErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("leave: %v", err)
			}
			if !strings.HasPrefix(out, tc.wantOut) {
				t.Errorf("leave printed %q, want it to start with %q", out, tc.wantOut)
			}
			if !apierrors.IsNotFound(operatorErr) {
				t.Errorf("the operator's Deployment is still there: %v", operatorErr)
			}
			crd := &unstructured.Unstructured{}
			crd.SetGroupVersionKind(crds.Kind)
			crdErr := f.c.Get(t.Context(), client.ObjectKey{Name: crds.Names[0]}, crd)
			if tc.wantGone != apierrors.IsNotFound(crdErr) {
				t.Errorf("CRD %s after leave: %v (want gone: %v)", crds.Names[0], crdErr, tc.wantGone)
			}
			node := &corev1.Node{}
			if err := f.c.Get(t.Context(), client.ObjectKey{Name: "worker1"}, node); err != nil {
				t.Fatal(err)
			}
			pvc := &corev1.PersistentVolumeClaim{}
			if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "db-data"}, pvc); err != nil {
				t.Fatalf("the claim: %v", err)
			}
			want, wantClaim := k8sNode(), claim()
			if tc.wantGone {
				delete(want.Labels, nodes.ReservedPrefix+"role")
				want.Spec.Taints = want.Spec.Taints[:1]
				wantClaim.OwnerReferences = wantClaim.OwnerReferences[1:]
			}
			if diff := cmp.Diff(want.Labels, node.Labels); diff != "" {
				t.Errorf("node labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.Spec.Taints, node.Spec.Taints); diff != "" {
				t.Errorf("node taints (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantClaim.OwnerReferences, pvc.OwnerReferences); diff != "" {
				t.Errorf("claim owners (-want +got):\n%s", diff)
			}
		})
	}
}
