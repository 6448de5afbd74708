// Package volumes is docker's view of a namespace's volumes, shared by the plugin (`kubectl
// swarm volume`) and the Engine API (`docker volume ls`): a docker volume is a
// PersistentVolumeClaim that kubeswarm made (labelled app.kubernetes.io/managed-by=kubeswarm and
// swarm.kubeswarm.io/volume: a stack's volumes, the volumes of `service create --mount`, and the
// per-slot claims of a StatefulSet, one per task) or that a Service mounts (an external volume).
// Other claims of the namespace are not docker's business.
//
// A stack's volume has docker's name <stack>_<volume> (wp_mysql_vol, the claim wp-mysql-vol);
// every other claim its own name, and so each claim of a per-slot volume
// (<volume>-<service>-<slot>: data-web-1, labelled swarm.kubeswarm.io/slots-of). DRIVER is the
// claim's StorageClass, the Kubernetes part that says where the data lives as a docker volume
// driver does; a claim with no class (bound to a PersistentVolume made by hand) shows docker's
// default driver, local.
package volumes

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/sortorder"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Made tells whether kubeswarm made the claim for a docker volume.
func Made(c *corev1.PersistentVolumeClaim) bool {
	return c.Labels[translate.LabelManagedBy] == translate.ManagedByValue && c.Labels[translate.LabelVolume] != ""
}

// Stack is the stack whose volume a claim holds, "" for any other claim.
func Stack(c *corev1.PersistentVolumeClaim) string {
	if !Made(c) {
		return ""
	}
	return c.Labels[translate.LabelStack]
}

// Name is the claim's docker name: <stack>_<volume> for a stack's (shared) volume, else the
// claim's own name.
func Name(c *corev1.PersistentVolumeClaim) string {
	if c.Labels[translate.LabelSlotsOf] != "" {
		// One of a per-slot volume's claims (data-web-1): one volume per task, by its own name.
		return c.Name
	}
	if s := Stack(c); s != "" {
		return swarmv1.StackDockerName(s, c.Labels[translate.LabelVolume])
	}
	return c.Name
}

// Driver is the claim's StorageClass, or docker's local.
func Driver(c *corev1.PersistentVolumeClaim) string {
	if sc := c.Spec.StorageClassName; sc != nil && *sc != "" {
		return *sc
	}
	return "local"
}

// Labels are the claim's labels, with docker's com.docker.stack.namespace on a stack's volume.
func Labels(c *corev1.PersistentVolumeClaim) map[string]string {
	out := maps.Clone(c.Labels)
	if out == nil {
		out = map[string]string{}
	}
	if s := Stack(c); s != "" {
		out[stack.LabelDockerStackNamespace] = s
	}
	return out
}

// List reads the namespace's docker volumes (their claims), natural-sorted by docker name, and
// the namespace's Services (which mount them).
func List(ctx context.Context, c client.Reader, ns string) ([]*corev1.PersistentVolumeClaim, []swarmv1.Service, error) {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.List(ctx, claims, client.InNamespace(ns)); err != nil {
		return nil, nil, fmt.Errorf("listing volumes: %w", err)
	}
	services := &swarmv1.ServiceList{}
	if err := c.List(ctx, services, client.InNamespace(ns)); err != nil {
		return nil, nil, fmt.Errorf("listing services: %w", err)
	}
	mounted := map[string]bool{}
	for _, s := range services.Items {
		for _, m := range s.Spec.Mounts {
			if m.Type == swarmv1.MountVolume && m.Source != "" {
				mounted[m.Source] = true
			}
		}
	}
	var out []*corev1.PersistentVolumeClaim
	for i := range claims.Items {
		if cl := &claims.Items[i]; Made(cl) || mounted[cl.Name] {
			out = append(out, cl)
		}
	}
	sortorder.Sort(out, Name)
	return out, services.Items, nil
}

// Find is the volume of a name among vols: docker's (wp_mysql_vol) or the claim's (wp-mysql-vol).
func Find(vols []*corev1.PersistentVolumeClaim, ref string) *corev1.PersistentVolumeClaim {
	for _, v := range vols {
		if Name(v) == ref {
			return v
		}
	}
	for _, v := range vols {
		if v.Name == ref {
			return v
		}
	}
	return nil
}
