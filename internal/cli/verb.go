package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/images"
)

// verb is the shape of every command's options, kubectl's and kueuectl's (kueue
// cmd/kueuectl/app): Complete takes the arguments and the clients from the Factory, Validate
// checks what was given before anything is read or written, Run does the work.
type verb interface {
	Complete(f Factory, cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runVerb is the RunE of every verb.
func runVerb(f Factory, o verb) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(f, cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(contextOf(cmd))
	}
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// clientOptions are embedded by every verb that talks to the cluster: what it takes in Complete,
// its arguments and, from the Factory, its client, namespace and clock (no verb makes a client
// anywhere else). Its Complete and Validate are the verb's own when the verb has nothing more to
// read or check; a verb that has defines its own, which calls clientOptions.Complete.
type clientOptions struct {
	args      []string
	client    client.Client
	namespace string
	clock     clock.Clock
	// registry tells images' digests (--resolve-image) and the user's credentials (--with-registry-auth).
	registry images.Client
	// clientset is made only by completeClientset, for what a controller-runtime client cannot do
	// (pod logs).
	clientset kubernetes.Interface
}

// Complete keeps the arguments and makes the client.
func (o *clientOptions) Complete(f Factory, _ *cobra.Command, args []string) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, err := f.Namespace()
	if err != nil {
		return err
	}
	o.args, o.client, o.namespace, o.clock, o.registry = args, c, ns, f.Clock(), f.Registry()
	return nil
}

// pinImage is the image as the docker client sends it: tagged (:latest when untagged) and,
// when resolve is set, pinned to its registry's digest, with docker's warning on errOut when the
// registry cannot be asked.
func (o *clientOptions) pinImage(ctx context.Context, image string, resolve bool, errOut io.Writer) string {
	if !resolve {
		return images.Tagged(image)
	}
	pinned, warning := images.Pin(ctx, o.registry, image)
	if warning != "" {
		fmt.Fprint(errOut, warning)
	}
	return pinned
}

// Validate has nothing to check: what the arguments name is the cluster's to say, in Run.
func (o *clientOptions) Validate() error { return nil }

func (o *clientOptions) completeClientset(f Factory) error {
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	o.clientset = cs
	return nil
}

// newGroupCommand is a command that only groups verbs (service, node, stack, volume, swarm):
// alone it prints its help.
func newGroupCommand(use, short string, verbs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(verbs...)
	return cmd
}
