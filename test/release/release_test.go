//go:build release

// Package release installs a release as a user does, on the real-node cluster
// (hack/real-cluster.sh): `make release` has pushed the operator image to the cluster's
// registry and written dist/; each test takes the plugin from its archive and installs the
// operator by one path (`kubectl swarm init`, `kubectl apply -f dist/install.yaml`, `helm
// install dist/chart`), then checks that the operator runs in the cluster from the pulled image
// (the release's, by digest), that the seed's `service create --replicas 3 --publish 8000:80
// nginx` answers on every node, and that a secret owned by a uid is installed by the operator's
// image as an init container; `kubectl swarm leave --force --crds` removes it again, keeping
// the claims. No operator runs outside the cluster here: hack/release-e2e.sh runs it after the
// real-node tests' own operator has stopped.
//
//	KUBECONFIG=… KUBESWARM_DIST=dist KUBESWARM_VERSION=v0.0.0-e2e KUBECTL=… HELM=… go test -tags release ./test/release/
package release

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

var (
	k8s     client.Client
	dist    = os.Getenv("KUBESWARM_DIST")
	release = os.Getenv("KUBESWARM_VERSION")
	plugin  string // kubectl-swarm from the release's linux archive
)

func TestMain(m *testing.M) {
	for _, env := range []string{"KUBECONFIG", "KUBESWARM_DIST", "KUBESWARM_VERSION", "KUBESWARM_ARCH", "KUBECTL", "HELM"} {
		if os.Getenv(env) == "" {
			fmt.Fprintf(os.Stderr, "%s is not set: run hack/release-e2e.sh\n", env)
			os.Exit(1)
		}
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	cfg, err := config.GetConfig()
	if err == nil {
		k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "the cluster: %v\n", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubeswarm-release-")
	if err == nil {
		plugin, err = extract(filepath.Join(dist, fmt.Sprintf("kubectl-swarm_%s_linux_%s.tar.gz", release, os.Getenv("KUBESWARM_ARCH"))), dir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "the plugin archive: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// extract unpacks a plugin archive as a user does and returns the path of its kubectl-swarm.
func extract(archive, dir string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		out := filepath.Join(dir, filepath.Base(h.Name))
		w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755)
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(w, tr); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
	}
	p := filepath.Join(dir, "kubectl-swarm")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s holds no kubectl-swarm: %w", archive, err)
	}
	return p, nil
}

// run runs a command and returns its output; a failure ends the test with the output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s (%.1fs)", filepath.Base(name), strings.Join(args, " "), time.Since(start).Seconds())
	return string(out)
}

// pinnedImage is the operator image the release names, by digest: dist/install.yaml's.
func pinnedImage(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Objects(b, install.Options{})
	if err != nil {
		t.Fatal(err)
	}
	image := install.OperatorImage(objs)
	if !strings.Contains(image, "@sha256:") {
		t.Fatalf("dist/install.yaml names the operator image %q, not by digest", image)
	}
	return image
}

func TestInstallWithInit(t *testing.T) {
	leaveAfter(t)
	run(t, plugin, "init", "--wait", "5m")
	checkRelease(t, "init")
}

func TestInstallWithInstallYAML(t *testing.T) {
	leaveAfter(t)
	run(t, os.Getenv("KUBECTL"), "apply", "--server-side", "-f", filepath.Join(dist, "install.yaml"))
	checkRelease(t, "install.yaml")
}

func TestInstallWithHelm(t *testing.T) {
	leaveAfter(t)
	run(t, os.Getenv("HELM"), "install", "kubeswarm", filepath.Join(dist, "chart"), "--namespace", install.Namespace, "--create-namespace", "--wait", "--timeout", "5m")
	checkRelease(t, "helm")
	run(t, os.Getenv("HELM"), "uninstall", "kubeswarm", "--namespace", install.Namespace, "--wait")
}

// leaveAfter removes kubeswarm when the test ends, whatever happened, with the release's own
// `leave --force --crds`, and waits until its namespace and CRDs are gone, so that the next path
// starts from a cluster without kubeswarm.
func leaveAfter(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() {
		out, err := exec.Command(plugin, "leave", "--force", "--crds").CombinedOutput()
		if err != nil && !strings.Contains(string(out), "not part of a swarm") {
			t.Errorf("leave --force --crds: %v\n%s", err, out)
		}
		testutil.Eventually(t, 3*time.Minute, "kubeswarm gone (its namespace, its CRDs)", func() error {
			switch err := k8s.Get(ctx, client.ObjectKey{Name: install.Namespace}, &corev1.Namespace{}); {
			case err == nil:
				return fmt.Errorf("namespace %s still there", install.Namespace)
			case !apierrors.IsNotFound(err):
				return fmt.Errorf("namespace %s: %w", install.Namespace, err)
			}
			out, err := exec.Command(os.Getenv("KUBECTL"), "get", "crd", "-o", "name").CombinedOutput()
			if err != nil {
				return fmt.Errorf("listing CRDs: %w: %s", err, out)
			}
			if strings.Contains(string(out), "swarm.kubeswarm.io") {
				return fmt.Errorf("CRDs left: %s", out)
			}
			return nil
		})
	})
}

// checkRelease: the operator runs in the cluster from the release's image and serves the seed's
// nginx on every node; then leave takes everything away again.
func checkRelease(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	image := pinnedImage(t)
	start := time.Now()
	testutil.Eventually(t, 5*time.Minute, "the operator ready from "+image, func() error {
		dep := &appsv1.Deployment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep); err != nil {
			return err
		}
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != image {
			return fmt.Errorf("the Deployment runs %s", got)
		}
		if dep.Status.ReadyReplicas < 1 {
			return fmt.Errorf("%d/%d ready", dep.Status.ReadyReplicas, *dep.Spec.Replicas)
		}
		pods := &corev1.PodList{}
		if err := k8s.List(ctx, pods, client.InNamespace(install.Namespace)); err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, s := range p.Status.ContainerStatuses {
				if s.Ready && s.ImageID == image {
					return nil
				}
			}
		}
		return fmt.Errorf("no ready operator container pulled from %s yet", image)
	})
	t.Logf("%s: the operator ready from the pulled image %.1fs after install", path, time.Since(start).Seconds())
	if out := run(t, plugin, "version"); !strings.Contains(out, "Server: kubeswarm\n Version:         "+release+"\n") {
		t.Errorf("version does not show the cluster's release %s:\n%s", release, out)
	}

	ns := "release-" + strings.ReplaceAll(path, ".", "-")
	run(t, os.Getenv("KUBECTL"), "create", "namespace", ns)
	t.Cleanup(func() { _ = exec.Command(os.Getenv("KUBECTL"), "delete", "namespace", ns, "--wait=false").Run() })
	start = time.Now()
	run(t, plugin, "-n", ns, "service", "create", "-d", "--name", "nginx", "--replicas", "3", "--publish", "8000:80", "nginx")
	nodes := &corev1.NodeList{}
	if err := k8s.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	httpClient := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if len(nodes.Items) != 3 {
		t.Fatalf("want the three real nodes, got %d", len(nodes.Items))
	}
	testutil.Eventually(t, 3*time.Minute, "the seed's nginx on :8000 of every node", func() error {
		for _, n := range nodes.Items {
			answered := false
			for _, a := range n.Status.Addresses {
				if a.Type != corev1.NodeInternalIP {
					continue
				}
				resp, err := httpClient.Get("http://" + net.JoinHostPort(a.Address, "8000") + "/")
				if err != nil {
					return fmt.Errorf("%s: %w", n.Name, err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%s: %s", n.Name, resp.Status)
				}
				answered = true
			}
			if !answered {
				return fmt.Errorf("node %s has no InternalIP to ask", n.Name)
			}
		}
		return nil
	})
	t.Logf("%s: nginx answering on every node %.1fs after service create", path, time.Since(start).Seconds())

	// A secret owned by a uid: the operator's own image, pulled from the registry, installs it
	// as the task's init container.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	compose := "services:\n  app:\n    image: kubeswarm.test/web:1\n    user: \"999\"\n    environment:\n      PORT: \"8080\"\n" +
		"    secrets:\n      - source: key\n        uid: \"999\"\n        mode: 0400\nsecrets:\n  key:\n    file: ./key.txt\n"
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(compose), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, plugin, "-n", ns, "stack", "deploy", "-c", filepath.Join(dir, "stack.yml"), "owned")
	testutil.Eventually(t, 3*time.Minute, "the task with a uid-owned secret running", func() error {
		pods := &corev1.PodList{}
		if err := k8s.List(ctx, pods, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, c := range p.Spec.InitContainers {
				if c.Name == objects.InstallFilesContainer && c.Image != image {
					return fmt.Errorf("install-files is to run %s, not the release's %s", c.Image, image)
				}
			}
			for _, s := range p.Status.InitContainerStatuses {
				if s.Name != objects.InstallFilesContainer {
					continue
				}
				// An image pulled by digest alone has no tag: the status names it by ID, and
				// ImageID by the repository and digest it came from.
				if s.ImageID != "" && s.ImageID != image {
					return fmt.Errorf("install-files ran %s, not the release's %s", s.ImageID, image)
				}
				if s.State.Terminated != nil && s.State.Terminated.ExitCode == 0 && p.Status.Phase == corev1.PodRunning {
					return nil
				}
				return fmt.Errorf("install-files: %+v, pod %s", s.State, p.Status.Phase)
			}
		}
		return fmt.Errorf("no task with install-files yet")
	})
}
