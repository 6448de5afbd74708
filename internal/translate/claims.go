package translate

import (
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// ClaimMounts are the mounts of svc whose data is one claim that its tasks share (VolumeSource: a
// named volume that is no NFS export), the first mount of each claim: the claims of a global or
// job service, and those a replicated service keeps shared (VolumeInfo.Shared). A replicated
// service's other named volumes are per slot (SlotClaims): their claims are its StatefulSet's.
func ClaimMounts(svc *swarmv1.Service) []swarmv1.Mount {
	perSlot := map[int]bool{}
	if claims, err := SlotClaims(svc); err == nil {
		for _, c := range claims {
			for _, i := range c.Mounts {
				perSlot[i] = true
			}
		}
	}
	var out []swarmv1.Mount
	seen := map[string]bool{}
	for i, m := range svc.Spec.Mounts {
		if m.Type == swarmv1.MountBind || m.Type == swarmv1.MountTmpfs || perSlot[i] {
			continue
		}
		if src, err := VolumeSource(i, m); err == nil && src.Claim != "" && !seen[src.Claim] {
			seen[src.Claim] = true
			out = append(out, m)
		}
	}
	return out
}

// claimedVolumes are the claims a service's tasks share.
func claimedVolumes(svc *swarmv1.Service) []string {
	var out []string
	for _, m := range ClaimMounts(svc) {
		out = append(out, m.Source)
	}
	return out
}

// SharesClaims tells whether a service's tasks are kept on one node because they share claims
// (ClaimMounts): Swarm gives each node its own local volume; kubeswarm's claim is ReadWriteOnce
// (objects.VolumeClaim), which pods on one node may share but pods on two may not, so tasks
// spread over nodes would wait forever for the volume. Together they all run and share the data,
// which sharedClaimRule says. The rule is in the template whatever the replicas, so that scaling
// never replaces tasks. A global service cannot be kept on one node: its tasks on other nodes
// wait for the claim, which sharedClaimRule says too. A replicated service's named volumes are
// per slot unless kept shared (SlotClaims), so this is about those kept shared.
func SharesClaims(svc *swarmv1.Service) bool {
	return !svc.Spec.Mode.IsGlobal() && len(claimedVolumes(svc)) > 0
}

// sharedClaimRule reports what becomes of Swarm's one volume per node when tasks share a claim.
func sharedClaimRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	claims := claimedVolumes(svc)
	if len(claims) == 0 {
		return nil, nil
	}
	if svc.Spec.Mode.IsGlobal() {
		return []string{fmt.Sprintf("mounts: the tasks of a global service share the claim %s, which only the tasks of one node can mount (ReadWriteOnce); Swarm gives each node its own volume", strings.Join(claims, ", "))}, nil
	}
	if ptr.Deref(svc.Spec.Replicas, 1) > 1 {
		notes = append(notes, fmt.Sprintf("mounts: the tasks share the claim %s (ReadWriteOnce; kept shared: an external volume, one another service mounts, or one whose claim existed), so they all run on the node that holds it; Swarm gives each node its own volume", strings.Join(claims, ", ")))
		if p := svc.Spec.Placement; p != nil && p.MaxReplicasPerNode != nil && *p.MaxReplicasPerNode > 0 {
			notes = append(notes, fmt.Sprintf("placement.maxReplicasPerNode=%d: with the shared claim at most that many tasks run", *p.MaxReplicasPerNode))
		}
	}
	return notes, nil
}
