package integration

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// kstatusOf is what Flux says of an object as the API server has it.
func kstatusOf(obj client.Object) (*status.Result, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(swarmv1.GroupVersion.String())
	return status.Compute(u)
}

// TestHealthAsFluxSeesIt: kstatus over what the controllers write: a Service whose new spec
// cannot be realised (a bind mount the operator does not allow) is Failed with the reason, not
// InProgress forever; a Stack whose service name another object holds is not Ready, and Failed.
func TestHealthAsFluxSeesIt(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createService(t, testutil.MakeService("app", ns).Image("app:1").Obj())
	updateService(t, ns, "app", func(s *swarmv1.Service) {
		s.Spec.Mounts = []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
	})
	eventually(t, "the invalid service reads Failed", func() error {
		s, err := get(ctx, ns, "app", &swarmv1.Service{})
		if err != nil {
			return err
		}
		res, err := kstatusOf(s)
		if err != nil {
			return err
		}
		if res.Status != status.FailedStatus || len(res.Conditions) == 0 || res.Conditions[0].Reason != "InvalidSpec" {
			return fmt.Errorf("kstatus %s (%s) %+v", res.Status, res.Message, res.Conditions)
		}
		if c := condition(s, swarmv1.ConditionReady); c == nil || c.Status != "False" {
			return fmt.Errorf("Ready %+v", c)
		}
		return nil
	})
	// Fixed: the Stalled condition goes, and the service reads InProgress again (envtest runs
	// no Deployment controller, so it never gets to Current here).
	updateService(t, ns, "app", func(s *swarmv1.Service) { s.Spec.Mounts = nil })
	eventually(t, "the fixed service is no longer stalled", func() error {
		s, err := get(ctx, ns, "app", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if c := condition(s, swarmv1.ConditionStalled); c != nil {
			return fmt.Errorf("Stalled %+v", c)
		}
		res, err := kstatusOf(s)
		if err != nil {
			return err
		}
		if res.Status != status.InProgressStatus {
			return fmt.Errorf("kstatus %s (%s)", res.Status, res.Message)
		}
		return nil
	})

	// A Service in the way of a stack's service.
	if err := k8sClient.Create(ctx, testutil.MakeService("shop-web", ns).Image("other").Obj()); err != nil {
		t.Fatal(err)
	}
	st := &swarmv1.Stack{}
	st.Name, st.Namespace = "shop", ns
	st.Spec.Services = []swarmv1.StackService{{Name: "web", ServiceSpec: swarmv1.ServiceSpec{Image: "nginx"}}}
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitStack(t, ns, "shop", "the stack with a taken name reads Failed and not Ready", func(s *swarmv1.Stack) error {
		res, err := kstatusOf(s)
		if err != nil {
			return err
		}
		if res.Status != status.FailedStatus || res.Conditions[0].Reason != swarmv1.ReasonNameConflict {
			return fmt.Errorf("kstatus %s (%s) %+v", res.Status, res.Message, res.Conditions)
		}
		for _, c := range s.Status.Conditions {
			if c.Type == swarmv1.ConditionReady && c.Status != "False" {
				return fmt.Errorf("Ready %+v", c)
			}
		}
		return nil
	})
}
