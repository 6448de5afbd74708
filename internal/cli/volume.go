package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/volumes"
)

// Volumes: docker's view of the namespace's claims (internal/volumes, the Engine API's too).

func newVolumeCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newGroupCommand("volume", "Manage volumes",
		newVolumeLsCommand(f, streams), newVolumeInspectCommand(f, streams), newVolumeRmCommand(f, streams))
}

// volume is a claim seen as a docker volume.
type volume struct {
	claim *corev1.PersistentVolumeClaim
	// name is docker's name: <stack>_<volume> for a stack's volume, else the claim's name.
	name string
	// users are the tasks (or other pods) whose volumes name the claim, as `service ps` names
	// them; finished pods hold no volume.
	users []string
}

func (v *volume) driver() string { return volumes.Driver(v.claim) }

// labels are the claim's labels, with docker's com.docker.stack.namespace on a stack's volume.
func (v *volume) labels() map[string]string { return volumes.Labels(v.claim) }

func volumeName(c *corev1.PersistentVolumeClaim) string { return volumes.Name(c) }

// listVolumes reads the namespace's volumes, natural-sorted by name, with the tasks using each.
func listVolumes(ctx context.Context, c client.Client, ns string) ([]*volume, error) {
	claims, services, err := volumes.List(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	users := claimUsers(services, pods.Items)
	out := make([]*volume, 0, len(claims))
	for _, cl := range claims {
		out = append(out, &volume{claim: cl, name: volumes.Name(cl), users: users[cl.Name]})
	}
	return out, nil
}

// claimUsers maps each claim to the names of the pods that hold it: a kubeswarm task by its
// task name (wp-dbcluster.1), any other pod by its own name.
func claimUsers(services []swarmv1.Service, pods []corev1.Pod) map[string][]string {
	byService := map[string][]corev1.Pod{}
	for _, p := range pods {
		byService[p.Labels[translate.LabelService]] = append(byService[p.Labels[translate.LabelService]], p)
	}
	taskName := map[string]string{} // pod UID/name → task name
	for i := range services {
		for _, t := range tasksOf(&services[i], slices.Clone(byService[services[i].Name])) {
			taskName[string(t.pod.UID)+"/"+t.pod.Name] = t.name()
		}
	}
	out := map[string][]string{}
	for i := range pods {
		p := &pods[i]
		if podFinished(p) {
			continue
		}
		name, ok := taskName[string(p.UID)+"/"+p.Name]
		if !ok {
			name = p.Name
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && !slices.Contains(out[v.PersistentVolumeClaim.ClaimName], name) {
				out[v.PersistentVolumeClaim.ClaimName] = append(out[v.PersistentVolumeClaim.ClaimName], name)
			}
		}
	}
	for k := range out {
		sortorder.Sort(out[k], func(s string) string { return s })
	}
	return out
}

// findVolume is the volume of a name: docker's (wp_mysql_vol) or the claim's (wp-mysql-vol).
func findVolume(vols []*volume, ref string) *volume {
	for _, v := range vols {
		if v.name == ref {
			return v
		}
	}
	for _, v := range vols {
		if v.claim.Name == ref {
			return v
		}
	}
	return nil
}

// errNoSuchVolume is docker's "get NAME: no such volume".
func errNoSuchVolume(ref string) error { return fmt.Errorf("get %s: no such volume", ref) }

// ---- ls ----

// volumeRow is a row of `volume ls`.
type volumeRow struct {
	Driver string
	Name   string
	// Labels is docker's "k=v,k=v", sorted.
	Labels string
	// Links is the number of tasks using the volume.
	Links string
	// Claim is the PersistentVolumeClaim (kubectl-swarm only).
	Claim string
	// Phase is the claim's phase: Pending, Bound or Lost (kubectl-swarm only).
	Phase  string
	labels map[string]string
}

// Label is the value of one label, for --format '{{.Label "com.docker.stack.namespace"}}'.
func (r volumeRow) Label(name string) string { return r.labels[name] }

const volumeTableFormat = "table {{.Driver}}\t{{.Name}}"

var volumeHeaders = map[string]string{"Driver": "DRIVER", "Name": "VOLUME NAME", "Labels": "LABELS", "Links": "LINKS",
	"Claim": "CLAIM", "Phase": "PHASE"}

func newVolumeRow(v *volume) volumeRow {
	labels := v.labels()
	var pairs []string
	for k, val := range labels {
		pairs = append(pairs, k+"="+val)
	}
	slices.Sort(pairs)
	return volumeRow{Driver: v.driver(), Name: v.name, Labels: strings.Join(pairs, ","), Links: strconv.Itoa(len(v.users)),
		Claim: v.claim.Name, Phase: string(v.claim.Status.Phase), labels: labels}
}

// VolumeLsOptions is `volume ls [-f FILTER] [--format FORMAT] [-q]`.
type VolumeLsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	filter   []string
	format   string
	quiet    bool
	filters  filters
	dangling *bool
}

func newVolumeLsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VolumeLsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE:    runVerb(f, o),
	}
	cmd.Flags().StringArrayVarP(&o.filter, "filter", "f", nil, `Provide filter values (e.g. "dangling=true")`)
	cmd.Flags().StringVar(&o.format, "format", "", "Format output using a custom template")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Only display volume names")
	return cmd
}

// Validate parses the filters (docker's: dangling, driver, label, name).
func (o *VolumeLsOptions) Validate() error {
	o.dangling = nil
	var err error
	if o.filters, err = parseFilters(o.filter, "dangling", "driver", "label", "name"); err != nil {
		return err
	}
	for _, v := range o.filters["dangling"] {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid filter 'dangling=%s'", v)
		}
		if o.dangling != nil && *o.dangling != b {
			return fmt.Errorf("invalid filter 'dangling': conflicting values")
		}
		o.dangling = &b
	}
	return nil
}

// Run lists the volumes, natural-sorted by name. dangling=true keeps those no task uses; name
// matches as docker's does (the whole name, or a regular expression found in it), against the
// volume's name or its claim's.
func (o *VolumeLsOptions) Run(ctx context.Context) error {
	vols, err := listVolumes(ctx, o.client, o.namespace)
	if err != nil {
		return err
	}
	flt := o.filters
	var rows []any
	for _, v := range vols {
		if (o.dangling != nil && *o.dangling != (len(v.users) == 0)) ||
			!flt.match("driver", func(d string) bool { return d == v.driver() }) ||
			!flt.match("name", func(n string) bool { return matchName(n, v.name) || matchName(n, v.claim.Name) }) ||
			!flt.matchLabels("label", v.labels()) {
			continue
		}
		if o.quiet {
			fmt.Fprintln(o.Out, v.name)
			continue
		}
		rows = append(rows, newVolumeRow(v))
	}
	if o.quiet {
		return nil
	}
	return writeFormatted(o.Out, o.format, volumeTableFormat, volumeHeaders, rows)
}

// matchName is docker's filters.Args.Match: the value equals the name, or is a regular
// expression found in it.
func matchName(pattern, name string) bool {
	if pattern == name {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(name)
}

// ---- inspect ----

// inspectedVolume is docker's volume JSON; Status holds what Kubernetes says of the claim (docker
// keeps driver-specific details there).
type inspectedVolume struct {
	CreatedAt string
	Driver    string
	Labels    map[string]string
	Name      string
	Options   map[string]string
	Status    volumeStatus
}

type volumeStatus struct {
	Claim       string
	Phase       string
	Volume      string `json:",omitempty"`
	Capacity    string `json:",omitempty"`
	AccessModes []string
	UsedBy      []string
}

func inspectVolume(v *volume) inspectedVolume {
	cl := v.claim
	st := volumeStatus{Claim: cl.Name, Phase: string(cl.Status.Phase), Volume: cl.Spec.VolumeName, UsedBy: append([]string{}, v.users...)}
	if q, ok := cl.Status.Capacity[corev1.ResourceStorage]; ok {
		st.Capacity = q.String()
	} else if q, ok := cl.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		st.Capacity = q.String()
	}
	for _, m := range cl.Spec.AccessModes {
		st.AccessModes = append(st.AccessModes, string(m))
	}
	return inspectedVolume{CreatedAt: cl.CreationTimestamp.UTC().Format(time.RFC3339), Driver: v.driver(), Labels: v.labels(),
		Name: v.name, Status: st}
}

// VolumeInspectOptions is `volume inspect [-f FORMAT] VOLUME...`.
type VolumeInspectOptions struct {
	genericiooptions.IOStreams
	clientOptions
	format string
}

func newVolumeInspectCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VolumeInspectOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// Run prints the volumes as docker's JSON array, or each through the template.
func (o *VolumeInspectOptions) Run(ctx context.Context) error {
	vols, err := listVolumes(ctx, o.client, o.namespace)
	if err != nil {
		return err
	}
	var items []any
	var errs []error
	for _, ref := range o.args {
		v := findVolume(vols, ref)
		if v == nil {
			errs = append(errs, errNoSuchVolume(ref))
			continue
		}
		items = append(items, inspectVolume(v))
	}
	if o.format != "" {
		if err := writeFormatted(o.Out, o.format, "", nil, items); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	if items == nil {
		items = []any{}
	}
	b, err := json.MarshalIndent(items, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, string(b))
	return errors.Join(errs...)
}

// ---- rm ----

// VolumeRmOptions is `volume rm [-f] VOLUME...`.
type VolumeRmOptions struct {
	genericiooptions.IOStreams
	clientOptions
	force bool
}

func newVolumeRmCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VolumeRmOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long: "Remove one or more volumes, and with them their data (as the StorageClass's reclaim policy says). " +
			"A volume in use by a task is not removed, unless --force: Kubernetes then removes it when its last task stops.",
		Args: cobra.MinimumNArgs(1),
		RunE: runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

// Run deletes each volume's claim, printing its name as docker does. A volume in use is refused
// in docker's words, naming the tasks; with --force it is deleted all the same (Kubernetes keeps
// the claim until those tasks stop) and an unknown name is no error, as docker's --force.
func (o *VolumeRmOptions) Run(ctx context.Context) error {
	vols, err := listVolumes(ctx, o.client, o.namespace)
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range o.args {
		v := findVolume(vols, ref)
		if v == nil {
			if !o.force {
				errs = append(errs, errNoSuchVolume(ref))
				continue
			}
			fmt.Fprintln(o.Out, ref)
			continue
		}
		if len(v.users) > 0 && !o.force {
			errs = append(errs, fmt.Errorf("remove %s: volume is in use - [%s]", ref, strings.Join(v.users, ", ")))
			continue
		}
		uid := v.claim.UID
		err := o.client.Delete(ctx, v.claim, client.Preconditions{UID: &uid})
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone, or replaced by a new claim of that name since it was read.
			if !o.force {
				errs = append(errs, errNoSuchVolume(ref))
				continue
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("remove %s: %w", ref, err))
			continue
		}
		if len(v.users) > 0 {
			fmt.Fprintf(o.ErrOut, "warning: %s is in use by [%s]: it is removed when they stop\n", ref, strings.Join(v.users, ", "))
		}
		fmt.Fprintln(o.Out, ref)
	}
	return errors.Join(errs...)
}
