package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestWritesPerConvergedService counts what a new Service costs the apiserver until it is
// Ready: the Deployment, the Kubernetes Service, and the status a user sees change (tasks
// pending, then running).
func TestWritesPerConvergedService(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	before := operatorWrites.mark()
	svc := testutil.MakeService("cost", ns).Replicas(3).Publish(0, 80).Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	var dep *appsv1.Deployment
	eventually(t, "the Deployment is created", func() (err error) {
		dep, err = get(ctx, ns, "cost", &appsv1.Deployment{})
		return err
	})
	eventually(t, "the status shows the tasks pending", func() error {
		s, err := get(ctx, ns, "cost", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if s.Status.ObservedGeneration != s.Generation || s.Status.Replicas != "0/3" {
			return fmt.Errorf("status %+v", s.Status)
		}
		return nil
	})
	// The Deployment controller does not run here: fake its status.
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}
	if err := k8sClient.Status().Update(ctx, dep); err != nil {
		t.Fatalf("faking the Deployment status: %v", err)
	}
	eventually(t, "the Service is Ready", func() error {
		s, err := get(ctx, ns, "cost", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if c := condition(s, swarmv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready %+v", c)
		}
		return nil
	})
	time.Sleep(time.Second) // anything written late
	got := operatorWrites.writesSince(before, "/namespaces/"+ns+"/")
	for _, w := range got {
		t.Log(w)
	}
	// Deployment + Service, and the two statuses: 0/3 pending, 3/3 Ready.
	if want := 4; len(got) > want {
		t.Errorf("the operator made %d writes for one Service to converge, want at most %d: %v", len(got), want, got)
	}
}

// TestNothingWrittenInANamespaceBeingDeleted: while a namespace is deleted, the API server
// refuses every create in it (events included) and removes its objects in no set order. The
// operator leaves the kubeswarm objects there alone: a Service whose Deployment went first is
// not applied again, and a change to it writes nothing. (envtest runs no namespace controller,
// so the namespace stays Terminating.)
func TestNothingWrittenInANamespaceBeingDeleted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createService(t, testutil.MakeService("web", ns).Replicas(2).Obj())
	if err := k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the namespace is being deleted", func() error {
		n := &corev1.Namespace{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		if n.DeletionTimestamp.IsZero() {
			return fmt.Errorf("not deleted yet")
		}
		return nil
	})
	time.Sleep(time.Second) // the operator's cache sees it
	before := operatorWrites.mark()
	if err := k8sClient.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}); err != nil {
		t.Fatal(err)
	}
	updateService(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:1.27" })
	time.Sleep(2 * time.Second)
	if got := operatorWrites.writesSince(before, "/namespaces/"+ns+"/"); len(got) > 0 {
		t.Errorf("the operator wrote in a namespace being deleted: %v", got)
	}
}
