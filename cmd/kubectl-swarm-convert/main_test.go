package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLean: the binary links none of what makes kubectl-swarm slow to start (each package's
// init runs whether a conversion uses it or not): no client-go package at all. The conversion
// runs the operator's own rules (translate.Check, stack.Validate, so that convert refuses what
// the operator would); those packages decide, and internal/objects builds the apply
// configurations, whose meta/v1 package reaches client-go's discovery, REST client and every
// API group's scheme.
func TestLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	heavy := []string{"k8s.io/client-go/", "github.com/kubeswarm/kubeswarm/internal/objects",
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
