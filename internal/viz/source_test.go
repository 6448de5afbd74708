package viz

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// fakeCache is an informer cache whose informers the test drives and whose objects a fake
// client holds.
type fakeCache struct {
	*informertest.FakeInformers
	objects client.Client
}

func (f *fakeCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return f.objects.Get(ctx, key, obj, opts...)
}

func (f *fakeCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return f.objects.List(ctx, list, opts...)
}

// TestFeeder checks the live path: an informer event makes one rebuilt view, published as the
// next version, and a burst of events makes one delta.
func TestFeeder(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	objects := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		kubeNode("manager1", corev1.ConditionTrue),
		swarmNode("manager1", swarmv1.RoleManager, swarmv1.AvailabilityActive, swarmv1.NodeReady, swarmv1.ManagerLeader),
	).Build()
	c := &fakeCache{FakeInformers: &informertest.FakeInformers{Scheme: scheme}, objects: objects}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub()
	feed, err := startFeeder(ctx, c, hub)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- feed() }()
	waitFor := func(what string, ok func(View) bool) View {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if v := hub.View(); ok(v) {
				return v
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: not so after 5s: %+v", what, hub.View())
		return View{}
	}
	waitFor("the first view", func(v View) bool { return v.Version == 1 && len(v.Nodes) == 1 })

	pods, err := c.FakeInformerFor(ctx, &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := taskPod("default", fmt.Sprintf("web-%d", i), "web").On("manager1").Running(true).Obj()
		if err := objects.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		pods.Add(p)
	}
	v := waitFor("the five tasks", func(v View) bool { return len(v.Tasks) == 5 })
	if v.Version != 2 {
		t.Errorf("five pod events made version %d, want 2 (one delta)", v.Version)
	}

	sn := &swarmv1.Node{}
	if err := objects.Get(ctx, client.ObjectKey{Name: "manager1"}, sn); err != nil {
		t.Fatal(err)
	}
	old := sn.DeepCopy()
	sn.Spec.Availability = swarmv1.AvailabilityDrain
	if err := objects.Update(ctx, sn); err != nil {
		t.Fatal(err)
	}
	nodes, _ := c.FakeInformerFor(ctx, &swarmv1.Node{})
	nodes.Update(old, sn)
	waitFor("manager1 drained", func(v View) bool { return len(v.Nodes) == 1 && v.Nodes[0].Availability == "drain" })

	cancel()
	if err := <-done; err != nil {
		t.Errorf("the feeder stopped with %v", err)
	}
}
