package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLean: the binary links none of what makes kubectl-swarm slow to start (each package's
// init runs whether a conversion uses it or not).
func TestLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	heavy := []string{"k8s.io/client-go/", "sigs.k8s.io/controller-runtime/pkg/client", "github.com/prometheus/",
		"sigs.k8s.io/kustomize/", "github.com/google/go-containerregistry/", "k8s.io/cli-runtime/"}
	for _, pkg := range strings.Fields(string(out)) {
		for _, h := range heavy {
			if strings.HasPrefix(pkg, h) {
				t.Errorf("kubectl-swarm-convert links %s", pkg)
			}
		}
	}
}
