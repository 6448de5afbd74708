//go:build upgrade

package upgrade

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ksversion "github.com/kubeswarm/kubeswarm/internal/version"
)

// crdBases holds this tree's CRDs as controller-gen writes them.
const crdBases = "../../config/crd/bases"

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// headCRDs are this tree's CRDs (config/crd/bases), by name.
func headCRDs(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdBases, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("this tree's CRDs in %s: %v (%d files)", crdBases, err, len(files))
	}
	out := map[string]*unstructured.Unstructured{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		out[u.GetName()] = u
	}
	return out
}

// readCRDs reads from the cluster the CRDs named as this tree's, by name (a CRD the cluster
// lacks is absent).
func readCRDs(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for name := range headCRDs(t) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(crdGVK)
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: name}, u); err != nil {
			t.Errorf("reading CRD %s: %v", name, err)
			continue
		}
		out[name] = u
	}
	return out
}

// crdSpec is what an upgrade must bring of a CRD: its group, names, scope and versions (the
// schemas, printer columns, subresources); not what the API server defaults (conversion).
func crdSpec(t *testing.T, u *unstructured.Unstructured) any {
	t.Helper()
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	out := map[string]any{}
	for _, k := range []string{"group", "names", "scope", "versions"} {
		out[k] = spec[k]
	}
	return asJSON(t, out)
}

// checkCRDs fails the test unless the cluster's CRDs are this tree's after the upgrade: their
// spec as config/crd/bases has it and, when the path stamps a version, this tree's version
// label. An upgrade that left the CRDs alone (as helm does with a chart's crds/ directory) would
// leave the previous release's schemas and label. before are the CRDs before the upgrade: a CRD
// whose spec the previous release already had as this tree has it is said so, since then only
// the label shows an upgrade that skipped it.
func checkCRDs(t *testing.T, before map[string]*unstructured.Unstructured, version string) {
	t.Helper()
	want := headCRDs(t)
	got := readCRDs(t)
	var names, unchanged []string
	failed := false
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		g, ok := got[name]
		if !ok {
			continue
		}
		w := crdSpec(t, want[name])
		if diff := cmp.Diff(w, crdSpec(t, g)); diff != "" {
			if len(diff) > 4000 {
				diff = diff[:4000] + "\n…"
			}
			t.Errorf("CRD %s after the upgrade: its spec is not this tree's (%s) (-want +got):\n%s", name, crdBases, diff)
			failed = true
		}
		if b, ok := before[name]; ok && cmp.Equal(w, crdSpec(t, b)) {
			unchanged = append(unchanged, name)
		}
		if l := g.GetLabels()[ksversion.Label]; version != "" && l != version {
			t.Errorf("CRD %s after the upgrade: label %s=%q, want %q: the upgrade did not write it", name, ksversion.Label, l, version)
			failed = true
		}
	}
	what := "no version label (this path stamps none)"
	if version != "" {
		what = "label " + ksversion.Label + "=" + version
	}
	if !failed && len(got) == len(want) {
		t.Logf("the CRDs are this tree's: spec as %s, %s", crdBases, what)
	}
	if len(unchanged) > 0 {
		t.Logf("the previous release's CRDs %s already had this tree's spec: an upgrade that skipped them shows only in the version label", strings.Join(unchanged, ", "))
	}
}

// clientVersion is the version kubectl-swarm bin was built as (`version --client`): "" for a
// development build, which stamps no version on what it installs.
func clientVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "version", "--client").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s version --client: %w: %s", bin, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Version:"); ok {
			if v = strings.TrimSpace(v); v == ksversion.Dev {
				return "", nil
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("%s version --client: no version in %q", bin, out)
}
