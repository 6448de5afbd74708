package chart

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeswarm/kubeswarm/internal/install"
)

// The tests below run the pinned helm and kustomize (make test-chart builds them and sets HELM
// and KUSTOMIZE): what is tested is what `helm install` does with the chart, not a model of it.

// tool is the path of a pinned tool from env: without it the test fails in CI (CI=true), where a
// skipped test would pass unnoticed, and is skipped elsewhere.
func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (CI=true): run make test-chart, which builds helm and kustomize", env)
		}
		t.Skipf("%s is not set: run make test-chart, which builds helm and kustomize", env)
	}
	return p
}

// kustomized is `kustomize build config/default`, once for all the tests.
var kustomized = sync.OnceValues(func() ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(os.Getenv("KUSTOMIZE"), "build", "../../../config/default")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &toolError{err, stderr.String()}
	}
	return out, nil
})

type toolError struct {
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.err.Error() + ": " + e.stderr }

// releaseObjects are the objects of config/default as a release stamps them.
func releaseObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	tool(t, "KUSTOMIZE")
	manifests, err := kustomized()
	if err != nil {
		t.Fatalf("building config/default: %v", err)
	}
	objs, err := install.Objects(manifests, install.Options{Image: testImage, Version: testVersion})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// chart writes objs' chart into a directory of the test's.
func chart(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, objs, testVersion); err != nil {
		t.Fatal(err)
	}
	return dir
}

// helm runs the pinned helm with a home of the test's own, so that no repository or plugin of
// the user's takes part.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "HELM"), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &toolError{err, stderr.String()}
	}
	return string(out), nil
}

// render is `helm template kubeswarm dir` in namespace, with --set flags set.
func render(t *testing.T, dir, namespace string, set ...string) ([]*unstructured.Unstructured, string, error) {
	t.Helper()
	args := []string{"template", "kubeswarm", dir, "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		return nil, out, err
	}
	objs, err := install.Objects([]byte(out), install.Options{})
	if err != nil {
		t.Fatalf("reading helm's output: %v\n%s", err, out)
	}
	return objs, out, nil
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// TestRenderIsInstallYAML: with the default values the chart renders install.yaml's objects, all
// but the Namespace, with only these differences: Helm's labels on every object's metadata
// (managed-by: Helm instead of kustomize), the CRDs' keep policy, and the release's namespace.
func TestRenderIsInstallYAML(t *testing.T) {
	helmLabels := map[string]string{
		"helm.sh/chart":                "kubeswarm-0.3.0",
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/instance":   "kubeswarm",
	}
	braces := func(objs []*unstructured.Unstructured) {
		for _, u := range objs {
			if u.GetKind() == "ServiceAccount" {
				u.SetAnnotations(map[string]string{"example.com/note": "{{ .Spec.Branch }} is not the chart's"})
			}
		}
	}
	// An image by tag and digest, as the release build names an image it did not push.
	tagAndDigest := func(objs []*unstructured.Unstructured) {
		c, containers, err := managerContainer(objs[len(objs)-1])
		if err != nil {
			t.Fatal(err)
		}
		c["image"] = "registry.example/kubeswarm/manager:v0.3.0@" + testDigest
		if err := unstructured.SetNestedSlice(objs[len(objs)-1].Object, containers, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		namespace string
		edit      func([]*unstructured.Unstructured)
	}{
		{name: "in kubeswarm-system", namespace: install.Namespace},
		{name: "in another namespace", namespace: "swarm-operator"},
		{name: "objects with template braces of their own", namespace: install.Namespace, edit: braces},
		{name: "an image by tag and digest", namespace: install.Namespace, edit: tagAndDigest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := releaseObjects(t)
			if tc.edit != nil {
				tc.edit(objs)
			}
			rendered, out, err := render(t, chart(t, objs), tc.namespace)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]*unstructured.Unstructured{}
			for _, u := range objs {
				if u.GetKind() == "Namespace" {
					continue
				}
				u = u.DeepCopy()
				labels := u.GetLabels()
				for k, v := range helmLabels {
					labels[k] = v
				}
				u.SetLabels(labels)
				if u.GetKind() == "CustomResourceDefinition" {
					ann := u.GetAnnotations()
					ann["helm.sh/resource-policy"] = "keep"
					u.SetAnnotations(ann)
				}
				if u.GetNamespace() != "" {
					u.SetNamespace(tc.namespace)
				}
				if subs, ok, _ := unstructured.NestedSlice(u.Object, "subjects"); ok {
					for _, s := range subs {
						s.(map[string]any)["namespace"] = tc.namespace
					}
					if err := unstructured.SetNestedSlice(u.Object, subs, "subjects"); err != nil {
						t.Fatal(err)
					}
				}
				want[key(u)] = u
			}
			got := map[string]*unstructured.Unstructured{}
			for _, u := range rendered {
				got[key(u)] = u
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("helm template (-install.yaml with Helm's labels +chart):\n%s", diff)
			}
			if tc.namespace != install.Namespace && strings.Contains(out, install.Namespace) {
				t.Errorf("rendered into %s, the chart still names %s", tc.namespace, install.Namespace)
			}
		})
	}
}

// operatorView is what the values set in the operator's Deployment.
type operatorView struct {
	Replicas       int64
	Image          string
	PullPolicy     string
	Args           []string
	Resources      any
	NodeSelector   any
	Tolerations    any
	Affinity       any
	PodAnnotations map[string]string
}

func viewOf(t *testing.T, objs []*unstructured.Unstructured) operatorView {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() != "Deployment" || u.GetName() != install.Deployment {
			continue
		}
		c, _, err := managerContainer(u)
		if err != nil {
			t.Fatal(err)
		}
		n, err := replicas(u)
		if err != nil {
			t.Fatal(err)
		}
		pod := func(k string) any {
			v, _, _ := unstructured.NestedFieldCopy(u.Object, "spec", "template", "spec", k)
			return v
		}
		args, _, _ := unstructured.NestedStringSlice(c, "args")
		ann, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "annotations")
		image, _ := c["image"].(string)
		pullPolicy, _ := c["imagePullPolicy"].(string)
		return operatorView{
			Replicas: n, Image: image, PullPolicy: pullPolicy, Args: args, Resources: c["resources"],
			NodeSelector: pod("nodeSelector"), Tolerations: pod("tolerations"), Affinity: pod("affinity"),
			PodAnnotations: ann,
		}
	}
	t.Fatal("no operator Deployment among the objects")
	return operatorView{}
}

// TestValues: each value lands in the operator's Deployment as documented.
func TestValues(t *testing.T) {
	objs := releaseObjects(t)
	dir := chart(t, objs)
	defaults := viewOf(t, objs)
	const otherDigest = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	cases := []struct {
		name string
		set  []string
		want func(*operatorView)
	}{
		{name: "defaults", want: func(*operatorView) {}},
		{
			name: "one replica without leader election",
			set:  []string{"replicas=1", "leaderElection.enabled=false"},
			want: func(v *operatorView) {
				v.Replicas = 1
				v.Args = []string{"--metrics-bind-address=:8080", "--health-probe-bind-address=:8081"}
			},
		},
		{
			name: "one replica with leader election",
			set:  []string{"replicas=1"},
			want: func(v *operatorView) { v.Replicas = 1 },
		},
		{
			name: "operator flags",
			set: []string{
				"nodeDownAfter=20s", "nodeFailureTimeout=1m", "routes.mode=ingress", "routes.gateway=infra/web",
				"routes.ingressClass=traefik", "routes.exposedByDefault=false", "allowBindMounts=true",
				"nodePortRange=30000-32767", "ingressServiceType=LoadBalancer", "extraArgs={--zap-log-level=debug,--cluster-dns=none}",
			},
			want: func(v *operatorView) {
				v.Args = append(v.Args,
					"--node-down-after=20s", "--node-failure-timeout=1m", "--routes=ingress", "--gateway=infra/web",
					"--ingress-class=traefik", "--routes-exposed-by-default=false", "--allow-bind-mounts",
					"--node-port-range=30000-32767", "--ingress-service-type=LoadBalancer",
					"--zap-log-level=debug", "--cluster-dns=none")
			},
		},
		{
			name: "routes exposed by default, as the operator's default",
			set:  []string{"routes.exposedByDefault=true", "routes.mode=auto"},
			want: func(v *operatorView) { v.Args = append(v.Args, "--routes=auto") },
		},
		{
			name: "another digest",
			set:  []string{"image.digest=" + otherDigest},
			want: func(v *operatorView) { v.Image = "registry.example/kubeswarm/manager@" + otherDigest },
		},
		{
			name: "a tag",
			set:  []string{"image.digest=", "image.tag=v0.4.0", "image.pullPolicy=Always"},
			want: func(v *operatorView) { v.Image = "registry.example/kubeswarm/manager:v0.4.0"; v.PullPolicy = "Always" },
		},
		{
			name: "the chart's appVersion",
			set:  []string{"image.digest=", "image.repository=mirror.example:5000/manager"},
			want: func(v *operatorView) { v.Image = "mirror.example:5000/manager:v0.3.0" },
		},
		{
			name: "a tag beside the digest",
			set:  []string{"image.tag=v0.4.0"},
			want: func(v *operatorView) { v.Image = "registry.example/kubeswarm/manager:v0.4.0@" + testDigest },
		},
		{
			name: "scheduling and resources",
			set: []string{
				`nodeSelector.kubernetes\.io/os=linux`, "tolerations=null", "affinity=null",
				"resources.requests.memory=128Mi", `podAnnotations.prometheus\.io/scrape=true`,
			},
			want: func(v *operatorView) {
				v.NodeSelector = map[string]any{"kubernetes.io/os": "linux"}
				v.Tolerations, v.Affinity = nil, nil
				v.Resources = map[string]any{
					"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
					"requests": map[string]any{"cpu": "10m", "memory": "128Mi"},
				}
				v.PodAnnotations["prometheus.io/scrape"] = "true"
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rendered, out, err := render(t, dir, install.Namespace, tc.set...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := defaults
			want.Args = append([]string(nil), defaults.Args...)
			want.PodAnnotations = map[string]string{}
			for k, v := range defaults.PodAnnotations {
				want.PodAnnotations[k] = v
			}
			tc.want(&want)
			if diff := cmp.Diff(want, viewOf(t, rendered)); diff != "" {
				t.Errorf("the operator's Deployment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValuesRefused: values that would install a broken operator fail the install.
func TestValuesRefused(t *testing.T) {
	dir := chart(t, releaseObjects(t))
	cases := []struct {
		name    string
		set     []string
		wantErr string
	}{
		{name: "no leader election with several replicas", set: []string{"leaderElection.enabled=false"},
			wantErr: "leaderElection.enabled=false needs replicas: 1"},
		{name: "an unknown routes mode", set: []string{"routes.mode=traefik"},
			wantErr: "at '/routes/mode': value must be one of '', 'auto', 'httproute', 'ingress', 'off'"},
		{name: "an unknown ingress service type", set: []string{"ingressServiceType=ClusterIP"},
			wantErr: "at '/ingressServiceType': value must be one of '', 'NodePort', 'LoadBalancer'"},
		{name: "a misspelt value", set: []string{"replica=1"},
			wantErr: "additional properties 'replica' not allowed"},
		{name: "a misspelt nested value", set: []string{"image.digests=sha256:abc"},
			wantErr: "additional properties 'digests' not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := render(t, dir, install.Namespace, tc.set...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("helm template: got error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestCRDValues: crds.install leaves the CRDs out, crds.keep their keep policy.
func TestCRDValues(t *testing.T) {
	dir := chart(t, releaseObjects(t))
	cases := []struct {
		name     string
		set      []string
		wantCRDs map[string]string // name → helm.sh/resource-policy
	}{
		{name: "defaults", wantCRDs: map[string]string{
			"nodes.swarm.kubeswarm.io": "keep", "services.swarm.kubeswarm.io": "keep", "stacks.swarm.kubeswarm.io": "keep",
		}},
		{name: "not kept", set: []string{"crds.keep=false"}, wantCRDs: map[string]string{
			"nodes.swarm.kubeswarm.io": "", "services.swarm.kubeswarm.io": "", "stacks.swarm.kubeswarm.io": "",
		}},
		{name: "not installed", set: []string{"crds.install=false"}, wantCRDs: map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rendered, out, err := render(t, dir, install.Namespace, tc.set...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := map[string]string{}
			for _, u := range rendered {
				if u.GetKind() == "CustomResourceDefinition" {
					got[u.GetName()] = u.GetAnnotations()["helm.sh/resource-policy"]
				}
			}
			if diff := cmp.Diff(tc.wantCRDs, got); diff != "" {
				t.Errorf("CRDs and their resource policy (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLint: `helm lint --strict` passes, with the defaults and with a single replica.
func TestLint(t *testing.T) {
	dir := chart(t, releaseObjects(t))
	for name, set := range map[string][]string{
		"defaults":       nil,
		"single replica": {"--set", "replicas=1,leaderElection.enabled=false"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", dir}, set...)...)
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s", err, out)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "[WARNING]") || strings.HasPrefix(l, "[ERROR]") {
					t.Errorf("helm lint --strict: %s", l)
				}
			}
		})
	}
}
