package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// access is one right a command needs: a verb on a resource, in a namespace or cluster-wide.
type access struct {
	verb, group, resource, namespace string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	where := "cluster-wide"
	if a.namespace != "" {
		where = "in namespace " + a.namespace
	}
	return fmt.Sprintf("%s %s (%s)", a.verb, r, where)
}

// accessFor lists verbs on the resources of objs, each once, in the order of objs.
func accessFor(objs []*unstructured.Unstructured, verbs ...string) []access {
	var out []access
	seen := map[access]bool{}
	for _, u := range objs {
		gvr, _ := meta.UnsafeGuessKindToResource(u.GroupVersionKind())
		for _, v := range verbs {
			a := access{verb: v, group: gvr.Group, resource: gvr.Resource, namespace: u.GetNamespace()}
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// ErrMissingRights is returned, wrapped, when the kubeconfig's user lacks a right a command needs.
var ErrMissingRights = errors.New("missing rights")

// checkAccess asks the API server (SelfSubjectAccessReview) whether the kubeconfig's user may
// do each of want, and names every right that is missing, before anything is written: an init
// that stops half-way leaves CRDs without an operator.
func checkAccess(ctx context.Context, c client.Client, what string, want []access) error {
	var missing []string
	for _, a := range want {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace},
		}}
		if err := c.Create(ctx, review); err != nil {
			return fmt.Errorf("asking the API server whether you may %s: %w", a, err)
		}
		if !review.Status.Allowed {
			missing = append(missing, "  cannot "+a.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w to %s: nothing was changed; the kubeconfig's user\n%s\n(ask a cluster administrator, or use a context with these rights: --context, --kubeconfig)",
		ErrMissingRights, what, strings.Join(missing, "\n"))
}

// dryRunRoles applies the cluster roles and their bindings of objs as a dry run: the API server
// refuses a role that grants more than its creator holds (unless escalate) and a binding to one
// (unless bind), which no access review of create and patch shows; asked first, the refusal
// comes before anything is written.
func dryRunRoles(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, owner string) error {
	var refused []string
	for _, u := range objs {
		if kind := u.GetKind(); kind != "ClusterRole" && kind != "ClusterRoleBinding" {
			continue
		}
		// A copy: the client decodes the server's answer into the object it sends (managed
		// fields and all), which the real apply would then send back.
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(owner), client.ForceOwnership, client.DryRunAll)
		if apierrors.IsForbidden(err) {
			refused = append(refused, fmt.Sprintf("  %s %s: %v", u.GetKind(), u.GetName(), err))
		} else if err != nil {
			return fmt.Errorf("trying %s %s (dry run): %w", u.GetKind(), u.GetName(), err)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("%w to install kubeswarm: nothing was changed; the API server refuses\n%s\n(a cluster role may only grant what its creator holds, unless escalate on clusterroles; a binding needs bind on the role: ask a cluster administrator)",
		ErrMissingRights, strings.Join(refused, "\n"))
}
