package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// resolveFiles finds the data key of each secret and config the service mounts: the key named
// after the secret, or the only key. A missing object, or one whose file cannot be told, is an
// error naming it and the fix; nothing is changed in the cluster until it is fixed.
func (r *ServiceReconciler) resolveFiles(ctx context.Context, svc *swarmv1.Service, in *objects.Inputs) error {
	var missing []error
	for _, ref := range svc.Spec.Secrets {
		name := ref.Source
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: name}, s); apierrors.IsNotFound(err) {
			missing = append(missing, fmt.Errorf("secret not found: %s (create it: kubectl create secret generic %s --from-file=%s=FILE)", name, name, ref.Source))
			continue
		} else if err != nil {
			return fmt.Errorf("reading Secret %s: %w", name, err)
		}
		key, err := fileKey("secret", name, ref.Source, keysOf(s.Data, nil))
		if err != nil {
			missing = append(missing, err)
			continue
		}
		setKey(&in.SecretKeys, ref.Source, key)
		setTemplated(in, &in.TemplatedSecrets, ref.Source, s.Annotations, keysContent(s.Data, nil))
	}
	for _, ref := range svc.Spec.Configs {
		name := ref.Source
		cm := &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: name}, cm); apierrors.IsNotFound(err) {
			missing = append(missing, fmt.Errorf("config not found: %s (create it: kubectl create configmap %s --from-file=%s=FILE)", name, name, ref.Source))
			continue
		} else if err != nil {
			return fmt.Errorf("reading ConfigMap %s: %w", name, err)
		}
		key, err := fileKey("config", name, ref.Source, keysOf(cm.BinaryData, cm.Data))
		if err != nil {
			missing = append(missing, err)
			continue
		}
		setKey(&in.ConfigKeys, ref.Source, key)
		setTemplated(in, &in.TemplatedConfigs, ref.Source, cm.Annotations, keysContent(cm.BinaryData, cm.Data))
	}
	if len(missing) > 0 {
		return kindError(errMissingObject, nil, "%s", joinMessages(missing))
	}
	return nil
}

func setKey(m *map[string]string, source, key string) {
	if key == source {
		return
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[source] = key
}

// setTemplated records a source created with the golang template driver, and whether its
// template names the task's slot.
func setTemplated(in *objects.Inputs, m *map[string]bool, source string, annotations map[string]string, content string) {
	if annotations[files.AnnotationTemplate] != files.TemplateDriver {
		return
	}
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[source] = true
	if files.NamesSlot(content) {
		if in.SlotTemplates == nil {
			in.SlotTemplates = map[string]bool{}
		}
		in.SlotTemplates[source] = true
	}
}

// keysContent is the content of an object's keys, together.
func keysContent(a map[string][]byte, b map[string]string) string {
	var out strings.Builder
	for _, v := range a {
		out.Write(v)
	}
	for _, v := range b {
		out.WriteString(v)
	}
	return out.String()
}

func keysOf(a map[string][]byte, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fileKey picks the key that holds a Swarm secret's or config's single file.
func fileKey(kind, object, source string, keys []string) (string, error) {
	for _, k := range keys {
		if k == source {
			return k, nil
		}
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	return "", fmt.Errorf("%s %s has keys [%s]: a %s is one file, so name its key %s", kind, object, strings.Join(keys, ", "), kind, source)
}

// ensureVolumes makes a PersistentVolumeClaim for each named volume the service mounts
// (translate.ClaimMounts: not an NFS export), when there is none (for a stack's service, the
// Stack makes them: a missing one is reported). Like docker volumes, the claims outlive the
// service: they are labelled as kubeswarm's, not owned by the service, and `docker volume rm` is
// `kubectl delete pvc`.
func (r *ServiceReconciler) ensureVolumes(ctx context.Context, svc *swarmv1.Service, in objects.Inputs) error {
	for _, m := range translate.ClaimMounts(svc) {
		name := m.Source
		existing := &corev1.PersistentVolumeClaim{}
		err := r.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: name}, existing)
		if apierrors.IsNotFound(err) {
			err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: svc.Namespace, Name: name}, existing)
		}
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading PersistentVolumeClaim %s: %w", name, err)
		}
		if in.Stack != "" {
			// A stack's volumes are the Stack's to make (or, external, the user's).
			return kindError(errMissingObject, nil, "volume claim not found: %s (the stack makes its volumes; an external one must exist)", name)
		}
		labels := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: m.Source}
		if m.Volume != nil {
			for k, v := range m.Volume.Labels {
				labels[k] = v
			}
		}
		claim := objects.VolumeClaim(name, svc.Namespace, labels, nil, nil)
		if err := r.Apply(ctx, claim, client.FieldOwner(FieldOwner)); err != nil {
			return fmt.Errorf("creating PersistentVolumeClaim %s for volume %s: %w", name, m.Source, err)
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Created", "Apply", "Created PersistentVolumeClaim %s for volume %s", name, m.Source)
	}
	return nil
}
