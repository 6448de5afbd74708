package main

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
			got, err := ownImage(context.Background(), r, tc.ns, tc.pod)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ownImage = %q, %v; want %q (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestRetryAtStart: a failure to ask the API server is tried again, its answer (an error too)
// is taken at once.
func TestRetryAtStart(t *testing.T) {
	saved := startLookup
	t.Cleanup(func() { startLookup = saved })
	startLookup.every, startLookup.all = time.Millisecond, 100*time.Millisecond
	unavailable := apierrors.NewServiceUnavailable("etcd is restarting")
	refused := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name      string
		answers   []error // what each try gets; the last one is repeated
		wantTries int     // 0: until the time is up
		wantErr   func(error) bool
	}{
		{name: "answered", answers: []error{nil}, wantTries: 1},
		{name: "answered after failures to ask", answers: []error{unavailable, context.DeadlineExceeded, refused, nil}, wantTries: 4},
		{name: "an answer that is an error", answers: []error{unavailable, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "op", errors.New("no"))},
			wantTries: 2, wantErr: apierrors.IsForbidden},
		{name: "never answered", answers: []error{unavailable}, wantErr: apierrors.IsServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			err := retryAtStart(context.Background(), func(context.Context) error {
				err := tc.answers[min(tries, len(tc.answers)-1)]
				tries++
				return err
			})
			if tc.wantTries > 0 && tries != tc.wantTries {
				t.Errorf("%d tries, want %d", tries, tc.wantTries)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Errorf("retryAtStart = %v", err)
			}
		})
	}
}
