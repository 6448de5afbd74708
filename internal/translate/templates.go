package translate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
)

// Swarm expands Go templates in env values and the hostname ({{.Service.Name}},
// {{.Node.Hostname}}, {{.Task.Name}}, …; swarmkit template/expand.go). Kubernetes expands
// $(VAR) references to earlier variables of the container, so each template that only the
// node or the pod knows becomes a reference to a variable from the downward API.
var templateRE = regexp.MustCompile(`\{\{\s*\.([A-Za-z]+(?:\.[A-Za-z]+)*)\s*\}\}`)

// downward are the templates known only once the task is placed, with the variable and the
// pod field that hold them. Swarm's node ID is shown as the node's name, which is what
// Kubernetes knows in the pod.
var downward = map[string]struct{ env, field string }{
	"Node.Hostname": {files.EnvNodeName, "spec.nodeName"},
	"Node.ID":       {"SWARM_NODE_ID", "spec.nodeName"},
	"Task.Name":     {files.EnvTaskName, "metadata.name"},
	"Task.ID":       {files.EnvTaskID, "metadata.uid"},
	// A replicated service with {{.Task.Slot}} runs as a StatefulSet whose ordinals are the
	// slots (PerSlot); the pod's ordinal label holds its slot.
	"Task.Slot": {SlotEnv, SlotPodIndexField},
	// A replicated job's slot is its pod's completion index (swarmkit numbers a replicated
	// job's slots from 0, as the index).
	jobSlotKey: {SlotEnv, JobSlotField},
}

// jobSlotKey is a replicated job's {{.Task.Slot}} in downward: no template can name it.
const jobSlotKey = "Task.Slot of a job"

// JobSlotField is the pod field that holds a replicated job's task slot: its completion index.
const JobSlotField = "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"

// SlotField is the pod field that holds the slot of svc's tasks ({{.Task.Slot}}), and whether
// they have one: a per-slot replicated service's StatefulSet ordinal, a replicated job's
// completion index.
func SlotField(svc *swarmv1.Service) (string, bool) {
	switch {
	case svc.Spec.Mode == swarmv1.ModeReplicatedJob:
		return JobSlotField, true
	case PerSlot(svc):
		return SlotPodIndexField, true
	}
	return "", false
}

// ExpandTemplates replaces the templates of s: service facts by their value, node and task facts
// by $(VAR) references (their names are added to vars). Templates Kubernetes cannot give are
// left as they are and named in the returned list: any template swarmkit does not know. A global
// service's (or global job's) {{.Task.Slot}} is its node's ID, as swarmkit falls back to
// (template/context.go); a replicated job's is its completion index.
func ExpandTemplates(s string, svc *swarmv1.Service, vars map[string]bool) (string, []string) {
	var unsupported []string
	out := templateRE.ReplaceAllStringFunc(s, func(m string) string {
		key := templateRE.FindStringSubmatch(m)[1]
		switch key {
		case "Service.Name":
			return svc.Name
		case "Service.ID":
			return string(svc.UID)
		}
		if key == "Task.Slot" && svc.Spec.Mode.IsGlobal() {
			// A global task has no slot: swarmkit gives its node's ID instead
			// (template/context.go), which is the node's name here.
			key = "Node.ID"
		} else if key == "Task.Slot" && svc.Spec.Mode == swarmv1.ModeReplicatedJob {
			key = jobSlotKey
		}
		if d, ok := downward[key]; ok {
			vars[key] = true
			return "$(" + d.env + ")"
		}
		unsupported = append(unsupported, m)
		return m
	})
	return out, unsupported
}

// envRule reports the templates of env values that Kubernetes cannot expand.
func envRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	var unsupported []string
	for _, e := range svc.Spec.Env {
		_, bad := ExpandTemplates(e.Value, svc, map[string]bool{})
		unsupported = append(unsupported, bad...)
	}
	if len(unsupported) == 0 {
		return nil, nil
	}
	return []string{fmt.Sprintf("env: templates %s are not Swarm's and are left as written", strings.Join(unsupported, ", "))}, nil
}

// DownwardVar is a variable from the downward API that expanded templates refer to.
type DownwardVar struct{ Name, FieldPath string }

// DownwardVars are the variables of the templates in vars (as ExpandTemplates records them),
// sorted, so that the container's environment is the same for the same service.
func DownwardVars(vars map[string]bool) []DownwardVar {
	out := make([]DownwardVar, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		d := downward[k]
		out = append(out, DownwardVar{Name: d.env, FieldPath: d.field})
	}
	return out
}

// hostnameRule refuses a hostname that is no DNS label and reports one that is approximated.
func hostnameRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, note, err := Hostname(svc)
	if err != nil || note == "" {
		return nil, err
	}
	return []string{note}, nil
}

// Hostname is the pod hostname of the service's tasks ("" for Kubernetes' own: the pod's name),
// and a note when it only approximates Swarm's:
//
//   - {{.Service.Name}}-{{.Task.Slot}}, the hostname that names each task by its slot, is a
//     per-slot service's pod's own name (its StatefulSet's pods are <service>-<slot>), which is
//     the pod's hostname without one set: honoured exactly, "" is returned.
//   - Other templates of the task or its node ({{.Task.Slot}}, {{.Node.Hostname}}, …) give each
//     task its own hostname in Swarm (swarmkit template/context.go); a Kubernetes workload gives
//     all its pods one template, so the tasks keep their pod names as hostnames, which are also
//     unique per task.
//   - A hostname with dots (db.example.com): a pod's hostname is a DNS label, so the tasks get
//     the first label (db); the domain is not set.
//
// A hostname that is still no DNS label (db_1, Web) is refused, naming the rule.
func Hostname(svc *swarmv1.Service) (string, string, error) {
	written := svc.Spec.Hostname
	if written == "" {
		return "", "", nil
	}
	if svc.Spec.Mode.IsReplicated() && slotHostname(svc) {
		return "", "", nil
	}
	vars := map[string]bool{}
	h, bad := ExpandTemplates(written, svc, vars)
	if len(bad) > 0 || len(vars) > 0 {
		return "", fmt.Sprintf("hostname %q: each task's hostname is its own task's name (a Kubernetes workload gives all its tasks one hostname, so per-task templates cannot be expanded)", written), nil
	}
	var note string
	if label, domain, fqdn := strings.Cut(h, "."); fqdn {
		note = fmt.Sprintf("hostname %q: a Kubernetes hostname is a single DNS label; the tasks' hostname is %q, without the domain %s", written, label, domain)
		h = label
	}
	if errs := validation.IsDNS1123Label(h); len(errs) > 0 {
		return "", "", fmt.Errorf("hostname %q: %s", written, strings.Join(errs, "; "))
	}
	return h, note, nil
}
