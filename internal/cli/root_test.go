package cli

import (
	"github.com/spf13/cobra"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestVersionCommand(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	cmd.SetArgs([]string{"version", "--client"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("version: %v", err)
	}
	if got, want := out.String(), "Client: kubectl-swarm\n Version:         dev\n"; got != want {
		t.Errorf("version --client printed %q, want %q", got, want)
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

// TestEveryCommandParsesWithKubectlFlags: docker's flags and kubectl's (-n, --user, …) live
// together on every command (a shorthand clash panics when the command runs).
func TestEveryCommandParsesWithKubectlFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewRootCommand(streams)
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			path := strings.Fields(sub.CommandPath())[2:] // "kubectl swarm …"
			t.Run(strings.Join(path, " "), func(t *testing.T) {
				r := NewRootCommand(streams)
				r.SetArgs(append(path, "--help"))
				if err := r.Execute(); err != nil {
					t.Errorf("%v --help: %v", path, err)
				}
			})
			walk(sub)
		}
	}
	walk(root)
}
