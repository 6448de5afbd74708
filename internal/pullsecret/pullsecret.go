// Package pullsecret keeps the registry credentials of docker's --with-registry-auth (the
// plugin's flag, the Engine API's X-Registry-Auth header) as a kubernetes.io/dockerconfigjson
// Secret that a Service's tasks pull with (spec.registryAuthSecret). swarmkit keeps them in each
// task's PullOptions.RegistryAuth; here one Secret per service (or stack) holds them, owned by
// it, rewritten by every later deploy with the flag.
package pullsecret

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Name is the Secret of a service's (or stack's) registry credentials.
func Name(owner string) string { return owner + "-registry-auth" }

// Write creates or rewrites the Secret name in namespace with cfg, owned by owner (a Service or a
// Stack) when it is given and exists (it has a UID). The Secret of a Service that does not exist yet
// is written first and Own'ed after the Service is created, so that no task ever pulls without.
func Write(ctx context.Context, c client.Client, namespace, name string, cfg images.DockerConfig, owner client.Object) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	sec := &corev1.Secret{}
	err = c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sec)
	switch {
	case apierrors.IsNotFound(err):
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
				Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue}},
			Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: data},
		}
		setOwner(sec, owner)
		if err := c.Create(ctx, sec); err != nil {
			return fmt.Errorf("writing the registry credentials (secret %s): %w", name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading secret %s: %w", name, err)
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson {
		return fmt.Errorf("secret %s exists and is not of type %s; remove it or name the service otherwise", name, corev1.SecretTypeDockerConfigJson)
	}
	owned := setOwner(sec, owner)
	if !owned && len(sec.Data) == 1 && bytes.Equal(sec.Data[corev1.DockerConfigJsonKey], data) {
		return nil // the same credentials and owner: nothing to write
	}
	sec.Data = map[string][]byte{corev1.DockerConfigJsonKey: data}
	if err := c.Update(ctx, sec); err != nil {
		return fmt.Errorf("writing the registry credentials (secret %s): %w", name, err)
	}
	return nil
}

// Read is the credentials the Secret name holds (none when it does not exist).
func Read(ctx context.Context, c client.Client, namespace, name string) (images.DockerConfig, error) {
	sec := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sec); apierrors.IsNotFound(err) {
		return images.DockerConfig{}, nil
	} else if err != nil {
		return images.DockerConfig{}, fmt.Errorf("reading secret %s: %w", name, err)
	}
	var cfg images.DockerConfig
	if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		return cfg, fmt.Errorf("secret %s: %s: %w", name, corev1.DockerConfigJsonKey, err)
	}
	return cfg, nil
}

// Own makes owner (which now exists) the controller of the Secret name, so that it goes with it.
func Own(ctx context.Context, c client.Client, namespace, name string, owner client.Object) error {
	sec := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sec); err != nil {
		return fmt.Errorf("reading secret %s: %w", name, err)
	}
	if !setOwner(sec, owner) {
		return nil
	}
	if err := c.Update(ctx, sec); err != nil {
		return fmt.Errorf("owning secret %s: %w", name, err)
	}
	return nil
}

// setOwner makes owner the Secret's controller; it tells whether that changed anything.
func setOwner(sec *corev1.Secret, owner client.Object) bool {
	if owner == nil || owner.GetUID() == "" {
		return false
	}
	kind := "Service"
	if _, ok := owner.(*swarmv1.Stack); ok {
		kind = "Stack"
	}
	ref := metav1.OwnerReference{APIVersion: swarmv1.GroupVersion.String(), Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	for _, r := range sec.OwnerReferences {
		if r.UID == ref.UID {
			return false
		}
	}
	sec.OwnerReferences = []metav1.OwnerReference{ref}
	return true
}
