package images

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// TestCredentials: the credentials docker's config holds for each image's registry, keyed as
// docker keys them; a registry without any is left out.
func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"auths":{"10.247.0.1:5001":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) + `"},
		"https://index.docker.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("bob:hub")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	got, err := Remote{}.Credentials("10.247.0.1:5001/private/app:1", "nginx", "ghcr.io/x/y")
	if err != nil {
		t.Fatal(err)
	}
	want := DockerConfig{Auths: map[string]authn.AuthConfig{
		"10.247.0.1:5001": {Username: "alice", Password: "s3cret"},
		DockerHubServer:   {Username: "bob", Password: "hub"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Credentials (-want +got):\n%s", diff)
	}
	// What a kubernetes.io/dockerconfigjson Secret holds reads back to the same credentials,
	// through the Keychain the operator reads image configs with.
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back DockerConfig
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	for image, user := range map[string]string{"10.247.0.1:5001/private/app": "alice", "nginx": "bob", "ghcr.io/x/y": ""} {
		ref, _ := name.ParseReference(image)
		a, err := back.Keychain().Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		ac, _ := a.Authorization()
		if ac.Username != user {
			t.Errorf("%s: user %q, want %q", image, ac.Username, user)
		}
	}
}

// TestFromRegistryAuth: docker's X-Registry-Auth header (base64url JSON of registry.AuthConfig)
// is the credentials for the image's registry; an empty one is none; garbage is refused.
func TestFromRegistryAuth(t *testing.T) {
	enc := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, header, image string
		want                DockerConfig
		wantErr             string
	}{
		{name: "user and password", header: enc(`{"username":"alice","password":"s3cret","serveraddress":"10.247.0.1:5001"}`), image: "10.247.0.1:5001/app:1",
			want: DockerConfig{Auths: map[string]authn.AuthConfig{"10.247.0.1:5001": {Username: "alice", Password: "s3cret", Auth: "YWxpY2U6czNjcmV0"}}}},
		{name: "identity token, Docker Hub", header: enc(`{"identitytoken":"tok"}`), image: "library/redis",
			want: DockerConfig{Auths: map[string]authn.AuthConfig{DockerHubServer: {IdentityToken: "tok"}}}},
		{name: "empty credentials", header: enc(`{}`), image: "redis", want: DockerConfig{Auths: map[string]authn.AuthConfig{}}},
		{name: "not base64", header: "%%%", image: "redis", wantErr: "X-Registry-Auth: not base64url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromRegistryAuth(tc.header, tc.image)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromRegistryAuth (-want +got):\n%s", diff)
			}
		})
	}
}
