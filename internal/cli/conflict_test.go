package cli

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestServiceUpdateRetriesOnConflict: the operator writing the Service between the read and the
// write makes the update apply the flags again to the fresh Service, not fail.
func TestServiceUpdateRetriesOnConflict(t *testing.T) {
	f := newTestFactory(makeService("web").Replicas(2).Obj())
	conflicts := 1
	f.c = interceptor.NewClient(f.c.(client.WithWatch), interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if conflicts > 0 {
				conflicts--
				return apierrors.NewConflict(schema.GroupResource{Group: "swarm.kubeswarm.io", Resource: "services"}, obj.GetName(), nil)
			}
			return c.Update(ctx, obj, opts...)
		},
	})
	if _, _, err := run(t, f, "service", "update", "-d", "--force", "--env-add", "A=1", "web"); err != nil {
		t.Fatalf("update: %v", err)
	}
	s := &swarmv1.Service{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "web"}, s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ForceUpdate != 1 || len(s.Spec.Env) != 1 {
		t.Errorf("spec after a retried update: forceUpdate %d env %v", s.Spec.ForceUpdate, s.Spec.Env)
	}
}
