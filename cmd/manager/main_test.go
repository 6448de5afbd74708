package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestOwnImage(t *testing.T) {
	pod := func(name string, containers ...corev1.Container) client.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kubeswarm-system"}, Spec: corev1.PodSpec{Containers: containers}}
	}
	r := fake.NewClientBuilder().WithObjects(
		pod("op", corev1.Container{Name: "proxy", Image: "proxy:1"}, corev1.Container{Name: "manager", Image: "kubeswarm/manager:v1"}),
		pod("other", corev1.Container{Name: "proxy", Image: "proxy:1"}),
	).Build()
	for _, tc := range []struct {
		name, ns, pod, want string
		wantErr             bool
	}{
		{name: "in a cluster", ns: "kubeswarm-system", pod: "op", want: "kubeswarm/manager:v1"},
		{name: "outside a cluster", want: ""},
		{name: "no manager container", ns: "kubeswarm-system", pod: "other", wantErr: true},
		{name: "no such pod", ns: "kubeswarm-system", pod: "gone", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ownImage(r, tc.ns, tc.pod)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ownImage = %q, %v; want %q (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
