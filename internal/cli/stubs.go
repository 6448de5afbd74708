package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func addStackCommands(root *cobra.Command, f Factory, streams genericiooptions.IOStreams) {}
