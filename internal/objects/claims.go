package objects

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// DefaultClaimSize is the size of the claim kubeswarm makes for a named volume that asks for none
// (docker's local volumes have no size).
var DefaultClaimSize = resource.MustParse("1Gi")

// VolumeClaim is the PersistentVolumeClaim that holds a named volume: ReadWriteOnce, of size (the
// default when nil), of the storage class when one is given. The Service controller makes one
// for a standalone service's volume, the Stack controller one for each stack volume.
func VolumeClaim(name, namespace string, labels map[string]string, size *resource.Quantity, storageClass *string) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	spec := corev1ac.PersistentVolumeClaimSpec().WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{
			corev1.ResourceStorage: ptr.Deref(size, DefaultClaimSize)}))
	if storageClass != nil {
		spec.WithStorageClassName(*storageClass)
	}
	return corev1ac.PersistentVolumeClaim(name, namespace).WithLabels(labels).WithSpec(spec)
}

// sharedClaimAffinity keeps the tasks of a replicated service that mount a claim on one node
// (translate.SharesClaims).
func sharedClaimAffinity(svc *swarmv1.Service) *corev1ac.PodAffinityApplyConfiguration {
	if !translate.SharesClaims(svc) {
		return nil
	}
	return corev1ac.PodAffinity().WithRequiredDuringSchedulingIgnoredDuringExecution(
		corev1ac.PodAffinityTerm().WithTopologyKey(corev1.LabelHostname).
			WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(translate.SelectorLabels(svc.Name))))
}
