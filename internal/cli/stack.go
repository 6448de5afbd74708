package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli/convert"
	"github.com/kubeswarm/kubeswarm/internal/compose"
	"github.com/kubeswarm/kubeswarm/internal/pullsecret"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

func addStackCommands(root *cobra.Command, f Factory, streams genericiooptions.IOStreams) {
	// compose-go logs its own notices ("the attribute `version` is obsolete"); docker stack
	// deploy says nothing of the kind, and internal/compose returns what matters as warnings.
	logrus.SetLevel(logrus.ErrorLevel)
	stack := newGroupCommand("stack", "Manage Swarm stacks",
		newStackDeployCommand(f, streams),
		newStackLsCommand(f, streams),
		newStackPsCommand(f, streams),
		newStackServicesCommand(f, streams),
		newStackRmCommand(f, streams),
		newStackConfigCommand(f, streams),
	)
	root.AddCommand(stack, convert.NewCommand(streams.In, streams.Out, streams.ErrOut))
}

// stackSelector selects a stack's Services, Secrets and ConfigMaps.
func stackSelector(stack string) client.MatchingLabels {
	return client.MatchingLabels{translate.LabelStack: stack}
}

// StackDeployOptions is `stack deploy -c FILE… [--prune] [-d] NAME`.
type StackDeployOptions struct {
	genericiooptions.IOStreams
	clientOptions
	files        []string
	prune        bool
	detach       bool
	detachGiven  bool
	quiet        bool
	resolveImage string
	timeout      time.Duration
	// leaveOutProxy drops a Traefik or caddy-docker-proxy service that read the Docker socket.
	leaveOutProxy bool
	// withRegistryAuth gives the services the client's credentials for their images' registries.
	withRegistryAuth bool

	name   string
	result *compose.Result
}

func newStackDeployCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackDeployOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "deploy [OPTIONS] STACK",
		Aliases: []string{"up"},
		Short:   "Deploy a new stack or update an existing stack",
		Args:    cobra.ExactArgs(1),
		RunE:    runVerb(f, o),
	}
	cmd.Flags().StringArrayVarP(&o.files, "compose-file", "c", nil, "Path to a Compose file, or \"-\" to read from stdin")
	cmd.Flags().BoolVar(&o.prune, "prune", false, "Prune services that are no longer referenced")
	cmd.Flags().BoolVarP(&o.detach, "detach", "d", true, "Exit immediately instead of waiting for the stack services to converge")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output")
	cmd.Flags().StringVar(&o.resolveImage, "resolve-image", "always", `Query the registry to resolve image digest and supported platforms ("always", "changed", "never")`)
	cmd.Flags().BoolVar(&o.withRegistryAuth, "with-registry-auth", false, "Send registry authentication details to Swarm agents")
	convert.AddLeaveOutProxyFlag(cmd, &o.leaveOutProxy)
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long to wait for each service to converge without -d (kubectl-swarm only)")
	return cmd
}

// Complete reads the argument and whether -d was given, and makes the client.
func (o *StackDeployOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	o.name = args[0]
	o.detachGiven = cmd.Flags().Changed("detach")
	return o.clientOptions.Complete(f, cmd, args)
}

// Validate checks the flags before any file is read.
func (o *StackDeployOptions) Validate() error {
	if err := convert.RequireComposeFiles(o.files); err != nil {
		return err
	}
	switch o.resolveImage {
	case "always", "changed", "never":
	default:
		return flagError("resolve-image", o.resolveImage, errors.New(`must be "always", "changed" or "never"`))
	}
	return nil
}

// load loads and converts the compose files and checks the ports: nothing is written when any
// of it fails.
func (o *StackDeployOptions) load(ctx context.Context) error {
	var err error
	if o.result, err = convert.Load(ctx, o.files, o.In, o.name, o.namespace, false, o.leaveOutProxy); err != nil {
		return err
	}
	for _, w := range o.result.Warnings {
		fmt.Fprintf(o.ErrOut, "%s\n\n", w)
	}
	if err := checkFilesUnchanged(ctx, o.client, o.name, o.result); err != nil {
		return err
	}
	for _, s := range o.result.Stack.Spec.Services {
		err := checkPortsFree(ctx, o.client, o.namespace, swarmv1.StackObjectName(o.name, s.Name), &s.ServiceSpec)
		if err != nil {
			return err
		}
	}
	return nil
}

// Run loads the compose files, then writes the Secrets, ConfigMaps and the Stack (the Stack
// controller makes the services), printing docker's lines.
func (o *StackDeployOptions) Run(ctx context.Context) error {
	if err := o.load(ctx); err != nil {
		return err
	}
	c := o.client
	stack := o.result.Stack
	old := &swarmv1.Stack{}
	err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.name}, old)
	if err == nil && old.DeletionTimestamp != nil {
		// A `stack rm` still under way: deploying onto the Stack being deleted would be lost with
		// it, so the new deploy waits for the removal to finish.
		fmt.Fprintf(o.ErrOut, "Waiting for the removal of stack %s to finish\n", o.name)
		if err := waitStackObjectGone(ctx, c, o.namespace, o.name, stackRemovalTimeout); err != nil {
			return err
		}
		err = apierrors.NewNotFound(swarmv1.GroupVersion.WithResource("stacks").GroupResource(), o.name)
	}
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading stack %s: %w", o.name, err)
	}
	var deployed *swarmv1.Stack
	if exists {
		deployed = old
	}
	o.printPruned(stack, deployed)
	o.pinImages(ctx, stack, deployed)
	var oldServices, oldNetworks []string
	if exists {
		for _, s := range old.Spec.Services {
			oldServices = append(oldServices, s.Name)
		}
		for _, n := range old.Spec.Networks {
			oldNetworks = append(oldNetworks, n.Name)
		}
	}
	networks := map[string]bool{}
	for _, n := range stack.Spec.Networks {
		if !n.External {
			networks[n.Name] = true
		}
	}
	for _, s := range stack.Spec.Services {
		if len(s.Networks) == 0 {
			networks["default"] = true
		}
	}
	for _, n := range sortedSet(networks) {
		if !slices.Contains(oldNetworks, n) && !(n == "default" && exists) {
			fmt.Fprintf(o.Out, "Creating network %s\n", swarmv1.StackDockerName(o.name, n))
		}
	}
	for _, s := range o.result.Secrets {
		created, err := createOrUpdate(ctx, c, s, func(cur client.Object) {
			cs := cur.(*corev1.Secret)
			cs.Labels, cs.Annotations, cs.Data, cs.StringData, cs.Type, cs.Immutable = s.Labels, s.Annotations, s.Data, s.StringData, s.Type, s.Immutable
		})
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(o.Out, "Creating secret %s\n", swarmv1.StackDockerName(o.name, secretKey(s.Data, s.StringData)))
		}
	}
	for _, cm := range o.result.ConfigMaps {
		created, err := createOrUpdate(ctx, c, cm, func(cur client.Object) {
			cc := cur.(*corev1.ConfigMap)
			cc.Labels, cc.Annotations, cc.Data, cc.BinaryData, cc.Immutable = cm.Labels, cm.Annotations, cm.Data, cm.BinaryData, cm.Immutable
		})
		if err != nil {
			return err
		}
		if created {
			key := ""
			for k := range cm.Data {
				key = k
			}
			for k := range cm.BinaryData {
				key = k
			}
			fmt.Fprintf(o.Out, "Creating config %s\n", swarmv1.StackDockerName(o.name, key))
		}
	}
	for _, s := range stack.Spec.Services {
		if slices.Contains(oldServices, s.Name) {
			id := ""
			live := &swarmv1.Service{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: swarmv1.StackObjectName(o.name, s.Name)}, live); err == nil {
				id = shortID(string(live.UID), true)
			}
			fmt.Fprintf(o.Out, "Updating service %s (id: %s)\n", swarmv1.StackDockerName(o.name, s.Name), id)
		} else {
			fmt.Fprintf(o.Out, "Creating service %s\n", swarmv1.StackDockerName(o.name, s.Name))
		}
	}
	o.keepDropped(stack, deployed)
	if err := o.registryAuth(ctx, stack, deployed); err != nil {
		return err
	}
	if _, err := createOrUpdate(ctx, c, stack, func(cur client.Object) {
		cs := cur.(*swarmv1.Stack)
		cs.Spec = stack.Spec
		if cs.Labels == nil {
			cs.Labels = map[string]string{}
		}
		for k, v := range stack.Labels {
			cs.Labels[k] = v
		}
	}); err != nil {
		return err
	}
	if o.withRegistryAuth {
		live := &swarmv1.Stack{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.name}, live); err != nil {
			return fmt.Errorf("reading stack %s: %w", o.name, err)
		}
		if err := pullsecret.Own(ctx, c, o.namespace, pullsecret.Name(o.name), live); err != nil {
			return err
		}
	}
	if o.prune {
		if err := o.pruneFiles(ctx, c); err != nil {
			return err
		}
	}
	if o.detach {
		if !o.detachGiven {
			fmt.Fprintln(o.ErrOut, "Since --detach=false was not specified, tasks will be created in the background.\nIn a future release, --detach=false will become the default.")
		}
		return nil
	}
	w := &waitOptions{quiet: o.quiet, timeout: o.timeout}
	var errs []error
	for _, s := range stack.Spec.Services {
		name := swarmv1.StackObjectName(o.name, s.Name)
		if err := waitExists(ctx, c, o.namespace, name, o.timeout); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(o.Out, "%s\n", swarmv1.StackDockerName(o.name, s.Name))
		if err := waitForService(ctx, c, o.IOStreams, o.namespace, name, w, ""); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// registryAuth is docker's --with-registry-auth for a stack (docker/cli stack deploy
// deployServices sends each service the credentials for its image): the client's credentials for
// the registries of every service's image are written to the Secret <stack>-registry-auth, which
// each service names, before the Stack. Without the flag a service keeps the credentials an
// earlier deploy gave it, as the daemon keeps a service's PullOptions when no new ones are sent
// (moby daemon/cluster/services.go UpdateService).
func (o *StackDeployOptions) registryAuth(ctx context.Context, next, deployed *swarmv1.Stack) error {
	if !o.withRegistryAuth {
		if deployed == nil {
			return nil
		}
		for i := range next.Spec.Services {
			s := &next.Spec.Services[i]
			if j := slices.IndexFunc(deployed.Spec.Services, func(d swarmv1.StackService) bool { return d.Name == s.Name }); j >= 0 && s.RegistryAuthSecret == "" {
				s.RegistryAuthSecret = deployed.Spec.Services[j].RegistryAuthSecret
			}
		}
		return nil
	}
	var imgs []string
	for _, s := range next.Spec.Services {
		imgs = append(imgs, s.Image)
	}
	cfg, err := o.registry.Credentials(imgs...)
	if err != nil {
		return fmt.Errorf("--with-registry-auth: %w", err)
	}
	name := pullsecret.Name(o.name)
	for i := range next.Spec.Services {
		next.Spec.Services[i].RegistryAuthSecret = name
	}
	var owner client.Object
	if deployed != nil {
		owner = deployed
	}
	return pullsecret.Write(ctx, o.client, o.namespace, name, cfg, owner)
}

// pruneFiles removes the stack's Secrets and ConfigMaps that the files no longer define (the
// Stack controller already removes its services that are gone).
func (o *StackDeployOptions) pruneFiles(ctx context.Context, c client.Client) error {
	keep := map[string]bool{}
	for _, obj := range o.result.Objects() {
		keep[obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName()] = true
	}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, client.InNamespace(o.namespace), stackSelector(o.name)); err != nil {
		return fmt.Errorf("listing secrets: %w", err)
	}
	for i := range secrets.Items {
		s := &secrets.Items[i]
		if !keep["Secret/"+s.Name] && !keptByName(o.result.Secrets, s.Name) {
			fmt.Fprintf(o.Out, "Removing secret %s\n", s.Name)
			if err := client.IgnoreNotFound(c.Delete(ctx, s)); err != nil {
				return err
			}
		}
	}
	cms := &corev1.ConfigMapList{}
	if err := c.List(ctx, cms, client.InNamespace(o.namespace), stackSelector(o.name)); err != nil {
		return fmt.Errorf("listing configmaps: %w", err)
	}
	for i := range cms.Items {
		cm := &cms.Items[i]
		found := false
		for _, x := range o.result.ConfigMaps {
			found = found || x.Name == cm.Name
		}
		if !found {
			fmt.Fprintf(o.Out, "Removing config %s\n", cm.Name)
			if err := client.IgnoreNotFound(c.Delete(ctx, cm)); err != nil {
				return err
			}
		}
	}
	return nil
}

func keptByName(secrets []*corev1.Secret, name string) bool {
	for _, s := range secrets {
		if s.Name == name {
			return true
		}
	}
	return false
}

func secretKey(data map[string][]byte, sdata map[string]string) string {
	for k := range data {
		return k
	}
	for k := range sdata {
		return k
	}
	return ""
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// createOrUpdate creates obj, or updates the existing object with set; it tells whether it
// created.
func createOrUpdate(ctx context.Context, c client.Client, obj client.Object, set func(cur client.Object)) (bool, error) {
	cur := obj.DeepCopyObject().(client.Object)
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	if apierrors.IsNotFound(err) {
		if err := c.Create(ctx, obj, client.FieldOwner(fieldManager)); err != nil {
			return false, fmt.Errorf("creating %s %s: %w", kindOf(obj), obj.GetName(), err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
			return err
		}
		set(cur)
		return c.Update(ctx, cur, client.FieldOwner(fieldManager))
	})
	if err != nil {
		return false, fmt.Errorf("updating %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	return false, nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *corev1.Secret:
		return "secret"
	case *corev1.ConfigMap:
		return "configmap"
	case *swarmv1.Stack:
		return "stack"
	}
	return "object"
}

func waitExists(ctx context.Context, c client.Client, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &swarmv1.Service{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s was not created within %s: is the kubeswarm operator running? (kubectl swarm info)", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// stackRow is a row of `stack ls`.
type stackRow struct {
	Name     string
	Services string
}

// StackLsOptions is `stack ls [--format FORMAT]`.
type StackLsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	format string
}

func newStackLsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackLsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List stacks",
		Args:    cobra.NoArgs,
		RunE:    runVerb(f, o),
	}
	cmd.Flags().StringVar(&o.format, "format", "", "Format output using a custom template")
	return cmd
}

// Run lists the namespace's stacks, natural-sorted, with their number of services.
func (o *StackLsOptions) Run(ctx context.Context) error {
	list := &swarmv1.StackList{}
	if err := o.client.List(ctx, list, client.InNamespace(o.namespace)); err != nil {
		return fmt.Errorf("listing stacks: %w", err)
	}
	items := list.Items
	sortorder.Sort(items, func(s swarmv1.Stack) string { return s.Name })
	var rows []any
	for _, s := range items {
		n := int(s.Status.ServiceCount)
		if n == 0 {
			n = len(s.Spec.Services)
		}
		rows = append(rows, stackRow{Name: s.Name, Services: fmt.Sprint(n)})
	}
	return writeFormatted(o.Out, o.format, "table {{.Name}}\t{{.Services}}", map[string]string{"Name": "NAME", "Services": "SERVICES"}, rows)
}

// StackPsOptions is `stack ps STACK`: the tasks of the stack's services.
type StackPsOptions struct {
	genericiooptions.IOStreams
	clientOptions
	taskListOptions
}

func newStackPsCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackPsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] STACK",
		Short: "List the tasks in the stack",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	o.taskListOptions.addFlags(cmd)
	return cmd
}

// Run prints the tasks, or docker's "nothing found in stack: X".
func (o *StackPsOptions) Run(ctx context.Context) error {
	stack := o.args[0]
	tasks, err := namespaceTasks(ctx, o.client, o.namespace, stackSelector(stack))
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return fmt.Errorf("nothing found in stack: %s", stack)
	}
	return o.print(o.Out, o.clock.Now(), tasks)
}

// StackServicesOptions is `stack services STACK`: `service ls` of the stack's services.
type StackServicesOptions struct {
	ServiceLsOptions
	stack string
}

func newStackServicesCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackServicesOptions{ServiceLsOptions: ServiceLsOptions{IOStreams: streams}}
	cmd := &cobra.Command{
		Use:   "services [OPTIONS] STACK",
		Short: "List the services in the stack",
		Args:  cobra.ExactArgs(1),
		RunE:  runVerb(f, o),
	}
	o.addFlags(cmd)
	return cmd
}

// Complete reads the argument (the stack's services are service ls's, narrowed) and makes the
// client.
func (o *StackServicesOptions) Complete(f Factory, cmd *cobra.Command, args []string) error {
	o.stack, o.selector = args[0], stackSelector(args[0])
	return o.ServiceLsOptions.Complete(f, cmd, args)
}

// Run prints the services, or (on stderr, as docker) "Nothing found in stack: X".
func (o *StackServicesOptions) Run(ctx context.Context) error {
	list := &swarmv1.ServiceList{}
	if err := o.client.List(ctx, list, client.InNamespace(o.namespace), o.selector); err != nil {
		return fmt.Errorf("listing services: %w", err)
	}
	if len(list.Items) == 0 {
		fmt.Fprintf(o.ErrOut, "Nothing found in stack: %s\n", o.stack)
		return nil
	}
	return o.ServiceLsOptions.Run(ctx)
}

// StackRmOptions is `stack rm [-d] STACK...`.
type StackRmOptions struct {
	genericiooptions.IOStreams
	clientOptions
	detach  bool
	timeout time.Duration
}

func newStackRmCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackRmOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] STACK [STACK...]",
		Aliases: []string{"remove", "down"},
		Short:   "Remove one or more stacks",
		Args:    cobra.MinimumNArgs(1),
		RunE:    runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.detach, "detach", "d", true, "Do not wait for stack removal")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long to wait for the removal without -d (kubectl-swarm only)")
	return cmd
}

// Run removes each stack, then (without -d) waits for its services to be gone.
func (o *StackRmOptions) Run(ctx context.Context) error {
	var errs []error
	for _, name := range o.args {
		if err := removeStack(ctx, o.client, o.IOStreams, o.namespace, name); err != nil {
			errs = append(errs, err)
			continue
		}
		if !o.detach {
			if err := waitStackGone(ctx, o.client, o.namespace, name, o.timeout); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeStack deletes the Stack (its Services and policies go with it: they are owned) and the
// Secrets and ConfigMaps made for it, printing docker's lines. The claims of its volumes stay,
// as docker stack rm keeps volumes: the Stack does not own them, and a claim that an earlier
// kubeswarm made owned by the Stack is let go first. `volume rm` removes them.
func removeStack(ctx context.Context, c client.Client, streams genericiooptions.IOStreams, ns, name string) error {
	st := &swarmv1.Stack{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, st)
	if apierrors.IsNotFound(err) {
		fmt.Fprintf(streams.ErrOut, "Nothing found in stack: %s\n", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading stack %s: %w", name, err)
	}
	svcs := make([]string, 0, len(st.Spec.Services))
	for _, s := range st.Spec.Services {
		svcs = append(svcs, s.Name)
	}
	slices.Sort(svcs)
	if err := releaseClaims(ctx, c, st); err != nil {
		return err
	}
	for _, s := range svcs {
		fmt.Fprintf(streams.Out, "Removing service %s\n", swarmv1.StackDockerName(name, s))
	}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets, client.InNamespace(ns), stackSelector(name)); err != nil {
		return fmt.Errorf("listing secrets: %w", err)
	}
	cms := &corev1.ConfigMapList{}
	if err := c.List(ctx, cms, client.InNamespace(ns), stackSelector(name)); err != nil {
		return fmt.Errorf("listing configmaps: %w", err)
	}
	if err := client.IgnoreNotFound(c.Delete(ctx, st, client.PropagationPolicy("Foreground"))); err != nil {
		return fmt.Errorf("removing stack %s: %w", name, err)
	}
	for i := range secrets.Items {
		s := &secrets.Items[i]
		if s.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			continue
		}
		fmt.Fprintf(streams.Out, "Removing secret %s\n", s.Name)
		if err := client.IgnoreNotFound(c.Delete(ctx, s)); err != nil {
			return err
		}
	}
	for i := range cms.Items {
		cm := &cms.Items[i]
		if cm.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
			continue
		}
		fmt.Fprintf(streams.Out, "Removing config %s\n", cm.Name)
		if err := client.IgnoreNotFound(c.Delete(ctx, cm)); err != nil {
			return err
		}
	}
	nets := []string{}
	seenDefault := false
	for _, n := range st.Spec.Networks {
		if !n.External {
			nets = append(nets, n.Name)
			seenDefault = seenDefault || n.Name == "default"
		}
	}
	for _, s := range st.Spec.Services {
		if len(s.Networks) == 0 && !seenDefault {
			nets, seenDefault = append(nets, "default"), true
		}
	}
	slices.Sort(nets)
	for _, n := range nets {
		fmt.Fprintf(streams.Out, "Removing network %s\n", swarmv1.StackDockerName(name, n))
	}
	return nil
}

// releaseClaims takes the Stack's owner reference off the claims of its volumes, which
// kubeswarm made owned by the Stack before stack volumes were kept (the operator lets them go at
// its next reconcile too), so that the garbage collector does not delete them with the Stack.
// A user who may not list claims has none of those to fear from this plugin: the check is
// skipped.
func releaseClaims(ctx context.Context, c client.Client, st *swarmv1.Stack) error {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, claims, client.InNamespace(st.Namespace), stackSelector(st.Name)); apierrors.IsForbidden(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("listing the stack's volumes: %w", err)
	}
	for i := range claims.Items {
		cl := &claims.Items[i]
		if !slices.ContainsFunc(cl.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == st.UID }) {
			continue
		}
		base := cl.DeepCopy()
		cl.OwnerReferences = slices.DeleteFunc(cl.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == st.UID })
		if err := c.Patch(ctx, cl, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("keeping volume %s: %w (the stack was not removed)", volumeName(cl), err)
		}
	}
	return nil
}

// stackRemovalTimeout bounds how long a deploy waits for an earlier `stack rm` to finish.
const stackRemovalTimeout = 5 * time.Minute

// waitStackObjectGone waits until the Stack object itself is gone (its owned objects are removed
// first: stack rm deletes it in the foreground).
func waitStackObjectGone(ctx context.Context, c client.Client, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &swarmv1.Stack{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading stack %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stack %s is still being removed after %s", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

func waitStackGone(ctx context.Context, c client.Client, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		list := &swarmv1.ServiceList{}
		if err := c.List(ctx, list, client.InNamespace(ns), stackSelector(name)); err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stack %s still has %d services after %s", name, len(list.Items), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// StackConfigOptions is `stack config -c FILE… [--skip-interpolation]`: it needs no cluster.
type StackConfigOptions struct {
	genericiooptions.IOStreams
	files []string
	skip  bool
}

func newStackConfigCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StackConfigOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "config [OPTIONS]",
		Short: "Outputs the final config file, after doing merges and interpolations",
		Args:  cobra.NoArgs,
		RunE:  runVerb(f, o),
	}
	cmd.Flags().StringArrayVarP(&o.files, "compose-file", "c", nil, "Path to a Compose file, or \"-\" to read from stdin")
	cmd.Flags().BoolVar(&o.skip, "skip-interpolation", false, "Skip interpolation and output only merged config")
	return cmd
}

// Complete has nothing to read: stack config makes no client.
func (o *StackConfigOptions) Complete(Factory, *cobra.Command, []string) error { return nil }

// Validate refuses a call without -c, as docker does.
func (o *StackConfigOptions) Validate() error { return convert.RequireComposeFiles(o.files) }

// Run prints the merged (and interpolated) compose file.
func (o *StackConfigOptions) Run(ctx context.Context) error {
	opts, cleanup, err := convert.LoadOptions(o.files, o.In, o.skip)
	defer cleanup()
	if err != nil {
		return err
	}
	p, err := compose.Load(ctx, opts)
	if err != nil {
		return err
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(o.ErrOut, "%s\n\n", w)
	}
	b, err := p.Project.MarshalYAML()
	if err != nil {
		return err
	}
	_, err = o.Out.Write(b)
	return err
}
