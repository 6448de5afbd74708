package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/version"
)

// released makes this test's binary a release (version and image as the release build stamps
// them) until the test ends.
func released(t *testing.T, v, image string) {
	t.Helper()
	oldV, oldI := version.Version, version.Image
	version.Version, version.Image = v, image
	t.Cleanup(func() { version.Version, version.Image = oldV, oldI })
}

// operatorAt is the operator's Deployment as release v installed it.
func operatorAt(v, image string, ready int32) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: install.Namespace, Name: install.Deployment},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: install.Container, Image: image}}}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: ready},
	}
	if v != "" {
		d.Labels = map[string]string{version.Label: v}
	}
	return d
}

// deployedImage is the operator's image in the cluster, and its release label.
func deployedImage(t *testing.T, f *testFactory) (image, release string) {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep); err != nil {
		t.Fatalf("the operator's Deployment: %v", err)
	}
	return dep.Spec.Template.Spec.Containers[0].Image, dep.Labels[version.Label]
}

func TestInitInstallsItsOwnRelease(t *testing.T) {
	const pinned = "reg.example/kubeswarm/manager@sha256:0123"
	cases := []struct {
		name      string
		version   string
		installed *appsv1.Deployment
		crd       string // the release label of the services CRD already there
		args      []string
		wantImage string
		wantErr   string
		wantWarn  string
	}{
		{name: "fresh cluster: this release's image by digest", version: "v0.3.0", wantImage: pinned},
		{name: "a mirror", version: "v0.3.0", args: []string{"--registry", "mirror.example:5000/team"}, wantImage: "mirror.example:5000/team/manager@sha256:0123"},
		{name: "--image names another", version: "v0.3.0", args: []string{"--image", "my/manager:x"}, wantImage: "my/manager:x"},
		{name: "--image with --registry", version: "v0.3.0", args: []string{"--image", "a", "--registry", "b"}, wantErr: "--image and --registry: give one"},
		{name: "upgrade over an older release", version: "v0.3.0", installed: operatorAt("v0.2.0", "old", 3), wantImage: pinned},
		{name: "the same release again", version: "v0.3.0", installed: operatorAt("v0.3.0", pinned, 3), wantImage: pinned},
		{name: "upgrade over a development install", version: "v0.3.0", installed: operatorAt("", "kubeswarm/manager:dev", 0), wantImage: pinned},
		{
			name: "refuses to downgrade the operator", version: "v0.3.0", installed: operatorAt("v0.4.0", "new", 3),
			wantErr: "the cluster runs kubeswarm v0.4.0, newer than this kubectl-swarm (v0.3.0): init would downgrade its CRDs and operator; use a kubectl-swarm v0.4.0 or later, or --force",
		},
		{
			name: "refuses to downgrade CRDs left without an operator", version: "v0.3.0", crd: "v0.3.1",
			wantErr: "the cluster runs kubeswarm v0.3.1, newer than this kubectl-swarm (v0.3.0)",
		},
		{name: "--force downgrades", version: "v0.3.0", installed: operatorAt("v0.4.0", "new", 3), args: []string{"--force"}, wantImage: pinned},
		{
			name: "a development build over a release", installed: operatorAt("v0.3.0", pinned, 3),
			wantErr: "the cluster runs kubeswarm v0.3.0 and this kubectl-swarm is a development build (dev)",
		},
		{
			name: "a development build warns of its image", wantImage: version.DevImage,
			wantWarn: "Warning: this kubectl-swarm is a development build: it installs the operator image kubeswarm/manager:dev, which no registry has",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			image := ""
			if tc.version != "" {
				image = pinned
			}
			released(t, tc.version, image)
			var objs []client.Object
			if tc.installed != nil {
				objs = append(objs, tc.installed)
			}
			f := newTestFactory(objs...)
			if tc.crd != "" {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(crds.Kind)
				u.SetName(crds.Names[0])
				u.SetLabels(map[string]string{version.Label: tc.crd})
				if err := f.c.Create(t.Context(), u); err != nil {
					t.Fatal(err)
				}
			}
			crdsEstablishedAfter(f, 1)
			_, errOut, err := run(t, f, append([]string{"init"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("init: got error %v, want one containing %q", err, tc.wantErr)
				}
				if tc.installed != nil {
					if got, _ := deployedImage(t, f); got != tc.installed.Spec.Template.Spec.Containers[0].Image {
						t.Errorf("a refused init changed the operator's image to %s", got)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("init: %v", err)
			}
			got, release := deployedImage(t, f)
			if got != tc.wantImage {
				t.Errorf("the operator's image is %q, want %q", got, tc.wantImage)
			}
			if release != tc.version {
				t.Errorf("the Deployment's %s label is %q, want %q", version.Label, release, tc.version)
			}
			if !strings.Contains(errOut, tc.wantWarn) || (tc.wantWarn == "" && errOut != "") {
				t.Errorf("init's warnings %q, want %q", errOut, tc.wantWarn)
			}
		})
	}
}

func TestInitNamesTheMissingRightsBeforeWriting(t *testing.T) {
	f := newTestFactory()
	crdsEstablishedAfter(f, 1)
	f.denied["create customresourcedefinitions.apiextensions.k8s.io (cluster-wide)"] = true
	f.denied["patch deployments.apps (in namespace kubeswarm-system)"] = true
	_, _, err := run(t, f, "init")
	if err == nil {
		t.Fatal("init succeeded without the rights")
	}
	want := "missing rights to install kubeswarm: nothing was changed; the kubeconfig's user\n" +
		"  cannot create customresourcedefinitions.apiextensions.k8s.io (cluster-wide)\n" +
		"  cannot patch deployments.apps (in namespace kubeswarm-system)\n"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("init's error (-want +got):\n%s", cmp.Diff(want, err.Error()))
	}
	ns := &corev1.Namespace{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Name: install.Namespace}, ns); err == nil {
		t.Error("init applied the namespace before refusing")
	}
}

func TestVersionShowsBothSides(t *testing.T) {
	const pinned = "reg.example/kubeswarm/manager@sha256:0123"
	cases := []struct {
		name      string
		installed *appsv1.Deployment
		want      string
		wantWarn  string
	}{
		{
			name: "not installed",
			want: "Client: kubectl-swarm\n Version:         v0.3.0\n Operator image:  " + pinned + "\nServer: kubeswarm\n (not installed: run 'kubectl swarm init')\n",
		},
		{
			name:      "the same release",
			installed: operatorAt("v0.3.0", pinned, 2),
			want: "Client: kubectl-swarm\n Version:         v0.3.0\n Operator image:  " + pinned + "\nServer: kubeswarm\n Version:         v0.3.0\n" +
				" Operator:        kubeswarm-system/kubeswarm-controller-manager, 2/3 ready\n Image:           " + pinned + "\n",
		},
		{
			name:      "an older operator",
			installed: operatorAt("v0.2.0", "old", 3),
			want: "Client: kubectl-swarm\n Version:         v0.3.0\n Operator image:  " + pinned + "\nServer: kubeswarm\n Version:         v0.2.0\n" +
				" Operator:        kubeswarm-system/kubeswarm-controller-manager, 3/3 ready\n Image:           old\n",
			wantWarn: "Warning: kubectl-swarm v0.3.0 and the cluster's kubeswarm v0.2.0 differ",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			released(t, "v0.3.0", pinned)
			var objs []client.Object
			if tc.installed != nil {
				objs = append(objs, tc.installed)
			}
			out, errOut, err := run(t, newTestFactory(objs...), "version")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("version (-want +got):\n%s", diff)
			}
			if !strings.Contains(errOut, tc.wantWarn) || (tc.wantWarn == "" && errOut != "") {
				t.Errorf("version's warnings %q, want %q", errOut, tc.wantWarn)
			}
		})
	}
}

func TestInitRefusesWhatTheAPIServerWouldRefuse(t *testing.T) {
	f := newTestFactory()
	crdsEstablishedAfter(f, 1)
	// A delegated installer may create cluster roles, but not one granting more than it holds.
	f.c = interceptor.NewClient(f.c.(client.WithWatch), interceptor.Funcs{
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			o := &client.ApplyOptions{}
			o.ApplyOptions(opts)
			if u, ok := obj.(interface{ GetKind() string }); ok && u.GetKind() == "ClusterRole" && len(o.DryRun) > 0 {
				return apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, "kubeswarm-manager-role",
					errors.New("user attempting to grant RBAC permissions not currently held"))
			}
			return c.Apply(ctx, obj, opts...)
		},
	})
	_, _, err := run(t, f, "init")
	if err == nil || !errors.Is(err, ErrMissingRights) || !strings.Contains(err.Error(), "ClusterRole kubeswarm-manager-role: clusterroles.rbac.authorization.k8s.io \"kubeswarm-manager-role\" is forbidden: user attempting to grant RBAC permissions not currently held") {
		t.Fatalf("init: got %v, want the API server's refusal of the cluster role", err)
	}
	if err := f.c.Get(t.Context(), client.ObjectKey{Name: install.Namespace}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("init wrote the namespace before refusing: %v", err)
	}
}

func TestHelmReleaseIsHelms(t *testing.T) {
	helmCRD := func() *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(crds.Kind)
		u.SetName(crds.Names[0])
		u.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "Helm", version.Label: "v0.3.0"})
		u.SetAnnotations(map[string]string{"meta.helm.sh/release-name": "swarm", "meta.helm.sh/release-namespace": "platform"})
		return u
	}
	operator := operatorAt("v0.3.0", "reg.example/kubeswarm/manager@sha256:0123", 3)
	operator.Namespace = "platform"
	cases := []struct {
		name        string
		uninstalled bool
		args        []string
		wantErr     string
	}{
		{name: "init", args: []string{"init"}, wantErr: "kubeswarm was installed with Helm (release swarm in namespace platform): init would take its objects from Helm; upgrade it with `helm upgrade swarm CHART -n platform`, or --force to init anyway"},
		{name: "leave", args: []string{"leave", "--force", "--crds"}, wantErr: "kubeswarm was installed with Helm (release swarm in namespace platform): leave would take its objects from Helm; remove it with `helm uninstall swarm -n platform`"},
		{name: "leave after helm uninstall deletes the CRDs it kept", uninstalled: true, args: []string{"leave", "--force", "--crds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			released(t, "v0.3.0", "reg.example/kubeswarm/manager@sha256:0123")
			var objs []client.Object
			if !tc.uninstalled {
				objs = append(objs, operator.DeepCopy())
			}
			f := newTestFactory(objs...)
			if err := f.c.Create(t.Context(), helmCRD()); err != nil {
				t.Fatal(err)
			}
			crdsEstablishedAfter(f, 1)
			_, _, err := run(t, f, tc.args...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
				t.Errorf("a second operator was installed beside Helm's: %v", err)
			}
		})
	}
}
