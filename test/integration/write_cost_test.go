package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
