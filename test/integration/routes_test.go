package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/routes"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// testGateway is the operator's --gateway here.
const testGateway = "gateway-system/public"

// gatewayAPICRDs is the Gateway API module's standard-channel CRDs directory: the module the
// operator is built with ships them (config/crd/standard).
func gatewayAPICRDs() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m sigs.k8s.io/gateway-api: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard"), nil
}

// votingResultLabels are the result service's labels in dockersamples/example-voting-app put
// behind Traefik: its API under /api, the prefix stripped.
func votingResultLabels() map[string]string {
	return map[string]string{
		"traefik.enable":                                          "true",
		"traefik.http.routers.result.rule":                        "Host(`result.example.com`) && PathPrefix(`/api`)",
		"traefik.http.routers.result.entrypoints":                 "web",
		"traefik.http.routers.result.middlewares":                 "strip-api,auth",
		"traefik.http.middlewares.strip-api.stripprefix.prefixes": "/api",
		"traefik.http.middlewares.auth.basicauth.users":           "admin:$apr1$x",
		"traefik.http.services.result.loadbalancer.server.port":   "80",
	}
}

func waitRoute(t *testing.T, ns, name, what string, check func(*gatewayv1.HTTPRoute) error) *gatewayv1.HTTPRoute {
	t.Helper()
	var r *gatewayv1.HTTPRoute
	eventually(t, what, func() (err error) {
		if r, err = get(context.Background(), ns, name, &gatewayv1.HTTPRoute{}); err != nil {
			return err
		}
		return check(r)
	})
	return r
}

// TestRoutesFromTraefikLabels: a service's Traefik labels become an HTTPRoute the API server
// accepts (its CEL rules included), owned by the service, reverted after a hand edit, written
// only when it changes, and deleted when the labels stop asking for it.
func TestRoutesFromTraefikLabels(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	w := testutil.MakeService("result", ns)
	for k, v := range votingResultLabels() {
		w.Label(k, v)
	}
	svc := w.Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating the Service: %v", err)
	}

	route := waitRoute(t, ns, "result-result", "the HTTPRoute is made", func(*gatewayv1.HTTPRoute) error { return nil })
	if !metav1.IsControlledBy(route, svc) {
		t.Errorf("HTTPRoute is not controlled by the Service: %+v", route.OwnerReferences)
	}
	if got := route.Spec.Hostnames; !slices.Equal(got, []gatewayv1.Hostname{"result.example.com"}) {
		t.Errorf("hostnames = %v, want result.example.com", got)
	}
	parent := route.Spec.ParentRefs[0]
	if string(parent.Name) != "public" || string(ptr.Deref(parent.Namespace, "")) != "gateway-system" || string(ptr.Deref(parent.SectionName, "")) != "web" {
		t.Errorf("parentRef = %+v, want gateway-system/public section web (--gateway, entrypoints)", parent)
	}
	rule := route.Spec.Rules[0]
	if len(rule.Filters) != 1 || rule.Filters[0].URLRewrite == nil || ptr.Deref(rule.Filters[0].URLRewrite.Path.ReplacePrefixMatch, "") != "/" {
		t.Errorf("filters = %+v, want the /api prefix replaced by /", rule.Filters)
	}
	if b := rule.BackendRefs[0]; string(b.Name) != "result" || ptr.Deref(b.Port, 0) != 80 {
		t.Errorf("backendRef = %+v, want result:80", b)
	}
	// The Kubernetes Service offers the routed port, though the service publishes none.
	kube, err := get(ctx, ns, "result", &corev1.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kube.Spec.Ports) != 1 || kube.Spec.Ports[0].Port != 80 {
		t.Errorf("Kubernetes Service ports = %+v, want 80", kube.Spec.Ports)
	}
	waitService(t, ns, "result", "the hostnames and the basic auth note", func(s *swarmv1.Service) error {
		if !slices.Equal(s.Status.Hostnames, []string{"result.example.com"}) {
			return fmt.Errorf("status.hostnames = %v", s.Status.Hostnames)
		}
		c := condition(s, controllers.ConditionHonored)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "middleware auth (basicauth) cannot be expressed") {
			return fmt.Errorf("Honored = %+v", c)
		}
		return nil
	})

	// Nothing changed: the passes that touches of the Service cause write no route.
	mark := operatorWrites.mark()
	for i := range 3 {
		updateService(t, ns, "result", func(s *swarmv1.Service) {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations["test/touch"] = fmt.Sprint(i)
		})
		time.Sleep(300 * time.Millisecond)
	}
	if w := operatorWrites.writesSince(mark, "/namespaces/"+ns+"/httproutes"); len(w) > 0 {
		t.Errorf("the operator wrote the unchanged route: %v", w)
	}

	// A hand edit is reverted.
	eventually(t, "editing the route by hand", func() error {
		r, err := get(ctx, ns, "result-result", &gatewayv1.HTTPRoute{})
		if err != nil {
			return err
		}
		r.Spec.Hostnames = []gatewayv1.Hostname{"evil.example.com"}
		return k8sClient.Update(ctx, r, client.FieldOwner("someone"))
	})
	waitRoute(t, ns, "result-result", "the hand edit is reverted", func(r *gatewayv1.HTTPRoute) error {
		if !slices.Equal(r.Spec.Hostnames, []gatewayv1.Hostname{"result.example.com"}) {
			return fmt.Errorf("hostnames = %v", r.Spec.Hostnames)
		}
		return nil
	})

	// The namespace's annotation names another Gateway.
	eventually(t, "annotating the namespace", func() error {
		n, err := get(ctx, "", ns, &corev1.Namespace{})
		if err != nil {
			return err
		}
		n.Annotations = map[string]string{routes.AnnotationGateway: "edge/internal"}
		return k8sClient.Update(ctx, n)
	})
	waitRoute(t, ns, "result-result", "the route moves to the namespace's Gateway", func(r *gatewayv1.HTTPRoute) error {
		if p := r.Spec.ParentRefs[0]; string(p.Name) != "internal" || string(ptr.Deref(p.Namespace, "")) != "edge" {
			return fmt.Errorf("parentRef = %+v", p)
		}
		return nil
	})

	// traefik.enable=false: the route goes, and so do the hostnames.
	updateService(t, ns, "result", func(s *swarmv1.Service) { s.Spec.Labels["traefik.enable"] = "false" })
	eventually(t, "the route is deleted", func() error {
		_, err := get(ctx, ns, "result-result", &gatewayv1.HTTPRoute{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errors.Join(err, errors.New("the route is still there"))
	})
	waitService(t, ns, "result", "no hostnames", func(s *swarmv1.Service) error {
		if len(s.Status.Hostnames) > 0 {
			return fmt.Errorf("status.hostnames = %v", s.Status.Hostnames)
		}
		return nil
	})
}

// TestStackGatewayAndHostnames: a Stack's spec.gateway names the Gateway of its services' routes
// (over the operator's --gateway), and its status lists each service's hostnames; a gateway
// that is not NAMESPACE/NAME is refused at apply time.
func TestStackGatewayAndHostnames(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	st := &swarmv1.Stack{
		ObjectMeta: metav1.ObjectMeta{Name: "vote", Namespace: ns},
		Spec: swarmv1.StackSpec{
			Gateway: "shared/web",
			Services: []swarmv1.StackService{
				{Name: "result", ServiceSpec: swarmv1.ServiceSpec{Image: "result", Labels: votingResultLabels()}},
				{Name: "vote", ServiceSpec: swarmv1.ServiceSpec{Image: "vote", Labels: map[string]string{
					"caddy":               "vote.example.com",
					"caddy.reverse_proxy": "{{upstreams 80}}",
				}}},
			},
		},
	}
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatalf("creating the Stack: %v", err)
	}
	waitRoute(t, ns, "vote-vote-caddy", "the caddy site's route attaches to the stack's Gateway", func(r *gatewayv1.HTTPRoute) error {
		if p := r.Spec.ParentRefs[0]; string(p.Name) != "web" || string(ptr.Deref(p.Namespace, "")) != "shared" {
			return fmt.Errorf("parentRef = %+v", p)
		}
		return nil
	})
	waitStack(t, ns, "vote", "the stack's status lists the hostnames", func(s *swarmv1.Stack) error {
		want := map[string][]string{"result": {"result.example.com"}, "vote": {"vote.example.com"}}
		for _, svc := range s.Status.Services {
			if !slices.Equal(svc.Hostnames, want[svc.Name]) {
				return fmt.Errorf("service %s hostnames = %v, want %v", svc.Name, svc.Hostnames, want[svc.Name])
			}
			delete(want, svc.Name)
		}
		if len(want) > 0 {
			return fmt.Errorf("services missing from the status: %v", want)
		}
		return nil
	})

	bad := &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns}, Spec: swarmv1.StackSpec{Gateway: "a/b/c"}}
	if err := k8sClient.Create(ctx, bad); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.gateway") {
		t.Errorf("creating a Stack with gateway a/b/c: %v, want Invalid naming spec.gateway", err)
	}
}

// TestLongLabelKeyRoute: a production Traefik label whose key is longer than any Kubernetes
// annotation name (a response header middleware) is accepted by the CRD, kept in the spec, and
// reaches the HTTPRoute, which the API server accepts; Honored says only that the key is left
// off the objects' annotations. A route host that is no DNS name makes the Service Degraded,
// InvalidSpec, naming the label, and no route is made.
func TestLongLabelKeyRoute(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const long = "traefik.http.middlewares.client.headers.customresponseheaders.Cache-control"
	w := testutil.MakeService("client", ns)
	for k, v := range map[string]string{
		"traefik.enable":                          "true",
		"traefik.http.routers.client.rule":        "Host(`app.example.com`)",
		"traefik.http.routers.client.entrypoints": "web",
		"traefik.http.routers.client.middlewares": "client",
		long: "no-store, max-age=0",
		"traefik.http.services.client.loadbalancer.server.port": "80",
	} {
		w.Label(k, v)
	}
	svc := w.Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating the Service: %v", err)
	}
	stored, err := get(ctx, ns, "client", &swarmv1.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Labels[long] != "no-store, max-age=0" {
		t.Fatalf("the stored spec lost the label: %v", stored.Spec.Labels)
	}
	waitRoute(t, ns, "client-client", "the route has the response header", func(r *gatewayv1.HTTPRoute) error {
		for _, f := range r.Spec.Rules[0].Filters {
			if f.ResponseHeaderModifier != nil {
				for _, h := range f.ResponseHeaderModifier.Set {
					if string(h.Name) == "Cache-control" && h.Value == "no-store, max-age=0" {
						return nil
					}
				}
			}
		}
		return fmt.Errorf("filters = %+v", r.Spec.Rules[0].Filters)
	})
	waitService(t, ns, "client", "Honored says the key is kept", func(s *swarmv1.Service) error {
		c := condition(s, controllers.ConditionHonored)
		if c == nil || !strings.Contains(c.Message, `labels: "`+long+`" is kept in the service's spec but not copied to the annotations`) {
			return fmt.Errorf("Honored = %+v", c)
		}
		return nil
	})

	bad := testutil.MakeService("bad", ns).
		Label("traefik.http.routers.bad.rule", "Host(`my_app.example.com`)").
		Label("traefik.http.services.bad.loadbalancer.server.port", "80").Obj()
	bad.UID = ""
	if err := k8sClient.Create(ctx, bad); err != nil {
		t.Fatalf("creating the Service: %v", err)
	}
	waitService(t, ns, "bad", "Degraded, InvalidSpec naming the label", func(s *swarmv1.Service) error {
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != controllers.ReasonInvalidSpec || !strings.Contains(c.Message, `label traefik.http.routers.bad.rule: host "my_app.example.com" is not a DNS name`) {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	if _, err := get(ctx, ns, "bad-bad", &gatewayv1.HTTPRoute{}); !apierrors.IsNotFound(err) {
		t.Errorf("a route was made for the refused service: %v", err)
	}
}
