package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli/manifests"
	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/version"
)

func addSwarmCommands(root *cobra.Command, f Factory, streams genericiooptions.IOStreams) {
	root.AddCommand(newInitCommand(f, streams), newJoinTokenCommand(f, streams), newInfoCommand(f, streams), newLeaveCommand(f, streams))
	// docker's own spelling, `docker swarm init` / `docker swarm join-token` / `docker swarm leave`, works too.
	root.AddCommand(newGroupCommand("swarm", "Manage the swarm (init, join-token, leave)",
		newInitCommand(f, streams), newJoinTokenCommand(f, streams), newLeaveCommand(f, streams)))
}

// crdWait bounds init's wait for its CRDs to be established (seconds on a healthy API server).
var crdWait = 2 * time.Minute

// InitOptions is `init`: server-side apply of the embedded manifests.
type InitOptions struct {
	genericiooptions.IOStreams
	clientOptions
	dryRun   bool
	image    string
	registry string
	force    bool
	wait     time.Duration
}

func newInitCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InitOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "init [OPTIONS]",
		Short: "Install kubeswarm (CRDs and the operator) into the current cluster",
		Long: "Installs kubeswarm's CRDs, RBAC and operator (the manifests embedded in this binary, `kustomize build config/default`)\n" +
			"with server-side apply; running it again changes nothing, or upgrades what an older init installed.\n\n" +
			"A released kubectl-swarm installs its own release's operator image, pinned by digest; --registry pulls the same\n" +
			"image from a mirror, --image names another. init refuses to install an older release over a newer one (CRDs are\n" +
			"never downgraded) unless --force, and checks that you may create and patch every object before it writes any.",
		Args: cobra.NoArgs,
		RunE: runVerb(f, o),
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "Print the manifests instead of applying them")
	cmd.Flags().StringVar(&o.image, "image", "", "The operator's image (default: this release's, by digest; a development build: "+version.DevImage+")")
	cmd.Flags().StringVar(&o.registry, "registry", "", "Pull the operator's image from this registry and path instead (a mirror: REGISTRY/manager@DIGEST)")
	cmd.Flags().BoolVar(&o.force, "force", false, "Install even over a newer release of kubeswarm (downgrades its CRDs and operator)")
	cmd.Flags().DurationVar(&o.wait, "wait", 0, "Wait up to this long for the operator to be ready (0: do not wait)")
	for _, name := range []string{"advertise-addr", "listen-addr", "data-path-addr", "availability", "default-addr-pool"} {
		cmd.Flags().String(name, "", "Accepted for docker compatibility; has no meaning on Kubernetes")
		_ = cmd.Flags().MarkHidden(name)
	}
	return cmd
}

// initObjects are the embedded manifests as objects, stamped with this release's version and
// the operator image o asks for.
func (o *InitOptions) initObjects() ([]*unstructured.Unstructured, error) {
	image, err := o.operatorImage()
	if err != nil {
		return nil, err
	}
	return install.Objects(manifests.KubeSwarm, install.Options{Image: image, Version: version.String()})
}

// operatorImage is the image init installs: --image, else this release's (by digest), else the
// manifests' own; --registry moves it to a mirror.
func (o *InitOptions) operatorImage() (string, error) {
	image := o.image
	if image == "" {
		image = version.Image
	}
	if o.registry == "" {
		return image, nil
	}
	if image == "" {
		image = version.DevImage
	}
	return install.Mirror(image, o.registry)
}

// Complete makes the client, unless --dry-run: printing the manifests needs no cluster.
func (o *InitOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	if o.dryRun {
		return nil
	}
	return o.clientOptions.Complete(f, cmd, args)
}

// Validate refuses --image with --registry: the mirror is for this release's image.
func (o *InitOptions) Validate() error {
	if o.image != "" && o.registry != "" {
		return errors.New("--image and --registry: give one (--registry moves this release's image to a mirror; --image names the image whole)")
	}
	return nil
}

// Run applies (or prints) the manifests.
func (o *InitOptions) Run(ctx context.Context) error {
	objs, err := o.initObjects()
	if err != nil {
		return err
	}
	if install.OperatorImage(objs) == version.DevImage {
		fmt.Fprintf(o.ErrOut, "Warning: this kubectl-swarm is a development build: it installs the operator image %s, which no registry has;\n"+
			"load it into the nodes, or use a released kubectl-swarm, --image or --registry.\n", version.DevImage)
	}
	if o.dryRun {
		b, err := install.YAML(objs)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	c := o.client
	if err := checkAccess(ctx, c, "install kubeswarm", accessFor(objs, "create", "patch")); err != nil {
		return err
	}
	if err := dryRunRoles(ctx, c, objs, fieldManager); err != nil {
		return err
	}
	if err := o.refuseDowngrade(ctx); err != nil {
		return err
	}
	established := false
	for _, u := range objs {
		if kind := u.GetKind(); !established && kind != "Namespace" && kind != "CustomResourceDefinition" {
			// What follows may use the kinds (and the operator maps them as it starts).
			// A CRD the API server does not accept (NamesAccepted False) is never Established:
			// say what is awaited, and give up in time.
			wctx, cancel := context.WithTimeout(ctx, crdWait)
			err := crds.WaitEstablished(wctx, c, crds.Names, pollInterval, func(missing []string) {
				fmt.Fprintf(o.ErrOut, "Waiting for the CustomResourceDefinitions %s to be established\n", strings.Join(missing, ", "))
			})
			cancel()
			if err != nil {
				return err
			}
			established = true
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	fmt.Fprintf(o.Out, "Swarm initialized: kubeswarm's CRDs and operator are installed (namespace %s).\n\n", install.Namespace)
	fmt.Fprintln(o.Out, "Every Kubernetes node is a swarm node; the operator creates a Node for each one.")
	fmt.Fprintln(o.Out, "To add a worker to this swarm, run 'kubectl swarm join-token worker' and follow the instructions.")
	fmt.Fprintln(o.Out, "To add a manager to this swarm, run 'kubectl swarm join-token manager' and follow the instructions.")
	if o.wait <= 0 {
		return nil
	}
	deadline := time.Now().Add(o.wait)
	for {
		if active, _ := swarmActive(ctx, c); active.active {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the operator is not ready after %s: see `kubectl -n %s get pods`", o.wait, install.Namespace)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the operator: %w", ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// JoinTokenOptions is `join-token [-q] [--rotate] (worker|manager)`: Kubernetes nodes join the
// cluster the cluster's way; there is no swarm token.
type JoinTokenOptions struct {
	genericiooptions.IOStreams
	quiet, rotate bool
	role          string
}

func newJoinTokenCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &JoinTokenOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:       "join-token [OPTIONS] (worker|manager)",
		Short:     "Show how nodes join the swarm",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"worker", "manager"},
		RunE:      runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Only display the command that prints a join command")
	cmd.Flags().BoolVar(&o.rotate, "rotate", false, "Rotate join token (not available: the cluster owns its tokens)")
	return cmd
}

// Complete reads the role; join-token makes no client.
func (o *JoinTokenOptions) Complete(_ Factory, _ *cobra.Command, args []string) error {
	o.role = args[0]
	return nil
}

// Validate refuses an unknown role, and --rotate: the tokens are the cluster's.
func (o *JoinTokenOptions) Validate() error {
	if o.role != "worker" && o.role != "manager" {
		return fmt.Errorf("unknown role %s", o.role)
	}
	if o.rotate {
		return errors.New("--rotate: join tokens are the cluster's own (kubeadm: `kubeadm token delete` / `kubeadm token create`)")
	}
	return nil
}

// Run prints how a machine joins the cluster as a node of the role.
func (o *JoinTokenOptions) Run(context.Context) error {
	out := o.Out
	if o.quiet {
		fmt.Fprintln(out, "kubeadm token create --print-join-command")
		return nil
	}
	fmt.Fprintf(out, "To add a %s to this swarm, join the machine to the Kubernetes cluster as a node:\n\n", o.role)
	fmt.Fprintln(out, "    kubeadm clusters:  run `kubeadm token create --print-join-command` on a control-plane node,")
	fmt.Fprintln(out, "                       then the printed `kubeadm join …` on the new machine")
	fmt.Fprintln(out, "    managed clusters:  add a node to a node pool")
	fmt.Fprintln(out, "    kubeswarm's local cluster:  hack/local-cluster.sh add-node NAME")
	fmt.Fprintln(out)
	if o.role == "worker" {
		fmt.Fprintln(out, "kubeswarm makes a Node for it as soon as it registers; a node joins as a worker")
		fmt.Fprintln(out, "(unless it matches the operator's --manager-node-selector, by default control-plane nodes).")
	} else {
		fmt.Fprintln(out, "kubeswarm makes a Node for it as soon as it registers; then make it a manager:")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "    kubectl swarm node promote NODE")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "(nodes matching the operator's --manager-node-selector, by default control-plane nodes, join as managers).")
	}
	return nil
}

// swarmState is what `info` reports.
type swarmState struct {
	active          bool
	reason          string
	nodes, managers int
	leader          string
	operator        string
}

// swarmActive: the CRDs exist and an operator runs: the in-cluster Deployment has a ready
// replica, or (an operator run elsewhere, `make run`) the Nodes carry a status for their
// current spec.
func swarmActive(ctx context.Context, c client.Client) (swarmState, error) {
	var st swarmState
	list := &swarmv1.NodeList{}
	if err := c.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			st.reason = "kubeswarm's CRDs are not installed: run 'kubectl swarm init'"
			return st, nil
		}
		return st, fmt.Errorf("listing nodes: %w", err)
	}
	reconciled := 0
	for _, n := range list.Items {
		st.nodes++
		if nodeRole(&n) == swarmv1.RoleManager {
			st.managers++
		}
		if n.Status.ManagerStatus == swarmv1.ManagerLeader {
			st.leader = nodeHostname(&n)
		}
		if n.Status.ID != "" && n.Status.ObservedGeneration >= n.Generation {
			reconciled++
		}
	}
	in, err := readInstalled(ctx, c)
	if err != nil {
		return st, err
	}
	switch {
	case in.operator:
		st.operator = fmt.Sprintf("%s/%s, %d/%d ready", in.namespace, install.Deployment, in.ready, in.replicas)
		st.active = in.ready > 0 && reconciled > 0
	case reconciled > 0:
		st.operator = "running outside the cluster"
		st.active = true
	}
	if !st.active {
		st.reason = "no kubeswarm operator is ready"
	}
	return st, nil
}

// InfoOptions is `info [-f FORMAT]`: the Swarm part of `docker info`.
type InfoOptions struct {
	genericiooptions.IOStreams
	clientOptions
	format string
}

func newInfoCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InfoOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Display swarm-wide information",
		Args:  cobra.NoArgs,
		RunE:  runVerb(f, o),
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// Run prints whether the swarm is active, its managers, nodes, leader and operator.
func (o *InfoOptions) Run(ctx context.Context) error {
	st, err := swarmActive(ctx, o.client)
	if err != nil {
		return err
	}
	if o.format != "" {
		row := map[string]any{"Swarm": map[string]any{"LocalNodeState": stateWord(st), "Nodes": st.nodes, "Managers": st.managers, "Leader": st.leader, "Operator": st.operator}}
		return writeFormatted(o.Out, o.format, "", nil, []any{row})
	}
	var b strings.Builder
	fmt.Fprintf(&b, " Swarm: %s\n", stateWord(st))
	if st.active || st.nodes > 0 {
		fmt.Fprintf(&b, "  Is Manager: true\n")
		fmt.Fprintf(&b, "  Managers: %d\n", st.managers)
		fmt.Fprintf(&b, "  Nodes: %d\n", st.nodes)
		if st.leader != "" {
			fmt.Fprintf(&b, "  Leader: %s\n", st.leader)
		}
		if st.operator != "" {
			fmt.Fprintf(&b, "  Operator: %s\n", st.operator)
		}
	}
	if !st.active && st.reason != "" {
		fmt.Fprintf(&b, "  (%s)\n", st.reason)
	}
	_, err = fmt.Fprint(o.Out, b.String())
	return err
}

func stateWord(st swarmState) string {
	if st.active {
		return "active"
	}
	return "inactive"
}
