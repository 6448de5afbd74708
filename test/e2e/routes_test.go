//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/routes"
)

func init() { utilruntime.Must(gatewayv1.Install(scheme)) }

// caddyStack is a stack published through caddy-docker-proxy on Swarm: a site, its upstreams.
const caddyStack = `
services:
  whoami:
    image: nginx
    deploy:
      labels:
        caddy: whoami.example.com
        caddy.reverse_proxy: "{{upstreams 80}}"
`

// TestRoutesOnTheCluster: on a cluster with the Gateway API CRDs (make install), a stack's
// caddy-docker-proxy labels become an HTTPRoute the API server accepts, attached to the
// namespace's Gateway and owned by the service; stack rm takes it away (the cluster's garbage
// collector, through the owner reference).
func TestRoutesOnTheCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	eventually(t, 10*time.Second, "annotating the namespace with its Gateway", func() error {
		n := &corev1.Namespace{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		n.Annotations = map[string]string{routes.AnnotationGateway: "infra/public"}
		return k8sClient.Update(ctx, n)
	})
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(file, []byte(caddyStack), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "who")

	route := &gatewayv1.HTTPRoute{}
	eventually(t, 60*time.Second, "the HTTPRoute is made", func() error {
		return getObject(ctx, ns, "who-whoami-caddy", route)
	})
	svc := &swarmv1.Service{}
	if err := getObject(ctx, ns, "who-whoami", svc); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(route, svc) {
		t.Errorf("HTTPRoute owners = %+v, want the Service", route.OwnerReferences)
	}
	if len(route.Spec.Hostnames) != 1 || route.Spec.Hostnames[0] != "whoami.example.com" {
		t.Errorf("hostnames = %v, want whoami.example.com", route.Spec.Hostnames)
	}
	if p := route.Spec.ParentRefs; len(p) != 1 || p[0].Name != "public" || p[0].Namespace == nil || *p[0].Namespace != "infra" {
		t.Errorf("parentRefs = %+v, want infra/public (the namespace's annotation)", p)
	}
	eventually(t, 30*time.Second, "the stack's status shows the hostname", func() error {
		st := &swarmv1.Stack{}
		if err := getObject(ctx, ns, "who", st); err != nil {
			return err
		}
		if len(st.Status.Services) != 1 || fmt.Sprint(st.Status.Services[0].Hostnames) != "[whoami.example.com]" {
			return fmt.Errorf("stack services = %+v", st.Status.Services)
		}
		return nil
	})

	mustSwarm(t, ns, "stack", "rm", "who")
	eventually(t, 60*time.Second, "stack rm takes the route away", func() error {
		err := getObject(ctx, ns, "who-whoami-caddy", &gatewayv1.HTTPRoute{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the route is still there (%w)", err)
	})
}

func getObject(ctx context.Context, ns, name string, obj client.Object) error {
	return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}
