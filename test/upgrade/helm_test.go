//go:build upgrade

package upgrade

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeswarm/kubeswarm/hack/release/chart"
)

// helmRelease is the helm path's release name, as docs/install.md installs it.
const helmRelease = "kubeswarm"

// writeChart writes the chart of objs, version version, as the release build writes dist/chart
// (chart.Write), into artifacts/charts/NAME (made anew), and returns its directory.
func writeChart(t *testing.T, name string, objs []*unstructured.Unstructured, version string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("artifacts", "charts", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := chart.Write(dir, objs, version); err != nil {
		t.Fatal(err)
	}
	return dir
}

// helm runs helm (HELM) against the cluster (KUBECONFIG), failing the test on an error. Its
// configuration, cache and data are the test's own, not the user's.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	if helmBin == "" {
		t.Fatal("HELM is not set: the helm path runs the Makefile's pinned helm (make test-upgrade sets it)")
	}
	home := t.TempDir()
	cmd := exec.Command(helmBin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	return runCmd(t, nil, cmd, "helm")
}
