package dockerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = swarmv1.AddToScheme(s)
	return s
}

// fakeStackController does what the Stack controller does with a Stack's services on every
// write of a Stack (the fake client has no controllers): it writes each service's Service with
// stack.Child and removes those that left; a deleted Stack takes its Services with it.
func fakeStackController() interceptor.Funcs {
	sync := func(ctx context.Context, c client.WithWatch, st *swarmv1.Stack) error {
		want := map[string]bool{}
		for _, s := range st.Spec.Services {
			child := stack.Child(st, s)
			want[child.Name] = true
			cur := &swarmv1.Service{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(child), cur); apierrors.IsNotFound(err) {
				child.Generation, child.UID = 1, derivedUID("child", child.Name)
				if err := c.Create(ctx, child); err != nil {
					return err
				}
				continue
			}
			cur.Spec, cur.Labels, cur.Annotations = child.Spec, child.Labels, child.Annotations
			cur.Generation++
			if err := c.Update(ctx, cur); err != nil {
				return err
			}
		}
		list := &swarmv1.ServiceList{}
		_ = c.List(ctx, list, client.InNamespace(st.Namespace))
		for i := range list.Items {
			if stackOwner(&list.Items[i]) == st.Name && (!want[list.Items[i].Name] || st.DeletionTimestamp != nil) {
				_ = c.Delete(ctx, &list.Items[i])
			}
		}
		return nil
	}
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			st, ok := obj.(*swarmv1.Stack)
			if ok {
				st.Generation = 1
				st.UID = "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10"
			}
			if err := c.Create(ctx, obj, opts...); err != nil || !ok {
				return err
			}
			return sync(ctx, c, st)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			st, ok := obj.(*swarmv1.Stack)
			if ok {
				st.Generation++
			}
			if err := c.Update(ctx, obj, opts...); err != nil || !ok {
				return err
			}
			return sync(ctx, c, st)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := c.Delete(ctx, obj, opts...); err != nil {
				return err
			}
			if st, ok := obj.(*swarmv1.Stack); ok {
				now := metav1.Now()
				st.DeletionTimestamp = &now
				return sync(ctx, c, st)
			}
			return nil
		},
	}
}

type apiClient struct {
	t   *testing.T
	srv *httptest.Server
}

func newTestServer(t *testing.T, objs ...client.Object) (*apiClient, client.Client) {
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithStatusSubresource(&swarmv1.Service{}, &swarmv1.Stack{}).
		WithObjects(objs...).WithInterceptorFuncs(fakeStackController()).Build()
	s := &Server{Client: c, Namespace: "default", Version: "test"}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &apiClient{t: t, srv: srv}, c
}

// do sends a request and decodes the answer into out (when not nil); it returns the status.
func (a *apiClient) do(method, path string, body, out any) int {
	a.t.Helper()
	return a.doWith(nil, method, path, body, out)
}

// doWith is do with request headers.
func (a *apiClient) doWith(header http.Header, method, path string, body, out any) int {
	a.t.Helper()
	var rd bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&rd).Encode(body)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, &rd)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func stackFilter(name string) string {
	return "?filters=" + url.QueryEscape(`{"label":{"com.docker.stack.namespace=`+name+`":true}}`)
}

// seedSpec is what docker stack deploy sends for the seed's dbcluster (docker/cli
// cli/compose/convert/service.go): stack labels, a scoped network with the service's alias, a
// scoped volume and secret.
func seedSpec(netID string) swarm.ServiceSpec {
	ns := map[string]string{stack.LabelDockerStackNamespace: "wp"}
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "wp_dbcluster", Labels: map[string]string{stack.LabelDockerStackNamespace: "wp", stack.LabelDockerStackImage: "mysql:5.7"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: "mysql:5.7", Labels: ns,
				Mounts:  []mount.Mount{{Type: mount.TypeVolume, Source: "wp_mysql_vol", Target: "/var/lib/mysql", VolumeOptions: &mount.VolumeOptions{Labels: ns}}},
				Secrets: []*swarm.SecretReference{{SecretName: "wp_db_pass", File: &swarm.SecretReferenceFileTarget{Name: "db_pass", UID: "0", GID: "0", Mode: 0o444}}}},
			Networks: []swarm.NetworkAttachmentConfig{{Target: netID, Aliases: []string{"dbcluster"}}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(1))}},
	}
}

// TestStackDeployAndRemove walks docker stack deploy and docker stack rm through the endpoint:
// the stack becomes one Stack, listed as docker lists a stack, and goes when its last network
// does.
func TestStackDeployAndRemove(t *testing.T) {
	stackPoll = time.Millisecond
	api, c := newTestServer(t)
	ctx := context.Background()
	ns := map[string]string{stack.LabelDockerStackNamespace: "wp"}

	var netResp network.CreateResponse
	if code := api.do("POST", "/networks/create", network.CreateRequest{Name: "wp_common", Driver: "overlay", Labels: ns}, &netResp); code != http.StatusCreated {
		t.Fatalf("network create: %d", code)
	}
	if code := api.do("POST", "/secrets/create", swarm.SecretSpec{Annotations: swarm.Annotations{Name: "wp_db_pass", Labels: ns}, Data: []byte("x")}, nil); code != http.StatusCreated {
		t.Fatalf("secret create: %d", code)
	}
	var created swarm.ServiceCreateResponse
	if code := api.do("POST", "/services/create", seedSpec(netResp.ID), &created); code != http.StatusCreated {
		t.Fatalf("service create: %d", code)
	}
	if code := api.do("POST", "/services/create", seedSpec(netResp.ID), nil); code != http.StatusConflict {
		t.Errorf("second create: %d, want 409", code)
	}

	st := &swarmv1.Stack{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "wp"}, st); err != nil {
		t.Fatalf("no Stack wp: %v", err)
	}
	svc := st.Spec.Services[0]
	got := map[string]any{
		"service":  svc.Name,
		"networks": svc.Networks,
		"mounts":   svc.Mounts[0].Source,
		"secrets":  svc.Secrets[0].Source,
		"declared": []any{st.Spec.Networks, st.Spec.Volumes, st.Spec.Secrets},
	}
	want := map[string]any{
		"service":  "dbcluster",
		"networks": []swarmv1.NetworkAttachment{{Name: "common", Aliases: []string{"dbcluster"}}},
		"mounts":   "mysql_vol",
		"secrets":  "db_pass",
		"declared": []any{[]swarmv1.StackNetwork{{Name: "common", Driver: "overlay"}}, []swarmv1.StackVolume{{Name: "mysql_vol"}}, []swarmv1.StackObject{{Name: "db_pass"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stack (-want +got):\n%s", diff)
	}

	// docker stack services / ps / deploy's own lookups, by the stack label.
	var services []swarm.Service
	api.do("GET", "/services"+stackFilter("wp"), nil, &services)
	if len(services) != 1 || services[0].Spec.Name != "wp_dbcluster" || services[0].ID != created.ID {
		t.Fatalf("stack services: %+v", services)
	}
	if n := services[0].Spec.TaskTemplate.Networks; len(n) != 1 || n[0].Target != netResp.ID {
		t.Errorf("service networks: %+v, want the network %s", n, netResp.ID)
	}
	if s := services[0].Spec.TaskTemplate.ContainerSpec.Secrets; len(s) != 1 || s[0].SecretName != "wp_db_pass" {
		t.Errorf("service secrets: %+v", s)
	}
	var nets []network.Summary
	api.do("GET", "/networks"+stackFilter("wp"), nil, &nets)
	if len(nets) != 1 || nets[0].Name != "wp_common" || nets[0].ID != netResp.ID {
		t.Fatalf("stack networks: %+v", nets)
	}

	// A redeploy updates the Stack's entry.
	upd := seedSpec(netResp.ID)
	upd.TaskTemplate.ContainerSpec.Image = "mysql:8"
	if code := api.do("POST", "/services/"+created.ID+"/update?version="+strconv.FormatUint(services[0].Version.Index, 10), upd, nil); code != http.StatusOK {
		t.Fatalf("service update %s: %d", created.ID, code)
	}
	_ = c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "wp"}, st)
	if img := st.Spec.Services[0].Image; img != "mysql:8" {
		t.Errorf("Stack's image after update: %s", img)
	}

	// docker stack rm: services, secrets, then networks; the network goes only when unused.
	if code := api.do("DELETE", "/networks/"+netResp.ID, nil, nil); code != http.StatusForbidden {
		t.Errorf("removing a network in use: %d, want 403", code)
	}
	if code := api.do("DELETE", "/services/"+created.ID, nil, nil); code != http.StatusOK {
		t.Fatalf("service rm: %d", code)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "wp"}, st); err != nil || len(st.Spec.Services) != 0 {
		t.Fatalf("Stack after service rm: %v %+v", err, st.Spec.Services)
	}
	if code := api.do("DELETE", "/networks/"+netResp.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("network rm: %d", code)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "wp"}, st); !apierrors.IsNotFound(err) {
		t.Errorf("Stack after its last network was removed: %v", err)
	}
	secrets := &corev1.SecretList{}
	_ = c.List(ctx, secrets, client.MatchingLabels(stack.Labels("wp")))
	if len(secrets.Items) != 1 {
		t.Errorf("the stack's secret is not labelled for kubectl swarm stack rm: %d", len(secrets.Items))
	}
}

// TestStackServiceExternal: what the stack does not scope (another network, a secret made on
// its own) is declared external, under its own name.
func TestStackServiceExternal(t *testing.T) {
	in := swarm.ServiceSpec{TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x",
		Secrets: []*swarm.SecretReference{{SecretName: "shared_key"}}}}}
	ks := swarmv1.ServiceSpec{Image: "x", Networks: []swarmv1.NetworkAttachment{{Name: "wp_front"}, {Name: "proxy"}},
		Secrets: []swarmv1.FileReference{{Source: "shared-key"}}}
	svc, decl := StackService("wp", "web_app", in, ks)
	got := []any{svc.Name, svc.Networks, svc.Secrets, decl.Networks, decl.Secrets}
	want := []any{"web-app",
		[]swarmv1.NetworkAttachment{{Name: "front"}, {Name: "proxy"}},
		[]swarmv1.FileReference{{Source: "shared-key"}},
		[]swarmv1.StackNetwork{{Name: "front"}, {Name: "proxy", External: true}},
		[]swarmv1.StackObject{{Name: "shared-key", External: true}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStackNetworks: a stack's networks as docker lists them, the implicit default included
// while a service uses it, external ones left out.
func TestStackNetworks(t *testing.T) {
	st := &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: "wp", UID: "u"}, Spec: swarmv1.StackSpec{
		Networks: []swarmv1.StackNetwork{{Name: "front", Labels: map[string]string{"a": "b"}}, {Name: "proxy", External: true}},
		Services: []swarmv1.StackService{{Name: "web"}},
	}}
	var got []string
	for _, n := range stackNetworks(st) {
		got = append(got, n.name+" "+n.kubeName+" "+n.spec.Labels[stack.LabelDockerStackNamespace])
	}
	sort.Strings(got)
	want := []string{"wp_default wp-default wp", "wp_front wp-front wp"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	st.Spec.Services = nil
	if n := stackNetworks(st); len(n) != 1 || stackEmpty(st) {
		t.Errorf("without services: %d networks, empty=%v", len(n), stackEmpty(st))
	}
}

// TestStackServiceDockerName: a stack service whose name Kubernetes does not take as it is keeps
// its docker name, so that the next deploy finds it.
func TestStackServiceDockerName(t *testing.T) {
	stackPoll = time.Millisecond
	api, _ := newTestServer(t)
	ns := map[string]string{stack.LabelDockerStackNamespace: "wp"}
	var netResp network.CreateResponse
	api.do("POST", "/networks/create", network.CreateRequest{Name: "wp_default", Labels: ns}, &netResp)
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "wp_web_app", Labels: ns},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "x"}, Networks: []swarm.NetworkAttachmentConfig{{Target: netResp.ID, Aliases: []string{"web_app"}}}}}
	if code := api.do("POST", "/services/create", spec, nil); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var services []swarm.Service
	api.do("GET", "/services"+stackFilter("wp"), nil, &services)
	if len(services) != 1 || services[0].Spec.Name != "wp_web_app" {
		t.Fatalf("stack services: %+v", services)
	}
	var nets []network.Summary
	api.do("GET", "/networks"+stackFilter("wp"), nil, &nets)
	if len(nets) != 1 || nets[0].Name != "wp_default" || nets[0].ID != netResp.ID {
		t.Errorf("the implicit default network: %+v", nets)
	}
}
