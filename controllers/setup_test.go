package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// TestClusterDNS: only the API server's answer means no cluster DNS server; a failure to ask is
// an error (it is written in stack tasks' templates: "" would restart them).
func TestClusterDNS(t *testing.T) {
	kubeDNS := func(ip string) client.Object {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: metav1.NamespaceSystem}, Spec: corev1.ServiceSpec{ClusterIP: ip}}
	}
	failing := func(err error) interceptor.Funcs {
		return interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return err
		}}
	}
	gr := schema.GroupResource{Resource: "services"}
	for _, tc := range []struct {
		name    string
		objs    []client.Object
		fails   error
		want    string
		wantErr bool
	}{
		{name: "kube-dns", objs: []client.Object{kubeDNS("10.96.0.10")}, want: "10.96.0.10"},
		{name: "headless kube-dns", objs: []client.Object{kubeDNS(corev1.ClusterIPNone)}},
		{name: "no kube-dns"},
		{name: "not allowed to read it", fails: apierrors.NewForbidden(gr, "kube-dns", nil), wantErr: true},
		{name: "API server unavailable", objs: []client.Object{kubeDNS("10.96.0.10")}, fails: apierrors.NewServiceUnavailable("restarting"), wantErr: true},
		{name: "timeout", objs: []client.Object{kubeDNS("10.96.0.10")}, fails: apierrors.NewTimeoutError("slow", 1), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithObjects(tc.objs...)
			if tc.fails != nil {
				b = b.WithInterceptorFuncs(failing(tc.fails))
			}
			got, err := ClusterDNS(context.Background(), b.Build())
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ClusterDNS = %q, %v; want %q (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
