// Command kubectl-swarm-convert is `kubectl swarm convert` on its own: kubectl runs the plugin
// with the longest name that matches, so with this binary on the PATH `kubectl swarm convert`
// starts it instead of kubectl-swarm. It is the same command (internal/cli/convert), without
// the Kubernetes clients, schemes and registry code that kubectl-swarm initialises at start and
// a conversion never uses: it starts in a third of the memory.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/kubeswarm/kubeswarm/internal/cli/convert"
	"github.com/kubeswarm/kubeswarm/internal/version"
)

func main() {
	// A conversion is one short run whose heap is mostly live until it ends (the loaded model,
	// the compiled compose schema): collecting at twice the live heap instead of the default once
	// saves about 4% of a run for about 3 MiB of peak memory (docs: "Cost and scale"). $GOGC
	// still wins when set.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
	// compose-go's own notices; what matters comes back as warnings (as in kubectl-swarm).
	logrus.SetLevel(logrus.ErrorLevel)
	cmd := convert.NewCommand(os.Stdin, os.Stdout, os.Stderr)
	cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl swarm convert"}
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.Version = version.String()
	// kubectl-swarm's -n: the namespace to write into the objects.
	cmd.Flags().StringP("namespace", "n", "", "The namespace to write into the objects (none when not given)")
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
