package controllers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestKeepOwnManagedFields(t *testing.T) {
	entry := func(manager string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationApply}
	}
	tests := []struct {
		name string
		in   []metav1.ManagedFieldsEntry
		want []string
	}{
		{"only others", []metav1.ManagedFieldsEntry{entry("kubelet"), entry("kube-controller-manager")}, nil},
		{"ours kept", []metav1.ManagedFieldsEntry{entry("kubelet"), entry(FieldOwner), entry(NodeFieldOwner)}, []string{FieldOwner, NodeFieldOwner}},
		{"none", nil, nil},
		{"our status and patch entries dropped", []metav1.ManagedFieldsEntry{
			{Manager: FieldOwner, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"},
			{Manager: FieldOwner, Operation: metav1.ManagedFieldsOperationUpdate}, entry(FieldOwner)}, []string{FieldOwner}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ManagedFields: tt.in}}
			out, err := keepOwnManagedFields(pod)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, mf := range out.(*corev1.Pod).ManagedFields {
				got = append(got, mf.Manager)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("managers %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("managers %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestDropManagedFields(t *testing.T) {
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}, {Manager: FieldOwner}}}}
	out, _ := dropManagedFields(svc)
	// nil, not empty: an Update sent with an empty list would reset the server's entries.
	if mf := out.(*swarmv1.Service).ManagedFields; mf != nil {
		t.Errorf("managed fields %v, want nil", mf)
	}
}

func TestDropNodeImagesKeepsOwnFieldsOnly(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}, {Manager: NodeFieldOwner, Operation: metav1.ManagedFieldsOperationApply}}},
		Status:     corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"nginx"}}}},
	}
	out, _ := dropNodeImages(node)
	n := out.(*corev1.Node)
	if len(n.Status.Images) != 0 || len(n.ManagedFields) != 1 || n.ManagedFields[0].Manager != NodeFieldOwner {
		t.Errorf("images %v, managed fields %v; want none and kubeswarm-node's only", n.Status.Images, n.ManagedFields)
	}
}

// TestTrimTask: a cached task keeps what the operator reads and loses the rest of its spec.
func TestTrimTask(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"a": "b"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}, {Manager: FieldOwner}}},
		Spec: corev1.PodSpec{
			NodeName:        "n1",
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "g"}},
			Affinity:        &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}},
			Containers: []corev1.Container{{Name: "task", Image: "nginx:1.27", Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/v"}}}},
			Volumes:     []corev1.Volume{{Name: "v"}},
			Tolerations: []corev1.Toleration{{Key: "k"}},
			DNSConfig:   &corev1.PodDNSConfig{Searches: []string{"x"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}, HostIP: "192.168.0.1",
			QOSClass: corev1.PodQOSBestEffort, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "task", RestartCount: 2, Ready: true, Image: "nginx:1.27", ImageID: "sha256:x",
				ContainerID: "containerd://y", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}},
				VolumeMounts:         []corev1.VolumeMountStatus{{Name: "v", MountPath: "/v"}}}}},
	}
	out, _ := trimTask(pod)
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n1", SchedulingGates: []corev1.PodSchedulingGate{{Name: "g"}},
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}, Containers: []corev1.Container{{Name: "task", Image: "nginx:1.27"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "task", RestartCount: 2, Ready: true,
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("trimmed task (-want +got):\n%s", diff)
	}
}

func TestStaleReads(t *testing.T) {
	var s staleReads
	svc := func(rv string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ResourceVersion: rv}}
	}
	if s.stale(svc("1")) {
		t.Fatal("stale before any write")
	}
	s.wrote(svc("2"), "1") // a write replaced version 1 with 2
	steps := []struct {
		read string
		want bool
	}{
		{"1", true},  // the cache has not seen the write yet
		{"1", true},  // still not
		{"2", false}, // it has: the record goes
		{"1", false}, // no record left
	}
	for i, st := range steps {
		if got := s.stale(svc(st.read)); got != st.want {
			t.Errorf("step %d: stale(rv %s) = %v, want %v", i, st.read, got, st.want)
		}
	}
	// A record outlives no cache lag: one of an object deleted before the cache saw the write
	// goes with the next write's sweep.
	s.wrote(svc("3"), "2")
	s.replaced[types.NamespacedName{Namespace: "ns", Name: "web"}] = replaced{version: "2", at: time.Now().Add(-2 * staleFor)}
	if s.stale(svc("2")) {
		t.Error("an expired record still says stale")
	}
	s.replaced[types.NamespacedName{Namespace: "ns", Name: "gone"}] = replaced{version: "7", at: time.Now().Add(-2 * staleFor)}
	s.swept = time.Time{}
	s.wrote(svc("4"), "3")
	if _, ok := s.replaced[types.NamespacedName{Namespace: "ns", Name: "gone"}]; ok {
		t.Error("the expired record of a deleted object was not swept")
	}
}

func TestNamespaceTerminating(t *testing.T) {
	terminating := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web",
		errors.New("unable to create new content in namespace ns because it is being terminated"))
	terminating.ErrStatus.Details.Causes = append(terminating.ErrStatus.Details.Causes,
		metav1.StatusCause{Type: corev1.NamespaceTerminatingCause, Message: "namespace ns is being terminated", Field: "metadata.namespace"})
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the API server's refusal", terminating, true},
		{"wrapped by the apply", fmt.Errorf("applying Deployment web: %w", terminating), true},
		{"joined with a status error", errors.Join(fmt.Errorf("applying Deployment web: %w", terminating), errors.New("status")), true},
		{"another refusal", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("quota")), false},
		{"not an API error", errors.New("boom"), false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := namespaceTerminating(tt.err); got != tt.want {
				t.Errorf("namespaceTerminating(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
