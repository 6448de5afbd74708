package translate

import (
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// ClaimMounts are the mounts of s whose data is a claim (VolumeSource: a named volume that is no
// NFS export), the first mount of each claim.
func ClaimMounts(s *swarmv1.ServiceSpec) []swarmv1.Mount {
	var out []swarmv1.Mount
	seen := map[string]bool{}
	for i, m := range s.Mounts {
		if m.Type == swarmv1.MountBind || m.Type == swarmv1.MountTmpfs {
			continue
		}
		if src, err := VolumeSource(i, m); err == nil && src.Claim != "" && !seen[src.Claim] {
			seen[src.Claim] = true
			out = append(out, m)
		}
	}
	return out
}

// claimedVolumes are the claims a service's tasks mount.
func claimedVolumes(s *swarmv1.ServiceSpec) []string {
	var out []string
	for _, m := range ClaimMounts(s) {
		out = append(out, m.Source)
	}
	return out
}

// SharesClaims tells whether a service's tasks are kept on one node because they mount claims:
// Swarm gives each node its own local volume; kubeswarm's claim is ReadWriteOnce
// (objects.VolumeClaim), which pods on one node may share but pods on two may not, so tasks
// spread over nodes would wait forever for the volume. Together they all run and share the data,
// which sharedClaimRule says. The rule is in the template whatever the replicas, so that scaling
// never replaces tasks. A global service cannot be kept on one node: its tasks on other nodes
// wait for the claim, which sharedClaimRule says too.
func SharesClaims(svc *swarmv1.Service) bool {
	return !svc.Spec.Mode.IsGlobal() && len(claimedVolumes(&svc.Spec)) > 0
}

// sharedClaimRule reports what becomes of Swarm's one volume per node when tasks share a claim.
func sharedClaimRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	claims := claimedVolumes(&svc.Spec)
	if len(claims) == 0 {
		return nil, nil
	}
	if svc.Spec.Mode.IsGlobal() {
		return []string{fmt.Sprintf("mounts: the tasks of a global service share the claim %s, which only the tasks of one node can mount (ReadWriteOnce); Swarm gives each node its own volume", strings.Join(claims, ", "))}, nil
	}
	if ptr.Deref(svc.Spec.Replicas, 1) > 1 {
		notes = append(notes, fmt.Sprintf("mounts: the tasks share the claim %s (ReadWriteOnce), so they all run on the node that holds it; Swarm gives each node its own volume", strings.Join(claims, ", ")))
		if p := svc.Spec.Placement; p != nil && p.MaxReplicasPerNode != nil && *p.MaxReplicasPerNode > 0 {
			notes = append(notes, fmt.Sprintf("placement.maxReplicasPerNode=%d: with the shared claim at most that many tasks run", *p.MaxReplicasPerNode))
		}
	}
	return notes, nil
}
