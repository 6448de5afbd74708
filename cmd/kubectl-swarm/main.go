// Command kubectl-swarm is the kubectl plugin that gives the docker CLI's swarm commands on
// Kubernetes: `kubectl swarm service create …`, `kubectl swarm node ls`, `kubectl swarm stack
// deploy …`.
package main

import (
	"fmt"
	"os"

	"github.com/kubeswarm/kubeswarm/internal/cli"
)

func main() {
	if err := cli.NewRootCommand(cli.DefaultIOStreams()).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", cli.Explain(err))
		os.Exit(1)
	}
}
