package install

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeswarm/kubeswarm/internal/version"
)

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubeswarm-controller-manager
  namespace: kubeswarm-system
spec:
  template:
    metadata:
      labels:
        control-plane: controller-manager
    spec:
      containers:
      - name: manager
        image: kubeswarm/manager:dev
      - name: other
        image: other:1
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubeswarm-manager-role
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: services.swarm.kubeswarm.io
---
apiVersion: v1
kind: Namespace
metadata:
  name: kubeswarm-system
`

func TestObjects(t *testing.T) {
	cases := []struct {
		name       string
		opts       Options
		wantImage  string
		wantLabels map[string]string
	}{
		{name: "development manifests as they are", wantImage: version.DevImage},
		{name: "dev writes no version", opts: Options{Version: version.Dev}, wantImage: version.DevImage},
		{
			name:       "a release stamps its image and version",
			opts:       Options{Image: "reg.example/kubeswarm/manager@sha256:abc", Version: "v0.3.0"},
			wantImage:  "reg.example/kubeswarm/manager@sha256:abc",
			wantLabels: map[string]string{version.Label: "v0.3.0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Objects([]byte(manifests), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, u := range objs {
				kinds = append(kinds, u.GetKind())
				var want map[string]string
				if tc.wantLabels != nil {
					want = tc.wantLabels
				}
				if diff := cmp.Diff(want, u.GetLabels()); diff != "" {
					t.Errorf("%s labels (-want +got):\n%s", u.GetKind(), diff)
				}
			}
			if diff := cmp.Diff([]string{"Namespace", "CustomResourceDefinition", "ClusterRole", "Deployment"}, kinds); diff != "" {
				t.Errorf("apply order (-want +got):\n%s", diff)
			}
			if got := OperatorImage(objs); got != tc.wantImage {
				t.Errorf("operator image %q, want %q", got, tc.wantImage)
			}
			tmpl := objs[3].Object["spec"].(map[string]any)["template"].(map[string]any)
			if diff := cmp.Diff(map[string]any{"control-plane": "controller-manager"}, tmpl["metadata"].(map[string]any)["labels"]); diff != "" {
				t.Errorf("the pod template's labels changed (-want +got):\n%s", diff)
			}
			other := tmpl["spec"].(map[string]any)["containers"].([]any)[1].(map[string]any)["image"]
			if other != "other:1" {
				t.Errorf("another container's image became %v", other)
			}
		})
	}
}

func TestMirror(t *testing.T) {
	cases := []struct{ image, registry, want, wantErr string }{
		{image: "ghcr.io/kubeswarm/manager@sha256:abc", registry: "mirror.example:5000/team", want: "mirror.example:5000/team/manager@sha256:abc"},
		{image: "ghcr.io/kubeswarm/manager:v0.3.0@sha256:abc", registry: "mirror.example/", want: "mirror.example/manager:v0.3.0@sha256:abc"},
		{image: "localhost:5000/manager:v1", registry: "10.0.0.1:5000", want: "10.0.0.1:5000/manager:v1"},
		{image: "kubeswarm/manager:dev", registry: "reg.example/a/b", want: "reg.example/a/b/manager:dev"},
		{image: "manager", registry: "reg.example", want: "reg.example/manager"},
		{image: "manager", registry: "", wantErr: `--registry "": want a registry host and path, e.g. mirror.example:5000/kubeswarm`},
		{image: "manager", registry: "https://reg.example", wantErr: `--registry "https://reg.example": want a registry host and path, e.g. mirror.example:5000/kubeswarm`},
		{image: "manager", registry: "reg.example/x@sha256:1", wantErr: `--registry "reg.example/x@sha256:1": want a registry host and path, e.g. mirror.example:5000/kubeswarm`},
	}
	for _, tc := range cases {
		got, err := Mirror(tc.image, tc.registry)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.wantErr {
			t.Errorf("Mirror(%q, %q) = %q, %q; want %q, %q", tc.image, tc.registry, got, gotErr, tc.want, tc.wantErr)
		}
	}
}
