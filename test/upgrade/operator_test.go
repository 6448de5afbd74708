//go:build upgrade

package upgrade

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// operatorNode is the node the operators say they run on (NODE_NAME): the seed's manager.
const operatorNode = "manager1"

// operator is a release's bin/manager run as a process against the cluster, as the tests run
// the operator (kwok runs no containers: the release's in-cluster Deployment is applied, its
// pod simulated).
type operator struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// operators are the operators of one path, the previous release's then this tree's.
type operators struct {
	all     []*operator
	current *operator
}

// start runs r's operator with the flags every release gets here (the local cluster's node-port
// range, metrics on metricsAddr) and r's image as its files image, as in a cluster, where the
// operator reads it from its own pod. It logs to artifacts/PATH-operator-NAME.log and stops
// with the test.
func (o *operators) start(t *testing.T, path string, r release, metricsAddr string) {
	t.Helper()
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &operator{name: r.name, log: filepath.Join(dir, path+"-operator-"+strings.Fields(r.name)[0]+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--node-port-range=1-32767", "--health-probe-bind-address=0", "--zap-log-level=2",
		"--metrics-bind-address=" + metricsAddr, "--files-image=" + r.image}
	if r.name == head.name {
		// The kwok cluster reaches no registry, so the images' HEALTHCHECKs cannot be read
		// (every service would say so in Honored); as on the kwok e2e tier, they are not read.
		// The previous release has no such flag.
		args = append(args, "--image-healthchecks=false")
	}
	p.cmd = exec.Command(r.manager, args...)
	p.cmd.Env = append(os.Environ(), "NODE_NAME="+operatorNode)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// The operator goes with the test process, however that ends.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("starting the %s operator: %v", r.name, err)
	}
	go func() { _ = p.cmd.Wait(); _ = f.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	t.Logf("started the %s operator (%s %s), log %s", r.name, r.manager, strings.Join(args, " "), p.log)
	o.all = append(o.all, p)
	o.current = p
	// Up when it serves its metrics (the manager has started).
	testutil.Eventually(t, 60*time.Second, "the "+r.name+" operator serves its metrics", func() error {
		select {
		case <-p.done:
			return fmt.Errorf("it exited: %s", p.cmd.ProcessState)
		default:
		}
		_, err := scrape(metricsAddr)
		return err
	})
}

// stop ends the process as Kubernetes stops a pod (SIGINT here), killing it after 10 s.
func (p *operator) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// dumpLogs prints the end of each operator's log.
func (o *operators) dumpLogs(t *testing.T) {
	t.Helper()
	for _, p := range o.all {
		data, err := os.ReadFile(p.log)
		if err != nil {
			t.Logf("reading %s: %v", p.log, err)
			continue
		}
		lines := strings.Split(string(data), "\n")
		t.Logf("the %s operator's log (last 80 lines of %s):\n%s", p.name, p.log, strings.Join(lines[max(0, len(lines)-80):], "\n"))
	}
}

// freeAddr is a loopback address free now: the metrics port of a path's operators (the kwok
// tiers' operators may run on this machine at the same time).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// scrape reads the operator's Prometheus metrics: each sample's value by its name and labels
// as written (`workqueue_depth{controller="service",name="service"}`).
func scrape(addr string) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, nil
}

// drained reports whether the operator has reconciled every object of its controllers since it
// started and has nothing left to do: for each controller, at least as many reconciles as
// objects (want), an empty queue and no reconcile running. Reconciles run after the caches have
// synced, with every object queued, so an empty queue after that many means each was seen.
func drained(metricsAddr string, want map[string]int) error {
	m, err := scrape(metricsAddr)
	if err != nil {
		return err
	}
	var notYet []string
	names := make([]string, 0, len(want))
	for c := range want {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		total := 0.0
		for k, v := range m {
			if strings.HasPrefix(k, "controller_runtime_reconcile_total{") && strings.Contains(k, `controller="`+c+`"`) {
				total += v
			}
		}
		depth := m[fmt.Sprintf(`workqueue_depth{controller=%q,name=%q}`, c, c)]
		active := m[fmt.Sprintf(`controller_runtime_active_workers{controller=%q}`, c)]
		if total < float64(want[c]) || depth > 0 || active > 0 {
			notYet = append(notYet, fmt.Sprintf("%s: %.0f reconciles of %d objects, queue %.0f, active %.0f", c, total, want[c], depth, active))
		}
	}
	if len(notYet) > 0 {
		return fmt.Errorf("the operator is not done: %s", strings.Join(notYet, "; "))
	}
	return nil
}

// dumpNamespace prints the namespace's pods and events (a failed path's evidence).
func dumpNamespace(t *testing.T, ns string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(kubectlBin, "get", "pods,deployments,daemonsets,jobs,services.swarm.kubeswarm.io,stacks", "-n", ns, "-o", "wide")
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	t.Logf("objects in %s:\n%s", ns, out.String())
	events := &corev1.EventList{}
	if err := k8sClient.List(context.Background(), events, client.InNamespace(ns)); err != nil {
		t.Logf("listing events: %v", err)
		return
	}
	sort.Slice(events.Items, func(i, j int) bool {
		a, b := events.Items[i], events.Items[j]
		return eventTime(a).Before(eventTime(b))
	})
	var b strings.Builder
	for _, e := range events.Items {
		fmt.Fprintf(&b, "%s %s %s %s/%s: %s\n", eventTime(e).Format("15:04:05.000"), e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
	}
	t.Logf("events in %s:\n%s", ns, b.String())
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// kubectl runs kubectl against the cluster with stdin, failing the test on an error.
func kubectl(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	return run(t, stdin, kubectlBin, "kubectl", args...)
}

// plugin runs r's kubectl-swarm (`-n ns` unless ns is empty), failing the test on an error.
func plugin(t *testing.T, r release, ns string, args ...string) string {
	t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	return run(t, nil, r.plugin, "kubectl swarm ("+r.name+")", args...)
}

func run(t *testing.T, stdin []byte, bin, name string, args ...string) string {
	t.Helper()
	return runCmd(t, stdin, exec.Command(bin, args...), name)
}

// runCmd runs cmd (its args after the binary's) as run does, logged as name.
func runCmd(t *testing.T, stdin []byte, cmd *exec.Cmd, name string) string {
	t.Helper()
	args := cmd.Args[1:]
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ %s %s  (%.1fs)\n%s%s", name, strings.Join(args, " "), time.Since(start).Seconds(), out.String(), errOut.String())
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out.String()
}
