// Package install is what a kubeswarm release installs: the manifests of `kustomize build
// config/default` (CRDs, RBAC, the operator's Deployment in kubeswarm-system) with the release's
// operator image and version stamped in, in the order they are applied. `kubectl swarm init`
// applies them; the release build (hack/release) writes them as dist/install.yaml and turns them
// into the Helm chart, so the three ways to install give the same objects.
package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kubeswarm/kubeswarm/internal/version"
)

// Where the manifests put the operator (config/default).
const (
	Namespace  = "kubeswarm-system"
	Deployment = "kubeswarm-controller-manager"
	// Container is the operator's container in the Deployment's pod template.
	Container = "manager"
)

// Options is what a release stamps into the manifests.
type Options struct {
	// Image replaces the operator container's image; empty keeps the manifests' own.
	Image string
	// Version is written as the app.kubernetes.io/version label of every object (not of the
	// operator's pod template); empty or "dev" writes none.
	Version string
}

// Objects decodes manifests (a multi-document YAML stream) and stamps o into them, in apply
// order: Namespaces, CRDs, the rest, the Deployment last.
func Objects(manifests []byte, o Options) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("reading the manifests: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := stamp(u, o); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	return objs, nil
}

// rank orders objects for applying: Namespaces and CRDs first, since the rest lives in them or
// uses them; the operator last, once its RBAC is there.
func rank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "Deployment":
		return 3
	}
	return 2
}

func stamp(u *unstructured.Unstructured, o Options) error {
	if o.Version != "" && o.Version != version.Dev {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[version.Label] = o.Version
		u.SetLabels(labels)
	}
	if o.Image == "" || u.GetKind() != "Deployment" {
		return nil
	}
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return fmt.Errorf("reading the containers of Deployment %s: %w", u.GetName(), err)
	}
	for i := range containers {
		if c, ok := containers[i].(map[string]any); ok && c["name"] == Container {
			c["image"] = o.Image
		}
	}
	return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
}

// OperatorImage is the image of the operator container in objs ("" when there is none).
func OperatorImage(objs []*unstructured.Unstructured) string {
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if m, ok := c.(map[string]any); ok && m["name"] == Container {
				s, _ := m["image"].(string)
				return s
			}
		}
	}
	return ""
}

// YAML writes objs as one multi-document stream, as `kubectl apply -f` reads it.
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var b strings.Builder
	for i, u := range objs {
		y, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("writing %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// Mirror is image pulled from registry instead: the repository's last path element and the tag
// or digest are kept, the registry host and path replaced (`--registry mirror.example:5000/team`
// turns ghcr.io/kubeswarm/manager@sha256:… into mirror.example:5000/team/manager@sha256:…).
func Mirror(image, registry string) (string, error) {
	registry = strings.TrimSuffix(registry, "/")
	if registry == "" || strings.ContainsAny(registry, "@ ") || strings.Contains(registry, "://") {
		return "", fmt.Errorf("--registry %q: want a registry host and path, e.g. mirror.example:5000/kubeswarm", registry)
	}
	ref := image
	suffix := ""
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, suffix = ref[:i], ref[i:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, suffix = ref[:i], ref[i:]+suffix
	}
	return registry + "/" + ref[strings.LastIndex(ref, "/")+1:] + suffix, nil
}
