// Package convert is `kubectl swarm convert`, and the loading of compose files that the stack
// commands share with it. It needs no cluster, and imports nothing of the Kubernetes clients:
// the lean plugin binary kubectl-swarm-convert (cmd/kubectl-swarm-convert), which kubectl runs
// for `kubectl swarm convert`, starts without initialising them.
package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kubeswarm/kubeswarm/internal/compose"
)

// NewCommand is `convert -c FILE… [STACK]`: it prints the Stack and its Secrets/ConfigMaps as
// YAML, for GitOps. The namespace is the "namespace" flag's value when it is given (the
// plugin's -n, or the lean binary's own), and written only then.
func NewCommand(in io.Reader, out, errOut io.Writer) *cobra.Command {
	var files []string
	var leaveOutProxy bool
	cmd := &cobra.Command{
		Use:   "convert -c FILE [-c FILE...] [STACK]",
		Short: "Print a compose file as kubeswarm's Stack, Secrets and ConfigMaps (YAML)",
		Long: "convert loads compose files as `stack deploy` does and prints the objects it would write, for kubectl apply -f or a\n" +
			"GitOps repository. The stack is named STACK (default: the project's name). The namespace is written only when -n is given.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := RequireComposeFiles(files); err != nil {
				return err
			}
			name, namespace := "", ""
			if len(args) == 1 {
				name = args[0]
			}
			if fl := cmd.Flags().Lookup("namespace"); fl != nil && fl.Changed {
				namespace = fl.Value.String()
			}
			r, err := Load(cmd.Context(), files, in, name, namespace, false, leaveOutProxy)
			if err != nil {
				return err
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(errOut, "%s\n\n", w)
			}
			b, err := r.YAML()
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&files, "compose-file", "c", nil, "Path to a Compose file")
	AddLeaveOutProxyFlag(cmd, &leaveOutProxy)
	return cmd
}

// AddLeaveOutProxyFlag is --leave-out-proxy of stack deploy and convert (kubectl-swarm only).
func AddLeaveOutProxyFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "leave-out-proxy", false, "Leave out a Traefik or caddy-docker-proxy service that routed HTTP by reading the Docker socket: the cluster's gateway does that, from the other services' labels (kubectl-swarm only)")
}

// RequireComposeFiles is docker's refusal of stack deploy and stack config without -c.
func RequireComposeFiles(files []string) error {
	if len(files) == 0 {
		return errors.New("Please specify a Compose file (with --compose-file).") //nolint:staticcheck // docker's exact words
	}
	return nil
}

// LoadOptions are the compose loader's options for -c files; "-" is the standard input (its
// relative paths are relative to the current directory, as docker has them).
func LoadOptions(files []string, in io.Reader, skipInterpolation bool) (compose.LoadOptions, func(), error) {
	opts := compose.LoadOptions{Files: slices.Clone(files), SkipInterpolation: skipInterpolation}
	cleanup := func() {}
	for i, f := range opts.Files {
		if f != "-" {
			continue
		}
		data, err := io.ReadAll(in)
		if err != nil {
			return opts, cleanup, fmt.Errorf("reading the compose file from stdin: %w", err)
		}
		dir, err := os.MkdirTemp("", "kubectl-swarm-")
		if err != nil {
			return opts, cleanup, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		opts.Files[i] = filepath.Join(dir, "stdin.yml")
		if err := os.WriteFile(opts.Files[i], data, 0o600); err != nil {
			return opts, cleanup, err
		}
		if i == 0 {
			if opts.WorkingDir, err = os.Getwd(); err != nil {
				return opts, cleanup, err
			}
		}
	}
	return opts, cleanup, nil
}

// Load loads and converts compose files as `docker stack deploy` would.
func Load(ctx context.Context, files []string, in io.Reader, stack, namespace string, skipInterpolation, leaveOutProxies bool) (*compose.Result, error) {
	opts, cleanup, err := LoadOptions(files, in, skipInterpolation)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	p, err := compose.Load(ctx, opts)
	if err != nil {
		return nil, err
	}
	if stack == "" {
		stack = p.Name
	}
	r, err := compose.Convert(p, stack, compose.ConvertOptions{Namespace: namespace, LeaveOutProxies: leaveOutProxies})
	if err != nil {
		return nil, err
	}
	r.ReplaceProxies()
	return r, nil
}
