package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// existingClaims are the claims of namespace ns that the operator sees in its cache (kubeswarm's:
// the cache holds only claims labelled LabelManagedBy), but those being deleted: the input of
// translate.Claims.KeepsClaim, which keeps a volume's existing claim shared instead of per slot.
func existingClaims(ctx context.Context, c client.Reader, ns string) (translate.Claims, error) {
	list := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing PersistentVolumeClaims: %w", err)
	}
	out := translate.Claims{}
	for _, pvc := range list.Items {
		if pvc.DeletionTimestamp.IsZero() {
			out[pvc.Name] = pvc.Labels[translate.LabelSlotsOf]
		}
	}
	return out, nil
}
