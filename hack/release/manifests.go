package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeswarm/kubeswarm/internal/install"
)

// installName is kubebuilder's build-installer file: CRDs, RBAC and the operator in one stream,
// for `kubectl apply --server-side -f`.
const installName = "install.yaml"

// kustomizeBuild is `kustomize build config/default`, the operator's manifests.
func kustomizeBuild(ctx context.Context, kustomize, root string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, kustomize, "build", filepath.Join(root, "config", "default"))
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		return nil, fmt.Errorf("running kustomize build config/default: %w: %s", err, stderr)
	}
	return out, nil
}

// releaseObjects are the manifests with the release's image and version stamped in, as `kubectl
// swarm init`, install.yaml and the chart install them.
func releaseObjects(manifests []byte, image, version string) ([]*unstructured.Unstructured, error) {
	objs, err := install.Objects(manifests, install.Options{Image: image, Version: version})
	if err != nil {
		return nil, fmt.Errorf("stamping the manifests: %w", err)
	}
	// install.Objects stamps the container it knows by name: a renamed container would
	// otherwise ship the development image without a word.
	if got := install.OperatorImage(objs); got != image {
		return nil, fmt.Errorf("stamping the manifests: the operator container (%s/%s, container %q) has image %q, want %q",
			install.Namespace, install.Deployment, install.Container, got, image)
	}
	return objs, nil
}

// writeInstall writes dir/install.yaml.
func writeInstall(dir string, objs []*unstructured.Unstructured) error {
	b, err := install.YAML(objs)
	if err != nil {
		return fmt.Errorf("writing %s: %w", installName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, installName), b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", installName, err)
	}
	return nil
}
