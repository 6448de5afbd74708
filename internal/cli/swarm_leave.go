package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli/manifests"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
)

// LeaveOptions is `leave [--force] [--crds]`: Swarm's `docker swarm leave --force` on the last
// manager, which is what removing kubeswarm's operator is (moby daemon/cluster/swarm.go, Leave).
type LeaveOptions struct {
	genericiooptions.IOStreams
	clientOptions
	force, crds bool
}

func newLeaveCommand(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LeaveOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "leave [OPTIONS]",
		Short: "Remove kubeswarm's operator from the cluster (--crds: and every swarm object)",
		Long: "Removes what `kubectl swarm init` installed: the operator's Deployment, its RBAC and the namespace " + install.Namespace + ".\n" +
			"Services keep running without a manager, as a Swarm whose managers are down: nothing updates, rolls back or\n" +
			"reschedules them, and new tasks of replicated services wait (their admission gate is the operator's); a later\n" +
			"`kubectl swarm init` takes them up again.\n\n" +
			"--crds also deletes kubeswarm's CRDs, and with them every Service, Stack and Node: their tasks stop, as the last\n" +
			"Swarm manager's `docker swarm leave --force` removes its tasks and erases the swarm, and kubeswarm's labels and\n" +
			"taints leave the Kubernetes nodes. Claims (named volumes) are never deleted, as docker keeps volumes.",
		Args: cobra.NoArgs,
		RunE: runVerb(f, o),
	}
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "Force this node to leave the swarm, ignoring warnings")
	cmd.Flags().BoolVar(&o.crds, "crds", false, "Also delete kubeswarm's CRDs and every Service, Stack and Node (their tasks stop; claims stay)")
	return cmd
}

// leaveRefusal is docker's warning for the last manager, in kubeswarm's terms.
const leaveRefusal = "You are attempting to leave the swarm on a node that is participating as a manager. " +
	"kubeswarm's operator is the swarm's only manager: without it services keep running but nothing updates or reschedules them, " +
	"and new tasks of replicated services wait for it. Use `--force` to ignore this message."

// lastManagerError is leave's refusal without --force: docker's sentence, period included.
type lastManagerError struct{}

func (lastManagerError) Error() string { return leaveRefusal }

// Run removes the operator (and with --crds the swarm's objects), after checking every right.
func (o *LeaveOptions) Run(ctx context.Context) error {
	objs, err := install.Objects(manifests.KubeSwarm, install.Options{})
	if err != nil {
		return err
	}
	var operator, definitions []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "CustomResourceDefinition" {
			definitions = append(definitions, u)
		} else {
			operator = append(operator, u)
		}
	}
	in, err := readInstalled(ctx, o.client)
	if err != nil {
		return err
	}
	crdsThere, err := anyExists(ctx, o.client, definitions)
	if err != nil {
		return err
	}
	if !in.operator && !crdsThere {
		return errors.New("this node is not part of a swarm: kubeswarm is not installed in this cluster")
	}
	if !o.force {
		return lastManagerError{}
	}
	if in.byHelm() {
		return in.helmRefusal("leave", fmt.Sprintf("remove it with `helm uninstall %s -n %s` (its CRDs stay; then `kubectl swarm leave --force --crds` deletes them)", in.helmRelease, in.namespace))
	}
	want := accessFor(operator, "delete")
	if o.crds {
		want = append(want, accessFor(definitions, "delete")...)
		want = append(want, access{verb: "list", resource: "nodes"}, access{verb: "patch", resource: "nodes"},
			access{verb: "list", resource: "persistentvolumeclaims"}, access{verb: "patch", resource: "persistentvolumeclaims"})
	}
	if err := checkAccess(ctx, o.client, "leave the swarm", want); err != nil {
		return err
	}
	// The operator first (the Deployment, then what it ran with), so that nothing reconciles
	// while the swarm's objects go; the namespace last.
	slices.Reverse(operator)
	if err := deleteAll(ctx, o.client, operator); err != nil {
		return err
	}
	if !o.crds {
		fmt.Fprintln(o.Out, "Node left the swarm.")
		fmt.Fprintln(o.Out, "kubeswarm's operator is removed; its Services, Stacks and Nodes and their tasks stay, unmanaged, until 'kubectl swarm init'.")
		return nil
	}
	kept, err := keepClaims(ctx, o.client)
	if err != nil {
		return err
	}
	if err := deleteAll(ctx, o.client, definitions); err != nil {
		return err
	}
	cleaned, err := forgetNodes(ctx, o.client)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "Node left the swarm.")
	fmt.Fprintf(o.Out, "kubeswarm's operator and CRDs are removed: every Service, Stack and Node goes, and their tasks stop; %d Kubernetes nodes lost kubeswarm's labels and taints.\n", cleaned)
	fmt.Fprintf(o.Out, "Claims (named volumes) are kept (%d released by kubeswarm's objects): 'kubectl get pvc -A' lists them.\n", kept)
	return nil
}

// anyExists tells whether one of objs is in the cluster.
func anyExists(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) (bool, error) {
	for _, u := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		err := c.Get(ctx, client.ObjectKeyFromObject(u), got)
		if err == nil {
			return true, nil
		}
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return false, nil
}

// deleteAll deletes objs in order; one already gone is no error.
func deleteAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		if err := c.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

// keepClaims takes kubeswarm's objects out of every claim's owners, so that the garbage
// collector, which deletes what the swarm's objects own, leaves the claims: docker keeps named
// volumes when the swarm goes. kubeswarm makes its claims without owners; this also keeps one
// whose owner was added by hand.
func keepClaims(ctx context.Context, c client.Client) (int, error) {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, claims); err != nil {
		return 0, fmt.Errorf("listing claims: %w", err)
	}
	kept := 0
	for i := range claims.Items {
		pvc := &claims.Items[i]
		owners := slices.DeleteFunc(slices.Clone(pvc.OwnerReferences), func(r metav1.OwnerReference) bool {
			return strings.HasPrefix(r.APIVersion, swarmv1.GroupVersion.Group+"/")
		})
		if len(owners) == len(pvc.OwnerReferences) {
			continue
		}
		patch := client.MergeFromWithOptions(pvc.DeepCopy(), client.MergeFromWithOptimisticLock{})
		pvc.OwnerReferences = owners
		if err := c.Patch(ctx, pvc, patch); err != nil {
			return kept, fmt.Errorf("keeping claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
		kept++
	}
	return kept, nil
}

// forgetNodes takes kubeswarm's labels and taints (availability, down) off the Kubernetes
// nodes: with the swarm gone, a drained node would stay drained for no one.
func forgetNodes(ctx context.Context, c client.Client) (int, error) {
	list := &corev1.NodeList{}
	if err := c.List(ctx, list); err != nil {
		return 0, fmt.Errorf("listing the Kubernetes nodes: %w", err)
	}
	changed := 0
	for i := range list.Items {
		n := &list.Items[i]
		patch := client.MergeFromWithOptions(n.DeepCopy(), client.MergeFromWithOptimisticLock{})
		dirty := false
		for k := range n.Labels {
			if strings.HasPrefix(k, nodes.ReservedPrefix) {
				delete(n.Labels, k)
				dirty = true
			}
		}
		taints := slices.DeleteFunc(slices.Clone(n.Spec.Taints), func(t corev1.Taint) bool { return strings.HasPrefix(t.Key, nodes.ReservedPrefix) })
		if len(taints) != len(n.Spec.Taints) {
			n.Spec.Taints, dirty = taints, true
		}
		if !dirty {
			continue
		}
		if err := c.Patch(ctx, n, patch); err != nil {
			return changed, fmt.Errorf("taking kubeswarm's labels and taints off node %s: %w", n.Name, err)
		}
		changed++
	}
	return changed, nil
}
