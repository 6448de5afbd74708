//go:build e2e && realnodes

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

const ownedSecretStack = `
services:
  app:
    image: kubeswarm.test/web:1
    user: "999"
    environment:
      PORT: "8080"
    secrets:
      - source: key
        uid: "999"
        gid: "999"
        mode: 0400
      - source: rootonly
        mode: 0400
    configs:
      - source: conf
        target: /etc/app/app.conf
        uid: "999"
        mode: 0440
secrets:
  key:
    file: ./key.txt
  rootonly:
    file: ./rootonly.txt
configs:
  conf:
    file: ./app.conf
`

// TestRealSecretOwnedByUID is the "a secret with uid: "999", mode: 0400 read by uid 999":
// a task running as user 999 reads its 0400 key, owned by 999:999, while a 0400 secret of
// root's in the same /run/secrets stays unreadable to it, as on a Swarm node. The operator
// runs with the files image (its own binary, pushed to the nodes' registry), as it does by
// itself inside a cluster. It restarts the tests' operator, so it is not parallel.
func TestRealSecretOwnedByUID(t *testing.T) {
	reg := registryOrSkip(t)
	pushManagerImage(t, reg, "manager:e2e")
	stopMainOperator(t)
	op, err := startOperatorProcess("operator-files", mainOperatorNode, "--zap-log-level=2", "--files-image=kubeswarm.test/manager:e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		op.stop()
		if t.Failed() {
			if data, err := os.ReadFile(op.log); err == nil {
				lines := strings.Split(string(data), "\n")
				t.Logf("operator log (last 60 lines):\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
			}
		}
	})

	ns := newNamespace(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "docker-compose.yml"), ownedSecretStack)
	writeFile(t, filepath.Join(dir, "key.txt"), "k3y-"+ns)
	writeFile(t, filepath.Join(dir, "rootonly.txt"), "root's")
	writeFile(t, filepath.Join(dir, "app.conf"), "listen = 8080\n")
	start := time.Now()
	mustSwarm(t, ns, "stack", "deploy", "-c", filepath.Join(dir, "docker-compose.yml"), "own")
	waitRunning(t, 180*time.Second, ns, "own-app", 1)
	figure(t, "stack deploy of a task with a secret owned by uid 999: running %.1fs after deploy (init container included)", time.Since(start).Seconds())
	ip := runningTasks(t, ns, "own-app")[0].Status.PodIP

	for _, c := range []struct {
		path, content, mode string
		uid, gid            int
	}{
		{"/run/secrets/key", "k3y-" + ns, "0400", 999, 999},
		{"/etc/app/app.conf", "listen = 8080\n", "0440", 999, 0},
	} {
		got, err := statFile(ip, "8080", c.path)
		if err != nil {
			t.Fatalf("uid 999 reading %s in the task: %v", c.path, err)
		}
		if got.Content != c.content || got.Mode != c.mode || got.UID != c.uid || got.GID != c.gid {
			t.Errorf("%s: content %q mode %s owner %d:%d, want %q mode %s owner %d:%d", c.path, got.Content, got.Mode, got.UID, got.GID, c.content, c.mode, c.uid, c.gid)
		}
	}
	// The task's process is not root: a 0400 secret of root's is closed to it.
	if got, err := statFile(ip, "8080", "/run/secrets/rootonly"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("uid 999 reading root's 0400 secret: %+v, %v; want permission denied", got, err)
	}
	svc := &swarmv1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "own-app"}, svc); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(svc.Status.Conditions, "Honored"); c != nil && strings.Contains(c.Message, "belongs to root") {
		t.Errorf("Honored reports the owners as not honoured: %s", c.Message)
	}
}

// pushManagerImage pushes an image holding the operator's binary (MANAGER_BIN, static) at
// /manager to the nodes' registry as kubeswarm.test/<to>: the image the operator's files init
// container runs, as its own image does in a cluster.
func pushManagerImage(t *testing.T, reg, to string) {
	t.Helper()
	bin := os.Getenv("MANAGER_BIN")
	if bin == "" {
		bin = "../../bin/manager"
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "manager", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux",
		Config: v1.Config{Entrypoint: []string{"/manager"}}, RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	pushImage(t, reg, to, img)
}
