//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/routes"
)

// traefikImage is Traefik built from its Go module by hack/real-cluster.sh (test/images/build
// --traefik): the Gateway API implementation of this test.
const traefikImage = "kubeswarm.test/traefik:v3"

// routesStack is the voting app's result service as a Swarm stack publishes it behind Traefik:
// no published port, only deploy.labels. The image answers GET / with the task's identity and
// GET /healthz with ok.
const routesStack = `
services:
  result:
    image: kubeswarm.test/web:1
    deploy:
      replicas: 2
      labels:
        traefik.enable: "true"
        traefik.http.routers.result.rule: Host(` + "`result.example.com`" + `) && PathPrefix(` + "`/api`" + `)
        traefik.http.routers.result.entrypoints: web
        traefik.http.routers.result.middlewares: strip-api
        traefik.http.middlewares.strip-api.stripprefix.prefixes: /api
        traefik.http.services.result.loadbalancer.server.port: "80"
`

// TestRealRoutesThroughTraefik: a stack's Traefik labels become an HTTPRoute on the namespace's
// Gateway, which Traefik (its Kubernetes Gateway provider) serves: a request to a node's port
// for the gateway, with Host result.example.com and a path under /api, is answered by a task
// of the stack's service, the /api prefix stripped.
func TestRealRoutesThroughTraefik(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	ips := nodeIPs(t)
	nodePort := startTraefikGateway(t, ns)

	// The namespace names its Gateway for the routes of its services.
	eventually(t, 10*time.Second, "annotating the namespace with its Gateway", func() error {
		n := &corev1.Namespace{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		n.Annotations = map[string]string{routes.AnnotationGateway: ns + "/public"}
		return k8sClient.Update(ctx, n)
	})
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	writeFile(t, file, routesStack)
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "vote")
	waitRunning(t, 120*time.Second, ns, "vote-result", 2)

	eventually(t, 60*time.Second, "Traefik accepts the HTTPRoute", func() error {
		r := &gatewayv1.HTTPRoute{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "vote-result-result"}, r); err != nil {
			return err
		}
		for _, p := range r.Status.Parents {
			for _, c := range p.Conditions {
				if c.Type == string(gatewayv1.RouteConditionAccepted) && c.Status == metav1.ConditionTrue {
					return nil
				}
			}
		}
		return fmt.Errorf("route status: %+v", r.Status.Parents)
	})

	tasks := taskNodes(t, ns, "vote-result")
	for _, node := range []string{"manager1", "worker1", "worker2"} {
		base := "http://" + net.JoinHostPort(ips[node], strconv.Itoa(int(nodePort)))
		eventually(t, 60*time.Second, "GET /api/ with Host result.example.com on "+node+" reaches a task at /", func() error {
			status, body, err := getWithHost(base+"/api/", "result.example.com")
			if err != nil {
				return err
			}
			if a := parseAnswer(body); status != http.StatusOK || tasks[a.Host] == "" {
				return fmt.Errorf("%d %q: not a task of vote-result (%v)", status, body, tasks)
			}
			t.Logf("%s, Host result.example.com, GET /api/ → %d %s", base, status, strings.TrimSpace(body))
			return nil
		})
		status, body, err := getWithHost(base+"/api/healthz", "result.example.com")
		if err != nil || status != http.StatusOK || strings.TrimSpace(body) != "ok" {
			t.Errorf("GET /api/healthz on %s: %d %q %v, want the task's /healthz (ok)", node, status, body, err)
		} else {
			t.Logf("%s, Host result.example.com, GET /api/healthz → %d %s", base, status, strings.TrimSpace(body))
		}
	}
	base := "http://" + net.JoinHostPort(ips["worker1"], strconv.Itoa(int(nodePort)))
	for _, tc := range []struct{ path, host string }{{"/healthz", "result.example.com"}, {"/api/", "other.example.com"}} {
		if status, body, err := getWithHost(base+tc.path, tc.host); err != nil || status != http.StatusNotFound {
			t.Errorf("GET %s with Host %s: %d %q %v, want 404 (no route)", tc.path, tc.host, status, body, err)
		}
	}
	st := &swarmv1.Stack{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "vote"}, st); err != nil {
		t.Fatal(err)
	}
	if len(st.Status.Services) != 1 || strings.Join(st.Status.Services[0].Hostnames, ",") != "result.example.com" {
		t.Errorf("stack status services = %+v, want result with hostname result.example.com", st.Status.Services)
	}
}

// getWithHost sends GET url with the Host header host and returns the status and body.
func getWithHost(url, host string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// startTraefikGateway runs Traefik with its Kubernetes Gateway provider in ns, a GatewayClass
// of its own, and a Gateway "public" with an HTTP listener "web" on Traefik's entry point web
// (port 8000), published on every node by a NodePort Service. It returns the node port.
func startTraefikGateway(t *testing.T, ns string) int32 {
	t.Helper()
	ctx := context.Background()
	class := "traefik-" + ns
	labels := map[string]string{"app": "traefik"}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: ns}},
		// The provider reads Gateway API objects, Services, EndpointSlices, Secrets and
		// namespaces cluster-wide and writes the objects' status: a test cluster's admin role.
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: class},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "traefik", Namespace: ns}},
		},
		&gatewayv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: class},
			Spec:       gatewayv1.GatewayClassSpec{ControllerName: "traefik.io/gateway-controller"},
		},
		&gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "public", Namespace: ns},
			Spec: gatewayv1.GatewaySpec{
				GatewayClassName: gatewayv1.ObjectName(class),
				Listeners:        []gatewayv1.Listener{{Name: "web", Protocol: gatewayv1.HTTPProtocolType, Port: 8000}},
			},
		},
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: ns},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: "traefik",
						Containers: []corev1.Container{{
							Name:  "traefik",
							Image: traefikImage,
							Args: []string{
								"--entrypoints.web.address=:8000",
								"--providers.kubernetesgateway",
								"--providers.kubernetesgateway.namespaces=" + ns,
								"--log.level=DEBUG",
							},
							Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8000}},
						}},
					},
				},
			},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: ns},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeNodePort,
				Selector: labels,
				Ports:    []corev1.ServicePort{{Name: "web", Port: 8000, TargetPort: intstr.FromInt32(8000)}},
			},
		},
	}
	for _, o := range objs {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	t.Cleanup(func() {
		for _, o := range objs[1:3] { // the cluster-scoped ones; the namespace takes the rest
			_ = k8sClient.Delete(context.Background(), o)
		}
	})
	eventually(t, 120*time.Second, "Traefik runs", func() error {
		d := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "traefik"}, d); err != nil {
			return err
		}
		if d.Status.ReadyReplicas < 1 {
			return fmt.Errorf("%d ready", d.Status.ReadyReplicas)
		}
		return nil
	})
	eventually(t, 60*time.Second, "Traefik programs the Gateway", func() error {
		g := &gatewayv1.Gateway{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "public"}, g); err != nil {
			return err
		}
		for _, c := range g.Status.Conditions {
			if c.Type == string(gatewayv1.GatewayConditionProgrammed) && c.Status == metav1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("gateway status: %+v", g.Status.Conditions)
	})
	s := &corev1.Service{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "traefik"}, s); err != nil {
		t.Fatal(err)
	}
	return s.Spec.Ports[0].NodePort
}
