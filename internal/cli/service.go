package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/pullsecret"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// fieldManager is the plugin's field manager: what it writes shows as kubectl-swarm's.
const fieldManager = "kubectl-swarm"

func newServiceCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newGroupCommand("service", "Manage Swarm services",
		newServiceCreateCommand(f, streams),
		newServiceUpdateCommand(f, streams),
		newServiceLsCommand(f, streams),
		newServicePsCommand(f, streams),
		newServiceInspectCommand(f, streams),
		newServiceRmCommand(f, streams),
		newServiceScaleCommand(f, streams),
		newServiceRollbackCommand(f, streams),
		newServiceLogsCommand(f, streams),
	)
}

// waitOptions are the flags of commands that wait for convergence.
type waitOptions struct {
	detach  bool
	quiet   bool
	timeout time.Duration
}

func (w *waitOptions) addFlags(cmd *cobra.Command, detachDefault bool) {
	cmd.Flags().BoolVarP(&w.detach, "detach", "d", detachDefault, "Exit immediately instead of waiting for the service to converge")
	cmd.Flags().BoolVarP(&w.quiet, "quiet", "q", false, "Suppress progress output")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 5*time.Minute, "How long to wait for the service to converge (kubectl-swarm only)")
}

// getService finds a service by name, or by a unique prefix of its ID as docker does.
func getService(ctx context.Context, c client.Client, ns, ref string) (*swarmv1.Service, error) {
	s := &swarmv1.Service{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref}, s)
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) && !apierrors.IsBadRequest(err) && !apierrors.IsInvalid(err) {
		return nil, fmt.Errorf("reading service %s: %w", ref, err)
	}
	// docker's name of a stack's service, wp_wordpress, is the Service wp-wordpress.
	if k8sName := swarmv1.KubernetesName(ref); k8sName != ref {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: k8sName}, s); err == nil {
			return s, nil
		}
	}
	list := &swarmv1.ServiceList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	var found []*swarmv1.Service
	for i := range list.Items {
		id := shortID(string(list.Items[i].UID), true)
		if id != "" && strings.HasPrefix(id, strings.ReplaceAll(ref, "-", "")) && len(ref) >= 1 {
			found = append(found, &list.Items[i])
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no such service: %s", ref)
	}
	return nil, fmt.Errorf("service %s is ambiguous (%d matches found)", ref, len(found))
}

// checkPortsFree refuses published ingress ports that another service already publishes, as
// Swarm does, before anything is written.
func checkPortsFree(ctx context.Context, c client.Client, ns, name string, spec *swarmv1.ServiceSpec) error {
	if !slices.ContainsFunc(spec.Ports, func(p swarmv1.PortConfig) bool { return p.Published != 0 && p.Mode != swarmv1.PortModeHost }) {
		return nil
	}
	list := &swarmv1.ServiceList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	if p, by := swarmsyntax.PortTaken(spec, name, list.Items); by != nil {
		return fmt.Errorf("port %d is already in use by service %s", p.Published, by.Name)
	}
	return nil
}

// checkFilesExist refuses secrets and configs that do not exist, as docker does ("secret not
// found: x"), for the references new in spec. Only metadata is read; without the right to read
// them (namespace RBAC without secrets), the operator reports a missing one instead.
func checkFilesExist(ctx context.Context, c client.Client, ns string, spec, old *swarmv1.ServiceSpec) error {
	had := map[string]bool{}
	if old != nil {
		for _, r := range old.Secrets {
			had["Secret/"+r.Source] = true
		}
		for _, r := range old.Configs {
			had["ConfigMap/"+r.Source] = true
		}
	}
	check := func(kind, what, name string) error {
		if had[kind+"/"+name] {
			return nil
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, m)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s not found: %s", what, name)
		}
		return nil
	}
	for _, r := range spec.Secrets {
		if err := check("Secret", "secret", r.Source); err != nil {
			return err
		}
	}
	for _, r := range spec.Configs {
		if err := check("ConfigMap", "config", r.Source); err != nil {
			return err
		}
	}
	return nil
}

func protoOf(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// ---- create ----

// ServiceCreateOptions is `service create [OPTIONS] IMAGE [COMMAND] [ARG...]`.
type ServiceCreateOptions struct {
	genericiooptions.IOStreams
	clientOptions
	flags   serviceFlags
	wait    waitOptions
	changed changedFunc
	rnd     *rand.Rand

	service *swarmv1.Service
}

func newServiceCreateCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceCreateOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new service",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	cmd.Flags().SetInterspersed(false)
	o.flags.addFlags(cmd.Flags())
	o.wait.addFlags(cmd, false)
	return cmd
}

// Complete builds the Service from the flags and arguments.
func (o *ServiceCreateOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	o.changed = cmd.Flags().Changed
	spec := swarmv1.ServiceSpec{Image: args[0], Command: nilIfEmpty(args[1:])}
	if err := o.flags.apply(&spec, o.changed); err != nil {
		return err
	}
	if err := o.clientOptions.Complete(f, cmd, args); err != nil {
		return err
	}
	for _, w := range o.flags.warnings(&spec, o.changed) {
		fmt.Fprintln(o.ErrOut, "warning:", w)
	}
	o.service = &swarmv1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: swarmv1.GroupVersion.String(), Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: o.flags.name, Namespace: o.namespace},
		Spec:       spec,
	}
	return nil
}

// Validate checks what the API server would refuse, so nothing is written on bad input.
func (o *ServiceCreateOptions) Validate() error {
	if n := o.service.Name; n != "" && !isDNSLabel(n) {
		return flagError("name", n, fmt.Errorf("a service name must be a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)"))
	}
	if err := validateSpec(&o.service.Spec); err != nil {
		return err
	}
	// What the operator would refuse at reconcile is refused here, in its words, before anything
	// is written.
	_, err := translate.Check(o.service)
	return err
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// validateSpec checks the rules the CRD checks (so that the error reads like docker's).
func validateSpec(s *swarmv1.ServiceSpec) error {
	if s.Image == "" {
		return errors.New("image is required")
	}
	return swarmsyntax.ValidateSpec(s)
}

// Run creates the Service (with a generated name when --name is absent) and waits unless -d.
func (o *ServiceCreateOptions) Run(ctx context.Context) error {
	c := o.client
	o.service.Spec.Image = o.pinImage(ctx, o.service.Spec.Image, !o.flags.noResolveImage, o.ErrOut)
	if err := checkPortsFree(ctx, c, o.namespace, o.service.Name, &o.service.Spec); err != nil {
		return err
	}
	if err := checkFilesExist(ctx, c, o.namespace, &o.service.Spec, nil); err != nil {
		return err
	}
	if o.service.Name == "" {
		rnd := o.rnd
		if rnd == nil {
			rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
		}
		for i := 0; ; i++ {
			name := randomName(rnd)
			if i > 5 {
				name += strconv.Itoa(rnd.IntN(10))
			}
			err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: name}, &swarmv1.Service{})
			if apierrors.IsNotFound(err) {
				o.service.Name = name
				break
			}
			if err != nil {
				return fmt.Errorf("reading service %s: %w", name, err)
			}
		}
	}
	auth := o.flags.withRegistryAuth
	if auth {
		// docker --with-registry-auth: the client's credentials for the image's registry, in a
		// Secret written before the Service so that no task pulls without it; never over the
		// Secret of a service of that name that exists already.
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.service.Name}, &swarmv1.Service{}); err == nil {
			return fmt.Errorf("service %s already exists", o.service.Name)
		}
		if err := o.writeRegistryAuth(ctx, o.service, nil); err != nil {
			return err
		}
	}
	if err := c.Create(ctx, o.service, client.FieldOwner(fieldManager)); err != nil {
		if auth && !apierrors.IsAlreadyExists(err) { // (an existing service's Secret is its own)
			_ = c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.namespace, Name: o.service.Spec.RegistryAuthSecret}})
		}
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s already exists", o.service.Name)
		}
		return fmt.Errorf("creating service %s: %w", o.service.Name, err)
	}
	if auth {
		if err := pullsecret.Own(ctx, c, o.namespace, o.service.Spec.RegistryAuthSecret, o.service); err != nil {
			return err
		}
	}
	id := shortID(string(o.service.UID), true)
	if id == "" {
		id = o.service.Name
	}
	fmt.Fprintln(o.Out, id)
	if o.wait.detach {
		return nil
	}
	return waitForService(ctx, c, o.IOStreams, o.namespace, o.service.Name, &o.wait, "")
}

// writeRegistryAuth writes the client's credentials for the image of spec (svc's own when nil)
// to the Secret <service>-registry-auth, owned by svc when it exists, and names it in the spec.
// Without credentials for that registry the Secret holds none, as docker then sends an empty
// X-Registry-Auth: the tasks pull anonymously.
func (o *clientOptions) writeRegistryAuth(ctx context.Context, svc *swarmv1.Service, spec *swarmv1.ServiceSpec) error {
	if spec == nil {
		spec = &svc.Spec
	}
	cfg, err := o.registry.Credentials(spec.Image)
	if err != nil {
		return fmt.Errorf("--with-registry-auth: %w", err)
	}
	spec.RegistryAuthSecret = pullsecret.Name(svc.Name)
	return pullsecret.Write(ctx, o.client, o.namespace, spec.RegistryAuthSecret, cfg, svc)
}

// ---- update ----

// ServiceUpdateOptions is `service update [OPTIONS] SERVICE`.
type ServiceUpdateOptions struct {
	genericiooptions.IOStreams
	clientOptions
	flags   serviceFlags
	wait    waitOptions
	changed changedFunc
	others  []string
}

func newServiceUpdateCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceUpdateOptions{IOStreams: streams, flags: serviceFlags{update: true}}
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] SERVICE",
		Short: "Update a service",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	o.flags.addFlags(cmd.Flags())
	o.wait.addFlags(cmd, false)
	return cmd
}

// Complete reads the argument, which flags were given, and makes the client.
func (o *ServiceUpdateOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	o.changed = cmd.Flags().Changed
	o.others = nil
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "detach", "quiet", "rollback", "timeout":
		default:
			o.others = append(o.others, fl.Name)
		}
	})
	return o.clientOptions.Complete(f, cmd, args)
}

// Validate refuses --rollback with other flags, as docker does.
func (o *ServiceUpdateOptions) Validate() error {
	if o.flags.rollback && len(o.others) > 0 {
		return errors.New("other flags may not be combined with --rollback")
	}
	return nil
}

// Run changes the Service's spec (or requests a rollback) and waits unless -d.
func (o *ServiceUpdateOptions) Run(ctx context.Context) error {
	ref := o.args[0]
	if o.flags.rollback {
		return o.rollback(ctx, o.IOStreams, ref, &o.wait)
	}
	c := o.client
	image := ""
	if o.changed("image") {
		// docker's client pins a new image to its digest (QueryRegistry), once.
		image = o.pinImage(ctx, o.flags.image, !o.flags.noResolveImage, o.ErrOut)
	}
	var svc *swarmv1.Service
	// The spec is written with the resourceVersion read; when the Service changed meanwhile the
	// flags are applied again to the fresh one.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		if svc, err = getService(ctx, c, o.namespace, ref); err != nil {
			return err
		}
		spec := svc.Spec.DeepCopy()
		if err := o.flags.apply(spec, o.changed); err != nil {
			return err
		}
		if image != "" {
			spec.Image = image
		}
		if err := validateSpec(spec); err != nil {
			return err
		}
		next := svc.DeepCopy()
		next.Spec = *spec
		if _, err := translate.Check(next); err != nil {
			return err
		}
		if err := checkPortsFree(ctx, c, o.namespace, svc.Name, spec); err != nil {
			return err
		}
		if err := checkFilesExist(ctx, c, o.namespace, spec, &svc.Spec); err != nil {
			return err
		}
		if o.flags.withRegistryAuth {
			if err := o.writeRegistryAuth(ctx, svc, spec); err != nil {
				return err
			}
		}
		svc.Spec = *spec
		return c.Update(ctx, svc, client.FieldOwner(fieldManager))
	})
	if apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
		return fmt.Errorf("updating service %s: %w", ref, err)
	}
	if err != nil {
		return err
	}
	for _, w := range o.flags.warnings(&svc.Spec, o.changed) {
		fmt.Fprintln(o.ErrOut, "warning:", w)
	}
	fmt.Fprintln(o.Out, ref)
	if o.wait.detach {
		return nil
	}
	return waitForService(ctx, c, o.IOStreams, o.namespace, svc.Name, &o.wait, "")
}

// ---- rm ----

// ServiceRmOptions is `service rm SERVICE...`.
type ServiceRmOptions struct {
	genericiooptions.IOStreams
	clientOptions
}

func newServiceRmCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceRmOptions{IOStreams: streams}
	return &cobra.Command{
		Use:     "rm SERVICE [SERVICE...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more services",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(f, o),
	}
}

// Run deletes each Service (its workload, Kubernetes Service and tasks go with it), printing
// each name as docker does; the unknown ones are reported together at the end.
func (o *ServiceRmOptions) Run(ctx context.Context) error {
	var errs []error
	for _, ref := range o.args {
		svc, err := getService(ctx, o.client, o.namespace, ref)
		if err == nil {
			err = client.IgnoreNotFound(o.client.Delete(ctx, svc, client.PropagationPolicy(metav1.DeletePropagationForeground)))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(o.Out, ref)
	}
	return errors.Join(errs...)
}

// ---- scale ----

// ServiceScaleOptions is `service scale SERVICE=REPLICAS...`.
type ServiceScaleOptions struct {
	genericiooptions.IOStreams
	clientOptions
	wait    waitOptions
	targets []scaleTarget
}

type scaleTarget struct {
	ref      string
	replicas int32
}

func newServiceScaleCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceScaleOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "scale SERVICE=REPLICAS [SERVICE=REPLICAS...]",
		Short: "Scale one or multiple replicated services",
		Args:  cobra.MinimumNArgs(1),
		RunE:  runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.wait.detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	cmd.Flags().DurationVar(&o.wait.timeout, "timeout", 5*time.Minute, "How long to wait for the services to converge (kubectl-swarm only)")
	return cmd
}

// Complete parses every SERVICE=REPLICAS first, so that a bad one changes nothing.
func (o *ServiceScaleOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	o.targets = nil
	for _, a := range args {
		name, n, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return fmt.Errorf("invalid scale specifier '%s'.\nSee 'kubectl swarm service scale --help'.\n\nUsage:  kubectl swarm service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]", a)
		}
		v, err := strconv.ParseUint(n, 10, 31)
		if err != nil {
			return fmt.Errorf("invalid replicas value %s: %w", n, err)
		}
		o.targets = append(o.targets, scaleTarget{ref: name, replicas: int32(v)})
	}
	return o.clientOptions.Complete(f, cmd, args)
}

// Run checks every service, then sets replicas, and waits for each unless -d.
func (o *ServiceScaleOptions) Run(ctx context.Context) error {
	c := o.client
	var svcs []*swarmv1.Service
	for _, t := range o.targets {
		svc, err := getService(ctx, c, o.namespace, t.ref)
		if err != nil {
			return err
		}
		if m := svc.Spec.Mode; m != "" && m != swarmv1.ModeReplicated && m != swarmv1.ModeReplicatedJob {
			return fmt.Errorf("scale can only be used with replicated or replicated-job mode")
		}
		svcs = append(svcs, svc)
	}
	for i, svc := range svcs {
		patch := client.MergeFrom(svc.DeepCopy())
		svc.Spec.Replicas = ptr.To(o.targets[i].replicas)
		if err := c.Patch(ctx, svc, patch, client.FieldOwner(fieldManager)); err != nil {
			return fmt.Errorf("scaling service %s: %w", svc.Name, err)
		}
		fmt.Fprintf(o.Out, "%s scaled to %d\n", o.targets[i].ref, o.targets[i].replicas)
	}
	if o.wait.detach {
		return nil
	}
	var errs []error
	for _, svc := range svcs {
		if err := waitForService(ctx, c, o.IOStreams, o.namespace, svc.Name, &o.wait, ""); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ---- rollback ----

// ServiceRollbackOptions is `service rollback [-d] [-q] SERVICE`.
type ServiceRollbackOptions struct {
	genericiooptions.IOStreams
	clientOptions
	wait waitOptions
}

func newServiceRollbackCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceRollbackOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "rollback [OPTIONS] SERVICE",
		Short: "Revert changes to a service's configuration",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	o.wait.addFlags(cmd, false)
	return cmd
}

// Run requests the rollback and waits for it unless -d.
func (o *ServiceRollbackOptions) Run(ctx context.Context) error {
	return o.rollback(ctx, o.IOStreams, o.args[0], &o.wait)
}

// rollback requests a rollback: the annotation swarm.kubeswarm.io/rollback gets a new value, and
// the operator swaps spec and status.previousSpec once for it.
func (o *clientOptions) rollback(ctx context.Context, streams genericiooptions.IOStreams, ref string, w *waitOptions) error {
	svc, err := getService(ctx, o.client, o.namespace, ref)
	if err != nil {
		return err
	}
	if svc.Status.PreviousSpec == nil {
		return fmt.Errorf("service %s does not have a previous spec", svc.Name)
	}
	value := strconv.FormatInt(o.clock.Now().UnixNano(), 10)
	if value == svc.Annotations[swarmv1.AnnotationRollback] || value == svc.Status.LastRollbackRequest {
		value += "-1"
	}
	patch := client.MergeFrom(svc.DeepCopy())
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[swarmv1.AnnotationRollback] = value
	if err := o.client.Patch(ctx, svc, patch, client.FieldOwner(fieldManager)); err != nil {
		return fmt.Errorf("requesting a rollback of service %s: %w", svc.Name, err)
	}
	fmt.Fprintln(streams.Out, ref)
	if w.detach {
		return nil
	}
	return waitForService(ctx, o.client, streams, o.namespace, svc.Name, w, value)
}
