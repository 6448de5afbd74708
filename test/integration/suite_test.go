// Package integration runs kubeswarm's controllers against a real kube-apiserver and etcd
// (controller-runtime's envtest). There is no garbage collector and no workload controller
// here: tests fake workload status and check owner references; the e2e tests on the kwok
// cluster show the rest.
package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// clusterDNS is the cluster DNS server the operator is told of.
const clusterDNS = "10.0.0.10"

var (
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	// operatorWrites records the paths of the write requests (anything but GET/LIST/WATCH) the
	// operator sends. envtest has no namespace controller, so objects of earlier tests stay and
	// may still be written to: a test counts only the writes to its own objects (writesSince).
	operatorWrites writeLog
)

type writeLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *writeLog) add(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paths = append(l.paths, path)
}

// mark is the position to count writes from.
func (l *writeLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.paths)
}

// writesSince lists the writes after mark whose path contains part (a namespace's
// "/namespaces/NS/", a node's "/nodes/NAME").
func (l *writeLog) writesSince(mark int, part string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.paths[mark:] {
		if strings.Contains(p, part) {
			out = append(out, p)
		}
	}
	return out
}

// nodePortRange is the apiserver's node-port range here, as on the local kwok cluster, so that
// the seed's published ports (8000, 8080) are node ports.
const nodePortRange = "1-32767"

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test-integration`, which builds kube-apiserver and etcd into the cache")
		os.Exit(1)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))

	gatewayCRDs, err := gatewayAPICRDs()
	if err != nil {
		fmt.Fprintf(os.Stderr, "finding the Gateway API CRDs: %v\n", err)
		return 1
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases"), gatewayCRDs},
		ErrorIfCRDPathMissing: true,
	}
	env.ControlPlane.GetAPIServer().Configure().Set("service-node-port-range", nodePortRange)
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the client: %v\n", err)
		return 1
	}

	testEnv = env
	// The operator runs with the ClusterRole `make manifests` writes (config/rbac/role.yaml),
	// not as the envtest admin: a rule missing there fails the tests.
	opCfg, err := operatorIdentity(env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "giving the operator its ClusterRole: %v\n", err)
		return 1
	}
	operator.cfg = opCfg
	if operator.cancel, operator.done, err = startOperator(opCfg, suiteOptions()); err != nil {
		fmt.Fprintf(os.Stderr, "starting the operator: %v\n", err)
		return 1
	}
	defer func() { operator.cancel() }()
	return m.Run()
}

// operator is the operator under test: restartOperator replaces it with one of other options.
var operator struct {
	cfg *rest.Config
	// cancel stops it; done is closed when it has stopped.
	cancel context.CancelFunc
	done   <-chan struct{}
	// restarted: a test runs another operator; the suite's comes back when it ends.
	restarted bool
}

// stopOperator stops the operator and returns when it has.
func stopOperator() {
	operator.cancel()
	<-operator.done
}

// suiteOptions are the options of the suite's operator.
func suiteOptions() translate.Options {
	return translate.Options{NodePortRange: translate.PortRange{Min: 1, Max: 32767}, ClusterDNS: clusterDNS}
}

func zapLevel() zapcore.Level {
	if os.Getenv("OPERATOR_LOG") != "" {
		return -2
	}
	return 1 // errors only
}

// startOperator runs the manager with every controller, as cmd/manager does, counting its
// writes; cancel stops it, and done is closed when it has stopped.
func startOperator(cfg *rest.Config, translateOpts translate.Options) (cancel context.CancelFunc, done <-chan struct{}, err error) {
	opCfg := rest.CopyConfig(cfg)
	opCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt} })
	opts := controllers.CacheOptions()
	mgr, err := ctrl.NewManager(opCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  opts,
		// A restarted operator registers its controllers again in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, nil, err
	}
	if err := controllers.Setup(mgr, controllers.Config{Translate: translateOpts,
		Routes: controllers.RouteOptions{Mode: controllers.RoutesAuto, Gateway: testGateway}}); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "manager stopped: %v\n", err)
			os.Exit(1)
		}
	}()
	return cancel, stopped, nil
}

// restartOperator stops the operator and starts one with opts, as an upgrade of the operator
// (or a restart with other flags) does. The suite's operator is back when the test ends.
func restartOperator(t *testing.T, opts translate.Options) {
	t.Helper()
	stopOperator()
	var err error
	if operator.cancel, operator.done, err = startOperator(operator.cfg, opts); err != nil {
		t.Fatalf("starting the operator again: %v", err)
	}
	if operator.restarted {
		return
	}
	operator.restarted = true
	t.Cleanup(func() {
		stopOperator()
		operator.restarted = false
		if operator.cancel, operator.done, err = startOperator(operator.cfg, suiteOptions()); err != nil {
			fmt.Fprintf(os.Stderr, "starting the suite's operator again: %v\n", err)
			os.Exit(1)
		}
	})
}

type countingTransport struct{ next http.RoundTripper }

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		operatorWrites.add(req.Method + " " + req.URL.Path)
		if os.Getenv("LOG_WRITES") != "" {
			fmt.Fprintf(os.Stderr, "operator write: %s %s\n", req.Method, req.URL.Path)
		}
	}
	return c.next.RoundTrip(req)
}

// newNamespace makes a namespace of its own for a test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// updateService changes a Service with mutate and writes it, retrying on conflicts.
func updateService(t *testing.T, ns, name string, mutate func(*swarmv1.Service)) {
	t.Helper()
	eventually(t, "updating Service "+name, func() error {
		s := &swarmv1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return err
		}
		mutate(s)
		return k8sClient.Update(context.Background(), s)
	})
}
