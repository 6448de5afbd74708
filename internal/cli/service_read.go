package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// serviceRow is a row of `service ls`.
type serviceRow struct {
	ID       string
	Name     string
	Mode     string
	Replicas string
	Image    string
	Ports    string
}

const serviceTableFormat = "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}"

var serviceHeaders = map[string]string{"ID": "ID", "Name": "NAME", "Mode": "MODE", "Replicas": "REPLICAS", "Image": "IMAGE", "Ports": "PORTS"}

func modeText(m swarmv1.ServiceMode) string {
	switch m {
	case "", swarmv1.ModeReplicated:
		return "replicated"
	case swarmv1.ModeReplicatedJob:
		return "replicated job"
	case swarmv1.ModeGlobalJob:
		return "global job"
	}
	return string(m)
}

// replicasText is the REPLICAS column: the operator's status when it has written one.
func replicasText(s *swarmv1.Service) string {
	if s.Status.Replicas != "" {
		return s.Status.Replicas
	}
	desired := s.Status.DesiredTasks
	if s.Spec.Replicas != nil && !s.Spec.Mode.IsGlobal() {
		desired = *s.Spec.Replicas
	} else if s.Spec.Replicas == nil && s.Spec.Mode.IsReplicated() {
		desired = 1
	}
	return translate.ReplicasSummary(&s.Spec, s.Status.RunningTasks, desired)
}

// imageText is the IMAGE column: the digest stripped.
func imageText(image string, noTrunc bool) string {
	if i := strings.Index(image, "@"); i >= 0 && !noTrunc {
		return image[:i]
	}
	return image
}

func newServiceRow(s *swarmv1.Service, noTrunc bool) serviceRow {
	ports := s.Status.PortsSummary
	if ports == "" && len(s.Status.Ports) == 0 {
		// Not yet published by the operator: show what the spec asks for.
		var st []swarmv1.PortStatus
		for _, p := range s.Spec.Ports {
			mode := p.Mode
			if mode == "" {
				mode = swarmv1.PortModeIngress
			}
			st = append(st, swarmv1.PortStatus{Target: p.Target, Published: p.Published, Protocol: protoOf(p.Protocol), Mode: mode})
		}
		ports = translate.PortsSummary(st)
	}
	return serviceRow{ID: shortID(string(s.UID), noTrunc), Name: s.Name, Mode: modeText(s.Spec.Mode),
		Replicas: replicasText(s), Image: imageText(s.Spec.Image, noTrunc), Ports: ports}
}

// ServiceLsOptions is `service ls`.
type ServiceLsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	filter  []string
	format  string
	quiet   bool
	filters filters
	// selector narrows the list (stack services uses it).
	selector client.MatchingLabels
}

func newServiceLsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceLsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List services",
		Args:    cobra.NoArgs,
		RunE:    runVerb(f, o),
	}
	o.addFlags(cmd)
	return cmd
}

func (o *ServiceLsOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&o.filter, "filter", "f", nil, "Filter output based on conditions provided")
	cmd.Flags().StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Only display IDs")
}

// Validate parses the filters (docker's: id, label, mode, name).
func (o *ServiceLsOptions) Validate() error {
	var err error
	o.filters, err = parseFilters(o.filter, "id", "label", "mode", "name")
	return err
}

// Run lists the namespace's services, natural-sorted by name.
func (o *ServiceLsOptions) Run(ctx context.Context) error {
	list := &swarmv1.ServiceList{}
	opts := []client.ListOption{client.InNamespace(o.namespace)}
	if o.selector != nil {
		opts = append(opts, o.selector)
	}
	if err := o.client.List(ctx, list, opts...); err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	flt := o.filters
	var rows []any
	items := list.Items
	sortorder.Sort(items, func(s swarmv1.Service) string { return s.Name })
	for i := range items {
		s := &items[i]
		id := shortID(string(s.UID), true)
		if !flt.match("name", func(v string) bool { return strings.HasPrefix(s.Name, v) }) ||
			!flt.match("id", func(v string) bool { return strings.HasPrefix(id, v) }) ||
			!flt.match("mode", func(v string) bool { return string(orDefaultMode(s.Spec.Mode)) == v }) ||
			!flt.matchLabels("label", s.Spec.Labels) {
			continue
		}
		if o.quiet {
			fmt.Fprintln(o.Out, id)
			continue
		}
		rows = append(rows, newServiceRow(s, false))
	}
	if o.quiet {
		return nil
	}
	return writeFormatted(o.Out, o.format, serviceTableFormat, serviceHeaders, rows)
}

func orDefaultMode(m swarmv1.ServiceMode) swarmv1.ServiceMode {
	if m == "" {
		return swarmv1.ModeReplicated
	}
	return m
}

// ---- ps ----

// taskListOptions are the flags of service ps, node ps and stack ps.
type taskListOptions struct {
	filter  []string
	format  string
	quiet   bool
	noTrunc bool
	noRes   bool
}

func (o *taskListOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&o.filter, "filter", "f", nil, "Filter output based on conditions provided")
	cmd.Flags().StringVar(&o.format, "format", "", "Pretty-print tasks using a Go template")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Only display task IDs")
	cmd.Flags().BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	cmd.Flags().BoolVar(&o.noRes, "no-resolve", false, "Do not map IDs to Names")
}

// print filters and prints tasks (filters: id, name, node, desired-state).
func (o *taskListOptions) print(out io.Writer, now time.Time, tasks []task) error {
	flt, err := parseFilters(o.filter, "id", "name", "node", "desired-state")
	if err != nil {
		return err
	}
	var rows []any
	for _, t := range tasks {
		r := newTaskRow(t, now, o.noTrunc)
		if !flt.match("id", func(v string) bool { return strings.HasPrefix(shortID(string(t.pod.UID), true), v) }) ||
			!flt.match("name", func(v string) bool { return strings.HasPrefix(t.name(), v) }) ||
			!flt.match("node", func(v string) bool { return taskNode(t.pod) == v }) ||
			!flt.match("desired-state", func(v string) bool {
				d := strings.ToLower(r.DesiredState)
				return v == d || (v == "accepted" && d != "shutdown")
			}) {
			continue
		}
		if o.quiet {
			fmt.Fprintln(out, r.ID)
			continue
		}
		rows = append(rows, r)
	}
	if o.quiet {
		return nil
	}
	return writeFormatted(out, o.format, taskTableFormat, taskHeaders, rows)
}

// inspectOptions are the flags and the clients of service inspect and node inspect.
type inspectOptions struct {
	clientOptions
	format string
	pretty bool
}

func (o *inspectOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "format", "f", "", "Format output using a custom template")
	cmd.Flags().BoolVar(&o.pretty, "pretty", false, "Print the information in a human friendly format")
}

// Validate refuses --pretty with --format, as docker does.
func (o *inspectOptions) Validate() error {
	if o.pretty && o.format != "" {
		return fmt.Errorf("--format is incompatible with human friendly format")
	}
	return nil
}

// printInspected writes what an inspect verb found as docker does: with --pretty each object as
// text, with --format each through the template (over what templated makes of it), else one JSON
// array of the inspected shapes.
func printInspected[T, I any](out io.Writer, o *inspectOptions, objs []T, inspect func(T) I, pretty func(io.Writer, T), templated func(I) any) error {
	items := make([]I, len(objs))
	for i, obj := range objs {
		items[i] = inspect(obj)
	}
	switch {
	case o.pretty:
		for i, obj := range objs {
			if i > 0 {
				fmt.Fprintln(out)
			}
			pretty(out, obj)
		}
		return nil
	case o.format != "":
		rows := make([]any, len(items))
		for i := range items {
			rows[i] = templated(items[i])
		}
		return writeFormatted(out, o.format, "", nil, rows)
	}
	b, err := json.MarshalIndent(items, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// ServicePsOptions is `service ps SERVICE...`.
type ServicePsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	taskListOptions
}

func newServicePsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServicePsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] SERVICE [SERVICE...]",
		Short: "List the tasks of one or more services",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	o.taskListOptions.addFlags(cmd)
	return cmd
}

// Run prints the tasks of every service named, in the order named.
func (o *ServicePsOptions) Run(ctx context.Context) error {
	var all []task
	for _, ref := range o.args {
		svc, err := getService(ctx, o.client, o.namespace, ref)
		if err != nil {
			return err
		}
		tasks, err := serviceTasks(ctx, o.client, svc)
		if err != nil {
			return err
		}
		all = append(all, tasks...)
	}
	return o.print(o.Out, o.clock.Now(), all)
}

// ---- inspect ----

// inspectedService is `docker service inspect`'s shape as far as it fits: the spec is
// kubeswarm's (the compose file's vocabulary), with the name inside as docker has it.
type inspectedService struct {
	ID            string                `json:"ID"`
	Version       struct{ Index int64 } `json:"Version"`
	CreatedAt     string                `json:"CreatedAt"`
	Spec          inspectedSpec         `json:"Spec"`
	PreviousSpec  *inspectedSpec        `json:"PreviousSpec,omitempty"`
	Endpoint      inspectedEndpoint     `json:"Endpoint"`
	UpdateStatus  *swarmv1.UpdateStatus `json:"UpdateStatus,omitempty"`
	ServiceStatus struct {
		RunningTasks   int32
		DesiredTasks   int32
		CompletedTasks int32 `json:",omitempty"`
	} `json:"ServiceStatus"`
}

type inspectedSpec struct {
	Name      string            `json:"Name"`
	Namespace string            `json:"Namespace"`
	Labels    map[string]string `json:"Labels,omitempty"`
	swarmv1.ServiceSpec
}

type inspectedEndpoint struct {
	Spec  struct{ Mode string } `json:"Spec"`
	Ports []swarmv1.PortStatus  `json:"Ports,omitempty"`
}

func inspectService(s *swarmv1.Service) inspectedService {
	in := inspectedService{ID: shortID(string(s.UID), true), CreatedAt: s.CreationTimestamp.UTC().Format("2006-01-02T15:04:05.000000000Z")}
	in.Version.Index = s.Generation
	in.Spec = inspectedSpec{Name: s.Name, Namespace: s.Namespace, Labels: s.Spec.Labels, ServiceSpec: s.Spec}
	if p := s.Status.PreviousSpec; p != nil {
		in.PreviousSpec = &inspectedSpec{Name: s.Name, Namespace: s.Namespace, Labels: p.Labels, ServiceSpec: *p}
	}
	in.Endpoint.Spec.Mode = s.Spec.EndpointMode
	if in.Endpoint.Spec.Mode == "" {
		in.Endpoint.Spec.Mode = "vip"
	}
	in.Endpoint.Ports = s.Status.Ports
	in.UpdateStatus = s.Status.UpdateStatus
	in.ServiceStatus.RunningTasks = s.Status.RunningTasks
	in.ServiceStatus.DesiredTasks = s.Status.DesiredTasks
	in.ServiceStatus.CompletedTasks = s.Status.CompletedTasks
	return in
}

// ServiceInspectOptions is `service inspect [--pretty] [-f FORMAT] SERVICE...`.
type ServiceInspectOptions struct {
	genericiooptions.IOStreams
	inspectOptions
}

func newServiceInspectCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceInspectOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] SERVICE [SERVICE...]",
		Short: "Display detailed information on one or more services",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	o.inspectOptions.addFlags(cmd)
	return cmd
}

// Run prints the services as JSON (docker's shape where it fits), through the template, or as
// docker's pretty text.
func (o *ServiceInspectOptions) Run(ctx context.Context) error {
	var svcs []*swarmv1.Service
	for _, ref := range o.args {
		s, err := getService(ctx, o.client, o.namespace, ref)
		if err != nil {
			return err
		}
		svcs = append(svcs, s)
	}
	// Templates see the JSON shape, as docker's do.
	jsonShape := func(in inspectedService) any {
		var m any
		b, _ := json.Marshal(in)
		_ = json.Unmarshal(b, &m)
		return m
	}
	return printInspected(o.Out, &o.inspectOptions, svcs, inspectService, prettyService, jsonShape)
}

// prettyService is `docker service inspect --pretty`.
func prettyService(out io.Writer, s *swarmv1.Service) {
	w := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	spec := &s.Spec
	p("")
	p("ID:\t%s", shortID(string(s.UID), true))
	p("Name:\t%s", s.Name)
	if len(spec.Labels) > 0 {
		p("Labels:")
		for _, k := range sortedKeys(spec.Labels) {
			p(" %s=%s", k, spec.Labels[k])
		}
	}
	switch orDefaultMode(spec.Mode) {
	case swarmv1.ModeGlobal:
		p("Service Mode:\tGlobal")
	case swarmv1.ModeGlobalJob:
		p("Service Mode:\tGlobal Job")
	case swarmv1.ModeReplicatedJob:
		p("Service Mode:\tReplicated Job")
		p(" Max Concurrent Tasks:\t%d", derefInt32(spec.MaxConcurrent, derefInt32(spec.Replicas, 1)))
		p(" Total Completions:\t%d", derefInt32(spec.Replicas, 1))
	default:
		p("Service Mode:\tReplicated")
		p(" Replicas:\t%d", derefInt32(spec.Replicas, 1))
	}
	if us := s.Status.UpdateStatus; us != nil {
		p("UpdateStatus:")
		p(" State:\t%s", us.State)
		if us.StartedAt != nil {
			p(" Started:\t%s ago", humanDuration(s.CreationTimestamp.Sub(us.StartedAt.Time)*-1))
		}
		p(" Message:\t%s", us.Message)
	}
	if pl := spec.Placement; pl != nil {
		p("Placement:")
		if len(pl.Constraints) > 0 {
			p(" Constraints:\t%s", pl.Constraints)
		}
		for _, pp := range pl.Preferences {
			p(" Preferences:\tSpread=%s", pp.Spread)
		}
		if pl.MaxReplicasPerNode != nil && *pl.MaxReplicasPerNode > 0 {
			p(" Max Replicas Per Node:\t%d", *pl.MaxReplicasPerNode)
		}
	} else {
		p("Placement:")
	}
	printUpdateConfig := func(title, orderTitle string, uc *swarmv1.UpdateConfig) {
		if uc == nil {
			uc = &swarmv1.UpdateConfig{}
		}
		p("%s:", title)
		p(" Parallelism:\t%d", derefInt32(uc.Parallelism, 1))
		if uc.Delay != nil && uc.Delay.Duration > 0 {
			p(" Delay:\t%s", uc.Delay.Duration)
		}
		fa := uc.FailureAction
		if fa == "" {
			fa = swarmv1.FailureActionPause
		}
		p(" On failure:\t%s", fa)
		mon := "5s"
		if uc.Monitor != nil {
			mon = uc.Monitor.Duration.String()
		}
		p(" Monitoring Period: %s", mon)
		ratio := uc.MaxFailureRatio
		if ratio == "" {
			ratio = "0"
		}
		p(" Max failure ratio: %s", ratio)
		order := uc.Order
		if order == "" {
			order = swarmv1.OrderStopFirst
		}
		p(" %s:    %s", orderTitle, order)
	}
	if !spec.Mode.IsJob() {
		printUpdateConfig("UpdateConfig", "Update order", spec.UpdateConfig)
		printUpdateConfig("RollbackConfig", "Rollback order", spec.RollbackConfig)
	}
	p("ContainerSpec:")
	p(" Image:\t%s", spec.Image)
	if len(spec.Entrypoint) > 0 {
		p(" Command:\t%s", strings.Join(spec.Entrypoint, " "))
	}
	if len(spec.Command) > 0 {
		p(" Args:\t%s", strings.Join(spec.Command, " "))
	}
	if len(spec.Env) > 0 {
		p(" Env:")
		for _, e := range spec.Env {
			p("  %s=%s", e.Name, e.Value)
		}
	}
	p(" Init:\t%t", spec.Init != nil && *spec.Init)
	if spec.WorkingDir != "" {
		p(" Dir:\t%s", spec.WorkingDir)
	}
	if spec.User != "" {
		p(" User:\t%s", spec.User)
	}
	if len(spec.Mounts) > 0 {
		p("Mounts:")
		for _, m := range spec.Mounts {
			p("  Target:\t%s", m.Target)
			p("   Source:\t%s", m.Source)
			p("   ReadOnly:\t%t", m.ReadOnly)
			t := m.Type
			if t == "" {
				t = swarmv1.MountVolume
			}
			p("   Type:\t%s", t)
		}
	}
	if len(spec.Secrets) > 0 {
		p("Secrets:")
		for _, r := range spec.Secrets {
			p(" Target:\t%s", orString(r.Target, r.Source))
			p("  Source:\t%s", r.Source)
		}
	}
	if len(spec.Configs) > 0 {
		p("Configs:")
		for _, r := range spec.Configs {
			p(" Target:\t%s", orString(r.Target, r.Source))
			p("  Source:\t%s", r.Source)
		}
	}
	p("Resources:")
	if r := spec.Resources; r != nil {
		if r.Reservations != nil && (r.Reservations.CPUs != nil || r.Reservations.Memory != nil) {
			p(" Reservations:")
			if r.Reservations.CPUs != nil {
				p("  CPU:\t%s", r.Reservations.CPUs.AsDec().String())
			}
			if r.Reservations.Memory != nil {
				p("  Memory:\t%s", r.Reservations.Memory.String())
			}
		}
		if r.Limits != nil && (r.Limits.CPUs != nil || r.Limits.Memory != nil) {
			p(" Limits:")
			if r.Limits.CPUs != nil {
				p("  CPU:\t%s", r.Limits.CPUs.AsDec().String())
			}
			if r.Limits.Memory != nil {
				p("  Memory:\t%s", r.Limits.Memory.String())
			}
		}
	}
	if len(spec.Networks) > 0 {
		names := make([]string, len(spec.Networks))
		for i, n := range spec.Networks {
			names[i] = n.Name
		}
		p("Networks:\t%s", strings.Join(names, " "))
	}
	em := spec.EndpointMode
	if em == "" {
		em = "vip"
	}
	p("Endpoint Mode:\t%s", em)
	ports := s.Status.Ports
	if len(ports) == 0 {
		for _, sp := range spec.Ports {
			ports = append(ports, swarmv1.PortStatus{Target: sp.Target, Published: sp.Published, Protocol: protoOf(sp.Protocol), Mode: orPortMode(sp.Mode)})
		}
	}
	if len(ports) > 0 {
		p("Ports:")
		for _, pt := range ports {
			p(" PublishedPort = %d", pt.Published)
			p("  Protocol = %s", pt.Protocol)
			p("  TargetPort = %d", pt.Target)
			p("  PublishMode = %s", pt.Mode)
		}
	}
	if len(s.Status.Hostnames) > 0 {
		p("Hostnames:\t%s", strings.Join(s.Status.Hostnames, ", "))
	}
	if hc := spec.Healthcheck; hc != nil {
		p("Healthcheck:")
		if hc.Disable {
			p(" Disabled")
		} else {
			p(" Test:\t%s", strings.Join(hc.Test, " "))
		}
	}
	// What Kubernetes only approximates of the spec (the operator's Honored condition), where
	// a Swarm user reads the service: not docker's, kubeswarm's own section.
	if c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionHonored); c != nil && c.Status == metav1.ConditionFalse {
		p("Differences from Swarm:")
		for _, note := range strings.Split(c.Message, "; ") {
			p(" %s", note)
		}
	}
	_ = w.Flush()
}

func orPortMode(m swarmv1.PortMode) swarmv1.PortMode {
	if m == "" {
		return swarmv1.PortModeIngress
	}
	return m
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func derefInt32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
