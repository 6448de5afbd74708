package translate

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
)

// Per-task identity. Swarm numbers the tasks of a replicated service by slot (1…replicas), and a
// task's slot outlives it: its replacement (after an update, a restart, a node failure) takes the
// same slot (swarmkit manager/orchestrator/replicated). Templates see it ({{.Task.Slot}},
// swarmkit template/context.go), and a node's local volume holds the data of the tasks that ran
// there. A Deployment's pods have no slot; a StatefulSet's have one, their ordinal, and a claim
// per ordinal from its volumeClaimTemplates. So a replicated service that needs its tasks'
// slots (PerSlot) runs as a StatefulSet whose ordinals start at 1: the ordinal is the slot.

// AnnotationVolumes is on a Service made by a Stack: what the stack declares of the volumes the
// service mounts (VolumeInfo, by claim name), as JSON. A user may write it on a standalone service
// too, to keep a claim shared ({"myclaim": {"shared": true}}).
const AnnotationVolumes = "swarm.kubeswarm.io/volumes"

// LabelSlotsOf is on the claims of a per-slot volume (one per slot): the service whose slots they
// hold. `volume ls` shows such a claim by its own name (data-web-1), not the volume's.
const LabelSlotsOf = "swarm.kubeswarm.io/slots-of"

// SlotEnv is the variable that holds a task's slot (Task.Slot), from the pod's ordinal label.
const SlotEnv = files.EnvTaskSlot

// VolumeInfo is what a Stack declares of a volume one of its services mounts.
type VolumeInfo struct {
	// Volume is the compose name of the volume (the claims' LabelVolume).
	Volume string `json:"volume,omitempty"`
	// Shared: the tasks share one claim (an external volume, or a volume that two services of
	// the stack mount, or a global or job service's), as before per-slot claims.
	Shared bool `json:"shared,omitempty"`
	// Size and StorageClassName of the stack's volume, for each slot's claim.
	Size             *resource.Quantity `json:"size,omitempty"`
	StorageClassName *string            `json:"storageClassName,omitempty"`
	// Existing: the volume's one claim existed before the service ran per slot (an earlier
	// kubeswarm made it, or the user did before the service, labelled as kubeswarm's), so the tasks keep sharing
	// it (Claims.KeepsClaim). Set by the operator on its in-memory copy (WithExistingClaims).
	Existing bool `json:"existing,omitempty"`
}

// Claims are the claims of a namespace that the operator sees (kubeswarm's, labelled
// LabelManagedBy, not being deleted), by name, each with the service whose slots it holds
// (LabelSlotsOf), "" for a claim that is no slot's.
type Claims map[string]string

// KeepsClaim tells whether a volume of service that would be per slot keeps its one claim,
// named claim, shared by the tasks as before kubeswarm had per-slot claims: the claim exists
// (made by an earlier kubeswarm, which shared it, or by the user before the service) and
// the service holds no slot claim of it yet (<claim>-<service>-<slot>). So an upgrade never
// moves a service off the claim that holds its data, and the choice is stable: the slots' own
// claims are named otherwise, and once they exist a claim of the volume's name made later does
// not take their place. Deleting the old claim (its data copied out) gives each slot its own.
func (c Claims) KeepsClaim(service, claim string) bool {
	if _, ok := c[claim]; !ok {
		return false
	}
	prefix := claim + "-" + service + "-"
	for name, of := range c {
		if of == service && strings.HasPrefix(name, prefix) {
			return false
		}
	}
	return true
}

// WithExistingClaims is svc, in a copy, with each volume that keeps its existing claim
// (Claims.KeepsClaim) marked Shared and Existing in AnnotationVolumes: the operator's view of the
// service for the pure functions (PerSlot, SlotClaims, ClaimMounts, the rules), never written
// back. A volume named with {{.Task.Slot}} is per slot in any case.
func WithExistingClaims(svc *swarmv1.Service, claims Claims) (*swarmv1.Service, error) {
	slots, err := SlotClaims(svc)
	if err != nil || len(slots) == 0 {
		return svc, err
	}
	infos, err := VolumeInfos(svc)
	if err != nil {
		return nil, err
	}
	if infos == nil {
		infos = map[string]VolumeInfo{}
	}
	changed := false
	for _, c := range slots {
		source := svc.Spec.Mounts[c.Mounts[0]].Source
		if c.Template != source || !claims.KeepsClaim(svc.Name, source) {
			continue
		}
		info := infos[source]
		info.Shared, info.Existing = true, true
		infos[source] = info
		changed = true
	}
	if !changed {
		return svc, nil
	}
	data, err := json.Marshal(infos)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationVolumes, err)
	}
	out := *svc
	out.Annotations = maps.Clone(svc.Annotations)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[AnnotationVolumes] = string(data)
	return &out, nil
}

// VolumeInfos reads AnnotationVolumes; a value that is no JSON is refused, naming the annotation.
func VolumeInfos(svc *swarmv1.Service) (map[string]VolumeInfo, error) {
	raw := svc.Annotations[AnnotationVolumes]
	if raw == "" {
		return nil, nil
	}
	out := map[string]VolumeInfo{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("annotation %s: %w; write a JSON object of claim name to {\"shared\": true}", AnnotationVolumes, err)
	}
	return out, nil
}

// slotRE finds {{.Task.Slot}} (with any spaces inside the braces).
var slotRE = regexp.MustCompile(`\{\{\s*\.Task\.Slot\s*\}\}`)

// hasSlot tells whether s holds {{.Task.Slot}}.
func hasSlot(s string) bool { return slotRE.MatchString(s) }

// SlotClaim is a volume that each task (slot) holds on its own: a claim template of the
// StatefulSet, whose claims are <Template>-<service>-<slot>.
type SlotClaim struct {
	// Template is the claim template's name, and the pod volume's.
	Template string
	// Volume is what the claims' LabelVolume says (the compose name of a stack's volume, else
	// the mount's source).
	Volume string
	// Mounts are the indexes of the mounts of this volume.
	Mounts []int
	// Info is what the stack declares of the volume.
	Info VolumeInfo
	// Labels are the mount's volume labels, on the claims.
	Labels map[string]string
}

// SlotClaims are the per-slot volumes of a replicated service: its named volumes held in claims
// (not NFS exports), but those shared (VolumeInfo.Shared). A source with {{.Task.Slot}}
// (data-{{.Task.Slot}}) is one per-slot volume in any case, named without the template (data).
// None for other modes.
func SlotClaims(svc *swarmv1.Service) ([]SlotClaim, error) {
	if !svc.Spec.Mode.IsReplicated() {
		return nil, nil
	}
	infos, err := VolumeInfos(svc)
	if err != nil {
		return nil, err
	}
	var out []SlotClaim
	byTemplate := map[string]int{}
	for i, m := range svc.Spec.Mounts {
		if m.Type == swarmv1.MountBind || m.Type == swarmv1.MountTmpfs || m.Source == "" {
			continue
		}
		src, err := VolumeSource(i, m)
		if err != nil {
			return nil, err
		}
		if src.Claim == "" {
			continue // an NFS export or a host directory: the tasks mount it themselves
		}
		name, templated, err := slotVolumeName(i, m.Source, svc)
		if err != nil {
			return nil, err
		}
		info := infos[m.Source]
		if info.Shared && !templated {
			continue
		}
		if k, ok := byTemplate[name]; ok {
			out[k].Mounts = append(out[k].Mounts, i)
			continue
		}
		volume := info.Volume
		if volume == "" {
			volume = name
		}
		var labels map[string]string
		if m.Volume != nil {
			labels = m.Volume.Labels
		}
		byTemplate[name] = len(out)
		out = append(out, SlotClaim{Template: name, Volume: volume, Mounts: []int{i}, Info: info, Labels: labels})
	}
	return out, nil
}

// slotSeparatorRE finds a taken-out slot template (\x00) with the separators around it.
var slotSeparatorRE = regexp.MustCompile(`[-_.]*\x00[-_.]*`)

// slotVolumeName is the claim template name of a mount's source: the source with its service
// templates expanded and {{.Task.Slot}} taken out with the separator before it (data-{{.Task.Slot}}
// is data); templated says a slot template was there. The name is a pod volume's name too, so it
// must be a DNS label.
func slotVolumeName(i int, source string, svc *swarmv1.Service) (name string, templated bool, err error) {
	templated = hasSlot(source)
	name = slotRE.ReplaceAllStringFunc(source, func(string) string { return "\x00" })
	name = slotSeparatorRE.ReplaceAllStringFunc(name, func(m string) string {
		if strings.HasPrefix(m, "\x00") || strings.HasSuffix(m, "\x00") {
			return ""
		}
		return "-"
	})
	vars := map[string]bool{}
	name, bad := ExpandTemplates(name, svc, vars)
	if len(bad) > 0 || len(vars) > 0 {
		return "", false, fmt.Errorf("mounts[%d]: source %q: only {{.Service.Name}}, {{.Service.ID}} and {{.Task.Slot}} can be expanded in a volume's name; name the volume without the others", i, source)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return "", false, fmt.Errorf("mounts[%d]: source %q: a volume that each task holds on its own is named %q, which must be a DNS label (%s); rename the volume", i, source, name, strings.Join(errs, "; "))
	}
	return name, templated, nil
}

// slotTemplates tells whether the service's env values, hostname or mount sources use
// {{.Task.Slot}}.
func slotTemplates(s *swarmv1.ServiceSpec) bool {
	if hasSlot(s.Hostname) {
		return true
	}
	for _, e := range s.Env {
		if hasSlot(e.Value) {
			return true
		}
	}
	return slices.ContainsFunc(s.Mounts, func(m swarmv1.Mount) bool { return hasSlot(m.Source) })
}

// PerSlot tells whether a service runs as a StatefulSet: a replicated service with a per-slot
// volume (SlotClaims) or a {{.Task.Slot}} template. It holds whatever the replicas, so that
// scaling never changes the workload's kind.
func PerSlot(svc *swarmv1.Service) bool {
	if !svc.Spec.Mode.IsReplicated() {
		return false
	}
	if slotTemplates(&svc.Spec) {
		return true
	}
	claims, err := SlotClaims(svc)
	return err == nil && len(claims) > 0
}

// SlotHostname is the hostname that names each task by its slot as its pod is named
// ({{.Service.Name}}-{{.Task.Slot}}), which a StatefulSet's pods have without a hostname set.
func slotHostname(svc *swarmv1.Service) bool {
	h := slotRE.ReplaceAllString(svc.Spec.Hostname, "\x00")
	h, _ = ExpandTemplates(h, svc, map[string]bool{})
	return h == svc.Name+"-\x00"
}

// SlotPodIndexField is the pod field that holds a StatefulSet pod's ordinal.
const SlotPodIndexField = "metadata.labels['" + appsv1.PodIndexLabel + "']"

// slotsRule refuses the per-slot volumes Kubernetes cannot name and a template in the source of a
// service that has no slots, and reports what the StatefulSet of a per-slot service approximates.
func slotsRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	s := &svc.Spec
	if !s.Mode.IsReplicated() {
		for i, m := range s.Mounts {
			if hasSlot(m.Source) {
				return nil, fmt.Errorf("mounts[%d]: source %q: {{.Task.Slot}} in a volume's name needs tasks with slots; only a replicated service's tasks have them (remove the template, or use mode replicated)", i, m.Source)
			}
		}
		return nil, nil
	}
	claims, err := SlotClaims(svc)
	if err != nil {
		return nil, err
	}
	notes = existingClaimNotes(svc)
	if !PerSlot(svc) {
		return notes, nil
	}
	for _, c := range claims {
		notes = append(notes, fmt.Sprintf("mounts: each task holds its own claim %s-%s-<slot> of volume %s, kept with its slot across updates and restarts; Swarm gives each node one volume, which the tasks on that node share", c.Template, svc.Name, c.Volume))
	}
	for i, m := range s.Mounts {
		if hasSlot(m.Source) {
			name, _, _ := slotVolumeName(i, m.Source, svc)
			notes = append(notes, fmt.Sprintf("mounts[%d]: source %q: each task's volume is the claim %s-%s-<slot> (Kubernetes names a StatefulSet's claims <template>-<set>-<ordinal>)", i, m.Source, name, svc.Name))
		}
	}
	notes = append(notes, "node failure: a task whose node fails keeps its slot's name and claim, so it is started again once the node is back (or its pod is deleted with --force); Swarm starts it on another node at once")
	if c := updateOrder(s); c != "" {
		notes = append(notes, c)
	}
	if rc := s.RestartPolicy.RestartOn(); rc == swarmv1.RestartNone || rc == swarmv1.RestartOnFailure {
		notes = append(notes, fmt.Sprintf("restartPolicy.condition %s: a task that ended is started again in its slot (a StatefulSet replaces its ended pods); Swarm leaves the slot stopped", rc))
	}
	return notes, nil
}

// existingClaimNotes say why a volume that would be per slot keeps its one existing claim
// (VolumeInfo.Existing), and how to give each task its own.
func existingClaimNotes(svc *swarmv1.Service) []string {
	infos, err := VolumeInfos(svc)
	if err != nil {
		return nil
	}
	var notes []string
	for _, claim := range slices.Sorted(maps.Keys(infos)) {
		if infos[claim].Existing {
			notes = append(notes, fmt.Sprintf("mounts: the tasks share the claim %[1]s, which existed before the service (made by an earlier kubeswarm, which shared it, or before the service), so that its data stays mounted; a new volume gives each task its own claim. To give each task its own claim %[1]s-%[2]s-<slot>: copy the data out, delete the claim %[1]s (the tasks then get their own claims, filled from the image) and copy the data into slot 1's claim %[1]s-%[2]s-1", claim, svc.Name))
		}
	}
	return notes
}

// updateOrder reports start-first, which a slot that keeps its name and claim cannot do: the new
// task of a slot starts once the old one is gone.
func updateOrder(s *swarmv1.ServiceSpec) string {
	for _, c := range []struct {
		field string
		cfg   *swarmv1.UpdateConfig
	}{{"updateConfig", s.UpdateConfig}, {"rollbackConfig", s.RollbackConfig}} {
		if c.cfg != nil && c.cfg.Order == swarmv1.OrderStartFirst {
			return fmt.Sprintf("%s.order start-first: each task keeps its slot's name and claim, so a slot's new task starts once the old one stopped (stop-first)", c.field)
		}
	}
	return ""
}
