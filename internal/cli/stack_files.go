package cli

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/compose"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// checkFilesUnchanged refuses, before anything is written, a deploy that would give an existing
// secret or config of the stack another content: docker stack deploy fails on swarmkit's answer
// ("failed to update secret wp_db_pass: … only updates to Labels are allowed").
func checkFilesUnchanged(ctx context.Context, c client.Client, stackName string, r *compose.Result) error {
	var want []client.Object
	for _, s := range r.Secrets {
		want = append(want, s)
	}
	for _, cm := range r.ConfigMaps {
		want = append(want, cm)
	}
	var errs []error
	for _, obj := range want {
		kind, cur := "secret", client.Object(&corev1.Secret{})
		if _, ok := obj.(*corev1.ConfigMap); ok {
			kind, cur = "config", &corev1.ConfigMap{}
		}
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur)
		if apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("reading %s %s: %w", kind, obj.GetName(), err)
		}
		content := stack.FileContent(obj)
		key := ""
		for k := range content { // a stack's secret or config holds one file, named by its key
			key = k
		}
		if err := swarmsyntax.CheckFileUpdate(kind, key, stack.FileContent(cur), content); err != nil {
			errs = append(errs, fmt.Errorf("failed to update %s %s: %w", kind, swarmv1.StackDockerName(stackName, key), err))
		}
	}
	return errors.Join(errs...)
}
