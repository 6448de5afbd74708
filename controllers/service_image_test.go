package controllers

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
)

// TestImageHealthcheck: the image's HEALTHCHECK is read with the service's registry
// credentials and kept in status; after an operator restart (a new cache) with the registry
// down, the kept one stands for the same image, so the tasks' probes do not change; for
// another image nothing stands, which Honored's note says, and a written --no-healthcheck reads
// nothing.
func TestImageHealthcheck(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	host := strings.TrimPrefix(srv.URL, "http://")
	creds := images.DockerConfig{Auths: map[string]authn.AuthConfig{host: {Username: "alice", Password: "pw"}}}
	img, _ := random.Image(64, 1)
	img, _ = mutate.Config(img, v1.Config{Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/web", "healthcheck"}, Retries: 2}})
	ref, _ := name.ParseReference(host + "/app:1")
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(creds.Keychain())); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(creds)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app-registry-auth"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(sec).Build()
	r := &ServiceReconciler{childApplier: childApplier{Client: c, APIReader: c}, ImageHealthchecks: &images.Healthchecks{}}
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"},
		Spec: swarmv1.ServiceSpec{Image: host + "/app:1", RegistryAuthSecret: "app-registry-auth"}}
	want := &swarmv1.Healthcheck{Test: []string{"CMD", "/web", "healthcheck"}, Retries: ptr.To[int32](2)}
	ctx := context.Background()

	status := &swarmv1.ServiceStatus{}
	hc, note, retry := r.imageHealthcheck(ctx, svc, status)
	if diff := cmp.Diff(want, hc); diff != "" || note != "" || retry != 0 {
		t.Fatalf("read: note %q, retry %v, healthcheck (-want +got):\n%s", note, retry, diff)
	}
	if diff := cmp.Diff(&swarmv1.ImageHealthcheck{Image: svc.Spec.Image, Healthcheck: want}, status.ImageHealthcheck); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	srv.Close()
	r.ImageHealthchecks = &images.Healthchecks{Timeout: time.Second} // an operator restart
	hc, note, retry = r.imageHealthcheck(ctx, svc, status)
	if diff := cmp.Diff(want, hc); diff != "" || note != "" || retry != imageRetry {
		t.Errorf("registry down, same image: note %q, retry %v, healthcheck (-want +got):\n%s", note, retry, diff)
	}
	other := svc.DeepCopy()
	other.Spec.Image = host + "/app:2"
	hc, note, retry = r.imageHealthcheck(ctx, other, status)
	if hc != nil || !strings.Contains(note, "its HEALTHCHECK could not be read from the registry") || retry != imageRetry || status.ImageHealthcheck != nil {
		t.Errorf("registry down, another image: %v, note %q, retry %v, status %v", hc, note, retry, status.ImageHealthcheck)
	}
	disabled := svc.DeepCopy()
	disabled.Spec.Healthcheck = &swarmv1.Healthcheck{Disable: true}
	if hc, note, _ := r.imageHealthcheck(ctx, disabled, status); hc != nil || note != "" {
		t.Errorf("--no-healthcheck: %v %q", hc, note)
	}
}
