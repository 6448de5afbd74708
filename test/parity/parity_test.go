//go:build parity

// Package parity runs the same docker CLI commands against the reference Swarm
// (hack/swarm-reference.sh) and against kubeswarm's Engine API endpoint (internal/dockerapi) on
// the local kwok cluster, and compares what a user sees, normalised for IDs, ages and addresses.
// Every difference is either fixed or listed, with its reason, in docs/swarm-on-kubernetes.md
// ("The docker CLI against kubeswarm"); an unlisted difference fails the test.
//
//	make test-parity
//
// Environment: REFERENCE_DOCKER_HOST (the reference Swarm's manager, from
// `hack/swarm-reference.sh env`), KUBECONFIG (the tests' kwok cluster, CRDs installed),
// MANAGER_BIN (the operator, started here as the e2e tests do), DOCKER (the docker CLI).
package parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/dockerapi"
)

// step is one docker command of the walk-through; wait polls until `docker service ls` shows
// the replicas given for every service named (name=want).
type step struct {
	key  string   // the step's name, as listed in the doc's table of differences
	args []string // docker's arguments
	wait []string // after the command: NAME=REPLICAS to wait for
	// settle is a pause after the command (a promoted manager joins raft in the background).
	settle time.Duration
	// unordered: the command prints its lines in no fixed order (stack deploy's services).
	unordered bool
	// kube checks what the command made on kubeswarm's side (polled until it holds, 30s).
	kube func(ctx context.Context, c client.Client, ns string) error
}

// stackHas checks that the docker CLI's stack is a kubeswarm Stack with these services and
// networks, the same as `kubectl swarm stack deploy` makes.
func stackHas(name string, services, networks []string) func(context.Context, client.Client, string) error {
	return func(ctx context.Context, c client.Client, ns string) error {
		st := &swarmv1.Stack{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, st); err != nil {
			return fmt.Errorf("the stack is no Stack: %w", err)
		}
		var gotS, gotN []string
		for _, x := range st.Spec.Services {
			gotS = append(gotS, x.Name)
		}
		for _, x := range st.Spec.Networks {
			gotN = append(gotN, x.Name)
		}
		sort.Strings(gotS)
		if strings.Join(gotS, ",") != strings.Join(services, ",") || strings.Join(gotN, ",") != strings.Join(networks, ",") {
			return fmt.Errorf("Stack %s has services %v and networks %v, want %v and %v", name, gotS, gotN, services, networks)
		}
		return nil
	}
}

func stackGone(name string) func(context.Context, client.Client, string) error {
	return func(ctx context.Context, c client.Client, ns string) error {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &swarmv1.Stack{})
		if err == nil {
			return fmt.Errorf("Stack %s is still there after stack rm", name)
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading Stack %s: %w", name, err)
		}
		return nil
	}
}

func steps() []step {
	s := func(key string, args ...string) step { return step{key: key, args: args} }
	return []step{
		s("node-ls", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}"),
		s("node-inspect-pretty", "node", "inspect", "--pretty", "worker1"),
		{key: "service-create", args: strings.Fields("service create -d --name web --replicas 3 --publish 8000:80 kubeswarm.test/web:1"), wait: []string{"web=3/3"}},
		s("service-ls", "service", "ls"),
		s("service-ps", "service", "ps", "web", "--format", "{{.Name}} {{.Image}} {{.DesiredState}} {{.CurrentState}}"),
		s("service-inspect-pretty", "service", "inspect", "--pretty", "web"),
		s("service-inspect-format", "service", "inspect", "web", "--format", "{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.ContainerSpec.Image}} {{json .Endpoint.Ports}}"),
		{key: "service-update-image", args: strings.Fields("service update -d --image kubeswarm.test/web:2 web"), wait: []string{"web=3/3"}},
		s("service-inspect-image", "service", "inspect", "web", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}"),
		{key: "service-scale", args: strings.Fields("service scale -d web=5"), wait: []string{"web=5/5"}},
		{key: "service-rollback", args: strings.Fields("service rollback -d web"), wait: []string{"web=3/3"}},
		s("service-inspect-rolled-back", "service", "inspect", "web", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}"),
		s("error-unknown-service", "service", "inspect", "nope"),
		s("error-unknown-service-rm", "service", "rm", "nope"),
		s("error-unknown-service-logs", "service", "logs", "nope"),
		s("error-name-conflict", "service", "create", "-d", "--name", "web", "kubeswarm.test/web:1"),
		s("error-port-clash", "service", "create", "-d", "--name", "web2", "--publish", "8000:80", "kubeswarm.test/web:1"),
		s("error-bad-constraint", "service", "create", "-d", "--name", "web3", "--constraint", "node.hostname=manager1", "kubeswarm.test/web:1"),
		s("error-unknown-constraint-key", "service", "create", "-d", "--name", "web4", "--constraint", "node.foo==bar", "kubeswarm.test/web:1"),
		s("create-once", "service", "create", "-d", "--name", "once", "kubeswarm.test/web:1"),
		s("error-rollback-no-previous", "service", "rollback", "-d", "once"),
		s("error-bad-replicas", "service", "scale", "web=x"),
		s("error-unknown-node", "node", "inspect", "nope"),
		s("error-node-rm-ready", "node", "rm", "worker1"),
		s("error-node-rm-manager", "node", "rm", "--force", "manager1"),
		// Values as written: docker keeps env bytes as given ($(A) and $$ included), and so does
		// the task (the real-node TestRealValuesAsWritten reads them in the container).
		s("create-dollars", "service", "create", "-d", "--name", "dollars", "-e", "B=$(A) pa$$w", "kubeswarm.test/web:1"),
		s("service-inspect-dollars", "service", "inspect", "dollars", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"),
		s("service-rm", "service", "rm", "web", "once", "dollars"),
		s("service-rm-unknown-key", "service", "rm", "web4"),
		s("node-update-label", "node", "update", "--label-add", "zone=a", "worker1"),
		s("node-inspect-label", "node", "inspect", "worker1", "--format", "{{json .Spec.Labels}} {{.Spec.Role}} {{.Spec.Availability}}"),
		{key: "node-promote", args: strings.Fields("node promote worker1"), settle: 3 * time.Second},
		s("node-ls-promoted", "node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"),
		// Swarm demotes asynchronously: until worker1 has left the raft, demoting manager1 meets
		// the quorum safeguard instead of the last-manager rule (swarmkit controlapi/node.go).
		{key: "node-demote", args: strings.Fields("node demote worker1"), settle: 5 * time.Second},
		s("error-node-demote-last", "node", "demote", "manager1"),
		s("node-update-availability", "node", "update", "--availability", "drain", "worker2"),
		s("node-ls-drained", "node", "ls", "--format", "{{.Hostname}} {{.Availability}}"),
		s("node-update-restore", "node", "update", "--availability", "active", "--label-rm", "zone", "worker1"),
		s("node-update-restore2", "node", "update", "--availability", "active", "worker2"),
		{key: "create-wait", args: strings.Fields("service create --detach=false --name waited --replicas 2 kubeswarm.test/web:1")},
		{key: "update-wait", args: strings.Fields("service update --detach=false --image kubeswarm.test/web:2 waited")},
		{key: "rollback-wait", args: strings.Fields("service rollback --detach=false waited")},
		s("service-inspect-waited", "service", "inspect", "waited", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.UpdateStatus.State}}"),
		s("service-rm-waited", "service", "rm", "waited"),
		{key: "stack-deploy", args: strings.Fields("stack deploy -c test/compose/seed/docker-compose.yml wp"), unordered: true,
			kube: stackHas("wp", []string{"dbcluster", "wordpress"}, []string{"common"})},
		s("stack-ls", "stack", "ls"),
		s("stack-services", "stack", "services", "wp", "--format", "{{.Name}} {{.Mode}} {{.Image}} {{.Ports}}"),
		{key: "stack-ps", args: []string{"stack", "ps", "wp", "--format", "{{.Name}} {{.Image}} {{.DesiredState}}"}, unordered: true},
		s("network-ls-stack", "network", "ls", "--filter", "label=com.docker.stack.namespace=wp", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"),
		{key: "stack-rm", args: strings.Fields("stack rm wp"), kube: stackGone("wp")},
		{key: "stack-deploy-files", args: strings.Fields("stack deploy -c test/parity/testdata/files.yml files"), unordered: true,
			kube: stackHas("files", []string{"web-app"}, []string{"default"})},
		s("stack-services-files", "stack", "services", "files", "--format", "{{.Name}} {{.Mode}} {{.Image}}"),
		s("secret-ls-files", "secret", "ls", "--filter", "label=com.docker.stack.namespace=files", "--format", "{{.Name}}"),
		s("config-ls-files", "config", "ls", "--filter", "label=com.docker.stack.namespace=files", "--format", "{{.Name}}"),
		s("service-inspect-files", "service", "inspect", "files_web_app", "--format", "{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}}:{{.File.Name}} {{end}}{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}:{{.File.Name}} {{end}}{{range .Spec.TaskTemplate.Networks}}{{.Aliases}}{{end}}"),
		{key: "stack-redeploy-files", args: strings.Fields("stack deploy -c test/parity/testdata/files.yml files"), unordered: true},
		{key: "stack-rm-files", args: strings.Fields("stack rm files"), unordered: true, kube: stackGone("files")},
	}
}

// result is what a user sees of one command.
type result struct {
	out  string
	code int
	took time.Duration
}

func run(ctx context.Context, root, host string, args []string) result {
	docker := os.Getenv("DOCKER")
	if docker == "" {
		docker = "docker"
	}
	cmd := exec.CommandContext(ctx, docker, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host, "DOCKER_CLI_HINTS=false")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t := time.Now()
	err := cmd.Run()
	r := result{out: buf.String(), took: time.Since(t)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		r.out += err.Error()
		r.code = -1
	}
	return r
}

var (
	id25      = regexp.MustCompile(`\b[0-9a-z]{25}\b`)
	id12      = regexp.MustCompile(`\b[0-9a-z]{12}\b`)
	ago       = regexp.MustCompile(`([Ll]ess than a second|About a minute|About an hour|an? \w+|\d+ \w+) ago`)
	stamp     = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( \+0000 UTC|Z)?`)
	addr      = regexp.MustCompile(`\b\d+\.\d+\.\d+\.\d+\b`)
	waiting   = regexp.MustCompile(`(?m)^(verify: Waiting )\d+( seconds? to verify that tasks are stable\.\.\.)\n`)
	progress  = regexp.MustCompile(`(?m)^overall progress: .*\n`)
	taskBar   = regexp.MustCompile(`(?m)^\d+/\d+: .*\n`)
	registry  = regexp.MustCompile(`(?s)image \S+ could not be accessed on a registry to record\nits digest\..*?versions of the image\.\n\n?`)
	blankRuns = regexp.MustCompile(`\n{2,}`)
)

// normalise takes out what differs between any two swarms: IDs, ages, times, addresses, the
// number of progress lines, and the digest warning of a swarm without a registry.
func normalise(s string) string {
	s = registry.ReplaceAllString(s, "")
	s = waiting.ReplaceAllString(s, "")
	s = progress.ReplaceAllString(s, "")
	s = taskBar.ReplaceAllString(s, "")
	s = stamp.ReplaceAllString(s, "<TIME>")
	s = id25.ReplaceAllString(s, "<ID>")
	s = id12.ReplaceAllString(s, "<ID>")
	s = ago.ReplaceAllString(s, "<AGE> ago")
	s = addr.ReplaceAllString(s, "<ADDR>")
	s = blankRuns.ReplaceAllString(s, "\n")
	return strings.TrimSpace(s)
}

func sortLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// listed reads the steps whose differences docs/swarm-on-kubernetes.md lists with a reason:
// rows of its parity table, "| `step` | reason |".
func listed(t *testing.T, root string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(root, "docs", "swarm-on-kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## The docker CLI against kubeswarm")
	if !ok {
		t.Fatal(`docs/swarm-on-kubernetes.md has no section "The docker CLI against kubeswarm"`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|").FindAllStringSubmatch(section, -1) {
		out[m[1]] = true
	}
	return out
}

func waitReplicas(ctx context.Context, t *testing.T, root, host string, want []string) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r := run(ctx, root, host, []string{"service", "ls", "--format", "{{.Name}}={{.Replicas}}"})
		have := map[string]bool{}
		for _, l := range strings.Fields(r.out) {
			have[l] = true
		}
		ok := true
		for _, w := range want {
			ok = ok && have[w]
		}
		if ok {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("%s: timed out waiting for %v", host, want)
}

// waitNodesReady waits until docker node ls shows the seed's three nodes Ready.
func waitNodesReady(ctx context.Context, t *testing.T, root, host string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := run(ctx, root, host, []string{"node", "ls", "--format", "{{.Hostname}} {{.Status}}"})
		if strings.Count(r.out, " Ready") == 3 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: the seed's three nodes are not Ready after 60s", host)
}

func TestParity(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ref := os.Getenv("REFERENCE_DOCKER_HOST")
	if ref == "" {
		t.Fatal("REFERENCE_DOCKER_HOST is not set: run hack/swarm-reference.sh up and use its env line")
	}
	ctx := context.Background()
	kube, c, ns := startEndpoint(t, ctx)
	allowed := listed(t, root)

	// On a cluster made just now the operator has not made its Nodes yet.
	waitNodesReady(ctx, t, root, kube)

	// Both swarms start from the seed's nodes: one manager, two active workers (an earlier run
	// may have stopped half-way).
	for _, host := range []string{ref, kube} {
		for _, args := range [][]string{{"node", "demote", "worker1", "worker2"}, {"node", "update", "--availability", "active", "worker1"}, {"node", "update", "--availability", "active", "worker2"}} {
			run(ctx, root, host, args)
		}
	}

	var refTotal, kubeTotal time.Duration
	var unlisted []string
	unused := maps.Clone(allowed) // listed rows no step has matched yet
	for _, st := range steps() {
		a := run(ctx, root, ref, st.args)
		if len(st.wait) > 0 {
			t0 := time.Now()
			waitReplicas(ctx, t, root, ref, st.wait)
			a.took += time.Since(t0)
		}
		b := run(ctx, root, kube, st.args)
		if len(st.wait) > 0 {
			t0 := time.Now()
			waitReplicas(ctx, t, root, kube, st.wait)
			b.took += time.Since(t0)
		}
		time.Sleep(st.settle)
		if st.kube != nil {
			var err error
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
				if err = st.kube(ctx, c, ns); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Errorf("step %s on kubeswarm: %v", st.key, err)
			}
		}
		refTotal += a.took
		kubeTotal += b.took
		na, nb := normalise(a.out), normalise(b.out)
		if st.unordered {
			na, nb = sortLines(na), sortLines(nb)
		}
		same := na == nb && a.code == b.code
		t.Logf("docker %s  (swarm %.1fs, kubeswarm %.1fs, waits included)", strings.Join(st.args, " "), a.took.Seconds(), b.took.Seconds())
		delete(unused, st.key)
		if same {
			if allowed[st.key] {
				t.Errorf("step %s is listed as a difference in docs/swarm-on-kubernetes.md but no longer differs: remove its row", st.key)
			}
			continue
		}
		msg := fmt.Sprintf("step %s: docker %s\n--- swarm (exit %d)\n%s\n--- kubeswarm (exit %d)\n%s", st.key, strings.Join(st.args, " "), a.code, na, b.code, nb)
		if allowed[st.key] {
			t.Logf("listed difference: %s", msg)
			continue
		}
		unlisted = append(unlisted, msg)
	}
	for key := range unused {
		t.Errorf("docs/swarm-on-kubernetes.md lists a difference for step %s, which the test has no more", key)
	}
	t.Logf("walk-through: swarm %.1fs, kubeswarm %.1fs", refTotal.Seconds(), kubeTotal.Seconds())
	sort.Strings(unlisted)
	for _, u := range unlisted {
		t.Errorf("unlisted difference (fix it, or list it with its reason in docs/swarm-on-kubernetes.md):\n%s", u)
	}
}

// startEndpoint starts the operator (MANAGER_BIN) and kubeswarm's Engine API endpoint on a unix
// socket, in a namespace of the test's own; it returns the endpoint's DOCKER_HOST, the client and
// the namespace.
func startEndpoint(t *testing.T, ctx context.Context) (string, client.Client, string) {
	cfg, err := config.GetConfig()
	if err != nil {
		t.Fatalf("reading the kubeconfig: %v", err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = swarmv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "parity-"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })

	if bin := os.Getenv("MANAGER_BIN"); bin != "" {
		dir := t.TempDir()
		log, _ := os.Create(filepath.Join(dir, "manager.log"))
		cmd := exec.Command(bin, "--node-port-range=1-32767", "--health-probe-bind-address=0")
		cmd.Env = append(os.Environ(), "NODE_NAME=manager1")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			if t.Failed() {
				b, _ := os.ReadFile(log.Name())
				t.Logf("operator log:\n%s", b)
			}
		})
	}

	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: (&dockerapi.Server{Client: c, Clientset: cs, Namespace: ns.Name, Version: "parity"}).Handler()}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "unix://" + sock, c, ns.Name
}
