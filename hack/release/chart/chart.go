// Package chart writes kubeswarm's Helm chart from the objects a release installs
// (install.Objects, the same ones dist/install.yaml holds), so that `helm install` with the
// default values and `kubectl apply -f install.yaml` give the same objects: only where a value
// goes (the operator's image, replicas, flags, scheduling) is written by hand.
package chart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubeswarm/kubeswarm/internal/install"
	ksversion "github.com/kubeswarm/kubeswarm/internal/version"
)

// Name is the chart's name.
const Name = "kubeswarm"

// KubeVersion is the chart's kubeVersion: the operator relies on Kubernetes' container restart
// rules (beta and on by default since v1.35) for Swarm's restart conditions, and is built with
// client-go v0.37. "-0" admits the pre-release and vendor suffixes (v1.35.2-eks-…).
const KubeVersion = ">= 1.35.0-0"

// Write writes the chart of objs, release version (v0.3.0), into dir, which is to be empty or
// absent: a template left from another release would be installed with this one. The Namespace
// is not a template: `helm install --create-namespace` (or the user) makes the release's
// namespace. The same objs and version give the same bytes.
func Write(dir string, objs []*unstructured.Unstructured, version string) error {
	if !ksversion.Released(version) {
		return fmt.Errorf("writing the chart of version %q: not a release (vMAJOR.MINOR.PATCH)", version)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("writing the chart: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing the chart: %w", err)
	}
	files, err := chartFiles(objs, version)
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing the chart: %w", err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return fmt.Errorf("writing the chart: %w", err)
		}
	}
	return nil
}

type file struct {
	path string
	data []byte
}

// chartFiles are the chart's files, by path.
func chartFiles(objs []*unstructured.Unstructured, version string) ([]file, error) {
	var dep *unstructured.Unstructured
	var podSecurity []string
	for _, u := range objs {
		switch {
		case u.GetKind() == "Deployment" && u.GetName() == install.Deployment:
			dep = u
		case u.GetKind() == "Namespace" && u.GetName() == install.Namespace:
			for k, v := range u.GetLabels() {
				if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
					podSecurity = append(podSecurity, k+"="+v)
				}
			}
		}
	}
	if dep == nil {
		return nil, fmt.Errorf("writing the chart: no Deployment %s among the objects", install.Deployment)
	}
	sort.Strings(podSecurity)
	c, _, err := managerContainer(dep)
	if err != nil {
		return nil, err
	}
	vals, err := values(dep, c)
	if err != nil {
		return nil, err
	}
	valuesFile, err := valuesYAML(vals)
	if err != nil {
		return nil, err
	}
	schemaFile, err := schema(vals)
	if err != nil {
		return nil, err
	}
	table, err := valuesTable(vals)
	if err != nil {
		return nil, err
	}
	files := []file{
		{"Chart.yaml", chartYAML(version)},
		{"values.yaml", valuesFile},
		{"values.schema.json", schemaFile},
		{"README.md", readme(version, podSecurity, table)},
		{".helmignore", []byte(helmignore)},
		{"templates/_helpers.tpl", []byte(helpers)},
		{"templates/NOTES.txt", []byte(notes)},
	}
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			continue
		}
		p := templatePath(u)
		if slices.ContainsFunc(files, func(f file) bool { return f.path == p }) {
			return nil, fmt.Errorf("writing the chart: two objects would be %s", p)
		}
		text, err := objectTemplate(u, vals)
		if err != nil {
			return nil, err
		}
		files = append(files, file{p, []byte(text)})
	}
	return files, nil
}

// templatePath is where u's template goes: CRDs in templates/crd by name, the rest by kind and
// name without the kubeswarm- prefix (templates/clusterrole-manager-role.yaml).
func templatePath(u *unstructured.Unstructured) string {
	if u.GetKind() == "CustomResourceDefinition" {
		return "templates/crd/" + u.GetName() + ".yaml"
	}
	return "templates/" + strings.ToLower(u.GetKind()) + "-" + strings.TrimPrefix(u.GetName(), "kubeswarm-") + ".yaml"
}

func chartYAML(version string) []byte {
	q := func(s string) string {
		y, _ := yaml.Marshal(s)
		return strings.TrimSuffix(string(y), "\n")
	}
	return []byte(`apiVersion: v2
name: ` + Name + `
description: The kubeswarm operator and its CRDs (Services, Stacks, Nodes), for Docker Swarm's experience on Kubernetes.
type: application
version: ` + q(strings.TrimPrefix(version, "v")) + `
appVersion: ` + q(version) + `
kubeVersion: ` + q(KubeVersion) + `
home: https://github.com/kubeswarm/kubeswarm
sources:
  - https://github.com/kubeswarm/kubeswarm
keywords:
  - docker
  - swarm
  - compose
  - operator
`)
}

const helmignore = `# Patterns to ignore when packaging the chart.
.DS_Store
.git/
.gitignore
*.swp
*.bak
*.tmp
*.orig
*~
.idea/
.vscode/
`

const helpers = `{{/*
The chart and its version, as the helm.sh/chart label carries them.
*/}}
{{- define "kubeswarm.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Helm's labels, on every object's metadata only: never on the operator's selector or pod template,
since a Deployment's selector cannot change on upgrade.
*/}}
{{- define "kubeswarm.labels" -}}
helm.sh/chart: {{ include "kubeswarm.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The operator's image: by digest when there is one (a tag beside it, as in repo:v1@sha256:…, is
kept, so that the defaults write the image install.yaml has), else by tag (the chart's appVersion
by default).
*/}}
{{- define "kubeswarm.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}{{ with .Values.image.tag }}:{{ . }}{{ end }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}
`

const notes = `kubeswarm {{ .Chart.AppVersion }}: {{ .Values.replicas }} operator replica(s) in namespace {{ .Release.Namespace }}.

  kubectl -n {{ .Release.Namespace }} rollout status deployment/` + install.Deployment + `
  kubectl swarm node ls
{{- if ne .Release.Namespace "` + install.Namespace + `" }}

kubectl swarm (info, init) looks for the operator in ` + install.Namespace + `/` + install.Deployment + `:
installed in {{ .Release.Namespace }}, it is not found there.
{{- end }}
{{- if .Values.crds.keep }}

helm uninstall leaves kubeswarm's CRDs, and with them every Service and Stack and their volume
claims; deleting the CRDs deletes those.
{{- end }}
`

func readme(version string, podSecurity []string, table string) []byte {
	var label string
	if len(podSecurity) > 0 {
		label = "kubectl label namespace " + install.Namespace + " " + strings.Join(podSecurity, " ") + "\n"
	}
	return []byte(`# kubeswarm

Docker Swarm's experience on Kubernetes: the kubeswarm operator (` + "`" + install.Namespace + "/" + install.Deployment + "`" + `)
and its CRDs. This chart (` + version + `) is written from the same objects as the release's
install.yaml: with the default values it installs the same objects, with Helm's labels.

## Install

` + "```sh" + `
kubectl create namespace ` + install.Namespace + `
` + label + `helm install kubeswarm <chart> --namespace ` + install.Namespace + `
` + "```" + `

The chart does not create its namespace: create it beforehand as above (install.yaml's namespace
carries the Pod Security label shown), or let ` + "`helm install --create-namespace`" + ` create it
without the label. Install into ` + install.Namespace + `: kubectl swarm looks for the operator
there. The objects' names are fixed (kubeswarm-…): one release per cluster.

A cluster installed with install.yaml or ` + "`kubectl swarm init`" + ` is not a Helm release: Helm
refuses to take its objects over.

## Upgrade and uninstall

The CRDs are templates, not ` + "`crds/`" + `, so that ` + "`helm upgrade`" + ` upgrades them too
(` + "`crds.install=false`" + ` to manage them apart). ` + "`helm uninstall`" + ` leaves them
(` + "`crds.keep`" + `): deleting a CRD deletes every user's Services or Stacks, and with them their
volume claims.

## Values

` + table)
}
