//go:build e2e && realnodes

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// The private registry's user.
const privUser, privPass = "kubeswarm", "s3cret-pass"

// listenInNetns listens on addr inside the network namespace /run/netns/<netns>: the socket
// stays in it after the thread goes back to its own.
func listenInNetns(netns, addr string) (net.Listener, error) {
	runtime.LockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer func() { _ = own.Close() }()
	target, err := os.Open("/run/netns/" + netns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer func() { _ = target.Close() }()
	if e := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); e != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", netns, e)
	}
	ln, lerr := net.Listen("tcp", addr)
	if e := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); e != nil {
		// The thread stays locked, and dies with its goroutine, in the other namespace.
		return nil, fmt.Errorf("setns back: %w", e)
	}
	runtime.UnlockOSThread()
	return ln, lerr
}

// privateRegistry serves a registry that requires privUser's password (go-containerregistry's
// in-memory registry behind basic auth) on localhost:PORT of the host and of every node's
// network namespace (a node's containerd speaks plain HTTP to a localhost registry, and
// hack/real-cluster.sh names each node's namespace ksw-<node>). It returns localhost:PORT.
func privateRegistry(t *testing.T) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != privUser || p != privPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="kubeswarm-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	})
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := host.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{host}
	for node := range nodeIPs(t) {
		ln, err := listenInNetns("ksw-"+node, fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Skipf("no listener in node %s's network namespace (%v): the test needs hack/real-cluster.sh's nodes", node, err)
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
	}
	return fmt.Sprintf("localhost:%d", port)
}

// copyImage copies the cluster registry's from (kubeswarm.test/<from>) to to, with change
// applied to its config, using kc.
func copyImage(t *testing.T, reg, from, to string, kc authn.Keychain, change func(*v1.Config)) {
	t.Helper()
	src, err := name.NewTag(reg+"/"+from, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	if change != nil {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Config.DeepCopy()
		change(c)
		if img, err = mutate.Config(img, *c); err != nil {
			t.Fatal(err)
		}
	}
	dst, err := name.NewTag(to, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img, remote.WithAuthFromKeychain(kc)); err != nil {
		t.Fatalf("pushing %s: %v", dst, err)
	}
}

// swarmWithEnv is swarm with environment variables added (DOCKER_CONFIG).
func swarmWithEnv(t *testing.T, env []string, ns string, args ...string) (string, error) {
	t.Helper()
	args = append([]string{"-n", ns}, args...)
	cmd := exec.Command(pluginBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("$ %s kubectl swarm %s\n%s%s", strings.Join(env, " "), strings.Join(args, " "), out.String(), errOut.String())
	return out.String() + errOut.String(), err
}

// TestRealRegistryAuth: an image on a registry that requires a password runs with
// `service create --with-registry-auth` (the plugin reads the credentials from the docker config
// file, as docker does) and every later pull uses them; without the flag the task is rejected,
// saying the registry wants credentials.
func TestRealRegistryAuth(t *testing.T) {
	t.Parallel()
	reg := registryOrSkip(t)
	ns := newNamespace(t)
	priv := privateRegistry(t)
	kc := authn.NewMultiKeychain(staticKeychain{priv: authn.AuthConfig{Username: privUser, Password: privPass}})
	image := priv + "/private/web:1"
	copyImage(t, reg, "web:1", image, kc, nil)

	dockerDir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(privUser + ":" + privPass))
	writeFile(t, filepath.Join(dockerDir, "config.json"), `{"auths":{"`+priv+`":{"auth":"`+auth+`"}}}`)
	withCreds := []string{"DOCKER_CONFIG=" + dockerDir}
	if out, err := swarmWithEnv(t, withCreds, ns, "service", "create", "-d", "--name", "priv", "--replicas", "2", "--with-registry-auth", image); err != nil {
		t.Fatalf("service create --with-registry-auth: %v\n%s", err, out)
	}
	svc := waitReady(t, ns, "priv", "2/2")
	if !strings.Contains(svc.Spec.Image, "@sha256:") || svc.Spec.RegistryAuthSecret != "priv-registry-auth" {
		t.Errorf("image %q (pinned with the credentials), registryAuthSecret %q", svc.Spec.Image, svc.Spec.RegistryAuthSecret)
	}
	tasks := runningTasks(t, ns, "priv")
	if len(tasks) != 2 {
		t.Fatalf("%d running tasks of priv, want 2", len(tasks))
	}
	for _, p := range tasks {
		if _, err := get("http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/"); err != nil {
			t.Errorf("task %s: %v", p.Name, err)
		}
	}
	sec := &corev1.Secret{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "priv-registry-auth"}, sec); err != nil {
		t.Fatal(err)
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson || len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Name != "priv" {
		t.Errorf("secret: type %s, owners %v", sec.Type, sec.OwnerReferences)
	}
	// inspect never shows the credentials.
	if out := mustSwarm(t, ns, "service", "inspect", "priv"); strings.Contains(out, auth) || strings.Contains(out, privPass) {
		t.Errorf("service inspect shows the credentials:\n%s", out)
	}

	// Without the flag (and without credentials to pin with) the nodes cannot pull.
	if out, err := swarmWithEnv(t, []string{"DOCKER_CONFIG=" + t.TempDir()}, ns, "service", "create", "-d", "--name", "nopriv", image); err != nil {
		t.Fatalf("service create: %v\n%s", err, out)
	}
	eventually(t, 90*time.Second, "nopriv's task is rejected for want of credentials", func() error {
		out, _, err := swarm(t, ns, "service", "ps", "--no-trunc", "nopriv")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Rejected") || !strings.Contains(out, "--with-registry-auth") {
			return fmt.Errorf("service ps:\n%s", out)
		}
		return nil
	})
}

// staticKeychain holds credentials per registry host.
type staticKeychain map[string]authn.AuthConfig

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if a, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(a), nil
	}
	return authn.Anonymous, nil
}

// TestRealImageHealthcheck: the HEALTHCHECK in an image's config gates traffic and updates as
// a written healthcheck does (TestRealHealthcheckAndRollback): a passing one makes the task
// ready, a failing one never gets into the endpoints and an update to it rolls back;
// --no-healthcheck runs the failing image as healthy.
func TestRealImageHealthcheck(t *testing.T) {
	t.Parallel()
	reg := registryOrSkip(t)
	ns := newNamespace(t)
	check := &v1.HealthConfig{Test: []string{"CMD", "/web", "healthcheck"}, Interval: time.Second, Timeout: time.Second, Retries: 2}
	withCheck := func(c *v1.Config) { c.Healthcheck = check }
	pass, fail := "hc-pass-"+ns, "hc-fail-"+ns
	copyImage(t, reg, "web:1", reg+"/"+pass, authn.DefaultKeychain, withCheck)
	copyImage(t, reg, "web:unhealthy", reg+"/"+fail, authn.DefaultKeychain, withCheck)

	mustSwarm(t, ns, "service", "create", "-d", "--name", "good", "kubeswarm.test/"+pass)
	svc := waitReady(t, ns, "good", "1/1")
	if svc.Status.ImageHealthcheck == nil || svc.Status.ImageHealthcheck.Healthcheck == nil {
		t.Fatalf("status.imageHealthcheck: %+v", svc.Status.ImageHealthcheck)
	}
	dep := &appsv1.Deployment{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "good"}, dep); err != nil {
		t.Fatal(err)
	}
	if rp := dep.Spec.Template.Spec.Containers[0].ReadinessProbe; rp == nil || rp.Exec == nil || strings.Join(rp.Exec.Command, " ") != "/web healthcheck" {
		t.Fatalf("readiness probe from the image: %+v", rp)
	}

	mustSwarm(t, ns, "service", "create", "-d", "--name", "bad", "kubeswarm.test/"+fail)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "nohc", "--no-healthcheck", "kubeswarm.test/"+fail)
	waitReady(t, ns, "nohc", "1/1")
	eventually(t, 60*time.Second, "bad's task has started", func() error {
		for _, p := range tasks(t, ns, "bad") {
			for _, c := range p.Status.ContainerStatuses {
				if c.State.Running != nil || c.RestartCount > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("not started yet")
	})
	for range 5 {
		ready, err := readyEndpoints(ns, "bad")
		if err != nil {
			t.Fatal(err)
		}
		if len(ready) > 0 {
			t.Fatalf("a task failing its image's HEALTHCHECK is in bad's endpoints: %v", ready)
		}
		time.Sleep(time.Second)
	}
	if ready, err := readyEndpoints(ns, "nohc"); err != nil || len(ready) != 1 {
		t.Errorf("--no-healthcheck: ready endpoints %v %v, want the task", ready, err)
	}

	// An update to the failing image, with failure action rollback, rolls back as with a
	// written healthcheck.
	mustSwarm(t, ns, "service", "create", "-d", "--name", "roll", "--replicas", "2",
		"--update-failure-action", "rollback", "--update-monitor", "5s", "kubeswarm.test/"+pass)
	waitReady(t, ns, "roll", "2/2")
	mustSwarm(t, ns, "service", "update", "-d", "--image", "kubeswarm.test/"+fail, "roll")
	s := waitSvc(t, 180*time.Second, ns, "roll", "the update to the failing image rolled back", func(s *swarmv1.Service) error {
		if st := updateStateOf(s); st != swarmv1.UpdateStateRollbackCompleted {
			return fmt.Errorf("update state %q", st)
		}
		return nil
	})
	if !strings.Contains(s.Spec.Image, pass) {
		t.Errorf("after the rollback the image is %q", s.Spec.Image)
	}
}
