package images

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DockerConfig is a docker config's credentials, as a kubernetes.io/dockerconfigjson Secret
// holds them (its .dockerconfigjson key) and the kubelet reads them for imagePullSecrets.
type DockerConfig struct {
	Auths map[string]authn.AuthConfig `json:"auths"`
}

// DockerHubServer is the key docker's config gives Docker Hub's credentials.
const DockerHubServer = "https://index.docker.io/v1/"

// ServerOf is the key of image's registry in a docker config: its host, or DockerHubServer.
func ServerOf(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		return DockerHubServer, nil
	}
	return reg, nil
}

// Credentials are the credentials kc holds for the registry of each image (what docker's
// --with-registry-auth sends: docker/cli command.RetrieveAuthTokenFromImage reads the client's
// docker config, credential helpers included, for the image's registry). A registry kc holds
// nothing for is left out.
func Credentials(kc authn.Keychain, imgs ...string) (DockerConfig, error) {
	out := DockerConfig{Auths: map[string]authn.AuthConfig{}}
	for _, image := range imgs {
		ref, err := name.ParseReference(image)
		if err != nil {
			return out, fmt.Errorf("image %q: %w", image, err)
		}
		a, err := kc.Resolve(ref.Context())
		if err != nil {
			return out, fmt.Errorf("reading the credentials for %s: %w", ref.Context().RegistryStr(), err)
		}
		if a == authn.Anonymous {
			continue
		}
		cfg, err := a.Authorization()
		if err != nil {
			return out, fmt.Errorf("reading the credentials for %s: %w", ref.Context().RegistryStr(), err)
		}
		server, _ := ServerOf(image)
		out.Auths[server] = *cfg
	}
	return out, nil
}

// FromRegistryAuth reads docker's X-Registry-Auth header (base64url JSON of moby's
// registry.AuthConfig, moby api/types/registry EncodeAuthConfig) as the credentials for image's
// registry, which the tasks pull from (the header's serveraddress is not needed for that).
func FromRegistryAuth(header, image string) (DockerConfig, error) {
	raw, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		// docker sends it padded; some clients do not.
		if raw, err = base64.RawURLEncoding.DecodeString(header); err != nil {
			return DockerConfig{}, fmt.Errorf("X-Registry-Auth: not base64url: %w", err)
		}
	}
	var a authn.AuthConfig
	if err := json.Unmarshal(raw, &a); err != nil {
		return DockerConfig{}, fmt.Errorf("X-Registry-Auth: %w", err)
	}
	out := DockerConfig{Auths: map[string]authn.AuthConfig{}}
	if a == (authn.AuthConfig{}) {
		return out, nil
	}
	server, err := ServerOf(image)
	if err != nil {
		return out, err
	}
	out.Auths[server] = a
	return out, nil
}

// Keychain resolves a registry to the config's credentials for it (anonymous without).
func (c DockerConfig) Keychain() authn.Keychain { return configKeychain(c) }

type configKeychain DockerConfig

func (c configKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	if key == name.DefaultRegistry {
		key = DockerHubServer
	}
	for _, k := range []string{key, "https://" + key, "http://" + key, r.RegistryStr()} {
		if a, ok := c.Auths[k]; ok {
			return authn.FromConfig(a), nil
		}
	}
	return authn.Anonymous, nil
}

// Merge is c with the credentials of o added (o's win for the same registry).
func (c DockerConfig) Merge(o DockerConfig) DockerConfig {
	out := DockerConfig{Auths: map[string]authn.AuthConfig{}}
	for k, v := range c.Auths {
		out.Auths[k] = v
	}
	for k, v := range o.Auths {
		out.Auths[k] = v
	}
	return out
}
