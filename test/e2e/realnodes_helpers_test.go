//go:build e2e && realnodes

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The real-node tier (hack/real-cluster.sh): manager1, worker1 and worker2 are real kubelets
// with containerd, so the tests below reach tasks with packets: node ports from the host, pod
// addresses through the host's routes to each node's pod /24. The images are the project's
// own (test/images), imported into every node: nginx, wordpress and mysql:5.7 are stand-ins
// that answer "host=<task> node=<node> version=<v> role=<r>".

// httpClient opens a new connection for every request, so that each one goes through the
// node's port rules again (the routing mesh picks a task per connection).
var httpClient = &http.Client{
	Timeout:   3 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// get returns the body of GET url, an error for a failed request or a status other than 2xx.
func get(url string) (string, error) { return send(http.MethodGet, url, "") }

// send makes a request with a body and returns the body of the answer; an error for a failed
// request or a status other than 2xx.
func send(method, url, body string) (string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return string(out), fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// answer is what a test image says about itself.
type answer struct{ Host, Node, Version, Role string }

// parseAnswer reads "host=… node=… version=… role=…" from the first line that has host=.
func parseAnswer(body string) answer {
	var a answer
	for _, line := range strings.Split(body, "\n") {
		if !strings.Contains(line, "host=") {
			continue
		}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "host":
				a.Host = v
			case "node":
				a.Node = v
			case "version":
				a.Version = v
			case "role":
				a.Role = v
			}
		}
		break
	}
	return a
}

// nodeIPs maps each node to its InternalIP.
func nodeIPs(t *testing.T) map[string]string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := k8sClient.List(context.Background(), nodes); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				out[n.Name] = a.Address
			}
		}
	}
	if len(out) != 3 {
		t.Fatalf("want the three real nodes' addresses, got %v", out)
	}
	return out
}

// runningTasks lists a service's running and ready pods (not being deleted).
func runningTasks(t *testing.T, ns, service string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range tasks(t, ns, service) {
		if p.Status.Phase == corev1.PodRunning && podReady(&p) && p.Status.PodIP != "" {
			out = append(out, p)
		}
	}
	return out
}

// taskNodes maps the names of a service's pods (the tasks' host names) to their nodes.
func taskNodes(t *testing.T, ns string, services ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range services {
		pods := &corev1.PodList{}
		if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": s}); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			out[p.Name] = p.Spec.NodeName
		}
	}
	return out
}

// stat is what the test image's /stat says of a file.
type stat struct {
	Content string `json:"content"`
	Mode    string `json:"mode"`
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
}

func statFile(podIP, port, path string) (stat, error) {
	var s stat
	body, err := get(fmt.Sprintf("http://%s/stat?path=%s", net.JoinHostPort(podIP, port), path))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal([]byte(body), &s)
}

// refused tells whether a connection to addr is refused (nothing listens there).
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		_ = c.Close()
		return false
	}
	return strings.Contains(err.Error(), "connection refused")
}

// figures collects the tier's measurements; they are printed at the end of each test and
// appended to artifacts/figures-realnodes.txt (figures, not assertions on time).
var figuresMu sync.Mutex

func figure(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Logf("FIGURE %s", line)
	figuresMu.Lock()
	defer figuresMu.Unlock()
	dir, _ := filepath.Abs("artifacts")
	_ = os.MkdirAll(dir, 0o755)
	f, err := os.OpenFile(filepath.Join(dir, "figures-realnodes.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	_, _ = fmt.Fprintf(f, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), t.Name(), line)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pushVersion pushes a copy of the registry's image from under the tag to, with VERSION=version
// in its config: a new image the nodes have not seen.
func pushVersion(t *testing.T, reg, from, to, version string) {
	t.Helper()
	src, err := name.NewTag(reg+"/"+from, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config.DeepCopy()
	c.Env = append(slices.DeleteFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, "VERSION=") }), "VERSION="+version)
	img, err = mutate.Config(img, *c)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, reg, to, img)
}

// pushImage pushes img to the registry as to (the nodes pull it as kubeswarm.test/<to>).
func pushImage(t *testing.T, reg, to string, img v1.Image) {
	t.Helper()
	dst, err := name.NewTag(reg+"/"+to, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatalf("pushing %s: %v", dst, err)
	}
}

// registryOrSkip is the HOST:PORT of the real-node cluster's registry (hack/e2e-real.sh sets
// KUBESWARM_REGISTRY); without it the test is skipped.
func registryOrSkip(t *testing.T) string {
	t.Helper()
	reg := os.Getenv("KUBESWARM_REGISTRY")
	if reg == "" {
		t.Skip("KUBESWARM_REGISTRY is not set (hack/e2e-real.sh sets it)")
	}
	return reg
}
