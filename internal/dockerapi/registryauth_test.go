package dockerapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// TestRegistryAuthHeader: the X-Registry-Auth header docker sends with --with-registry-auth
// becomes the Secret the tasks pull with (<service>-registry-auth, a stack's
// <stack>-registry-auth holding every service's), named by the spec; an update without the
// header keeps it.
func TestRegistryAuthHeader(t *testing.T) {
	stackPoll = time.Millisecond
	api, c := newTestServer(t)
	ctx := context.Background()
	auth := http.Header{"X-Registry-Auth": {base64.URLEncoding.EncodeToString([]byte(`{"username":"alice","password":"s3cret","serveraddress":"10.247.0.1:5001"}`))}}
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "app"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "10.247.0.1:5001/private/app:1"}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(1))}}}
	if code := api.doWith(auth, "POST", "/services/create", spec, nil); code != http.StatusCreated {
		t.Fatalf("service create: %d", code)
	}
	secretAuths := func(name string) string {
		t.Helper()
		sec := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, sec); err != nil {
			t.Fatal(err)
		}
		if sec.Type != corev1.SecretTypeDockerConfigJson {
			t.Errorf("secret %s: type %s", name, sec.Type)
		}
		return string(sec.Data[corev1.DockerConfigJsonKey])
	}
	const alice = `"10.247.0.1:5001":{"username":"alice","password":"s3cret","auth":"YWxpY2U6czNjcmV0"}`
	if got, want := secretAuths("app-registry-auth"), `{"auths":{`+alice+`}}`; got != want {
		t.Errorf("credentials %s, want %s", got, want)
	}
	svc := &swarmv1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "app"}, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.RegistryAuthSecret != "app-registry-auth" {
		t.Errorf("registryAuthSecret = %q", svc.Spec.RegistryAuthSecret)
	}
	spec.TaskTemplate.ContainerSpec.Env = []string{"A=1"}
	if code := api.do("POST", "/services/app/update?version="+strconv.FormatInt(svc.Generation, 10), spec, nil); code != http.StatusOK {
		t.Fatalf("service update: %d", code)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "app"}, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.RegistryAuthSecret != "app-registry-auth" || len(svc.Spec.Env) != 1 {
		t.Errorf("after an update without the header: registryAuthSecret %q, env %v", svc.Spec.RegistryAuthSecret, svc.Spec.Env)
	}

	// A stack's services share one Secret, which holds what each sent.
	for _, sv := range []struct{ name, image, user string }{{"shop_web", "10.247.0.1:5001/web:1", "alice"}, {"shop_api", "registry.example.com/api:1", "bob"}} {
		h := http.Header{"X-Registry-Auth": {base64.URLEncoding.EncodeToString([]byte(`{"username":"` + sv.user + `","password":"pw"}`))}}
		s := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: sv.name, Labels: map[string]string{stack.LabelDockerStackNamespace: "shop"}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: sv.image}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr.To(uint64(1))}}}
		if code := api.doWith(h, "POST", "/services/create", s, nil); code != http.StatusCreated {
			t.Fatalf("service create %s: %d", sv.name, code)
		}
	}
	want := `{"auths":{"10.247.0.1:5001":{"username":"alice","password":"pw","auth":"YWxpY2U6cHc="},"registry.example.com":{"username":"bob","password":"pw","auth":"Ym9iOnB3"}}}`
	if got := secretAuths("shop-registry-auth"); got != want {
		t.Errorf("stack credentials %s, want %s", got, want)
	}
	st := &swarmv1.Stack{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "shop"}, st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Spec.Services {
		if s.RegistryAuthSecret != "shop-registry-auth" {
			t.Errorf("stack service %s: registryAuthSecret %q", s.Name, s.RegistryAuthSecret)
		}
	}

	bad := http.Header{"X-Registry-Auth": {"%%%"}}
	if code := api.doWith(bad, "POST", "/services/create", swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "bad"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "redis"}}}, nil); code != http.StatusBadRequest {
		t.Errorf("a header that is not base64: %d, want 400", code)
	}
}
