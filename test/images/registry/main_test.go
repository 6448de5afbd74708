package main

import (
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestMirrorTag(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"nginx", "10.247.0.10:5000/library/nginx:latest"},
		{"docker.io/library/mysql:5.7", "10.247.0.10:5000/library/mysql:5.7"},
		{"kubeswarm.test/web:1", "10.247.0.10:5000/web:1"},
		{"example.com/team/app:v2", "10.247.0.10:5000/team/app:v2"},
	} {
		src, err := name.NewTag(c.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mirrorTag("10.247.0.10:5000", src)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, got.String()); diff != "" {
			t.Errorf("mirrorTag(%s) (-want +got):\n%s", c.src, diff)
		}
	}
}

// Every tag of the archive can be pulled from the registry under its mirror name, with the
// digest it had in the archive.
func TestPushServesEveryTag(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(t.TempDir())), registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")

	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	nginx, _ := name.NewTag("docker.io/library/nginx:latest")
	web, _ := name.NewTag("kubeswarm.test/web:1")
	archive := filepath.Join(t.TempDir(), "images.tar")
	if err := tarball.MultiRefWriteToFile(archive, map[name.Reference]v1.Image{nginx: img, web: img}); err != nil {
		t.Fatal(err)
	}
	if err := push(t.Context(), reg, archive, io.Discard); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	for _, path := range []string{"library/nginx:latest", "web:1"} {
		ref, err := name.NewTag(reg+"/"+path, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pulling %s: %v", ref, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("%s: digest %s, want %s", ref, d, want)
		}
	}
}
