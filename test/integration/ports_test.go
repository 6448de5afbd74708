package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestNodePortRange: the operator reads the API server's node-port range from its answers to
// creates of a probe Service, here envtest's --service-node-port-range 1-32767 (not Kubernetes'
// default 30000-32767), and leaves nothing behind.
func TestNodePortRange(t *testing.T) {
	ctx := context.Background()
	got, err := controllers.NodePortRange(ctx, k8sClient, metav1.NamespaceDefault)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := translate.ParsePortRange(nodePortRange); got != want {
		t.Errorf("NodePortRange = %s, want the API server's %s", got, want)
	}
	if _, err := get(ctx, metav1.NamespaceDefault, controllers.NodePortProbeName, &corev1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("the probe Service was stored (err %v)", err)
	}
	if _, err := controllers.NodePortRange(ctx, k8sClient, "no-such-namespace"); err == nil {
		t.Errorf("NodePortRange in a missing namespace gave no error")
	}
}

// TestRemovedServiceFreesPort: `service rm web` (a foreground delete, as the plugin does)
// followed at once by another service publishing web's port works, as in Swarm. Here, as on a
// new cluster whose garbage collector has not yet seen the Service kind, nothing collects
// web's children: the operator deletes the Kubernetes Service that holds the node port itself.
func TestRemovedServiceFreesPort(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	web := testutil.MakeService("web", ns).Publish(8200, 80).Obj()
	web.UID = ""
	if err := k8sClient.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	waitNodePort(t, ns, "web", 8200)
	if err := k8sClient.Delete(ctx, web, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // no garbage collector to finish the foreground deletion
		if w, err := get(ctx, ns, "web", &swarmv1.Service{}); err == nil {
			w.Finalizers = nil
			_ = k8sClient.Update(ctx, w)
		}
	})
	start := time.Now()
	api := testutil.MakeService("api", ns).Publish(8200, 8080).Obj()
	api.UID = ""
	if err := k8sClient.Create(ctx, api); err != nil {
		t.Fatal(err)
	}
	waitNodePort(t, ns, "api", 8200)
	if w, err := get(ctx, ns, "web", &swarmv1.Service{}); err != nil || w.DeletionTimestamp.IsZero() {
		t.Errorf("web should still be being deleted, waiting for its children (err %v)", err)
	}
	// The retry after a refused port is 15 s; the port must come sooner than that.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("api got the port after %s, want it at once", took)
	}
	eventually(t, "api is not Degraded", func() error {
		s, err := get(ctx, ns, "api", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if c := condition(s, swarmv1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
}

// waitNodePort waits until the Kubernetes Service of a Service publishes port on every node.
func waitNodePort(t *testing.T, ns, name string, port int32) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s gets node port %d", name, port), func() error {
		k, err := get(context.Background(), ns, name, &corev1.Service{})
		if err != nil {
			return err
		}
		if k.Spec.Ports[0].NodePort != port {
			return fmt.Errorf("nodePort %d", k.Spec.Ports[0].NodePort)
		}
		return nil
	})
}
