package images

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Healthchecks reads the HEALTHCHECK of images' configs from their registries, which a Swarm
// node's engine runs unless the service says otherwise (moby daemon/commit.go merge). An image's
// config never changes for its digest, so what is read is kept per digest; a tag's digest is
// kept for TagTTL, a failure for RetryAfter.
type Healthchecks struct {
	// Options are go-containerregistry's remote options (a transport, in tests).
	Options []remote.Option
	// Mirrors read a registry's images from another (host[:port]), as the nodes' container
	// runtime may be told to (containerd's registry mirrors); keyed by registry host, docker.io
	// for Docker Hub.
	Mirrors map[string]string
	// TagTTL is how long a tag's digest is trusted (default 5 minutes).
	TagTTL time.Duration
	// RetryAfter is how long a failed read is remembered before the registry is asked again
	// (default 1 minute).
	RetryAfter time.Duration
	// Timeout bounds one read (default 10 seconds).
	Timeout time.Duration
	// Now tells the time (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	byDigest map[string]*swarmv1.Healthcheck
	byRef    map[string]refEntry
}

type refEntry struct {
	digest string
	err    error
	at     time.Time
}

// Healthcheck is the HEALTHCHECK of image's config (nil: none), read with the credentials of kc.
func (h *Healthchecks) Healthcheck(ctx context.Context, image string, kc authn.Keychain) (*swarmv1.Healthcheck, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", image, err)
	}
	h.mu.Lock()
	if h.byDigest == nil {
		h.byDigest, h.byRef = map[string]*swarmv1.Healthcheck{}, map[string]refEntry{}
	}
	digest := ""
	if d, ok := ref.(name.Digest); ok {
		digest = d.DigestStr()
	}
	e, known := h.byRef[image]
	switch {
	case digest != "":
	case known && e.err != nil && now().Sub(e.at) < or(h.RetryAfter, time.Minute):
		h.mu.Unlock()
		return nil, e.err
	case known && e.err == nil && now().Sub(e.at) < or(h.TagTTL, 5*time.Minute):
		digest = e.digest
	}
	if hc, ok := h.byDigest[digest]; ok && digest != "" {
		h.mu.Unlock()
		return hc.DeepCopy(), nil
	}
	if known && e.err != nil && now().Sub(e.at) < or(h.RetryAfter, time.Minute) {
		h.mu.Unlock()
		return nil, e.err
	}
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, or(h.Timeout, 10*time.Second))
	defer cancel()
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}, h.Options...)
	hc, dgst, err := readHealthcheck(h.mirrored(ref), opts)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.byRef[image] = refEntry{err: err, at: now()}
		return nil, err
	}
	h.byRef[image] = refEntry{digest: dgst, at: now()}
	h.byDigest[dgst] = hc
	return hc.DeepCopy(), nil
}

// mirrored is ref in its registry's mirror, if it has one.
func (h *Healthchecks) mirrored(ref name.Reference) name.Reference {
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	m, ok := h.Mirrors[reg]
	if !ok {
		return ref
	}
	out, err := name.ParseReference(m + "/" + ref.Context().RepositoryStr() + delimiter(ref) + ref.Identifier())
	if err != nil {
		return ref
	}
	return out
}

func delimiter(ref name.Reference) string {
	if _, ok := ref.(name.Digest); ok {
		return "@"
	}
	return ":"
}

// ParseMirrors reads REGISTRY=MIRROR[,REGISTRY=MIRROR...].
func ParseMirrors(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: want REGISTRY=MIRROR (docker.io=registry.lan:5000)", kv)
		}
		if _, err := name.NewRegistry(v); err != nil {
			return nil, fmt.Errorf("%q: %w", kv, err)
		}
		out[k] = v
	}
	return out, nil
}

// readHealthcheck reads the config of the image ref names (for an index, its image for the
// default platform, linux/amd64) and the digest of what ref names.
func readHealthcheck(ref name.Reference, opts []remote.Option) (*swarmv1.Healthcheck, string, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, "", err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, "", err
	}
	return HealthcheckOf(cfg.Config.Healthcheck), desc.Digest.String(), nil
}

// HealthcheckOf is an image config's HEALTHCHECK as a service's healthcheck: what the image
// leaves at zero (inherit) is left out, so that Swarm's defaults fill it.
func HealthcheckOf(c *v1.HealthConfig) *swarmv1.Healthcheck {
	if c == nil || len(c.Test) == 0 && c.Interval == 0 && c.Timeout == 0 && c.StartPeriod == 0 && c.Retries == 0 {
		return nil
	}
	dur := func(d time.Duration) *metav1.Duration {
		if d <= 0 {
			return nil
		}
		return &metav1.Duration{Duration: d}
	}
	out := &swarmv1.Healthcheck{Test: c.Test, Interval: dur(c.Interval), Timeout: dur(c.Timeout), StartPeriod: dur(c.StartPeriod)}
	if c.Retries > 0 {
		out.Retries = ptr.To(int32(c.Retries))
	}
	if len(out.Test) > 0 && out.Test[0] == "NONE" {
		out.Disable = true
	}
	return out
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
