package chart

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubeswarm/kubeswarm/internal/install"
)

// A template is an object's YAML with template actions in chosen places. The object is edited
// first: a token (a plain string) goes where an action belongs, as a value (replicas: TOKEN) or as
// a map key (labels: {TOKEN: ""}); the object is marshalled; then each token's line is rewritten
// into its action. Marking the object rather than searching the YAML text keeps this right
// whatever order the keys are marshalled in.

const tokenPrefix = "kubeswarm-chart-token-"

var tokenRE = regexp.MustCompile(tokenPrefix + `[0-9]+`)

// helmLabels are the labels Helm's conventions put on every object's metadata (the
// kubeswarm.labels helper); the objects' own values of them (managed-by: kustomize) give way.
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance"}

// line is the YAML line holding a token: `<spaces>[- ]key: value`, the token being the key or the
// value.
type line struct {
	col  int  // the key's column
	dash bool // the key is the first of a list item ("- key: …")
	key  string
}

// head is the line up to the key's colon, as it was.
func (l line) head() string {
	if l.dash {
		return pad(l.col-2) + "- " + l.key + ":"
	}
	return pad(l.col) + l.key + ":"
}

func pad(n int) string { return strings.Repeat(" ", n) }

// templater hands out the tokens of one object and rewrites their lines.
type templater struct {
	fills []func(line) (string, error)
}

func (t *templater) token(fill func(line) (string, error)) string {
	t.fills = append(t.fills, fill)
	return tokenPrefix + strconv.Itoa(len(t.fills)-1)
}

// scalar is a value token: key: {{ expr }}.
func (t *templater) scalar(expr string) string {
	return t.token(func(l line) (string, error) { return l.head() + " {{ " + expr + " }}", nil })
}

// optional is a value token: the key with expr's value, or no key when expr is empty (an empty
// nodeSelector, no pull policy); block values (objects, lists) are written as YAML.
func (t *templater) optional(expr string, block bool) string {
	return t.token(func(l line) (string, error) {
		if l.dash {
			return "", fmt.Errorf("placing optional %s: it is the first key of a list item", l.key)
		}
		val := " {{ . }}"
		if block {
			val = fmt.Sprintf("\n%s{{- toYaml . | nindent %d }}", pad(l.col+2), l.col+2)
		}
		return fmt.Sprintf("%[1]s{{- with %[2]s }}\n%[3]s%[4]s\n%[1]s{{- end }}", pad(l.col), expr, l.head(), val), nil
	})
}

// entries is a key token: the lines lines(column) in the map in its place.
func (t *templater) entries(lines func(col int) []string) string {
	return t.token(func(l line) (string, error) {
		if l.dash {
			return "", errors.New("placing map entries: the token is the first key of a list item")
		}
		out := lines(l.col)
		for i := range out {
			out[i] = pad(l.col) + out[i]
		}
		return strings.Join(out, "\n"), nil
	})
}

// fill rewrites the lines of text that hold tokens; every token is to be found exactly once.
func (t *templater) fill(text string) (string, error) {
	used := make([]bool, len(t.fills))
	lines := strings.Split(text, "\n")
	for i, s := range lines {
		tok := tokenRE.FindString(s)
		if tok == "" {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(tok, tokenPrefix))
		l, ok := parseLine(s, tok)
		if !ok || n >= len(t.fills) || used[n] {
			return "", fmt.Errorf("placing a template action: token in an unexpected place: %q", s)
		}
		used[n] = true
		var err error
		if lines[i], err = t.fills[n](l); err != nil {
			return "", err
		}
	}
	for n, ok := range used {
		if !ok {
			return "", fmt.Errorf("placing a template action: token %d not found in the YAML", n)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func parseLine(s, tok string) (line, bool) {
	rest := strings.TrimLeft(s, " ")
	l := line{col: len(s) - len(rest)}
	if r, ok := strings.CutPrefix(rest, "- "); ok {
		rest, l.dash, l.col = r, true, l.col+2
	}
	key, val, ok := strings.Cut(rest, ": ")
	l.key = key
	return l, ok && (val == tok && !strings.Contains(key, tok) || key == tok && val == `""`)
}

// escape keeps "{{" in the objects (a CRD's description quoting a Go template) from being read
// as an action: it becomes an action that prints "{{".
func escape(yaml string) string { return strings.ReplaceAll(yaml, "{{", `{{ "{{" }}`) }

// objectTemplate is u as a template of the chart.
func objectTemplate(u *unstructured.Unstructured, vals []value) (string, error) {
	u = u.DeepCopy()
	t := &templater{}
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for _, k := range helmLabels {
		delete(labels, k)
	}
	labels[t.entries(func(col int) []string {
		return []string{fmt.Sprintf(`{{- include "kubeswarm.labels" . | nindent %d }}`, col)}
	})] = ""
	u.SetLabels(labels)
	if u.GetNamespace() == install.Namespace {
		u.SetNamespace(t.scalar(".Release.Namespace"))
	}
	crd := u.GetKind() == "CustomResourceDefinition"
	switch {
	case u.GetKind() == "RoleBinding" || u.GetKind() == "ClusterRoleBinding":
		if err := subjects(t, u); err != nil {
			return "", err
		}
	case crd:
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[t.entries(func(int) []string {
			return []string{"{{- if .Values.crds.keep }}", "helm.sh/resource-policy: keep", "{{- end }}"}
		})] = ""
		u.SetAnnotations(ann)
	case u.GetKind() == "Deployment" && u.GetName() == install.Deployment:
		if err := operator(t, u, vals); err != nil {
			return "", err
		}
	}
	y, err := yaml.Marshal(u.Object)
	if err != nil {
		return "", fmt.Errorf("writing %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	text, err := t.fill(escape(string(y)))
	if err != nil {
		return "", fmt.Errorf("templating %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if crd {
		text = "{{- if .Values.crds.install }}\n" + text + "{{- end }}\n"
	}
	return text, nil
}

// subjects follow the release's namespace, where the ServiceAccount is.
func subjects(t *templater, u *unstructured.Unstructured) error {
	subs, _, err := unstructured.NestedSlice(u.Object, "subjects")
	if err != nil {
		return fmt.Errorf("reading the subjects of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	for _, s := range subs {
		if m, ok := s.(map[string]any); ok && m["namespace"] == install.Namespace {
			m["namespace"] = t.scalar(".Release.Namespace")
		}
	}
	return unstructured.SetNestedSlice(u.Object, subs, "subjects")
}

// operator marks the operator's Deployment: replicas, scheduling, pod annotations, and its
// container's image, pull policy, resources and args come from the values. The selector and the
// pod template's labels stay as they are: a Deployment's selector cannot change on upgrade.
func operator(t *templater, u *unstructured.Unstructured, vals []value) error {
	c, containers, err := managerContainer(u)
	if err != nil {
		return err
	}
	args, _, err := unstructured.NestedStringSlice(c, "args")
	if err != nil {
		return fmt.Errorf("reading the args of container %s: %w", install.Container, err)
	}
	c["image"] = t.scalar(`include "kubeswarm.image" . | quote`)
	c["imagePullPolicy"] = t.optional(".Values.image.pullPolicy", false)
	c["resources"] = t.optional(".Values.resources", true)
	c["args"] = t.token(func(l line) (string, error) { return argsBlock(l, args, vals) })
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return fmt.Errorf("writing the containers: %w", err)
	}
	ann, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "annotations")
	if ann == nil {
		ann = map[string]string{}
	}
	// Quoted: an annotation is a string, and --set podAnnotations.x=true would give a boolean.
	ann[t.entries(func(int) []string {
		return []string{"{{- range $k, $v := .Values.podAnnotations }}", "{{ $k | quote }}: {{ $v | quote }}", "{{- end }}"}
	})] = ""
	if err := unstructured.SetNestedStringMap(u.Object, ann, "spec", "template", "metadata", "annotations"); err != nil {
		return fmt.Errorf("writing the pod annotations: %w", err)
	}
	if err := unstructured.SetNestedField(u.Object, t.scalar(".Values.replicas"), "spec", "replicas"); err != nil {
		return fmt.Errorf("writing the replicas: %w", err)
	}
	for _, k := range []string{"nodeSelector", "tolerations", "affinity"} {
		if err := unstructured.SetNestedField(u.Object, t.optional(".Values."+k, true), "spec", "template", "spec", k); err != nil {
			return fmt.Errorf("writing the pod's %s: %w", k, err)
		}
	}
	return nil
}

// managerContainer is the operator's container in Deployment u, and u's containers holding it.
func managerContainer(u *unstructured.Unstructured) (map[string]any, []any, error) {
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return nil, nil, fmt.Errorf("reading the containers of Deployment %s: %w", u.GetName(), err)
	}
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok && m["name"] == install.Container {
			return m, containers, nil
		}
	}
	return nil, nil, fmt.Errorf("finding container %s in Deployment %s: there is none", install.Container, u.GetName())
}

// argsBlock writes the operator's args: its own in their order, a flag that a value sets in its
// place (where the values' defaults keep it), the other values' flags after them, extraArgs last.
func argsBlock(l line, args []string, vals []value) (string, error) {
	ind := pad(l.col)
	out := []string{
		l.head(),
		ind + "{{- if and (not .Values.leaderElection.enabled) (gt (int .Values.replicas) 1) }}",
		ind + `{{- fail "leaderElection.enabled=false needs replicas: 1 (every replica would reconcile)" }}`,
		ind + "{{- end }}",
	}
	byFlag := map[string]value{}
	for _, v := range vals {
		if v.flag != "" {
			byFlag[v.flag] = v
		}
	}
	flagLines := func(v value) {
		delete(byFlag, v.flag)
		var s []string
		switch v.kind {
		case on:
			s = []string{"{{- if .Values." + v.path + " }}", "- " + v.flag, "{{- end }}"}
		case off:
			s = []string{"{{- if not .Values." + v.path + " }}", "- " + v.flag + "=false", "{{- end }}"}
		case text:
			s = []string{"{{- with .Values." + v.path + " }}", `- {{ print "` + v.flag + `=" . | quote }}`, "{{- end }}"}
		}
		for _, x := range s {
			out = append(out, ind+x)
		}
	}
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		if v, ok := byFlag[name]; ok {
			flagLines(v)
			continue
		}
		y, err := yaml.Marshal([]string{a})
		if err != nil {
			return "", fmt.Errorf("writing arg %q: %w", a, err)
		}
		out = append(out, ind+strings.TrimSuffix(string(y), "\n"))
	}
	for _, v := range vals {
		if _, ok := byFlag[v.flag]; ok {
			flagLines(v)
		}
	}
	out = append(out, ind+"{{- range .Values.extraArgs }}", ind+"- {{ . | quote }}", ind+"{{- end }}")
	return strings.Join(out, "\n"), nil
}
