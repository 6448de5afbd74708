// Command manager runs the kubeswarm operator: the controllers that give Kubernetes Docker
// Swarm's services, stacks and nodes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/version"
	"github.com/kubeswarm/kubeswarm/internal/viz"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == files.Command {
		// The init container that installs a task's owned secrets and configs.
		os.Exit(files.Main(os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == files.SelfCommand {
		// The init container that hands the copy-up init container this binary.
		os.Exit(files.SelfMain(os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == files.CopyUpCommand {
		// The init container that fills a task's new volumes from its image.
		os.Exit(files.CopyUpMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	var clusterDomain, clusterDNS, vizAddr, filesImage, registryMirrors string
	var (
		metricsAddr, probeAddr, pprofAddr, leaderNamespace, nodePortRange, ingressType string
		managerSelector, nodeName                                                      string
		leaderElect, allowBind, imageHealthchecks, allowHostNet                        bool
		nodeFailureTimeout, leaseDuration, renewDeadline, retryPeriod                  time.Duration
		nodeDownAfter                                                                  time.Duration
		printVersion                                                                   bool
	)
	flag.BoolVar(&printVersion, "version", false, "Print the operator's version and exit.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (e.g. :8080); 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes; 0 disables them.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address of Go's pprof endpoints (e.g. 127.0.0.1:6060), for profiling; empty disables them.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Run several replicas with leader election through a Lease; only the leader reconciles.")
	flag.StringVar(&leaderNamespace, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the pod's namespace, or kube-system outside a cluster).")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long the other replicas wait after the leader's last renewal before taking over.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its lease before it gives up leading.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often replicas try to acquire or renew the lease.")
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "The Kubernetes node this replica runs on (default $NODE_NAME, set by the downward API; else the host name). While this replica leads, that node's MANAGER STATUS is Leader.")
	flag.StringVar(&managerSelector, "manager-node-selector", nodes.DefaultManagerSelector, "Label selector of the Kubernetes nodes whose Node starts as a manager (afterwards the Node's spec.role decides); empty: none.")
	flag.StringVar(&nodePortRange, "node-port-range", "", "The cluster's service node-port range (kube-apiserver --service-node-port-range), e.g. 30000-32767: a published port inside it is used as the nodePort. Default: found by asking the API server (a create of a NodePort Service it refuses, controllers.NodePortRange), else 30000-32767.")
	flag.StringVar(&ingressType, "ingress-service-type", string(corev1.ServiceTypeNodePort), "Kubernetes Service type for ingress-mode ports: NodePort or LoadBalancer.")
	flag.DurationVar(&nodeFailureTimeout, "node-failure-timeout", 30*time.Second, "How long replicated tasks stay on an unreachable or not-ready node before moving (Kubernetes' default is 5m).")
	flag.DurationVar(&nodeDownAfter, "node-down-after", 0, "How long a node's kubelet may go without renewing its Lease before kubeswarm marks the node down and moves its replicated tasks, as Swarm does with a node that missed its heartbeats; 0: the Lease's own duration (10-40 s), a negative value: never (Kubernetes' node failure handling and --node-failure-timeout only). Shorter moves tasks sooner but may start a second copy of the tasks of a node that is only cut off.")
	flag.BoolVar(&imageHealthchecks, "image-healthchecks", true, "Read the HEALTHCHECK of each service's image from its registry (with the service's --with-registry-auth credentials), which its tasks run as on Swarm unless the service disables or overrides it. Off: only a healthcheck written in the service counts (for clusters whose operator cannot reach the registries).")
	flag.StringVar(&registryMirrors, "registry-mirrors", "", "Where the operator reads images' configs (their HEALTHCHECK) from instead of their registry, as the nodes' container runtime is told to: REGISTRY=MIRROR[,...], e.g. docker.io=registry.lan:5000.")
	flag.BoolVar(&allowBind, "allow-bind-mounts", false, "Allow bind mounts (hostPath volumes). Off by default: a host path gives a task access to the node.")
	flag.BoolVar(&allowHostNet, "allow-host-network", false, "Allow services on the host network (hostNetwork). Off by default: the node's network gives a task the node's ports and local services, outside NetworkPolicies.")
	flag.StringVar(&vizAddr, "viz-bind-address", "", "Address to serve the swarm visualizer on, read-only and without authentication (e.g. 127.0.0.1:8090); empty disables it.")
	flag.StringVar(&clusterDomain, "cluster-domain", translate.DefaultClusterDomain, "The cluster's DNS domain: a stack's tasks search their networks' domains, <network>.<namespace>.svc.<domain>, for the short names of the services they share a network with.")
	flag.StringVar(&clusterDNS, "cluster-dns", "", "The address of the cluster's DNS server, written first in a stack's tasks' resolv.conf so that their networks' names come before the namespace's (default: the kube-system/kube-dns Service's; \"none\": leave the kubelet's resolv.conf and add the networks' domains after its own).")
	flag.StringVar(&filesImage, "files-image", "", "The operator's image (its binary at /manager), run as an init container to install the secrets and configs a service gives a uid or gid other than root (default: the image of this pod's manager container, when POD_NAMESPACE and POD_NAME are set; outside a cluster none, and such files stay root's, reported in the Honored condition).")
	var latestPullPolicy string
	flag.StringVar(&latestPullPolicy, "latest-pull-policy", string(corev1.PullAlways), "The pull policy of :latest and untagged images (Kubernetes' own default, Always, so that nodes do not run different versions); IfNotPresent where the nodes have their images loaded beforehand and reach no registry (air-gapped, kind load).")
	var routeOpts controllers.RouteOptions
	routeOpts.BindFlags(flag.CommandLine)
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if printVersion {
		fmt.Println("kubeswarm manager", version.String())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	switch corev1.PullPolicy(latestPullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		log.Error(fmt.Errorf("%q is not Always, IfNotPresent or Never", latestPullPolicy), "invalid --latest-pull-policy")
		os.Exit(2)
	}

	var rng translate.PortRange
	if nodePortRange != "" {
		var err error
		if rng, err = translate.ParsePortRange(nodePortRange); err != nil {
			log.Error(err, "invalid --node-port-range")
			os.Exit(2)
		}
	}
	if ingressType != string(corev1.ServiceTypeNodePort) && ingressType != string(corev1.ServiceTypeLoadBalancer) {
		log.Error(fmt.Errorf("%q is not NodePort or LoadBalancer", ingressType), "invalid --ingress-service-type")
		os.Exit(2)
	}
	if leaderNamespace == "" {
		leaderNamespace = os.Getenv("POD_NAMESPACE")
	}
	if leaderNamespace == "" {
		leaderNamespace = "kube-system"
	}
	managers, err := labels.Parse(managerSelector)
	if err != nil {
		log.Error(err, "invalid --manager-node-selector")
		os.Exit(2)
	}
	if nodeName == "" {
		// Outside a cluster: a process run on a node by hand is named after the host; on a
		// laptop the name matches no node, and no node shows Leader.
		nodeName, _ = os.Hostname()
	}
	restCfg := ctrl.GetConfigOrDie()
	if nodePortRange == "" {
		rng = discoverNodePortRange(restCfg)
	}
	var lock resourcelock.Interface
	if leaderElect {
		// The identity starts with the node's name, so that the Lease shows where the leader runs.
		lock, err = resourcelock.NewFromKubeconfig(resourcelock.LeasesResourceLock, leaderNamespace, leaderElectionID,
			resourcelock.ResourceLockConfig{Identity: nodes.LeaseIdentity(nodeName, string(uuid.NewUUID()))},
			rest.AddUserAgent(rest.CopyConfig(restCfg), "leader-election"), renewDeadline)
		if err != nil {
			log.Error(err, "unable to create the leader-election lock")
			os.Exit(1)
		}
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))

	// Started right after `make install` or `kubectl swarm init`, the CRDs may not be served
	// yet: the controllers could not map their kinds, so the operator waits for them first.
	ctx := ctrl.SetupSignalHandler()
	if err := waitForCRDs(ctx, restCfg, scheme); err != nil {
		log.Error(err, "unable to start")
		os.Exit(1)
	}

	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                              scheme,
		Metrics:                             metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:              probeAddr,
		PprofBindAddress:                    pprofAddr,
		LeaderElection:                      leaderElect,
		LeaderElectionID:                    leaderElectionID,
		LeaderElectionNamespace:             leaderNamespace,
		LeaderElectionResourceLockInterface: lock,
		LeaderElectionReleaseOnCancel:       true,
		LeaseDuration:                       &leaseDuration,
		RenewDeadline:                       &renewDeadline,
		RetryPeriod:                         &retryPeriod,
		Cache:                               controllers.CacheOptions(),
	})
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	// The cluster's DNS server and the operator's own image are written in tasks' pod templates:
	// a failure to ask the API server is retried, never taken for "none", which would restart
	// those tasks now and again at the next start (docs: "Operator upgrades").
	if clusterDNS == "" {
		if err := retryAtStart(ctx, func(ctx context.Context) (err error) {
			clusterDNS, err = controllers.ClusterDNS(ctx, mgr.GetAPIReader())
			return err
		}); err != nil {
			log.Error(err, "unable to find the cluster's DNS server (set --cluster-dns)")
			os.Exit(1)
		}
	}
	if clusterDNS == "none" {
		clusterDNS = ""
	}
	if filesImage == "" {
		err := retryAtStart(ctx, func(ctx context.Context) (err error) {
			filesImage, err = ownImage(ctx, mgr.GetAPIReader(), os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME"))
			return err
		})
		switch {
		case transient(err):
			log.Error(err, "unable to read the operator's own image (set --files-image)")
			os.Exit(1)
		case err != nil:
			log.Error(err, "unable to read the operator's own image; secrets and configs owned by other users than root stay root's (set --files-image)")
		}
	}
	cfg := controllers.Config{
		Translate: translate.Options{
			ClusterDomain:      clusterDomain,
			ClusterDNS:         clusterDNS,
			LatestPullPolicy:   corev1.PullPolicy(latestPullPolicy),
			NodePortRange:      rng,
			IngressServiceType: corev1.ServiceType(ingressType),
			NodeFailureTimeout: nodeFailureTimeout,
			AllowBindMounts:    allowBind,
			AllowHostNetwork:   allowHostNet,
			FilesImage:         filesImage,
		},
		Nodes:         controllers.NodeOptions{ManagerSelector: managers, NodeName: nodeName},
		NodeDownAfter: nodeDownAfter,
		Routes:        routeOpts,
	}
	if imageHealthchecks {
		mirrors, err := images.ParseMirrors(registryMirrors)
		if err != nil {
			log.Error(err, "--registry-mirrors")
			os.Exit(2)
		}
		cfg.ImageHealthchecks = &images.Healthchecks{Mirrors: mirrors}
	}
	if err := controllers.Setup(mgr, cfg); err != nil {
		log.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}
	if vizAddr != "" {
		utilruntime.Must(mgr.Add(&viz.Runnable{Cache: mgr.GetCache(), Options: viz.Options{Address: vizAddr}}))
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))

	log.Info("Starting the manager", "version", version.String(), "nodePortRange", rng.String(), "ingressServiceType", ingressType, "leaderElection", leaderElect,
		"nodeName", nodeName, "managerNodeSelector", managerSelector, "clusterDNS", clusterDNS, "filesImage", filesImage)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "the manager stopped")
		os.Exit(1)
	}
}

// ownImage is the image of the manager container of the operator's pod (the downward API's
// POD_NAMESPACE and POD_NAME); empty outside a cluster. The image as the pod spec names it, not
// the digest a node pulled, so that every replica gives tasks the same init container.
func ownImage(ctx context.Context, r client.Reader, namespace, name string) (string, error) {
	if namespace == "" || name == "" {
		return "", nil
	}
	pod := &corev1.Pod{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, pod); err != nil {
		return "", fmt.Errorf("reading pod %s/%s: %w", namespace, name, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == install.Container {
			return c.Image, nil
		}
	}
	return "", fmt.Errorf("pod %s/%s has no container %q", namespace, name, install.Container)
}

// startLookup times the operator's look-ups at start: each try, the wait between tries, and
// how long it tries.
var startLookup = struct{ try, every, all time.Duration }{try: 30 * time.Second, every: 2 * time.Second, all: 2 * time.Minute}

// retryAtStart calls f until the API server answers it: an error that is not a failure to ask
// (transient) is returned at once, a failure to ask is tried again for up to two minutes.
func retryAtStart(ctx context.Context, f func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, startLookup.every, startLookup.all, true, func(ctx context.Context) (bool, error) {
		tryCtx, cancel := context.WithTimeout(ctx, startLookup.try)
		defer cancel()
		last = f(tryCtx)
		if transient(last) {
			ctrl.Log.WithName("setup").Info("Could not ask the API server; trying again", "error", last.Error())
			return false, nil
		}
		return true, last
	})
	if last != nil && transient(last) {
		return last
	}
	return err
}

// transient tells whether err is a failure to ask the API server (no connection, a timeout, an
// overloaded or failing server) rather than its answer.
func transient(err error) bool {
	var netErr net.Error
	return err != nil && (errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err))
}

// waitForCRDs waits until kubeswarm's CRDs are Established, saying which ones it waits for.
func waitForCRDs(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	return crds.WaitEstablished(ctx, c, crds.Names, time.Second, func(missing []string) {
		ctrl.Log.WithName("setup").Info("Waiting for kubeswarm's CustomResourceDefinitions to be established (make install, or kubectl swarm init)", "waitingFor", missing)
	})
}

// leaderElectionID is the name of the leader-election Lease.
const leaderElectionID = "kubeswarm-operator"

// discoverNodePortRange asks the API server for its node-port range (controllers.NodePortRange);
// when it cannot tell (no right to create Services in the default namespace, an answer that
// names no range), the operator runs with Kubernetes' default range and says so.
func discoverNodePortRange(cfg *rest.Config) translate.PortRange {
	log := ctrl.Log.WithName("setup")
	c, err := client.New(cfg, client.Options{})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var rng translate.PortRange
		if rng, err = controllers.NodePortRange(ctx, c, metav1.NamespaceDefault); err == nil {
			log.Info("Found the cluster's node-port range", "nodePortRange", rng.String())
			return rng
		}
	}
	log.Error(err, "Could not find the cluster's node-port range; using Kubernetes' default (set --node-port-range to the API server's --service-node-port-range)",
		"nodePortRange", translate.DefaultNodePortRange.String())
	return translate.DefaultNodePortRange
}
