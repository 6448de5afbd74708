//go:build upgrade

// Package upgrade is the upgrade test (make test-upgrade, run by hack/upgrade.sh): a Swarm team
// upgrades its managers without its services restarting, and upgrading kubeswarm's operator
// must restart no task either.
//
// For each way a cluster is upgraded (a path: `kubectl swarm init`, install.yaml, `helm
// upgrade`) it installs the previous release (PREVIOUS_DIR: its manager, kubectl-swarm and
// install.yaml, built by hack/upgrade.sh), runs its operator, deploys with its plugin the seed's
// stack and services of every kind, starts a rolling update, then upgrades to this tree's release
// by the path and swaps the operator while the update is half done. The CRDs and the operator's
// Deployment must then be this tree's; no task pod may have been replaced, no workload's
// template, Kubernetes Service, claim or route may have changed, the conditions carry on, and the
// update in flight completes exactly once.
package upgrade

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli/manifests"
	"github.com/kubeswarm/kubeswarm/internal/install"
	ksversion "github.com/kubeswarm/kubeswarm/internal/version"
)

// release is one side of the upgrade: its operator and plugin binaries, and the operator image
// it installs, which is also its operator's --files-image (in a cluster the operator runs the
// install-files init container from its own image).
type release struct {
	name    string
	manager string
	plugin  string
	image   string
}

var (
	k8sClient client.WithWatch
	scheme    = runtime.NewScheme()
	// kubectl and kubeconfig run kubectl against the test's cluster (KUBECTL, KUBECONFIG).
	kubectlBin string
	previous   release
	head       release
	// previousYAML is the previous release's `kustomize build config/default`.
	previousYAML string
	// helmBin is helm (HELM), for the helm path.
	helmBin string
	// pluginVersion is the version this tree's kubectl-swarm was built as, which its `init`
	// stamps on the objects ("" for a development build, which stamps none).
	pluginVersion string
)

// headImage and headVersion are what this tree's release is stamped with: another operator
// image than the previous release's, as a new release brings. previousVersion is the previous
// release's version in its chart (the release build stamps the chart's objects with it).
const (
	headImage       = "kubeswarm/manager:head"
	headVersion     = "v0.0.0-upgrade.head"
	previousVersion = "v0.0.0-upgrade.previous"
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "%v (run `make test-upgrade`, which builds the previous release and starts the cluster)\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	need := func(name string) (string, error) {
		v := os.Getenv(name)
		if v == "" {
			return "", fmt.Errorf("%s is not set", name)
		}
		return v, nil
	}
	var err error
	if kubectlBin, err = need("KUBECTL"); err != nil {
		return err
	}
	dir, err := need("PREVIOUS_DIR")
	if err != nil {
		return err
	}
	image, err := os.ReadFile(filepath.Join(dir, "image"))
	if err != nil {
		return fmt.Errorf("reading the previous release's image: %w", err)
	}
	commit := os.Getenv("PREVIOUS_COMMIT")
	previous = release{name: "previous " + commit[:min(len(commit), 7)], manager: filepath.Join(dir, "manager"),
		plugin: filepath.Join(dir, "kubectl-swarm"), image: strings.TrimSpace(string(image))}
	previousYAML = filepath.Join(dir, "install.yaml")
	head = release{name: "head", image: headImage}
	if head.manager, err = need("MANAGER_BIN"); err != nil {
		return err
	}
	if head.plugin, err = need("KUBECTL_SWARM_BIN"); err != nil {
		return err
	}
	if pluginVersion, err = clientVersion(head.plugin); err != nil {
		return err
	}
	helmBin = os.Getenv("HELM")
	cfg, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("no cluster: %w", err)
	}
	if k8sClient, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	return nil
}

// upgradePath is one way a cluster goes from the previous release to this one. Each installs
// the previous release its own way too, so that the upgrade meets what that way leaves (field
// managers, labels).
type upgradePath struct {
	name string
	// install puts the previous release's CRDs, RBAC and operator Deployment in place.
	install func(t *testing.T)
	// upgrade applies this tree's release over it.
	upgrade func(t *testing.T)
	// remove, when set, is the path's own uninstall, before the test takes off what is left
	// (removeRelease).
	remove func(t *testing.T)
	// version is the version label (app.kubernetes.io/version) the upgrade stamps on this tree's
	// objects, the CRDs among them; "" when it stamps none.
	version string
}

// upgradePaths are the ways to upgrade.
func upgradePaths() []upgradePath {
	return []upgradePath{
		{
			// kubectl swarm init: server-side apply of the manifests embedded in the plugin.
			name:    "init",
			install: func(t *testing.T) { plugin(t, previous, "", "init", "--image", previous.image) },
			upgrade: func(t *testing.T) { plugin(t, head, "", "init", "--image", head.image) },
			version: pluginVersion,
		},
		{
			// install.yaml: the release's objects (install.Objects), applied by kubectl.
			name:    "install-yaml",
			install: func(t *testing.T) { kubectl(t, nil, "apply", "--server-side", "-f", previousYAML) },
			upgrade: func(t *testing.T) {
				kubectl(t, headInstallYAML(t), "apply", "--server-side", "--force-conflicts", "-f", "-")
			},
			version: headVersion,
		},
		{
			// helm: `helm install` of the previous release's chart, then `helm upgrade` to this
			// tree's. The previous release predates the chart: its chart is made as the release
			// build would have made it, by this tree's chart.Write over its install.yaml's
			// objects (helm adopts no objects it did not make, so it cannot upgrade a cluster
			// installed another way). The chart's CRDs are templates, so helm upgrades them.
			name: "helm",
			install: func(t *testing.T) {
				helm(t, "install", helmRelease, writeChart(t, "previous", previousObjects(t), previousVersion),
					"--namespace", install.Namespace, "--create-namespace", "--wait", "--timeout", "2m")
			},
			upgrade: func(t *testing.T) {
				helm(t, "upgrade", helmRelease, writeChart(t, "head", headObjects(t), headVersion),
					"--namespace", install.Namespace, "--wait", "--timeout", "2m")
			},
			remove: func(t *testing.T) {
				helm(t, "uninstall", helmRelease, "--namespace", install.Namespace, "--ignore-not-found", "--wait", "--timeout", "2m")
			},
			version: headVersion,
		},
	}
}

// headObjects are this tree's release objects: the manifests `kubectl swarm init` embeds (make
// verify keeps them `kustomize build config/default`), stamped as a release stamps them.
func headObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := install.Objects(manifests.KubeSwarm, install.Options{Image: head.image, Version: headVersion})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// previousObjects are the previous release's objects (its install.yaml), stamped with
// previousVersion as a release would have stamped them.
func previousObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(previousYAML)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Objects(b, install.Options{Image: previous.image, Version: previousVersion})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// headInstallYAML is this tree's install.yaml (headObjects).
func headInstallYAML(t *testing.T) []byte {
	t.Helper()
	y, err := install.YAML(headObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestUpgrade runs every path (UPGRADE_PATHS: some of them, by name), one after the other: each
// has the cluster to itself.
func TestUpgrade(t *testing.T) {
	paths := upgradePaths()
	if only := strings.Fields(strings.ReplaceAll(os.Getenv("UPGRADE_PATHS"), ",", " ")); len(only) > 0 {
		var names []string
		for _, p := range paths {
			names = append(names, p.name)
		}
		paths = slices.DeleteFunc(paths, func(p upgradePath) bool { return !slices.Contains(only, p.name) })
		for _, n := range only {
			if !slices.Contains(names, n) {
				t.Fatalf("UPGRADE_PATHS: no path %q (the paths: %s)", n, strings.Join(names, ", "))
			}
		}
	}
	removeLeftovers(t)
	var timings []string
	for _, p := range paths {
		start := time.Now()
		ok := t.Run(p.name, func(t *testing.T) { runPath(t, p) })
		timings = append(timings, fmt.Sprintf("%s %.0fs (ok %v)", p.name, time.Since(start).Seconds(), ok))
	}
	t.Logf("paths: %s", strings.Join(timings, ", "))
}

// runPath is the whole upgrade by one path, on a cluster without kubeswarm: install the
// previous release, deploy, start an update, upgrade, check.
func runPath(t *testing.T, p upgradePath) {
	clock := newStopwatch(t)
	remove := func() {
		if p.remove != nil {
			p.remove(t)
		}
		removeRelease(t)
	}
	remove()
	t.Cleanup(remove)
	clock.lap("removed any earlier release")

	p.install(t)
	waitCRDs(t)
	clock.lap("installed the previous release (" + previous.name + ")")
	crdsBefore := readCRDs(t)
	metrics := freeAddr(t)
	ops := &operators{}
	ops.start(t, p.name, previous, metrics)
	ns := newNamespace(t, p.name, ops)
	deploy(t, ns)
	waitConverged(t, ns)
	clock.lap("deployed with the previous plugin, converged")

	pods := watchPods(t, ns)
	updateAt := time.Now()
	startUpdate(t, ns)
	clock.lap("update of " + inFlight + " under way")
	before := record(t, ns)
	save(t, p.name+"-before", before)

	upgradeAt := time.Now()
	p.upgrade(t)
	waitCRDs(t)
	checkCRDs(t, crdsBefore, p.version)
	checkOperatorDeployment(t, p.version)
	clock.lap("upgraded by " + p.name + ", the CRDs and Deployment checked")
	ops.current.stop()
	ops.start(t, p.name, head, metrics)
	clock.lap("operator swapped")
	assertInFlight(t, ns)

	waitSettled(t, ns, metrics)
	clock.lap("update completed, operator settled")
	after := record(t, ns)
	save(t, p.name+"-after", after)
	compare(t, before, after)
	pods.checkUpdateOnce(t, updateAt, upgradeAt)
	clock.lap("checked")
}

// checkOperatorDeployment fails the test unless the upgrade brought the operator's Deployment to
// this tree's release: its image and, when the path stamps one, its version label.
func checkOperatorDeployment(t *testing.T, version string) {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep); err != nil {
		t.Errorf("reading the operator's Deployment: %v", err)
		return
	}
	var image string
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == install.Container {
			image = c.Image
		}
	}
	if image != head.image {
		t.Errorf("after the upgrade the operator's Deployment runs %q, want %q", image, head.image)
	}
	if l := dep.Labels[ksversion.Label]; version != "" && l != version {
		t.Errorf("after the upgrade the operator's Deployment has label %s=%q, want %q", ksversion.Label, l, version)
	}
}

// waitCRDs waits until kubeswarm's CRDs are served.
func waitCRDs(t *testing.T) {
	t.Helper()
	kubectl(t, nil, "wait", "--for", "condition=Established", "--timeout=60s",
		"crd/services.swarm.kubeswarm.io", "crd/stacks.swarm.kubeswarm.io", "crd/nodes.swarm.kubeswarm.io")
}

// removeRelease takes kubeswarm off the cluster, whichever release and path put it there (after
// the path's own uninstall: helm's leaves the CRDs): its CRDs (and every kubeswarm object with
// them), the operator's namespace (a helm release's records with it) and cluster RBAC. Each
// path starts from a cluster without kubeswarm, so that what one path left (field managers,
// objects a release dropped) cannot hide or fake what another does.
func removeRelease(t *testing.T) {
	t.Helper()
	kubectl(t, headInstallYAML(t), "delete", "--ignore-not-found", "--wait", "--timeout=120s", "-f", "-")
	kubectl(t, nil, "delete", "--ignore-not-found", "--wait", "--timeout=120s", "-f", previousYAML)
}

// newNamespace makes the path's namespace, its routes going to the Gateway infra/public. On
// failure it prints the namespace's pods and events and the operators' logs; it is deleted at
// the end, before the operator stops (and the release goes).
func newNamespace(t *testing.T, path string, ops *operators) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{}
	ns.GenerateName = "upgrade-" + path + "-"
	ns.Labels = map[string]string{pathLabel: path}
	ns.Annotations = map[string]string{gatewayAnnotation: "infra/public"}
	if err := k8sClient.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpNamespace(t, ns.Name)
			ops.dumpLogs(t)
		}
		deleteNamespace(t, ns.Name)
	})
	return ns.Name
}

// pathLabel marks the namespaces of the test's paths.
const pathLabel = "upgrade-test.kubeswarm.io/path"

// deleteNamespace deletes ns in the background (its pods and claims take the namespace
// controller a while), and its Kubernetes Services now: their node ports (8080) are the
// cluster's, and the next path publishes them again. A terminating namespace takes no new
// object, so an operator still running cannot make them again.
func deleteNamespace(t *testing.T, ns string) {
	t.Helper()
	kubectl(t, nil, "delete", "namespace", ns, "--wait=false")
	kubectl(t, nil, "delete", "services", "--all", "-n", ns, "--wait", "--timeout=60s")
}

// removeLeftovers deletes the namespaces of an earlier run that did not end its own (killed,
// timed out) on a cluster kept up (KEEP_CLUSTER=1).
func removeLeftovers(t *testing.T) {
	t.Helper()
	list := &corev1.NamespaceList{}
	if err := k8sClient.List(context.Background(), list, client.HasLabels{pathLabel}); err != nil {
		t.Fatalf("listing namespaces: %v", err)
	}
	for _, ns := range list.Items {
		deleteNamespace(t, ns.Name)
	}
}

// stopwatch logs how long each step of a path took.
type stopwatch struct {
	t          *testing.T
	start, at  time.Time
	lapsLogged []string
}

func newStopwatch(t *testing.T) *stopwatch {
	now := time.Now()
	s := &stopwatch{t: t, start: now, at: now}
	t.Cleanup(func() {
		s.lap("the rest: teardown (namespace, operators, release)")
		t.Logf("timings:\n%s\n  %-70s %6.1fs", strings.Join(s.lapsLogged, "\n"), "total", time.Since(s.start).Seconds())
	})
	return s
}

func (s *stopwatch) lap(what string) {
	now := time.Now()
	line := fmt.Sprintf("  %-70s %6.1fs", what, now.Sub(s.at).Seconds())
	s.lapsLogged = append(s.lapsLogged, line)
	s.t.Logf("step: %s in %.1fs", what, now.Sub(s.at).Seconds())
	s.at = now
}
