package cli

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestVersionCommand(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	cmd.SetArgs([]string{"version"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("version: %v", err)
	}
	if got := out.String(); !strings.HasPrefix(got, "kubectl-swarm ") {
		t.Errorf("version printed %q, want it to start with %q", got, "kubectl-swarm ")
	}
}

func TestRootHasKubectlFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	for _, name := range []string{"kubeconfig", "context", "namespace"} {
		if cmd.PersistentFlags().Lookup(name) == nil {
			t.Errorf("flag --%s is missing", name)
		}
	}
}
