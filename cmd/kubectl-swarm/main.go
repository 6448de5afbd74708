// Command kubectl-swarm is the kubectl plugin that gives the docker CLI's swarm commands on
// Kubernetes: `kubectl swarm service create …`, `kubectl swarm node ls`, `kubectl swarm stack
// deploy …`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubeswarm/kubeswarm/internal/cli"
)

func main() {
	// Ctrl-C during a wait leaves the update going on, and says so as docker does.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.NewRootCommand(cli.DefaultIOStreams()).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", cli.Explain(err))
		os.Exit(1)
	}
}
