package translate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// claimedVolumes are the claims a service's tasks mount (named volumes other than NFS exports).
func claimedVolumes(s *swarmv1.ServiceSpec) []string {
	var out []string
	for _, m := range s.Mounts {
		if m.Type != swarmv1.MountVolume || m.Source == "" {
			continue
		}
		if _, nfs, _ := volumeNFS(m); !nfs && !slices.Contains(out, m.Source) {
			out = append(out, m.Source)
		}
	}
	return out
}

// sharedClaimAffinity keeps the tasks of a replicated service that mount a claim on one node.
// Swarm gives each node its own local volume; kubeswarm's claim is ReadWriteOnce (VolumeClaim),
// which pods on one node may share but pods on two may not, so tasks spread over nodes would
// wait forever for the volume. Together they all run and share the data, which the note says.
// The rule is in the template whatever the replicas, so that scaling never replaces tasks.
func sharedClaimAffinity(svc *swarmv1.Service, notes *[]string) *corev1ac.PodAffinityApplyConfiguration {
	claims := claimedVolumes(&svc.Spec)
	if len(claims) == 0 {
		return nil
	}
	if svc.Spec.Mode.IsGlobal() {
		*notes = append(*notes, fmt.Sprintf("mounts: the tasks of a global service share the claim %s, which only the tasks of one node can mount (ReadWriteOnce); Swarm gives each node its own volume", strings.Join(claims, ", ")))
		return nil
	}
	if ptr.Deref(svc.Spec.Replicas, 1) > 1 {
		*notes = append(*notes, fmt.Sprintf("mounts: the tasks share the claim %s (ReadWriteOnce), so they all run on the node that holds it; Swarm gives each node its own volume", strings.Join(claims, ", ")))
		if p := svc.Spec.Placement; p != nil && p.MaxReplicasPerNode != nil && *p.MaxReplicasPerNode > 0 {
			*notes = append(*notes, fmt.Sprintf("placement.maxReplicasPerNode=%d: with the shared claim at most that many tasks run", *p.MaxReplicasPerNode))
		}
	}
	return corev1ac.PodAffinity().WithRequiredDuringSchedulingIgnoredDuringExecution(
		corev1ac.PodAffinityTerm().WithTopologyKey(corev1.LabelHostname).
			WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(svc.Name))))
}
