package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func newNodeCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "node", Short: "Manage Swarm nodes"}
}
func addSwarmCommands(root *cobra.Command, f Factory, streams genericiooptions.IOStreams) {}
func addStackCommands(root *cobra.Command, f Factory, streams genericiooptions.IOStreams) {}
