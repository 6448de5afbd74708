package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/install"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// crdsEstablishedAfter makes the factory's API server report a CRD Established only from the
// n-th time it is read (0: never), as a real one does a moment after the CRD is created.
func crdsEstablishedAfter(f *testFactory, n int) {
	reads := map[string]int{}
	f.c = interceptor.NewClient(f.c.(client.WithWatch), interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := c.Get(ctx, key, obj, opts...); err != nil {
				return err
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok || u.GetKind() != "CustomResourceDefinition" {
				return nil
			}
			reads[key.Name]++
			if n > 0 && reads[key.Name] >= n {
				u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": "True"}}}
			}
			return nil
		},
	})
}

func TestInitWaitsForTheCRDs(t *testing.T) {
	operator := func(f *testFactory) error {
		dep := &unstructured.Unstructured{}
		dep.SetGroupVersionKind(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"})
		return f.c.Get(t.Context(), client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep)
	}
	t.Run("established on the third read", func(t *testing.T) {
		f := newTestFactory()
		crdsEstablishedAfter(f, 3)
		if _, _, err := run(t, f, "init"); err != nil {
			t.Fatalf("init: %v", err)
		}
		if err := operator(f); err != nil {
			t.Errorf("the operator's Deployment: %v", err)
		}
	})
	t.Run("never established", func(t *testing.T) {
		f := newTestFactory()
		crdsEstablishedAfter(f, 0)
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		cmd := NewRootCommandWithFactory(streams, f)
		cmd.SetArgs([]string{"init"})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		cmd.SetContext(ctx)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "services.swarm.kubeswarm.io") {
			t.Fatalf("init: got error %v, want one naming the CRDs not established", err)
		}
		if err := operator(f); !apierrors.IsNotFound(err) {
			t.Errorf("the operator's Deployment was applied before the CRDs were established (get: %v)", err)
		}
	})
}
