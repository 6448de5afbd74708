// Package crds waits for kubeswarm's CustomResourceDefinitions to be Established: until then the
// API server does not serve their kinds, and a client that maps kinds to resources (the
// operator's controllers, the plugin) fails with "no matches for kind".
package crds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Names are kubeswarm's CustomResourceDefinitions.
var Names = []string{
	"services." + swarmv1.GroupVersion.Group,
	"stacks." + swarmv1.GroupVersion.Group,
	"nodes." + swarmv1.GroupVersion.Group,
}

// Kind is the CustomResourceDefinition kind, read as unstructured so that any client's scheme will do.
var Kind = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// NotEstablished lists the names whose CustomResourceDefinition is missing or not yet
// Established. The objects are read as unstructured, so that any client's scheme will do.
func NotEstablished(ctx context.Context, c client.Reader, names []string) ([]string, error) {
	var waiting []string
	for _, name := range names {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(Kind)
		if err := c.Get(ctx, client.ObjectKey{Name: name}, u); apierrors.IsNotFound(err) {
			waiting = append(waiting, name)
			continue
		} else if err != nil {
			return nil, fmt.Errorf("reading CustomResourceDefinition %s: %w", name, err)
		}
		if !established(u) {
			waiting = append(waiting, name)
		}
	}
	return waiting, nil
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	return slices.ContainsFunc(conds, func(c any) bool {
		m, ok := c.(map[string]any)
		return ok && m["type"] == "Established" && m["status"] == "True"
	})
}

// WaitEstablished polls every interval until each named CustomResourceDefinition is Established,
// calling waiting with the names still missing on the first poll and whenever they change. It
// returns the context's error, naming the CRDs still missing, when the context ends first.
func WaitEstablished(ctx context.Context, c client.Reader, names []string, interval time.Duration, waiting func([]string)) error {
	var last []string
	for {
		missing, err := NotEstablished(ctx, c, names)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		if waiting != nil && !slices.Equal(missing, last) {
			waiting(missing)
		}
		last = missing
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for CustomResourceDefinitions %s to be established: %w", strings.Join(missing, ", "), ctx.Err())
		case <-time.After(interval):
		}
	}
}
