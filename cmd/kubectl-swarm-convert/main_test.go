package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLean: the binary links none of what makes kubectl-swarm slow to start (each package's
// init runs whether a conversion uses it or not). client-go's apply configurations are linked:
// the conversion runs the operator's own checks (translate.Check, so that convert refuses what
// the operator would), and their meta/v1 package reaches client-go's discovery and rest; the
// typed clientset, informers and kubeconfig loading are not.
func TestLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	heavy := []string{"k8s.io/client-go/kubernetes/typed/", "k8s.io/client-go/informers/", "k8s.io/client-go/tools/clientcmd",
		"sigs.k8s.io/controller-runtime/pkg/client/",
		"sigs.k8s.io/controller-runtime/pkg/client", "github.com/prometheus/",
		"sigs.k8s.io/kustomize/", "github.com/google/go-containerregistry/", "k8s.io/cli-runtime/"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, h := range heavy {
			// "a/b/" is every package below a/b; "a/b" is that package alone.
			if pkg == h || strings.HasSuffix(h, "/") && strings.HasPrefix(pkg, h) {
				t.Errorf("kubectl-swarm-convert links %s", pkg)
			}
		}
	}
}
