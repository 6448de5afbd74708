package translate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
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
	"Node.Hostname": {"SWARM_NODE_HOSTNAME", "spec.nodeName"},
	"Node.ID":       {"SWARM_NODE_ID", "spec.nodeName"},
	"Task.Name":     {"SWARM_TASK_NAME", "metadata.name"},
	"Task.ID":       {"SWARM_TASK_ID", "metadata.uid"},
}

// expandTemplates replaces the templates of s: service facts by their value, node and task facts
// by $(VAR) references (their names are added to vars). Templates Kubernetes cannot give are
// left as they are and named in the returned list.
func expandTemplates(s string, svc *swarmv1.Service, vars map[string]bool) (string, []string) {
	var unsupported []string
	out := templateRE.ReplaceAllStringFunc(s, func(m string) string {
		key := templateRE.FindStringSubmatch(m)[1]
		switch key {
		case "Service.Name":
			return svc.Name
		case "Service.ID":
			return string(svc.UID)
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

// envWithTemplates builds the container's environment: the downward-API variables the templates
// need come first, so that the service's own variables can refer to them.
func envWithTemplates(svc *swarmv1.Service, notes *[]string) []*corev1ac.EnvVarApplyConfiguration {
	vars := map[string]bool{}
	var env []*corev1ac.EnvVarApplyConfiguration
	var unsupported []string
	for _, e := range svc.Spec.Env {
		v, bad := expandTemplates(e.Value, svc, vars)
		unsupported = append(unsupported, bad...)
		env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValue(v))
	}
	if len(unsupported) > 0 {
		*notes = append(*notes, fmt.Sprintf("env: templates %s have no Kubernetes equivalent (there are no task slots) and are left as written", strings.Join(unsupported, ", ")))
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	head := make([]*corev1ac.EnvVarApplyConfiguration, 0, len(keys))
	for _, k := range keys {
		d := downward[k]
		head = append(head, corev1ac.EnvVar().WithName(d.env).WithValueFrom(corev1ac.EnvVarSource().
			WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(d.field))))
	}
	return append(head, env...)
}

// hostname is the pod hostname of the service's tasks ("" for Kubernetes' own: the pod's name),
// and a note when it only approximates Swarm's:
//
//   - Templates of the task or its node ({{.Task.Slot}}, {{.Node.Hostname}}, …) give each task
//     its own hostname in Swarm (swarmkit template/context.go); a Kubernetes workload gives all
//     its pods one template, so the tasks keep their pod names as hostnames, which are also
//     unique per task.
//   - A hostname with dots (db.example.com): a pod's hostname is a DNS label, so the tasks get
//     the first label (db); the domain is not set.
//
// A hostname that is still no DNS label (db_1, Web) is refused, naming the rule.
func hostname(svc *swarmv1.Service) (string, string, error) {
	written := svc.Spec.Hostname
	vars := map[string]bool{}
	h, bad := expandTemplates(written, svc, vars)
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
