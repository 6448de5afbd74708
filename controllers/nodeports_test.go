package controllers

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// apiServer answers creates of NodePort Services as kube-apiserver does with
// --service-node-port-range rng: a port outside it is refused naming the range, one inside it
// passes the allocator and is refused by validation (the probe's label), or is already
// allocated.
func apiServer(rng translate.PortRange, allocated int32) interceptor.Funcs {
	return interceptor.Funcs{Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
		svc := obj.(*corev1.Service)
		gk := schema.GroupKind{Kind: "Service"}
		port := svc.Spec.Ports[0].NodePort
		path := field.NewPath("spec", "ports").Index(0).Child("nodePort")
		switch {
		case !rng.Contains(port):
			return apierrors.NewInvalid(gk, svc.Name, field.ErrorList{field.Invalid(path, port,
				"provided port is not in the valid range. The range of valid ports is "+rng.String())})
		case port == allocated:
			return apierrors.NewInvalid(gk, svc.Name, field.ErrorList{field.Invalid(path, port, "provided port is already allocated")})
		}
		for k, v := range svc.Labels {
			return apierrors.NewInvalid(gk, svc.Name, field.ErrorList{field.Invalid(field.NewPath("metadata", "labels"), v,
				"a valid label must be an empty string or consist of alphanumeric characters (key "+k+")")})
		}
		return nil
	}}
}

func TestNodePortRange(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rng       translate.PortRange
		allocated int32
		want      translate.PortRange
	}{
		{name: "Kubernetes' default", rng: translate.DefaultNodePortRange, want: translate.DefaultNodePortRange},
		{name: "from 1, as the local cluster", rng: translate.PortRange{Min: 1, Max: 32767}, want: translate.PortRange{Min: 1, Max: 32767}},
		{name: "port 1 taken", rng: translate.PortRange{Min: 1, Max: 40000}, allocated: 1, want: translate.PortRange{Min: 1, Max: 40000}},
		{name: "up to 65535", rng: translate.PortRange{Min: 20000, Max: 65535}, want: translate.PortRange{Min: 20000, Max: 65535}},
		{name: "every port", rng: translate.PortRange{Min: 1, Max: 65535}, want: translate.PortRange{Min: 1, Max: 65535}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithInterceptorFuncs(apiServer(tc.rng, tc.allocated)).Build()
			got, err := NodePortRange(context.Background(), c, "default")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("NodePortRange = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("an API server that says nothing of ports", func(t *testing.T) {
		c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "probe", errors.New("no"))
		}}).Build()
		if _, err := NodePortRange(context.Background(), c, "default"); err == nil || !apierrors.IsForbidden(err) {
			t.Errorf("NodePortRange = %v, want the Forbidden error", err)
		}
	})
}
