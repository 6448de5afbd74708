package cli

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubeswarm/kubeswarm/internal/viz"
)

// VizOptions are the options of `kubectl swarm viz`.
type VizOptions struct {
	genericiooptions.IOStreams

	Port    int
	Address string
	Open    bool
	// Namespace limits the page to one namespace when -n is given; every namespace otherwise.
	Namespace string

	// open starts the user's browser (replaced in tests).
	open func(url string) error
	// config is the REST config the visualizer's informers are made from.
	config *rest.Config
}

func newVizCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VizOptions{IOStreams: streams, Port: 8080, Address: "127.0.0.1", open: openBrowser}
	cmd := &cobra.Command{
		Use:   "viz",
		Short: "Serve the swarm visualizer: a live page with a column per node and a card per task",
		Long: "viz serves a web page, like Docker's swarm visualizer, with a column per node (role, availability, state) and a card " +
			"per task coloured by service, kept live from the cluster with your kubeconfig's credentials. It reads only. " +
			"It listens on 127.0.0.1 unless --address says otherwise; with -n it shows only that namespace's tasks.",
		Example: "  kubectl swarm viz --open\n  kubectl swarm viz --port 9000 -n shop",
		Args:    cobra.NoArgs,
		RunE:    runVerb(f, o),
	}
	cmd.Flags().IntVar(&o.Port, "port", o.Port, "Port to serve the page on (0: any free port).")
	cmd.Flags().StringVar(&o.Address, "address", o.Address, "Address to listen on. Anything but a loopback address shows the cluster's tasks to the network, without authentication.")
	cmd.Flags().BoolVar(&o.Open, "open", false, "Open the page in the default browser.")
	return cmd
}

// Complete reads the namespace when -n was given, and the REST config.
func (o *VizOptions) Complete(f Factory, cmd *cobra.Command, _ []string) error {
	if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
		ns, err := f.Namespace()
		if err != nil {
			return err
		}
		o.Namespace = ns
	}
	rf, ok := f.(restConfigFactory)
	if !ok {
		return fmt.Errorf("the visualizer needs a kubeconfig")
	}
	var err error
	o.config, err = rf.restConfig()
	return err
}

// Validate checks the port and the address.
func (o *VizOptions) Validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d is not a port", o.Port)
	}
	if o.Address != "localhost" && net.ParseIP(o.Address) == nil {
		return fmt.Errorf("--address %q is not an IP address", o.Address)
	}
	return nil
}

// Run serves the page until ctx ends, or Ctrl-C.
func (o *VizOptions) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if ip := net.ParseIP(o.Address); ip != nil && !ip.IsLoopback() {
		_, _ = fmt.Fprintf(o.ErrOut, "warning: listening on %s: anyone who reaches it sees the cluster's nodes and tasks\n", o.Address)
	}
	return viz.Run(ctx, o.config, viz.Options{
		Address:   net.JoinHostPort(o.Address, strconv.Itoa(o.Port)),
		Namespace: o.Namespace,
		Ready: func(url string) {
			_, _ = fmt.Fprintf(o.Out, "Serving the swarm visualizer on %s (Ctrl-C to stop)\n", url)
			if o.Open && o.open != nil {
				if err := o.open(url); err != nil {
					_, _ = fmt.Fprintf(o.ErrOut, "could not open a browser (%v): open %s yourself\n", err, url)
				}
			}
		},
	})
}

func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
