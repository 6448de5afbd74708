package objects

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// statefulSet is the workload of a replicated service whose tasks need their slots
// (translate.PerSlot): the ordinals start at 1, so that a pod's ordinal is its task's slot
// (web-1 is web.1); the pods are made and replaced all at once (Parallel), as Swarm's
// orchestrator fills every slot at once; each per-slot volume is a claim template, whose claims
// (<volume>-<service>-<slot>) are kept when the service is removed or scaled down (Retain), as
// docker keeps volumes. A rollout replaces a slot's task by stopping it first (a pod's name and
// claims are its slot's), parallelism slots at a time (maxUnavailable); a paused update holds
// every slot at its revision (partition = replicas).
func statefulSet(svc *swarmv1.Service, in Inputs, tmpl *corev1ac.PodTemplateSpecApplyConfiguration, labels, annotations map[string]string,
	owner *metav1ac.OwnerReferenceApplyConfiguration, selector *metav1ac.LabelSelectorApplyConfiguration, strategy update.Strategy) (*appsv1ac.StatefulSetApplyConfiguration, error) {
	claims, err := SlotClaimTemplates(svc, in.Stack)
	if err != nil {
		return nil, err
	}
	replicas := ptr.Deref(svc.Spec.Replicas, 1)
	unavailable := strategy.MaxUnavailable
	if unavailable.Type == intstr.Int && unavailable.IntVal == 0 {
		// start-first (surge, none unavailable): a slot cannot run two tasks; its parallelism
		// is how many slots are replaced at once (translate reports it).
		unavailable = strategy.MaxSurge
	}
	rolling := appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(unavailable)
	if strategy.Paused {
		rolling.WithPartition(replicas)
	}
	spec := appsv1ac.StatefulSetSpec().
		WithReplicas(replicas).
		WithOrdinals(appsv1ac.StatefulSetOrdinals().WithStart(1)).
		WithSelector(selector).
		WithTemplate(tmpl).
		WithPodManagementPolicy(appsv1.ParallelPodManagement).
		WithRevisionHistoryLimit(5).
		WithPersistentVolumeClaimRetentionPolicy(appsv1ac.StatefulSetPersistentVolumeClaimRetentionPolicy().
			WithWhenDeleted(appsv1.RetainPersistentVolumeClaimRetentionPolicyType).
			WithWhenScaled(appsv1.RetainPersistentVolumeClaimRetentionPolicyType)).
		WithUpdateStrategy(appsv1ac.StatefulSetUpdateStrategy().
			WithType(appsv1.RollingUpdateStatefulSetStrategyType).WithRollingUpdate(rolling)).
		WithVolumeClaimTemplates(claims...)
	if n := strategy.MinReadySeconds; n > 0 {
		spec.WithMinReadySeconds(n)
	}
	sts := appsv1ac.StatefulSet(svc.Name, svc.Namespace).WithLabels(labels).WithOwnerReferences(owner).WithSpec(spec)
	if len(annotations) > 0 {
		sts.WithAnnotations(annotations)
	}
	return sts, nil
}

// SlotClaimTemplates are the claim templates of a per-slot service's volumes
// (translate.SlotClaims): ReadWriteOnce, of the stack volume's size and class (DefaultClaimSize
// and the default class otherwise), labelled as kubeswarm's volumes are (LabelVolume, the stack)
// and with the service whose slots they hold (LabelSlotsOf), so that `volume ls` and `volume
// rm` find them.
func SlotClaimTemplates(svc *swarmv1.Service, stack string) ([]*corev1ac.PersistentVolumeClaimApplyConfiguration, error) {
	claims, err := translate.SlotClaims(svc)
	if err != nil {
		return nil, err
	}
	out := make([]*corev1ac.PersistentVolumeClaimApplyConfiguration, 0, len(claims))
	for _, c := range claims {
		labels := maps.Clone(c.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[translate.LabelManagedBy] = translate.ManagedByValue
		labels[translate.LabelVolume] = c.Volume
		labels[translate.LabelSlotsOf] = svc.Name
		if stack != "" {
			labels[translate.LabelStack] = stack
		}
		spec := corev1ac.PersistentVolumeClaimSpec().WithAccessModes(corev1.ReadWriteOnce).
			WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{
				corev1.ResourceStorage: ptr.Deref(c.Info.Size, DefaultClaimSize)}))
		if c.Info.StorageClassName != nil {
			spec.WithStorageClassName(*c.Info.StorageClassName)
		}
		claim := &corev1ac.PersistentVolumeClaimApplyConfiguration{}
		claim.WithName(c.Template).WithLabels(labels).WithSpec(spec)
		out = append(out, claim)
	}
	return out, nil
}

// slotVolumes maps the mounts of per-slot volumes to their claim template's name, which is the
// pod volume's: the StatefulSet puts each pod's claim there.
func slotVolumes(svc *swarmv1.Service) map[int]string {
	claims, err := translate.SlotClaims(svc)
	if err != nil || !translate.PerSlot(svc) {
		return nil
	}
	out := map[int]string{}
	for _, c := range claims {
		for _, i := range c.Mounts {
			out[i] = c.Template
		}
	}
	return out
}

// SameClaimTemplates tells whether a live StatefulSet's claim templates are the desired ones, as
// far as kubeswarm sets them (names, labels, access modes, size, class): a StatefulSet's claim
// templates cannot change, so another set means another StatefulSet.
func SameClaimTemplates(live, desired []corev1.PersistentVolumeClaim) bool {
	if len(live) != len(desired) {
		return false
	}
	for i := range desired {
		a, b := live[i], desired[i]
		if a.Name != b.Name || !maps.Equal(a.Labels, b.Labels) || !slices.Equal(a.Spec.AccessModes, b.Spec.AccessModes) ||
			a.Spec.Resources.Requests.Storage().Cmp(*b.Spec.Resources.Requests.Storage()) != 0 {
			return false
		}
		if b.Spec.StorageClassName != nil && ptr.Deref(a.Spec.StorageClassName, "") != *b.Spec.StorageClassName {
			return false
		}
	}
	return true
}
