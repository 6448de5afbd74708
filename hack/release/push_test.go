package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fastRetries keep a refusing registry's tests short: go-containerregistry retries a 5xx for
// seconds by default.
var fastRetries = remote.WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 2})

// noDockerConfig keeps the user's docker credentials out of the tests.
func noDockerConfig(t *testing.T) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

func TestPush(t *testing.T) {
	noDockerConfig(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	out := t.TempDir()
	r, _ := testRelease(t, out)
	r.opts.Registry = host + "/team/kubeswarm"
	r.opts.PluginPlatforms = platforms(t, "linux/amd64")
	res, err := r.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantImage := host + "/team/kubeswarm/manager@" + res.Digest.String()
	if res.Image != wantImage {
		t.Errorf("pinned image %q, want %q", res.Image, wantImage)
	}
	if got := installImage(t, out); got != wantImage {
		t.Errorf("install.yaml installs %q, want %q", got, wantImage)
	}
	// A pushed release writes no OCI layout.
	wantFiles := []string{"chart", checksumsName, installName, "kubectl-swarm_v1.2.3_linux_amd64.tar.gz", "kubeswarm-1.2.3.tgz", krewManifestName}
	if diff := cmp.Diff(wantFiles, res.Files); diff != "" {
		t.Errorf("release files (-want +got):\n%s", diff)
	}

	// Read back as a node would: by digest, and by the version's tag.
	for _, ref := range []string{wantImage, host + "/team/kubeswarm/manager:v1.2.3"} {
		t.Run(ref, func(t *testing.T) {
			parsed, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := remote.Index(parsed)
			if err != nil {
				t.Fatalf("reading back %s: %v", ref, err)
			}
			digest, err := idx.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if digest != res.Digest {
				t.Errorf("the registry's index is %s, the release's %s", digest, res.Digest)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range im.Manifests {
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatalf("reading the config of %s: %v", d.Platform, err)
				}
				got = append(got, d.Platform.String()+" "+cf.Config.User+" "+strings.Join(cf.Config.Entrypoint, " "))
			}
			if diff := cmp.Diff([]string{"linux/amd64 65532:65532 /manager", "linux/arm64 65532:65532 /manager"}, got); diff != "" {
				t.Errorf("pushed images (-want +got):\n%s", diff)
			}
		})
	}
}

// refusing is a registry that answers with status and body: every request, or (pingOK) every
// upload, after answering /v2/ and finding no blob or manifest there yet (HEAD, which has no
// body to say why).
func refusing(status int, body string, pingOK bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pingOK && r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		if pingOK && r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestPushRefused(t *testing.T) {
	noDockerConfig(t)
	cases := []struct {
		name string
		// registry starts the registry and returns its host:port.
		registry func(t *testing.T) string
		timeout  time.Duration
		// earlier writes an earlier release's install.yaml into out first.
		earlier bool
		want    string
	}{
		{
			name: "push unauthorized",
			registry: serve(refusing(http.StatusUnauthorized,
				`{"errors":[{"code":"UNAUTHORIZED","message":"kubeswarm-ci may not push to team/kubeswarm"}]}`, true)),
			want: "kubeswarm-ci may not push to team/kubeswarm",
		},
		{
			name: "push denied, an earlier release in out",
			registry: serve(refusing(http.StatusForbidden,
				`{"errors":[{"code":"DENIED","message":"repository team/kubeswarm is read-only"}]}`, true)),
			earlier: true,
			want:    "repository team/kubeswarm is read-only",
		},
		{
			name:     "registry fails",
			registry: serve(refusing(http.StatusInternalServerError, "storage backend is full", true)),
			want:     "storage backend is full",
		},
		{
			// A HEAD's answer has no body: its status line is all the registry says.
			name:     "registry refuses even a look",
			registry: serve(refusing(http.StatusUnauthorized, "", false)),
			want:     "401 Unauthorized",
		},
		{
			name:     "registry refuses everyone",
			registry: serve(refusing(http.StatusServiceUnavailable, "closed for maintenance until 06:00", false)),
			want:     "closed for maintenance until 06:00",
		},
		{
			name:     "registry does not answer",
			registry: silent,
			timeout:  time.Second,
			want:     "context deadline exceeded",
		},
		{
			name:     "nothing listens",
			registry: closedPort,
			want:     "connection refused",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			earlier := "the earlier release's install.yaml\n"
			if tc.earlier {
				if err := os.WriteFile(filepath.Join(out, installName), []byte(earlier), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, fb := testRelease(t, out)
			r.opts.Registry = tc.registry(t) + "/team/kubeswarm"
			if tc.timeout > 0 {
				r.opts.PushTimeout = tc.timeout
			}
			r.pushOptions = []remote.Option{fastRetries}
			_, err := r.run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "pushing the operator image to ") {
				t.Fatalf("error %v, want the push's failure with the registry's words %q", err, tc.want)
			}
			t.Logf("the release says: %v", err)

			// Nothing that names the digest was written, nor built: out holds what it held.
			want := map[string]string{}
			if tc.earlier {
				want[installName] = earlier
			}
			if diff := cmp.Diff(want, dirFiles(t, out)); diff != "" {
				t.Errorf("out after a refused push (-want +got):\n%s", diff)
			}
			if des, _ := os.ReadDir(out); len(des) != len(want) {
				t.Errorf("out holds %d entries after a refused push, want %d", len(des), len(want))
			}
			for _, b := range fb.builds {
				if b.Package != "./cmd/manager" {
					t.Errorf("built %s for %s though the push failed", b.Package, b.Platform)
				}
			}
		})
	}
}

func serve(h http.Handler) func(t *testing.T) string {
	return func(t *testing.T) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
}

// silent accepts connections and never answers.
func silent(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort is an address on this machine where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
