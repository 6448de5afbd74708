//go:build e2e

// Package e2e runs Swarm scenarios on the local kwok cluster (make cluster-up): a real
// kube-apiserver, scheduler and controller manager, with simulated nodes manager1, worker1 and
// worker2. TestMain starts the operator binary (MANAGER_BIN) against KUBECONFIG; on a failure
// the operator's log and the namespace's events are printed.
package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

var (
	k8sClient   client.Client
	scheme      = runtime.NewScheme()
	operatorLog string
)

// metricsAddr is where the operator under test serves its Prometheus metrics; the benchmarks
// read its request counters there. A port free when the suite starts: the kwok and real-node
// tiers (and the parity test's operator) may run at once on one machine.
var metricsAddr = freeAddr()

// pprofAddr is the operator's pprof endpoint (the benchmarks save its heap profile).
var pprofAddr = freeAddr()

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	cfg, err := config.GetConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "no cluster: %v (run `make test-e2e`, which starts the local cluster)\n", err)
		os.Exit(1)
	}
	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintf(os.Stderr, "creating the client: %v\n", err)
		os.Exit(1)
	}
	stop, err := startOperator()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the operator: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// mainOperatorNode is the node the tests' operator says it runs on (NODE_NAME): the seed's
// manager, so that docker node ls shows manager1 as the Leader.
const mainOperatorNode = "manager1"

// mainOperator is the operator TestMain starts; nil when it runs in the cluster.
var mainOperator *operatorProcess

// startOperator runs bin/manager as the operator, with the local cluster's node-port range, as
// the one replica on manager1. It runs without leader election, so that its only writes are
// kubeswarm's (the idle-writes benchmark counts them); TestLeaderFailover starts replicas with
// leader election of its own. With E2E_OPERATOR=external the operator already runs in the
// cluster (hack/kind-e2e.sh).
func startOperator() (func(), error) {
	if os.Getenv("E2E_OPERATOR") == "external" {
		return func() {}, nil
	}
	old, _ := filepath.Glob(filepath.Join("artifacts", "operator*.log"))
	for _, f := range old {
		_ = os.Remove(f) // each run's logs only; a restart within the run appends
	}
	var err error
	args := []string{"--zap-log-level=2", "--metrics-bind-address=" + metricsAddr, "--pprof-bind-address=" + pprofAddr}
	if reg := os.Getenv("KUBESWARM_REGISTRY"); reg != "" {
		// The operator reads images' configs where the nodes pull them from (hack/real-cluster.sh).
		args = append(args, "--registry-mirrors=docker.io="+reg+",kubeswarm.test="+reg)
	} else {
		// The kwok cluster's nodes run no probes and have no registry: kubeswarm.test is no host.
		args = append(args, "--image-healthchecks=false")
	}
	mainOperator, err = startOperatorProcess("operator", mainOperatorNode, args...)
	if err != nil {
		return nil, err
	}
	operatorLog = mainOperator.log
	return func() { mainOperator.stop() }, nil
}

// operatorProcess is a bin/manager process started by the tests.
type operatorProcess struct {
	name, node string
	args       []string
	cmd        *exec.Cmd
	log        string
	file       *os.File
	done       chan struct{}
}

// startOperatorProcess runs bin/manager (MANAGER_BIN) against KUBECONFIG as if it ran on node
// (NODE_NAME), with args after the local cluster's node-port range; it logs to
// artifacts/NAME.log (appended to, so that a restart keeps the earlier log).
func startOperatorProcess(name, node string, args ...string) (*operatorProcess, error) {
	bin := os.Getenv("MANAGER_BIN")
	if bin == "" {
		bin = "../../bin/manager"
	}
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &operatorProcess{name: name, node: node, args: args, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	if p.file, err = os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, append([]string{"--node-port-range=1-32767", "--health-probe-bind-address=0"}, args...)...)
	p.cmd.Env = append(os.Environ(), "NODE_NAME="+node)
	if limit := os.Getenv("OPERATOR_GOMEMLIMIT"); limit != "" {
		// The soft memory limit config/manager gives the operator (its memory request), for the
		// operator alone: the test binary and the go command keep their own.
		p.cmd.Env = append(p.cmd.Env, "GOMEMLIMIT="+limit)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.file, p.file
	// The operator goes with the test process, however that ends (a timeout, an interrupt): an
	// operator left running would go on reconciling the cluster beside the next run's, both
	// writing, as a benchmark on a kept cluster would then count.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		_ = p.file.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); _ = p.file.Close(); close(p.done) }()
	return p, nil
}

// stop ends the process as Kubernetes stops a pod (SIGINT here), killing it after 10 s.
func (p *operatorProcess) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// kill ends the process at once, as a machine that loses power: a leader does not give up its
// lease, the others wait for it to expire.
func (p *operatorProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stopMainOperator stops the tests' operator for the rest of the test and starts it again at
// the end (a test that runs operators of its own).
func stopMainOperator(t *testing.T) {
	t.Helper()
	if mainOperator == nil {
		t.Skip("the operator runs in the cluster (E2E_OPERATOR=external)")
	}
	mainOperator.stop()
	t.Cleanup(func() { startMainOperatorAgain(t) })
}

// startMainOperatorAgain starts the tests' operator again after it stopped (or was killed), and
// waits until it has taken over.
func startMainOperatorAgain(t *testing.T) {
	t.Helper()
	p, err := startOperatorProcess(mainOperator.name, mainOperator.node, mainOperator.args...)
	if err != nil {
		t.Fatalf("starting the operator again: %v", err)
	}
	mainOperator = p
	// Wait until it has taken over: it reconciles every Node when it starts.
	eventually(t, 60*time.Second, "the operator on "+mainOperatorNode+" leads again", func() error {
		sn := &swarmv1.Node{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Name: mainOperatorNode}, sn); err != nil {
			return err
		}
		if sn.Spec.Role == swarmv1.RoleManager && sn.Status.ManagerStatus != swarmv1.ManagerLeader {
			return fmt.Errorf("manager status %q", sn.Status.ManagerStatus)
		}
		return nil
	})
}

// newNamespace makes a namespace for one test; on failure it prints the namespace's events
// and the operator's log, and it is deleted at the end.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := k8sClient.Create(ctx, ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpEvents(t, ns.Name)
			if data, err := os.ReadFile(operatorLog); err == nil {
				lines := strings.Split(string(data), "\n")
				t.Logf("operator log (last 80 lines of %s):\n%s", operatorLog, strings.Join(lines[max(0, len(lines)-80):], "\n"))
			}
		}
		_ = k8sClient.Delete(ctx, ns)
	})
	return ns.Name
}

func dumpEvents(t *testing.T, ns string) {
	events := &corev1.EventList{}
	if err := k8sClient.List(context.Background(), events, client.InNamespace(ns)); err != nil {
		t.Logf("listing events: %v", err)
		return
	}
	sort.Slice(events.Items, func(i, j int) bool { return events.Items[i].LastTimestamp.Before(&events.Items[j].LastTimestamp) })
	var b strings.Builder
	for _, e := range events.Items {
		fmt.Fprintf(&b, "%s %s %s/%s: %s\n", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
	}
	t.Logf("events in %s:\n%s", ns, b.String())
}

// eventually retries f every half second until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: still not so after %s: %v", what, timeout, err)
}

// runningPods lists the Running and Ready pods of a service, by node.
func runningPods(ctx context.Context, ns, service string) (map[string]int, int, error) {
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": service}); err != nil {
		return nil, 0, err
	}
	byNode, n := map[string]int{}, 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || !podReady(&p) {
			continue
		}
		byNode[p.Spec.NodeName]++
		n++
	}
	return byNode, n, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
