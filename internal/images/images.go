// Package images resolves image references as docker does for Swarm services: an untagged name
// gets :latest, and a tag is pinned to the digest the registry has for it
// (moby/moby client service_create.go: imageWithTagString, imageWithDigestString,
// digestWarning), so that every node runs the same image and a new push of the tag rolls out
// on the next deploy.
package images

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// Registry tells the digest a registry has for an image.
type Registry interface {
	Digest(ctx context.Context, image string) (string, error)
}

// Client is a docker client's side of the registries: the digests of images (Registry) and its
// credentials for their registries (docker's --with-registry-auth).
type Client interface {
	Registry
	Credentials(images ...string) (DockerConfig, error)
}

// Remote asks the image's registry, with the credentials of keychain (the user's
// ~/.docker/config.json and credential helpers for authn.DefaultKeychain). Registries on
// loopback and private addresses are spoken to over plain HTTP, as go-containerregistry does.
type Remote struct {
	Keychain authn.Keychain
}

// Digest is the digest of the manifest (or index) the registry serves for image.
func (r Remote) Digest(ctx context.Context, image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", err
	}
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		// Some registries answer HEAD on manifests badly; GET is what pulls do.
		d, getErr := remote.Get(ref, opts...)
		if getErr != nil {
			return "", err
		}
		return d.Digest.String(), nil
	}
	return desc.Digest.String(), nil
}

// Credentials are the keychain's credentials for the registries of imgs.
func (r Remote) Credentials(imgs ...string) (DockerConfig, error) {
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return Credentials(kc, imgs...)
}

// Tagged is the image with :latest when it names neither a tag nor a digest, as the docker
// client sends it; an image it cannot parse is returned as is.
func Tagged(image string) string {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.FamiliarString(reference.TagNameOnly(ref))
}

// HasDigest tells whether the image is pinned to a digest.
func HasDigest(image string) bool {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return false
	}
	_, ok := ref.(reference.Digested)
	return ok
}

// Pin is the image tagged and pinned to the digest reg has for it ("nginx:latest@sha256:…").
// An image with a digest is returned as it is. When the registry cannot be asked, the image is
// returned tagged, with docker's warning: each node then pulls the tag itself.
func Pin(ctx context.Context, reg Registry, image string) (pinned, warning string) {
	tagged := Tagged(image)
	if HasDigest(tagged) {
		return tagged, ""
	}
	dgst, err := reg.Digest(ctx, tagged)
	if err != nil {
		return tagged, Warning(tagged)
	}
	ref, err := reference.ParseNormalizedNamed(tagged)
	if err != nil {
		return tagged, Warning(tagged)
	}
	d, err := reference.WithDigest(ref, digest.Digest(dgst))
	if err != nil {
		return tagged, Warning(tagged)
	}
	return reference.FamiliarString(d), ""
}

// Warning is docker's warning for an image it could not pin (moby client digestWarning).
func Warning(image string) string {
	return fmt.Sprintf("image %s could not be accessed on a registry to record\nits digest. Each node will access %s independently,\npossibly leading to different nodes running different\nversions of the image.\n", image, image)
}
