//go:build e2e && realnodes

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// operatorWithItsImage makes the operator know its own image (the copy-up and install-files
// init containers run it), as it does by itself in a cluster: the tests' operator process is
// started again with --files-image, its binary pushed to the nodes' registry; an operator
// already in the cluster (E2E_OPERATOR=external, the kind tier) knows it and is kept.
func operatorWithItsImage(t *testing.T, reg, name string) {
	t.Helper()
	if mainOperator == nil {
		return
	}
	// A tag of this binary's own: the nodes keep an image of a tag they have (IfNotPresent),
	// and manager:e2e may be another build's, without the sub-commands this one runs.
	bin := os.Getenv("MANAGER_BIN")
	if bin == "" {
		bin = "../../bin/manager"
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("manager:e2e-%x", sha256.Sum256(data))[:len("manager:e2e-")+12]
	pushManagerImage(t, reg, tag)
	stopMainOperator(t)
	op, err := startOperatorProcess(name, mainOperatorNode, "--zap-log-level=2", "--files-image=kubeswarm.test/"+tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.stop)
}

// taskFile reads a file of a running task through the test image's /file.
func taskFile(podIP, path string) (string, error) {
	return get(fmt.Sprintf("http://%s/file?path=%s", net.JoinHostPort(podIP, "8080"), path))
}

// TestRealValuesAsWritten: the issue's
//
//	docker service create -e A=a -e 'B=$(A) pa$$w' --entrypoint /web kubeswarm.test/web:1 serve '$(A)' 'pa$$w'
//
// through each door that writes a service: the plugin, a compose file (where compose's own `$$`
// escape gives the `$` docker stack deploy sends) and a Service applied as a Kubernetes object
// (its spec holds docker's words). The task's own process (the test image, which ignores
// arguments after serve) shows its environment and command line as written: Kubernetes
// expanded none of $(A) and $$.
func TestRealValuesAsWritten(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "vals", "-e", "PORT=8080", "-e", "A=a", "-e", "B=$(A) pa$$w {{.Service.Name}}",
		"--entrypoint", "/web", "kubeswarm.test/web:1", "serve", "$(A)", "pa$$w")

	dir := t.TempDir()
	writeFile(t, dir+"/docker-compose.yml", `
services:
  vals:
    image: kubeswarm.test/web:1
    environment:
      PORT: "8080"
      A: a
      B: '$(A) pa$$$$w {{.Service.Name}}'
    entrypoint: ["/web"]
    command: ["serve", "$(A)", "pa$$$$w"]
`)
	mustSwarm(t, ns, "stack", "deploy", "-c", dir+"/docker-compose.yml", "st")

	applied := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "applied", Namespace: ns}, Spec: swarmv1.ServiceSpec{
		Image: "kubeswarm.test/web:1", Entrypoint: []string{"/web"}, Command: []string{"serve", "$(A)", "pa$$w"},
		Env: []swarmv1.EnvVar{{Name: "PORT", Value: "8080"}, {Name: "A", Value: "a"}, {Name: "B", Value: "$(A) pa$$w {{.Service.Name}}"}}}}
	if err := k8sClient.Create(context.Background(), applied); err != nil {
		t.Fatal(err)
	}

	for _, svc := range []string{"vals", "st-vals", "applied"} {
		t.Run(svc, func(t *testing.T) {
			waitRunning(t, 120*time.Second, ns, svc, 1)
			ip := runningTasks(t, ns, svc)[0].Status.PodIP
			environ, err := taskFile(ip, "/proc/self/environ")
			if err != nil {
				t.Fatal(err)
			}
			env := strings.Split(environ, "\x00")
			if want := "B=$(A) pa$$w " + svc; !slices.Contains(env, want) {
				t.Errorf("the task's environment has no %s: %q", want, env)
			}
			cmdline, err := taskFile(ip, "/proc/self/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimRight(cmdline, "\x00"), "/web\x00serve\x00$(A)\x00pa$$w"; got != want {
				t.Errorf("the task's command line is %q, want %q", got, want)
			}
		})
	}
}

// pushImageWithDir pushes web:1 with a directory dir holding index.html (owned by 101:101,
// mode 0640, the directory 0750) as kubeswarm.test/<to>, as nginx's image holds its page.
func pushImageWithDir(t *testing.T, reg, to, dir, page string) {
	t.Helper()
	src, err := name.NewTag(reg+"/web:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(src)
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir = strings.Trim(dir, "/")
	parts := strings.Split(dir, "/")
	for i := range parts {
		mode, uid := int64(0o755), 0
		if i == len(parts)-1 {
			mode, uid = 0o750, 101
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.Join(parts[:i+1], "/") + "/", Mode: mode, Uid: uid, Gid: uid, Typeflag: tar.TypeDir}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: dir + "/index.html", Mode: 0o640, Uid: 101, Gid: 101, Size: int64(len(page)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(page)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, reg, to, img)
}

// TestRealVolumeFilledFromImage: the nginx with a named volume on its content directory
//
//	docker service create --name site --mount type=volume,source=html,target=/usr/share/nginx/html nginx
//
// serves the image's page (docker copies the image's files into a new volume), with the image's
// owner and mode; with volume-nocopy the volume stays empty. The operator runs with its image
// (pushed to the nodes' registry), as it does by itself in a cluster.
func TestRealVolumeFilledFromImage(t *testing.T) {
	reg := registryOrSkip(t)
	page := "<h1>the image's page</h1>\n"
	pushImageWithDir(t, reg, "site:1", "/usr/share/nginx/html", page)
	operatorWithItsImage(t, reg, "operator-copyup")

	ns := newNamespace(t)
	start := time.Now()
	mustSwarm(t, ns, "service", "create", "-d", "--name", "site", "-e", "PORT=8080",
		"--mount", "type=volume,source=html,target=/usr/share/nginx/html", "kubeswarm.test/site:1")
	mustSwarm(t, ns, "service", "create", "-d", "--name", "empty", "-e", "PORT=8080",
		"--mount", "type=volume,source=html-empty,target=/usr/share/nginx/html,volume-nocopy", "kubeswarm.test/site:1")
	waitRunning(t, 180*time.Second, ns, "site", 1)
	figure(t, "a task with a named volume filled from its image: running %.1fs after create (init containers included)", time.Since(start).Seconds())
	waitRunning(t, 180*time.Second, ns, "empty", 1)

	ip := runningTasks(t, ns, "site")[0].Status.PodIP
	got, err := statFile(ip, "8080", "/usr/share/nginx/html/index.html")
	if err != nil {
		t.Fatalf("the page in the volume: %v", err)
	}
	if got.Content != page || got.Mode != "0640" || got.UID != 101 || got.GID != 101 {
		t.Errorf("the page in the volume: %+v, want %q mode 0640 owner 101:101", got, page)
	}
	// The data is the volume's: a write survives a new task, which copies nothing over it.
	if _, err := send("PUT", fmt.Sprintf("http://%s/file?path=/usr/share/nginx/html/index.html", net.JoinHostPort(ip, "8080")), "changed"); err != nil {
		t.Fatal(err)
	}
	mustSwarm(t, ns, "service", "update", "-d", "--force", "site")
	eventually(t, 180*time.Second, "a new task of site serves the changed page", func() error {
		tasks := runningTasks(t, ns, "site")
		if len(tasks) != 1 || tasks[0].Status.PodIP == ip {
			return fmt.Errorf("%d running tasks, the old one still", len(tasks))
		}
		body, err := taskFile(tasks[0].Status.PodIP, "/usr/share/nginx/html/index.html")
		if err != nil || body != "changed" {
			return fmt.Errorf("page %q, %w; want the volume's \"changed\"", body, err)
		}
		return nil
	})

	if body, err := taskFile(runningTasks(t, ns, "empty")[0].Status.PodIP, "/usr/share/nginx/html/index.html"); err == nil {
		t.Errorf("the nocopy volume holds the image's page %q, want it empty", body)
	}
}

// TestRealBindDeviceRefused: a volume of docker's local driver binding a host directory
//
//	docker service create --mount type=volume,source=d,target=/d,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/tmp kubeswarm.test/web:1
//
// is a host path: the tests' operator runs without --allow-bind-mounts, so the service is
// refused (Degraded, InvalidSpec, naming the volume, the directory and the flag), and no task is
// made; it no longer becomes an empty claim.
func TestRealBindDeviceRefused(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "dev",
		"--mount", "type=volume,source=d,target=/d,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/tmp", "kubeswarm.test/web:1")
	want := "mounts[0]: volume d binds the host directory /tmp, which is not allowed: the operator runs with --allow-bind-mounts=false"
	eventually(t, 60*time.Second, "dev is Degraded, InvalidSpec", func() error {
		svc := &swarmv1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dev"}, svc); err != nil {
			return err
		}
		c := meta.FindStatusCondition(svc.Status.Conditions, "Degraded")
		if c == nil || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, want) {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	if pods := tasks(t, ns, "dev"); len(pods) != 0 {
		t.Errorf("a refused service has %d tasks", len(pods))
	}
}

const templatedConfigStack = `
services:
  app:
    image: kubeswarm.test/web:1
    environment:
      PORT: "8080"
      GREETING: hello
    configs:
      - source: conf
        target: /etc/app.conf
    secrets:
      - pass
configs:
  conf:
    file: ./app.conf
    template_driver: golang
secrets:
  pass:
    file: ./pass.txt
`

// TestRealTemplatedConfig: a config created with template_driver: golang is expanded for each
// task, as swarmkit's ExpandConfigSpec does: the file holds the service's name, the task's
// name, its node, a variable of its environment and its secret.
func TestRealTemplatedConfig(t *testing.T) {
	operatorWithItsImage(t, registryOrSkip(t), "operator-template")

	ns := newNamespace(t)
	dir := t.TempDir()
	writeFile(t, dir+"/docker-compose.yml", templatedConfigStack)
	writeFile(t, dir+"/app.conf", `service={{.Service.Name}} task={{.Task.Name}} node={{.Node.Hostname}} greeting={{env "GREETING"}} pass={{secret "pass"}} joined={{join "," "a" "b"}}`)
	writeFile(t, dir+"/pass.txt", "s3cret")
	mustSwarm(t, ns, "stack", "deploy", "-c", dir+"/docker-compose.yml", "tpl")
	waitRunning(t, 180*time.Second, ns, "tpl-app", 1)
	task := runningTasks(t, ns, "tpl-app")[0]
	got, err := taskFile(task.Status.PodIP, "/etc/app.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("service=tpl-app task=%s node=%s greeting=hello pass=s3cret joined=a,b", task.Name, task.Spec.NodeName)
	if got != want {
		t.Errorf("the task's config is %q, want %q", got, want)
	}

	// A template Swarm cannot expand is refused before anything is written.
	writeFile(t, dir+"/app.conf", `{{nosuchfunc "x"}}`)
	_, errOut, err := swarm(t, ns, "stack", "deploy", "-c", dir+"/docker-compose.yml", "bad")
	if err == nil || !strings.Contains(errOut, `function "nosuchfunc" not defined`) {
		t.Errorf("deploying an unexpandable template: %v, %s; want it refused naming the function", err, errOut)
	}
	st := &swarmv1.Stack{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "bad"}, st); err == nil {
		t.Errorf("the refused stack was written")
	}
}
