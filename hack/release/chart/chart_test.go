package chart

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubeswarm/kubeswarm/internal/cli/manifests"
	"github.com/kubeswarm/kubeswarm/internal/install"
)

const (
	testDigest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testImage   = "registry.example/kubeswarm/manager@" + testDigest
	testVersion = "v0.3.0"
)

// embeddedObjects are the objects of config/default as `make cli-manifests` built them (kept in
// step by `make verify`), stamped as a release stamps them; the tests with helm build their own
// with kustomize.
func embeddedObjects(t *testing.T, image string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := install.Objects(manifests.KubeSwarm, install.Options{Image: image, Version: testVersion})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// readChart is every file under dir, by path.
func readChart(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestWriteIsDeterministic(t *testing.T) {
	objs := embeddedObjects(t, testImage)
	before := make([]*unstructured.Unstructured, len(objs))
	for i, u := range objs {
		before[i] = u.DeepCopy()
	}
	a, b := t.TempDir(), filepath.Join(t.TempDir(), "dist", "chart")
	for _, dir := range []string{a, b} {
		if err := Write(dir, objs, testVersion); err != nil {
			t.Fatal(err)
		}
	}
	first, second := readChart(t, a), readChart(t, b)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two writes of the same objects differ (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(before, objs); diff != "" {
		t.Errorf("Write changed the objects (-before +after):\n%s", diff)
	}
	var paths []string
	for p := range first {
		paths = append(paths, p)
	}
	want := []string{
		".helmignore", "Chart.yaml", "README.md",
		"templates/NOTES.txt", "templates/_helpers.tpl",
		"templates/clusterrole-manager-role.yaml", "templates/clusterrole-swarm-editor-role.yaml",
		"templates/clusterrole-swarm-viewer-role.yaml", "templates/clusterrolebinding-manager-rolebinding.yaml",
		"templates/crd/nodes.swarm.kubeswarm.io.yaml", "templates/crd/services.swarm.kubeswarm.io.yaml",
		"templates/crd/stacks.swarm.kubeswarm.io.yaml", "templates/deployment-controller-manager.yaml",
		"templates/role-leader-election-role.yaml", "templates/rolebinding-leader-election-rolebinding.yaml",
		"templates/serviceaccount-controller-manager.yaml",
		"values.schema.json", "values.yaml",
	}
	slices.Sort(paths)
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestChartYAML(t *testing.T) {
	type chartYAML struct {
		APIVersion  string `json:"apiVersion"`
		Name        string `json:"name"`
		Type        string `json:"type"`
		Version     string `json:"version"`
		AppVersion  string `json:"appVersion"`
		KubeVersion string `json:"kubeVersion"`
	}
	for _, version := range []string{"v0.3.0", "v1.2.3-rc.1"} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(dir, embeddedObjects(t, testImage), version); err != nil {
				t.Fatal(err)
			}
			var got chartYAML
			if err := yaml.Unmarshal([]byte(readChart(t, dir)["Chart.yaml"]), &got); err != nil {
				t.Fatal(err)
			}
			want := chartYAML{
				APIVersion:  "v2",
				Name:        "kubeswarm",
				Type:        "application",
				Version:     strings.TrimPrefix(version, "v"),
				AppVersion:  version,
				KubeVersion: ">= 1.35.0-0",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Chart.yaml (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	withArg := func(arg string) []*unstructured.Unstructured {
		objs := embeddedObjects(t, testImage)
		for _, u := range objs {
			if u.GetKind() == "Deployment" {
				c, containers, err := managerContainer(u)
				if err != nil {
					t.Fatal(err)
				}
				c["args"] = append(c["args"].([]any), arg)
				if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
					t.Fatal(err)
				}
			}
		}
		return objs
	}
	var noOperator []*unstructured.Unstructured
	for _, u := range embeddedObjects(t, testImage) {
		if u.GetKind() != "Deployment" {
			noOperator = append(noOperator, u)
		}
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		dir     string
		objs    []*unstructured.Unstructured
		version string
		wantErr string
	}{
		{name: "a development build", version: "dev", wantErr: `version "dev": not a release`},
		{name: "a directory with files", dir: full, wantErr: "is not empty"},
		{name: "no operator", objs: noOperator, wantErr: "no Deployment kubeswarm-controller-manager"},
		{name: "a flag in a form the chart does not write", objs: withArg("--allow-bind-mounts=true"),
			wantErr: `allowBindMounts: the Deployment's arg "--allow-bind-mounts=true" is not in the form`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dir == "" {
				tc.dir = t.TempDir()
			}
			if tc.objs == nil {
				tc.objs = embeddedObjects(t, testImage)
			}
			if tc.version == "" {
				tc.version = testVersion
			}
			err := Write(tc.dir, tc.objs, tc.version)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Write: got error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestValuesDefaults: the defaults are read from the objects, so that they render them.
func TestValuesDefaults(t *testing.T) {
	type image struct {
		Repository, Tag, Digest, PullPolicy string
	}
	cases := []struct {
		image string
		want  image
	}{
		{image: testImage, want: image{Repository: "registry.example/kubeswarm/manager", Digest: testDigest}},
		{image: "registry.example:5000/kubeswarm/manager:v0.3.0", want: image{Repository: "registry.example:5000/kubeswarm/manager", Tag: "v0.3.0"}},
		{image: "registry.example:5000/manager", want: image{Repository: "registry.example:5000/manager"}},
		{image: "kubeswarm/manager:v0.3.0@sha256:abc", want: image{Repository: "kubeswarm/manager", Tag: "v0.3.0", Digest: "sha256:abc"}},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			objs := embeddedObjects(t, tc.image)
			dir := t.TempDir()
			if err := Write(dir, objs, testVersion); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Image          image
				Replicas       int
				LeaderElection struct{ Enabled bool }
				Resources      map[string]any
				Tolerations    []any
				NodeSelector   map[string]any
				Routes         struct{ ExposedByDefault bool }
			}
			if err := yaml.Unmarshal([]byte(readChart(t, dir)["values.yaml"]), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Image); diff != "" {
				t.Errorf("image (-want +got):\n%s", diff)
			}
			dep := objs[len(objs)-1]
			c, _, err := managerContainer(dep)
			if err != nil {
				t.Fatal(err)
			}
			tolerations, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "tolerations")
			if got.Replicas != 3 || !got.LeaderElection.Enabled || !got.Routes.ExposedByDefault {
				t.Errorf("replicas %d, leaderElection.enabled %v, routes.exposedByDefault %v: want 3, true (--leader-elect), true",
					got.Replicas, got.LeaderElection.Enabled, got.Routes.ExposedByDefault)
			}
			if diff := cmp.Diff(c["resources"], any(got.Resources)); diff != "" {
				t.Errorf("resources (-Deployment +values):\n%s", diff)
			}
			if diff := cmp.Diff(tolerations, got.Tolerations); diff != "" {
				t.Errorf("tolerations (-Deployment +values):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{}, got.NodeSelector); diff != "" {
				t.Errorf("nodeSelector (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFill(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*templater, map[string]any)
		want    string
		wantErr string
	}{
		{
			name: "a value",
			edit: func(t *templater, m map[string]any) {
				m["spec"] = map[string]any{"replicas": t.scalar(".Values.replicas")}
			},
			want: "spec:\n  replicas: {{ .Values.replicas }}\n",
		},
		{
			name: "an optional value that is the first key of a list item",
			edit: func(t *templater, m map[string]any) {
				m["items"] = []any{map[string]any{"a": t.optional(".Values.a", false), "b": 1}}
			},
			wantErr: "placing optional a: it is the first key of a list item",
		},
		{
			name: "braces of the objects' own",
			edit: func(t *templater, m map[string]any) { m["description"] = "{{ .Spec.Branch }}" },
			want: `description: '{{ "{{" }} .Spec.Branch }}'` + "\n",
		},
		{
			name:    "a token inside a string",
			edit:    func(t *templater, m map[string]any) { m["description"] = "see " + t.scalar("x") },
			wantErr: "token in an unexpected place",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := &templater{}
			m := map[string]any{}
			tc.edit(tm, m)
			y, err := yaml.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.fill(escape(string(y)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("template (-want +got):\n%s", diff)
			}
		})
	}
}
