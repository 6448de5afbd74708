package crds

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func crd(name string, conditions ...any) client.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(Kind)
	u.SetName(name)
	if len(conditions) > 0 {
		u.Object["status"] = map[string]any{"conditions": conditions}
	}
	return u
}

func TestNotEstablished(t *testing.T) {
	established := map[string]any{"type": "Established", "status": "True"}
	pending := map[string]any{"type": "Established", "status": "False"}
	named := map[string]any{"type": "NamesAccepted", "status": "True"}
	tests := []struct {
		name string
		objs []client.Object
		want []string
	}{
		{name: "none installed", want: Names},
		{name: "all established", want: nil, objs: []client.Object{
			crd(Names[0], established), crd(Names[1], named, established), crd(Names[2], established)}},
		{name: "one pending, one without status", want: []string{Names[1], Names[2]}, objs: []client.Object{
			crd(Names[0], established), crd(Names[1], named, pending), crd(Names[2])}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(tt.objs...).Build()
			got, err := NotEstablished(context.Background(), c, Names)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("not established (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitEstablishedGivesUpWithTheContext(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(runtime.NewScheme()).WithObjects(crd(Names[0])).Build()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var told [][]string
	err := WaitEstablished(ctx, c, Names[:1], 10*time.Millisecond, func(missing []string) { told = append(told, missing) })
	if err == nil {
		t.Fatal("WaitEstablished returned nil for a CRD that is never established")
	}
	if diff := cmp.Diff([][]string{{Names[0]}}, told); diff != "" {
		t.Errorf("waiting was told (-want +got), once per change:\n%s", diff)
	}
}
