package translate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

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

// hostnameTemplate expands a hostname template; only service facts can be used there, as the pod
// hostname is fixed before the task is placed.
func hostnameTemplate(svc *swarmv1.Service) (string, error) {
	vars := map[string]bool{}
	h, bad := expandTemplates(svc.Spec.Hostname, svc, vars)
	if len(bad) > 0 || len(vars) > 0 {
		return "", fmt.Errorf("hostname %q: only {{.Service.Name}} and {{.Service.ID}} can be used in a hostname on Kubernetes", svc.Spec.Hostname)
	}
	return h, nil
}
