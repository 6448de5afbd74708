package images

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestHealthchecks: an image's HEALTHCHECK is read from its config, with the credentials a
// registry that requires them wants; it is read once per digest and a tag's digest is trusted
// for TagTTL; a registry that cannot be read is an error, remembered for RetryAfter.
func TestHealthchecks(t *testing.T) {
	var gets atomic.Int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
			gets.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	kc := DockerConfig{Auths: map[string]authn.AuthConfig{host: {Username: "alice", Password: "s3cret"}}}.Keychain()

	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Healthcheck: &v1.HealthConfig{Test: []string{"CMD-SHELL", "exit 1"}, Interval: 2 * time.Second, Retries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/private/app:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(kc)); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	h := &Healthchecks{Now: func() time.Time { return now }}
	want := &swarmv1.Healthcheck{Test: []string{"CMD-SHELL", "exit 1"}, Interval: &metav1.Duration{Duration: 2 * time.Second}, Retries: ptr.To[int32](2)}
	ctx := context.Background()

	if _, err := h.Healthcheck(ctx, ref, DockerConfig{}.Keychain()); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") && !strings.Contains(err.Error(), "401") {
		t.Fatalf("without credentials: %v, want the registry's refusal", err)
	}
	if _, err := h.Healthcheck(ctx, ref, kc); err == nil {
		t.Fatalf("a failure is remembered for RetryAfter; got a read")
	}
	now = now.Add(2 * time.Minute)
	got, err := h.Healthcheck(ctx, ref, kc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("healthcheck (-want +got):\n%s", diff)
	}
	d, _ := img.Digest()
	for range 3 {
		if _, err := h.Healthcheck(ctx, ref, kc); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Healthcheck(ctx, host+"/private/app@"+d.String(), kc); err != nil {
			t.Fatal(err)
		}
	}
	if n := gets.Load(); n != 1 {
		// The tag read once; the digest it named is known from then on.
		t.Errorf("manifest reads: %d, want 1", n)
	}
	now = now.Add(10 * time.Minute)
	if _, err := h.Healthcheck(ctx, ref, kc); err != nil {
		t.Fatal(err)
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("after TagTTL the tag is read again: %d reads, want 2", n)
	}

	// Through a mirror, as the nodes' runtime pulls kubeswarm.test images from it.
	mirrored := &Healthchecks{Mirrors: map[string]string{"kubeswarm.test": host}}
	if got, err := mirrored.Healthcheck(ctx, "kubeswarm.test/private/app@"+d.String(), kc); err != nil || !cmp.Equal(want, got) {
		t.Errorf("through the mirror: %v %v", got, err)
	}
	if _, err := ParseMirrors("docker.io"); err == nil {
		t.Errorf("ParseMirrors took a mirror without a registry")
	}

	// An image without a HEALTHCHECK has none.
	plain, _ := random.Image(64, 1)
	pr, _ := name.ParseReference(host + "/plain:1")
	if err := remote.Write(pr, plain, remote.WithAuthFromKeychain(kc)); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Healthcheck(ctx, host+"/plain:1", kc); err != nil || got != nil {
		t.Errorf("plain image: %v %v, want none", got, err)
	}
}
