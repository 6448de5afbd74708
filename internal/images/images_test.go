package images

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestTagged(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                        "nginx:latest",
		"nginx:1.27":                   "nginx:1.27",
		"docker.io/library/nginx":      "nginx:latest",
		"registry.lan:5000/team/app":   "registry.lan:5000/team/app:latest",
		"nginx@sha256:" + sha:          "nginx@sha256:" + sha,
		"nginx:1.27@sha256:" + sha:     "nginx:1.27@sha256:" + sha,
		"Not A Reference":              "Not A Reference",
		"kubeswarm.test/web:unhealthy": "kubeswarm.test/web:unhealthy",
	} {
		if got := Tagged(in); got != want {
			t.Errorf("Tagged(%q) = %q, want %q", in, got, want)
		}
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type offline struct{}

func (offline) Digest(context.Context, string) (string, error) {
	return "", errors.New("no route to registry")
}

func TestPin(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/team/web:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	ctx := context.Background()

	tests := []struct {
		name, image    string
		reg            Registry
		want, wantWarn string
	}{
		{name: "a tag is pinned to the registry's digest", image: host + "/team/web:1", reg: Remote{},
			want: host + "/team/web:1@" + d.String()},
		{name: "a digest stays", image: "nginx@sha256:" + sha, reg: offline{}, want: "nginx@sha256:" + sha},
		{name: "offline: tagged, with docker's warning", image: "nginx", reg: offline{}, want: "nginx:latest",
			wantWarn: "image nginx:latest could not be accessed on a registry to record\nits digest. Each node will access nginx:latest independently,\npossibly leading to different nodes running different\nversions of the image.\n"},
		{name: "a tag the registry does not have", image: host + "/team/web:2", reg: Remote{}, want: host + "/team/web:2",
			wantWarn: "image " + host + "/team/web:2 could not be accessed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warn := Pin(ctx, tt.reg, tt.image)
			if got != tt.want || !strings.HasPrefix(warn, tt.wantWarn) || (tt.wantWarn == "") != (warn == "") {
				t.Errorf("Pin(%q) = %q, %q; want %q, %q", tt.image, got, warn, tt.want, tt.wantWarn)
			}
		})
	}
}
