package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

func newNodeCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newGroupCommand("node", "Manage Swarm nodes",
		newNodeLsCommand(f, streams),
		newNodePsCommand(f, streams),
		newNodeInspectCommand(f, streams),
		newNodeUpdateCommand(f, streams),
		newNodeRoleCommand(f, streams, swarmv1.RoleManager),
		newNodeRoleCommand(f, streams, swarmv1.RoleWorker),
		newNodeRmCommand(f, streams),
	)
}

// getNode finds a Node by name, hostname, or a unique prefix of its ID, as docker does.
func getNode(ctx context.Context, c client.Client, ref string) (*swarmv1.Node, error) {
	n := &swarmv1.Node{}
	err := c.Get(ctx, client.ObjectKey{Name: ref}, n)
	if err == nil {
		return n, nil
	}
	if !apierrors.IsNotFound(err) && !apierrors.IsBadRequest(err) && !apierrors.IsInvalid(err) {
		return nil, fmt.Errorf("reading node %s: %w", ref, err)
	}
	list := &swarmv1.NodeList{}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	var found []*swarmv1.Node
	for i := range list.Items {
		it := &list.Items[i]
		if it.Status.Hostname == ref || (it.Status.ID != "" && strings.HasPrefix(it.Status.ID, ref)) {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no such node: %s", ref)
	}
	return nil, fmt.Errorf("node %s is ambiguous (%d matches found)", ref, len(found))
}

// nodeRow is a row of `node ls`.
type nodeRow struct {
	ID            string
	Self          bool
	Hostname      string
	Status        string
	Availability  string
	ManagerStatus string
	EngineVersion string
	TLSStatus     string
}

// No node is "self" on Kubernetes (the plugin runs on no node), so no ID has docker's " *".
const nodeTableFormat = "table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}"

var nodeHeaders = map[string]string{"ID": "ID", "Hostname": "HOSTNAME", "Status": "STATUS", "Availability": "AVAILABILITY",
	"ManagerStatus": "MANAGER STATUS", "EngineVersion": "ENGINE VERSION", "TLSStatus": "TLS STATUS"}

func nodeID(n *swarmv1.Node) string {
	if n.Status.ID != "" {
		return n.Status.ID
	}
	return string(n.UID)
}

func nodeHostname(n *swarmv1.Node) string {
	if n.Status.Hostname != "" {
		return n.Status.Hostname
	}
	return n.Name
}

func nodeAvailability(n *swarmv1.Node) swarmv1.NodeAvailability {
	if n.Spec.Availability != "" {
		return n.Spec.Availability
	}
	return swarmv1.AvailabilityActive
}

func nodeRole(n *swarmv1.Node) swarmv1.NodeRole {
	if n.Spec.Role != "" {
		return n.Spec.Role
	}
	return swarmv1.RoleWorker
}

func newNodeRow(n *swarmv1.Node) nodeRow {
	state := string(n.Status.State)
	if state == "" {
		state = string(swarmv1.NodeUnknown)
	}
	return nodeRow{ID: nodeID(n), Hostname: nodeHostname(n), Status: state, Availability: title(string(nodeAvailability(n))),
		ManagerStatus: string(n.Status.ManagerStatus), EngineVersion: n.Status.EngineVersion, TLSStatus: "Ready"}
}

// NodeLsOptions is `node ls [-f FILTER] [--format FORMAT] [-q]`.
type NodeLsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	filter  []string
	format  string
	quiet   bool
	filters filters
}

func newNodeLsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &NodeLsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List nodes in the swarm",
		Args:    cobra.NoArgs,
		RunE:    runVerb(f, o),
	}
	cmd.Flags().StringArrayVarP(&o.filter, "filter", "f", nil, "Filter output based on conditions provided")
	cmd.Flags().StringVar(&o.format, "format", "", "Format output using a custom template")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Only display IDs")
	return cmd
}

// Validate parses the filters (docker's: id, label, membership, name, node.label, role).
func (o *NodeLsOptions) Validate() error {
	var err error
	o.filters, err = parseFilters(o.filter, "id", "label", "membership", "name", "node.label", "role")
	return err
}

// Run lists the Nodes, natural-sorted by hostname.
func (o *NodeLsOptions) Run(ctx context.Context) error {
	list := &swarmv1.NodeList{}
	if err := o.client.List(ctx, list); err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	items := list.Items
	sortorder.Sort(items, func(n swarmv1.Node) string { return nodeHostname(&n) })
	flt := o.filters
	var rows []any
	for i := range items {
		n := &items[i]
		if !flt.match("id", func(v string) bool { return strings.HasPrefix(nodeID(n), v) }) ||
			!flt.match("name", func(v string) bool { return strings.HasPrefix(nodeHostname(n), v) || strings.HasPrefix(n.Name, v) }) ||
			!flt.match("role", func(v string) bool { return string(nodeRole(n)) == v }) ||
			!flt.match("membership", func(v string) bool { return v == "accepted" }) ||
			!flt.matchLabels("node.label", n.Spec.Labels) || !flt.matchLabels("label", n.Labels) {
			continue
		}
		if o.quiet {
			fmt.Fprintln(o.Out, nodeID(n))
			continue
		}
		rows = append(rows, newNodeRow(n))
	}
	if o.quiet {
		return nil
	}
	return writeFormatted(o.Out, o.format, nodeTableFormat, nodeHeaders, rows)
}

// NodePsOptions is `node ps [NODE...]`: the tasks of the current namespace's services on the
// nodes (all nodes when none is named: the plugin runs on no node, so there is no "self").
type NodePsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	taskListOptions
}

func newNodePsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &NodePsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [NODE...]",
		Short: "List tasks running on one or more nodes (all nodes by default)",
		RunE:  runVerb(f, o),
	}
	o.taskListOptions.addFlags(cmd)
	return cmd
}

// Run prints the tasks node by node.
func (o *NodePsOptions) Run(ctx context.Context) error {
	var nodes []string
	for _, ref := range o.args {
		n, err := getNode(ctx, o.client, ref)
		if err != nil {
			return err
		}
		nodes = append(nodes, n.Name)
	}
	tasks, err := namespaceTasks(ctx, o.client, o.namespace, nil)
	if err != nil {
		return err
	}
	var out []task
	for _, n := range orAll(nodes, tasks) {
		for _, t := range tasks {
			if taskNode(t.pod) == n {
				out = append(out, t)
			}
		}
	}
	return o.print(o.Out, o.clock.Now(), out)
}

func orAll(nodes []string, tasks []task) []string {
	if len(nodes) > 0 {
		return nodes
	}
	seen := map[string]bool{}
	for _, t := range tasks {
		if n := taskNode(t.pod); !seen[n] {
			seen[n] = true
			nodes = append(nodes, n)
		}
	}
	sortorder.Sort(nodes, func(s string) string { return s })
	return nodes
}

// namespaceTasks lists the tasks of the namespace's services (those matching sel).
func namespaceTasks(ctx context.Context, c client.Client, ns string, sel client.MatchingLabels) ([]task, error) {
	list := &swarmv1.ServiceList{}
	opts := []client.ListOption{client.InNamespace(ns)}
	if sel != nil {
		opts = append(opts, sel)
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	items := list.Items
	sortorder.Sort(items, func(s swarmv1.Service) string { return s.Name })
	var all []task
	for i := range items {
		tasks, err := serviceTasks(ctx, c, &items[i])
		if err != nil {
			return nil, err
		}
		all = append(all, tasks...)
	}
	return all, nil
}

// inspectedNode is `docker node inspect`'s shape.
type inspectedNode struct {
	ID        string
	Version   struct{ Index int64 }
	CreatedAt string
	Spec      struct {
		Name         string
		Labels       map[string]string
		Role         string
		Availability string
	}
	Description struct {
		Hostname  string
		Platform  struct{ Architecture, OS string }
		Resources struct {
			NanoCPUs    int64
			MemoryBytes int64
		}
		Engine struct{ EngineVersion string }
	}
	Status struct {
		State string
		Addr  string
	}
	ManagerStatus *struct {
		Leader       bool `json:",omitempty"`
		Reachability string
	} `json:",omitempty"`
}

func inspectNode(n *swarmv1.Node) inspectedNode {
	var in inspectedNode
	in.ID = nodeID(n)
	in.Version.Index = n.Generation
	in.CreatedAt = n.CreationTimestamp.UTC().Format("2006-01-02T15:04:05.000000000Z")
	in.Spec.Name, in.Spec.Labels, in.Spec.Role, in.Spec.Availability = n.Name, n.Spec.Labels, string(nodeRole(n)), string(nodeAvailability(n))
	in.Description.Hostname = nodeHostname(n)
	in.Description.Platform.OS, in.Description.Platform.Architecture = n.Status.Platform.OS, n.Status.Platform.Architecture
	if q := n.Status.Resources.CPUs; q != nil {
		in.Description.Resources.NanoCPUs = q.ScaledValue(-9)
	}
	if q := n.Status.Resources.Memory; q != nil {
		in.Description.Resources.MemoryBytes = q.Value()
	}
	in.Description.Engine.EngineVersion = n.Status.EngineVersion
	in.Status.State, in.Status.Addr = strings.ToLower(newNodeRow(n).Status), n.Status.Addr
	if nodeRole(n) == swarmv1.RoleManager {
		in.ManagerStatus = &struct {
			Leader       bool `json:",omitempty"`
			Reachability string
		}{Leader: n.Status.ManagerStatus == swarmv1.ManagerLeader, Reachability: "reachable"}
		if n.Status.ManagerStatus == swarmv1.ManagerUnreachable {
			in.ManagerStatus.Reachability = "unreachable"
		}
	}
	return in
}

// NodeInspectOptions is `node inspect [--pretty] [-f FORMAT] NODE...`.
type NodeInspectOptions struct {
	genericiooptions.IOStreams
	inspectOptions
}

func newNodeInspectCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &NodeInspectOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NODE [NODE...]",
		Short: "Display detailed information on one or more nodes",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	o.inspectOptions.addFlags(cmd)
	return cmd
}

// Run prints the nodes as JSON in docker's shape, through the template, or as docker's text.
func (o *NodeInspectOptions) Run(ctx context.Context) error {
	var nodes []*swarmv1.Node
	for _, ref := range o.args {
		n, err := getNode(ctx, o.client, ref)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	return printInspected(o.Out, &o.inspectOptions, nodes, inspectNode, prettyNode, func(in inspectedNode) any { return in })
}

func prettyNode(out io.Writer, n *swarmv1.Node) {
	w := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	r := newNodeRow(n)
	p("ID:\t%s", r.ID)
	if len(n.Spec.Labels) > 0 {
		p("Labels:")
		for _, k := range sortedKeys(n.Spec.Labels) {
			p(" - %s=%s", k, n.Spec.Labels[k])
		}
	}
	p("Hostname:\t%s", r.Hostname)
	p("Joined at:\t%s", n.CreationTimestamp.UTC().Format("2006-01-02 15:04:05.000000000 -0700 utc"))
	p("Status:")
	p(" State:\t%s", r.Status)
	p(" Availability:\t%s", r.Availability)
	p(" Address:\t%s", n.Status.Addr)
	if nodeRole(n) == swarmv1.RoleManager {
		p("Manager Status:")
		reach := "Reachable"
		if n.Status.ManagerStatus == swarmv1.ManagerUnreachable {
			reach = "Unreachable"
		}
		p(" Raft Status:\t%s", reach)
		leader := "No"
		if n.Status.ManagerStatus == swarmv1.ManagerLeader {
			leader = "Yes"
		}
		p(" Leader:\t%s", leader)
	}
	p("Platform:")
	p(" Operating System:\t%s", n.Status.Platform.OS)
	p(" Architecture:\t%s", n.Status.Platform.Architecture)
	p("Resources:")
	if q := n.Status.Resources.CPUs; q != nil {
		p(" CPUs:\t%s", q.String())
	}
	if q := n.Status.Resources.Memory; q != nil {
		p(" Memory:\t%s", q.String())
	}
	p("Engine Version:\t%s", r.EngineVersion)
	_ = w.Flush()
}

// NodeUpdateOptions is `node update [--availability] [--role] [--label-add] [--label-rm] NODE`.
type NodeUpdateOptions struct {
	genericiooptions.IOStreams
	clientOptions
	availability string
	role         string
	labelAdd     []string
	labelRm      []string
}

func newNodeUpdateCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &NodeUpdateOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] NODE",
		Short: "Update a node",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	cmd.Flags().StringVar(&o.availability, "availability", "", `Availability of the node ("active", "pause", "drain")`)
	cmd.Flags().StringVar(&o.role, "role", "", `Role of the node ("worker", "manager")`)
	cmd.Flags().StringArrayVar(&o.labelAdd, "label-add", nil, "Add or update a node label (key=value)")
	cmd.Flags().StringArrayVar(&o.labelRm, "label-rm", nil, "Remove a node label if exists")
	return cmd
}

// Validate checks the values before anything is read or written.
func (o *NodeUpdateOptions) Validate() error {
	switch strings.ToLower(o.availability) {
	case "", "active", "pause", "drain":
	default:
		return flagError("availability", o.availability, errors.New(`must be "active", "pause" or "drain"`))
	}
	switch strings.ToLower(o.role) {
	case "", "manager", "worker":
	default:
		return flagError("role", o.role, errors.New(`must be "worker" or "manager"`))
	}
	for _, l := range o.labelAdd {
		if k, _ := swarmsyntax.ParseKeyValue(l); k == "" {
			return flagError("label-add", l, errors.New("bad attribute format"))
		}
	}
	return nil
}

// Run changes the Node's spec; the Node controller applies it to the Kubernetes node.
func (o *NodeUpdateOptions) Run(ctx context.Context) error {
	ref := o.args[0]
	err := updateNode(ctx, o.client, ref, func(n *swarmv1.Node) error {
		if o.availability != "" {
			n.Spec.Availability = swarmv1.NodeAvailability(strings.ToLower(o.availability))
		}
		if o.role != "" {
			role := swarmv1.NodeRole(strings.ToLower(o.role))
			if err := checkRole(ctx, o.client, n, role); err != nil {
				return err
			}
			n.Spec.Role = role
		}
		for _, k := range o.labelRm {
			if _, ok := n.Spec.Labels[k]; !ok {
				return fmt.Errorf("key %s doesn't exist in node's labels", k)
			}
			delete(n.Spec.Labels, k)
		}
		for _, l := range o.labelAdd {
			k, v := swarmsyntax.ParseKeyValue(l)
			if n.Spec.Labels == nil {
				n.Spec.Labels = map[string]string{}
			}
			n.Spec.Labels[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, ref)
	return nil
}

// updateNode reads the node, changes it and writes it with an optimistic lock, retrying on
// conflicts.
func updateNode(ctx context.Context, c client.Client, ref string, mutate func(*swarmv1.Node) error) error {
	for attempt := 0; ; attempt++ {
		n, err := getNode(ctx, c, ref)
		if err != nil {
			return err
		}
		if err := mutate(n); err != nil {
			return err
		}
		err = c.Update(ctx, n, client.FieldOwner(fieldManager))
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("updating node %s: %w", ref, err)
		}
		return nil
	}
}

// NodeRoleOptions is `node promote NODE...` (role manager) and `node demote NODE...` (worker).
type NodeRoleOptions struct {
	genericiooptions.IOStreams
	clientOptions
	role swarmv1.NodeRole
}

func newNodeRoleCommand(f Factory, streams genericiooptions.IOStreams, role swarmv1.NodeRole) *cobra.Command {
	o := &NodeRoleOptions{IOStreams: streams, role: role}
	use, short := "promote NODE [NODE...]", "Promote one or more nodes to manager in the swarm"
	if role == swarmv1.RoleWorker {
		use, short = "demote NODE [NODE...]", "Demote one or more nodes from manager in the swarm"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
}

// Run sets each node's role, with docker's sentences.
func (o *NodeRoleOptions) Run(ctx context.Context) error {
	var errs []error
	for _, ref := range o.args {
		already := false
		err := updateNode(ctx, o.client, ref, func(n *swarmv1.Node) error {
			if nodeRole(n) == o.role {
				already = true
				return errAlready
			}
			if err := checkRole(ctx, o.client, n, o.role); err != nil {
				return err
			}
			n.Spec.Role = o.role
			return nil
		})
		switch {
		case already && o.role == swarmv1.RoleManager:
			fmt.Fprintf(o.Out, "Node %s is already a manager.\n", ref)
		case already:
			fmt.Fprintf(o.Out, "Node %s is already a worker.\n", ref)
		case err != nil:
			errs = append(errs, err)
		case o.role == swarmv1.RoleManager:
			fmt.Fprintf(o.Out, "Node %s promoted to a manager in the swarm.\n", ref)
		default:
			fmt.Fprintf(o.Out, "Manager %s demoted in the swarm.\n", ref)
		}
	}
	return errors.Join(errs...)
}

var errAlready = errors.New("already")

// checkRole refuses, as swarmkit's UpdateNode does, to demote the last manager (nodes.CheckRole).
func checkRole(ctx context.Context, c client.Client, n *swarmv1.Node, role swarmv1.NodeRole) error {
	if nodeRole(n) != swarmv1.RoleManager || role != swarmv1.RoleWorker {
		return nil
	}
	all := &swarmv1.NodeList{}
	if err := c.List(ctx, all); err != nil {
		return fmt.Errorf("listing the nodes: %w", err)
	}
	return nodes.CheckRole(n, role, all.Items)
}

// NodeRmOptions is `node rm [-f] NODE...`. It removes the Kubernetes node (the Node controller
// then deletes its Node): deleting only the Node would see it come back while the Kubernetes
// node exists.
type NodeRmOptions struct {
	genericiooptions.IOStreams
	clientOptions
	force bool
}

func newNodeRmCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &NodeRmOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NODE [NODE...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more nodes from the swarm",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "Force remove a node from the swarm")
	return cmd
}

// Run refuses, as docker does, a node that is not down and a manager, unless --force.
func (o *NodeRmOptions) Run(ctx context.Context) error {
	c := o.client
	var errs []error
	for _, ref := range o.args {
		n, err := getNode(ctx, c, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if nodeRole(n) == swarmv1.RoleManager && !o.force {
			errs = append(errs, fmt.Errorf("node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal", ref))
			continue
		}
		if n.Status.State == swarmv1.NodeReady && !o.force {
			errs = append(errs, fmt.Errorf("node %s is not down and can't be removed", ref))
			continue
		}
		kn := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}
		if err := c.Delete(ctx, kn); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing node %s: %w", ref, err))
			continue
		}
		_ = c.Delete(ctx, n)
		fmt.Fprintln(o.Out, ref)
	}
	return errors.Join(errs...)
}
