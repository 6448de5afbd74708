package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// imageRetry is how soon a service whose image's config could not be read is looked at again.
const imageRetry = time.Minute

// imageHealthcheck is the HEALTHCHECK of the service's image, which its tasks run where the
// service leaves it to the image (swarmsyntax.MergeHealth), read from the registry with the
// service's registry credentials (spec.registryAuthSecret) and kept in status.imageHealthcheck.
// When the registry cannot be read, the one status keeps for the same image stands; without
// one the tasks run without it, which note says (Honored), and retry says when to read again.
func (r *ServiceReconciler) imageHealthcheck(ctx context.Context, svc *swarmv1.Service, status *swarmv1.ServiceStatus) (hc *swarmv1.Healthcheck, note string, retry time.Duration) {
	if r.ImageHealthchecks == nil || !swarmsyntax.NeedsImageHealth(svc.Spec.Healthcheck) {
		status.ImageHealthcheck = nil
		return nil, "", 0
	}
	kc, err := r.registryKeychain(ctx, svc)
	if err == nil {
		hc, err = r.ImageHealthchecks.Healthcheck(ctx, svc.Spec.Image, kc)
	}
	if err == nil {
		status.ImageHealthcheck = &swarmv1.ImageHealthcheck{Image: svc.Spec.Image, Healthcheck: hc}
		return hc, "", 0
	}
	if was := status.ImageHealthcheck; was != nil && was.Image == svc.Spec.Image {
		return was.Healthcheck, "", imageRetry
	}
	status.ImageHealthcheck = nil
	return nil, fmt.Sprintf("image %s: its HEALTHCHECK could not be read from the registry (%v); the tasks run without it until it can be read", svc.Spec.Image, err), imageRetry
}

// registryKeychain is the credentials of the service's spec.registryAuthSecret (anonymous
// without one).
func (r *ServiceReconciler) registryKeychain(ctx context.Context, svc *swarmv1.Service) (authn.Keychain, error) {
	name := svc.Spec.RegistryAuthSecret
	if name == "" {
		return images.DockerConfig{}.Keychain(), nil
	}
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: name}, s); err != nil {
		return nil, fmt.Errorf("reading registryAuthSecret %s: %w", name, err)
	}
	var cfg images.DockerConfig
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		return nil, fmt.Errorf("registryAuthSecret %s: %s: %w", name, corev1.DockerConfigJsonKey, err)
	}
	return cfg.Keychain(), nil
}
