// Package cli implements kubectl-swarm, the docker CLI's swarm commands on Kubernetes.
package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/version"
)

// DefaultIOStreams are the process's standard streams.
func DefaultIOStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// NewRootCommand is `kubectl swarm`, with the usual kubectl connection flags (--kubeconfig,
// --context, -n/--namespace, …).
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	cmd := NewRootCommandWithFactory(streams, &configFactory{flags: flags})
	flags.AddFlags(cmd.PersistentFlags())
	return cmd
}

// NewRootCommandWithFactory is the root command with the given clients (tests pass fakes).
func NewRootCommandWithFactory(streams genericiooptions.IOStreams, f Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "kubectl-swarm",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl swarm"},
		Short:         "Docker Swarm's commands on Kubernetes",
		Long:          "kubectl swarm drives kubeswarm's Service, Stack and Node resources with the docker CLI's swarm commands, verbs and flags.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.AddCommand(
		newVersionCommand(f, streams),
		newServiceCommand(f, streams),
		newNodeCommand(f, streams),
		newVolumeCommand(f, streams),
		newVizCommand(f, streams),
		newDockerAPICommand(f, streams),
	)
	addSwarmCommands(cmd, f, streams)
	addStackCommands(cmd, f, streams)
	return cmd
}

// Explain adds what to do to errors a user can fix: kubeswarm not installed in the cluster.
func Explain(err error) error {
	if meta.IsNoMatchError(err) {
		return fmt.Errorf("%w\nkubeswarm is not installed in this cluster: run 'kubectl swarm init'", err)
	}
	return err
}

// VersionOptions is `version [--client]`: the plugin's release and the operator's.
type VersionOptions struct {
	genericiooptions.IOStreams
	clientOnly bool
	client     client.Client
	clientErr  error
}

func newVersionCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version [--client]",
		Short: "Show the kubectl-swarm version and the cluster's kubeswarm version",
		Args:  cobra.NoArgs,
		RunE:  runVerb(f, o),
	}
	cmd.Flags().BoolVar(&o.clientOnly, "client", false, "Only show the kubectl-swarm version (no cluster needed)")
	return cmd
}

// Complete makes a client when it can: without a cluster, version still prints the plugin's.
func (o *VersionOptions) Complete(f Factory, _ *cobra.Command, _ []string) error {
	if !o.clientOnly {
		o.client, o.clientErr = f.Client()
	}
	return nil
}

// Validate has nothing to check.
func (o *VersionOptions) Validate() error { return nil }

// Run prints the versions.
func (o *VersionOptions) Run(ctx context.Context) error { return o.printVersions(ctx) }

func buildVersion() string { return version.String() }
