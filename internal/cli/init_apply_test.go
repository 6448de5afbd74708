package cli

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/install"
)

func TestInitAppliesIdempotently(t *testing.T) {
	f := newTestFactory()
	crdsEstablishedAfter(f, 1)
	for i := 0; i < 2; i++ {
		out, _, err := run(t, f, "init")
		if err != nil {
			t.Fatalf("init #%d: %v", i+1, err)
		}
		if i == 0 && out == "" {
			t.Error("init printed nothing")
		}
	}
	dep := &unstructured.Unstructured{}
	dep.SetGroupVersionKind(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"})
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep); err != nil {
		t.Errorf("the operator's Deployment: %v", err)
	}
}
