//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/compose"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// Fault tests: what survives when things break. They run on the kwok cluster; the ones that
// stop the operator, the API server or the CRDs do not run in parallel with the others.

// crdObjects are kubeswarm's CRDs as `make install` applies them (config/crd/bases).
func crdObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		u := &unstructured.Unstructured{}
		if err := testutil.ReadManifest(f, &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestOperatorWaitsForCRDs: on a cluster without kubeswarm's CRDs, the operator started at the
// moment they are created waits until they are established and then runs (it used to exit at
// once: "no matches for kind").
func TestOperatorWaitsForCRDs(t *testing.T) {
	ctx := context.Background()
	stopMainOperator(t)
	crds := crdObjects(t)
	for _, crd := range crds {
		if err := k8sClient.Delete(ctx, crd.DeepCopy()); client.IgnoreNotFound(err) != nil {
			t.Fatalf("deleting CRD %s: %v", crd.GetName(), err)
		}
	}
	// Whatever happens below, the other tests get the CRDs back.
	t.Cleanup(func() {
		for _, crd := range crds {
			if err := k8sClient.Create(ctx, crd.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Errorf("creating CRD %s again: %v", crd.GetName(), err)
			}
		}
	})
	for _, crd := range crds {
		eventually(t, 120*time.Second, "CRD "+crd.GetName()+" is gone", func() error {
			switch err := k8sClient.Get(ctx, client.ObjectKeyFromObject(crd), crd.DeepCopy()); {
			case apierrors.IsNotFound(err):
				return nil
			case err != nil:
				return err
			}
			return fmt.Errorf("still there")
		})
	}

	// A new user's `make install` and `bin/manager` at once: the operator is a moment ahead.
	p, err := startOperatorProcess("operator-fresh", mainOperatorNode, "--metrics-bind-address=0", "--zap-log-level=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	eventually(t, 20*time.Second, "the operator waits for its CRDs", func() error {
		select {
		case <-p.done:
			t.Fatalf("the operator exited:\n%s", tail(readFile(p.log), 20))
		default:
		}
		if !strings.Contains(readFile(p.log), "Waiting for kubeswarm's CustomResourceDefinitions") {
			return fmt.Errorf("not waiting yet")
		}
		return nil
	})
	for _, crd := range crds {
		if err := k8sClient.Create(ctx, crd.DeepCopy()); err != nil {
			t.Fatalf("creating CRD %s: %v", crd.GetName(), err)
		}
	}
	select {
	case <-p.done:
		t.Fatalf("the operator exited:\n%s", tail(readFile(p.log), 20))
	case <-time.After(5 * time.Second):
	}
	ns := newNamespace(t)
	eventually(t, 30*time.Second, "a Service can be created", func() error {
		return k8sClient.Create(ctx, &swarmv1.Service{ObjectMeta: metav1ObjectMeta("web", ns), Spec: swarmv1.ServiceSpec{Image: "nginx"}})
	})
	waitReady(t, ns, "web", "1/1")
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestOperatorKilledMidDeploy: the operator is SIGKILLed while 100 services are being created
// and started again: every service converges, with one Deployment and one Kubernetes Service
// each, owned by it, and one ReplicaSet (no template written twice); nothing is lost.
func TestOperatorKilledMidDeploy(t *testing.T) {
	if mainOperator == nil {
		t.Skip("the operator runs in the cluster (E2E_OPERATOR=external)")
	}
	ctx := context.Background()
	ns := newNamespace(t)
	const n = 100
	name := func(i int) string { return fmt.Sprintf("svc-%03d", i) }
	createRange := func(from, to int) {
		var wg sync.WaitGroup
		errs := make(chan error, to-from)
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- k8sClient.Create(ctx, &swarmv1.Service{ObjectMeta: metav1ObjectMeta(name(i), ns),
					Spec: swarmv1.ServiceSpec{Image: "nginx:1.27", Ports: []swarmv1.PortConfig{{Target: 80}}}})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("creating a Service: %v", err)
			}
		}
	}
	createRange(0, n/2)
	made := 0
	eventually(t, 60*time.Second, "the operator is at work on the first 50", func() error {
		deps := &appsv1.DeploymentList{}
		if err := k8sClient.List(ctx, deps, client.InNamespace(ns)); err != nil {
			return err
		}
		if made = len(deps.Items); made == 0 {
			return fmt.Errorf("no Deployment yet")
		}
		return nil
	})
	mainOperator.kill()
	t.Logf("killed the operator with %d of %d services created and %d Deployments made", n/2, n, made)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			startMainOperatorAgain(t)
		}
	})
	createRange(n/2, n)
	startMainOperatorAgain(t)
	restarted = true

	eventually(t, 240*time.Second, "every service is Ready", func() error {
		list := &swarmv1.ServiceList{}
		if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		var notReady []string
		for i := range list.Items {
			if s := &list.Items[i]; !isReady(s) || s.Status.Replicas != "1/1" {
				notReady = append(notReady, s.Name+" "+s.Status.Replicas)
			}
		}
		if len(list.Items) != n || len(notReady) > 0 {
			return fmt.Errorf("%d services, not ready: %v", len(list.Items), notReady)
		}
		return nil
	})
	services := &swarmv1.ServiceList{}
	if err := k8sClient.List(ctx, services, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	uid := map[string]string{}
	for _, s := range services.Items {
		uid[s.Name] = string(s.UID)
		if s.Spec.Image != "nginx:1.27" {
			t.Errorf("service %s: image %q", s.Name, s.Spec.Image)
		}
	}
	owned := func(kind string, objs []client.Object) {
		t.Helper()
		seen := map[string]int{}
		for _, o := range objs {
			ref := metav1.GetControllerOf(o)
			if ref == nil || ref.Kind != "Service" || string(ref.UID) != uid[ref.Name] {
				t.Errorf("%s %s is not owned by a Service of the test: %+v", kind, o.GetName(), ref)
				continue
			}
			seen[ref.Name]++
		}
		for svc := range uid {
			if seen[svc] != 1 {
				t.Errorf("service %s has %d %ss, want 1", svc, seen[svc], kind)
			}
		}
	}
	deps := &appsv1.DeploymentList{}
	kube := &corev1.ServiceList{}
	if err := k8sClient.List(ctx, deps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.List(ctx, kube, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	owned("Deployment", objectsOf(deps.Items))
	owned("Kubernetes Service", objectsOf(kube.Items))
	rss := &appsv1.ReplicaSetList{}
	if err := k8sClient.List(ctx, rss, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != n {
		t.Errorf("%d ReplicaSets for %d services: a Deployment's template was written twice", len(rss.Items), n)
	}
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != n {
		t.Errorf("%d tasks for %d one-replica services", len(pods.Items), n)
	}
}

func objectsOf[T any, P interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, 0, len(items))
	for i := range items {
		out = append(out, P(&items[i]))
	}
	return out
}

// apiServerPID is the kube-apiserver's process id in the kwok cluster under test.
func apiServerPID(t *testing.T) int {
	t.Helper()
	workdir := os.Getenv("KWOK_WORKDIR")
	if workdir == "" {
		home, _ := os.UserHomeDir()
		workdir = filepath.Join(home, ".kwok")
	}
	cluster := os.Getenv("KUBESWARM_CLUSTER")
	if cluster == "" {
		t.Skip("KUBESWARM_CLUSTER is not set (run through make test-e2e)")
	}
	data, err := os.ReadFile(filepath.Join(workdir, "clusters", cluster, "pids", "kube-apiserver.pid"))
	if err != nil {
		t.Skipf("no kube-apiserver pid file (a kwok cluster of kwokctl --runtime binary): %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestAPIServerDown: the kube-apiserver stops for 15 s while services are being updated; the
// operator, without a restart of its own, finishes the updates once it is back.
func TestAPIServerDown(t *testing.T) {
	if mainOperator == nil {
		t.Skip("the operator runs in the cluster (E2E_OPERATOR=external)")
	}
	ns := newNamespace(t)
	const n = 5
	for i := range n {
		svcSpec(t, ns, fmt.Sprintf("api-%d", i), swarmv1.ServiceSpec{Image: "nginx:1.26", Replicas: ptr.To[int32](4),
			UpdateConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](1), Delay: &metav1.Duration{Duration: 3 * time.Second}}})
	}
	for i := range n {
		waitReady(t, ns, fmt.Sprintf("api-%d", i), "4/4")
	}
	for i := range n {
		updateSvc(t, ns, fmt.Sprintf("api-%d", i), func(s *swarmv1.Service) { s.Spec.Image = "nginx:1.27" })
	}
	waitSvc(t, 30*time.Second, ns, "api-0", "the update is under way", func(s *swarmv1.Service) error {
		if updateStateOf(s) != swarmv1.UpdateStateUpdating {
			return fmt.Errorf("update state %q", updateStateOf(s))
		}
		return nil
	})

	pid := apiServerPID(t)
	stopped := time.Now()
	// SIGKILL, as a crash or a lost machine: no graceful shutdown holding the port.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("stopping kube-apiserver (pid %d): %v", pid, err)
	}
	back := false
	t.Cleanup(func() { // a failure below still brings it back
		if !back {
			restartControlPlane(t)
		}
	})
	eventually(t, 30*time.Second, "kube-apiserver stopped", func() error {
		if processRuns(pid) {
			return fmt.Errorf("pid %d still runs", pid)
		}
		return nil
	})
	time.Sleep(15 * time.Second)
	restartControlPlane(t)
	back = true

	select {
	case <-mainOperator.done:
		t.Fatalf("the operator exited while the API server was away:\n%s", tail(readFile(mainOperator.log), 30))
	default:
	}
	for i := range n {
		waitSvc(t, 180*time.Second, ns, fmt.Sprintf("api-%d", i), "the update completed", func(s *swarmv1.Service) error {
			if updateStateOf(s) != swarmv1.UpdateStateCompleted || !isReady(s) || s.Status.Replicas != "4/4" {
				return fmt.Errorf("update state %q, replicas %s", updateStateOf(s), s.Status.Replicas)
			}
			return nil
		})
		for _, p := range tasks(t, ns, fmt.Sprintf("api-%d", i)) {
			if img := p.Spec.Containers[0].Image; img != "nginx:1.27" {
				t.Errorf("task %s runs %s after the update", p.Name, img)
			}
		}
	}
	select {
	case <-mainOperator.done:
		t.Fatal("the operator exited")
	default:
	}
	// Every kubelet's Lease went unrenewed while the API server was away; none of the nodes is
	// down for it (the kubelets renew one by one after the outage: NodeFailureReconciler gives
	// each Lease a whole lease from the first renewal that came back).
	events := &eventsv1.EventList{}
	if err := k8sClient.List(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Reason == "NodeDown" && e.EventTime.After(stopped) {
			t.Errorf("node %s was marked down after the API server's outage: %s", e.Regarding.Name, e.Note)
		}
	}
}

// restartControlPlane starts what of the cluster's control plane is not running
// (hack/local-cluster.sh up: the API server, and the controller manager and scheduler, which exit
// when they cannot renew their leader lease), logging what it did.
func restartControlPlane(t *testing.T) {
	t.Helper()
	script, _ := filepath.Abs("../../hack/local-cluster.sh")
	start := time.Now()
	out, err := exec.Command(script, "up").CombinedOutput()
	t.Logf("local-cluster.sh up (%s):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatalf("local-cluster.sh up: %v", err)
	}
	if strings.Contains(string(out), "recreating cluster") {
		t.Fatal("the cluster was made anew instead of restarted: the tests' clients and objects are gone")
	}
}

// processRuns tells whether pid is a live process: not gone, and not a zombie its parent (here
// not the tests) has yet to reap.
func processRuns(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// TestLeaderFailoverDuringUpdate: three operator replicas with leader election; the leader is
// killed in the middle of a rolling update; the new leader finishes that update, once: the same
// update (its start time), one new ReplicaSet, every task on the new image.
func TestLeaderFailoverDuringUpdate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	stopMainOperator(t)
	var replicas []*operatorProcess
	for _, node := range []string{"manager1", "worker1", "worker2"} {
		p, err := startOperatorProcess("operator-update-"+node, node, "--leader-elect", "--leader-election-namespace="+ns,
			"--leader-elect-lease-duration=5s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
			"--metrics-bind-address=0", "--zap-log-level=2")
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, p)
		t.Cleanup(p.stop)
	}
	svcSpec(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx:1.26", Replicas: ptr.To[int32](6),
		UpdateConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](1), Delay: &metav1.Duration{Duration: 2 * time.Second}}})
	waitReady(t, ns, "web", "6/6")
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:1.27" })
	var started *metav1.Time
	eventually(t, 60*time.Second, "two tasks run the new image", func() error {
		s := getSvc(t, ns, "web")
		if updateStateOf(s) != swarmv1.UpdateStateUpdating {
			return fmt.Errorf("update state %q", updateStateOf(s))
		}
		started = s.Status.UpdateStatus.StartedAt
		updated := 0
		for _, p := range tasks(t, ns, "web") {
			if p.Spec.Containers[0].Image == "nginx:1.27" {
				updated++
			}
		}
		if updated < 2 {
			return fmt.Errorf("%d tasks updated", updated)
		}
		return nil
	})
	leader := leaderOf(t, ctx, ns)
	for _, p := range replicas {
		if p.node == leader {
			p.kill()
		}
	}
	s := waitSvc(t, 120*time.Second, ns, "web", "the update completes", func(s *swarmv1.Service) error {
		if updateStateOf(s) != swarmv1.UpdateStateCompleted || !isReady(s) || s.Status.Replicas != "6/6" {
			return fmt.Errorf("update state %q, replicas %s", updateStateOf(s), s.Status.Replicas)
		}
		return nil
	})
	if !s.Status.UpdateStatus.StartedAt.Equal(started) {
		t.Errorf("the update started again at %v (first at %v)", s.Status.UpdateStatus.StartedAt, started)
	}
	if next := leaderOf(t, ctx, ns); next == leader {
		t.Errorf("the lease stayed with %s", leader)
	}
	for _, p := range tasks(t, ns, "web") {
		if p.Spec.Containers[0].Image != "nginx:1.27" {
			t.Errorf("task %s runs %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
	rss := &appsv1.ReplicaSetList{}
	if err := k8sClient.List(ctx, rss, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 2 {
		t.Errorf("%d ReplicaSets, want the old one and the new one", len(rss.Items))
	}
}

// leaderOf is the node of the replica holding the operator's Lease in ns.
func leaderOf(t *testing.T, ctx context.Context, ns string) string {
	t.Helper()
	var node string
	eventually(t, 30*time.Second, "a replica leads", func() error {
		l := &unstructured.Unstructured{}
		l.SetAPIVersion("coordination.k8s.io/v1")
		l.SetKind("Lease")
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubeswarm-operator"}, l); err != nil {
			return err
		}
		holder, _, _ := unstructured.NestedString(l.Object, "spec", "holderIdentity")
		node = nodes.NodeOfIdentity(holder)
		if node == "" {
			return fmt.Errorf("holder %q", holder)
		}
		return nil
	})
	return node
}

// TestHandEditsReverted: hand edits and deletions of what the operator owns (a Deployment, a
// Kubernetes Service, a NetworkPolicy, a claim) are undone; what it does not own is never
// touched: a user's Deployment whose pods carry a service's selector labels is not adopted, and
// one in the way of a service's name is reported, not taken over.
func TestHandEditsReverted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	seed, _ := filepath.Abs("../compose/seed/docker-compose.yml")
	deployStack(t, ns, "wp", seed)
	eventually(t, 120*time.Second, "the stack is Ready", func() error {
		st := &swarmv1.Stack{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp"}, st); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(st.Status.Conditions, swarmv1.ConditionReady) {
			return fmt.Errorf("conditions %+v", st.Status.Conditions)
		}
		return nil
	})
	// A user's Deployment whose pods carry wp-wordpress's selector labels, and one named like a
	// service to come.
	imposter := userDeployment(ns, "imposter", map[string]string{"swarm.kubeswarm.io/service": "wp-wordpress"})
	squatter := userDeployment(ns, "squat", map[string]string{"app": "squat"})
	for _, d := range []*appsv1.Deployment{imposter, squatter} {
		if err := k8sClient.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	svcSpec(t, ns, "squat", swarmv1.ServiceSpec{Image: "nginx"})

	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
	// handEdit reads obj, edits it as kubectl edit would, and waits until reverted says the
	// operator put it back.
	handEdit := func(name string, obj client.Object, edit func(), reverted func() error) {
		t.Helper()
		what := kindName(obj) + " " + name
		if err := k8sClient.Get(ctx, key(name), obj); err != nil {
			t.Fatal(err)
		}
		edit()
		if err := k8sClient.Update(ctx, obj); err != nil {
			t.Fatalf("editing %s: %v", what, err)
		}
		eventually(t, 60*time.Second, "the edit of "+what+" is reverted", func() error {
			if err := k8sClient.Get(ctx, key(name), obj); err != nil {
				return err
			}
			return reverted()
		})
	}
	dep := &appsv1.Deployment{}
	handEdit("wp-wordpress", dep, func() {
		dep.Spec.Replicas = ptr.To[int32](5)
		dep.Spec.Template.Spec.Containers[0].Image = "evil:latest"
	}, func() error {
		if ptr.Deref(dep.Spec.Replicas, 0) != 2 || dep.Spec.Template.Spec.Containers[0].Image == "evil:latest" {
			return fmt.Errorf("replicas %d image %s", ptr.Deref(dep.Spec.Replicas, 0), dep.Spec.Template.Spec.Containers[0].Image)
		}
		return nil
	})
	kube := &corev1.Service{}
	var target intstr.IntOrString
	handEdit("wp-wordpress", kube, func() {
		target = kube.Spec.Ports[0].TargetPort
		kube.Spec.Ports[0].TargetPort = intstr.FromInt32(9999)
	}, func() error {
		if kube.Spec.Ports[0].TargetPort != target {
			return fmt.Errorf("target port %s, want %s", kube.Spec.Ports[0].TargetPort.String(), target.String())
		}
		return nil
	})
	np := &networkingv1.NetworkPolicy{}
	handEdit("wp-net-common", np, func() { np.Spec.Ingress = nil }, func() error {
		if len(np.Spec.Ingress) == 0 {
			return fmt.Errorf("no ingress rules")
		}
		return nil
	})

	// Deletions: each comes back, as a new object.
	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &networkingv1.NetworkPolicy{}, &corev1.PersistentVolumeClaim{}} {
		name := map[string]string{"Deployment": "wp-wordpress", "Service": "wp-wordpress", "NetworkPolicy": "wp-net-common", "PersistentVolumeClaim": "wp-mysql-vol-wp-dbcluster-1"}[kindName(obj)]
		if err := k8sClient.Get(ctx, key(name), obj); err != nil {
			t.Fatal(err)
		}
		old := obj.GetUID()
		if err := k8sClient.Delete(ctx, obj); err != nil {
			t.Fatalf("deleting %s %s: %v", kindName(obj), name, err)
		}
		if kindName(obj) == "PersistentVolumeClaim" {
			// The claim is in use by dbcluster's task (pvc-protection): it goes once the task
			// is gone, and the task's replacement waits for the new claim.
			if err := k8sClient.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.MatchingLabels{"swarm.kubeswarm.io/service": "wp-dbcluster"}); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 120*time.Second, kindName(obj)+" "+name+" is made again", func() error {
			if err := k8sClient.Get(ctx, key(name), obj); err != nil {
				return err
			}
			if obj.GetUID() == old {
				return fmt.Errorf("still the deleted one")
			}
			return nil
		})
	}
	waitReady(t, ns, "wp-dbcluster", "1/1")

	// The user's objects: untouched.
	for _, d := range []*appsv1.Deployment{imposter, squatter} {
		got := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, key(d.Name), got); err != nil {
			t.Fatalf("the user's Deployment %s: %v", d.Name, err)
		}
		if len(got.OwnerReferences) > 0 || ptr.Deref(got.Spec.Replicas, 0) != 1 || got.Spec.Template.Spec.Containers[0].Image != "busybox" {
			t.Errorf("the user's Deployment %s was changed: owners %v, replicas %d, image %s", d.Name, got.OwnerReferences,
				ptr.Deref(got.Spec.Replicas, 0), got.Spec.Template.Spec.Containers[0].Image)
		}
	}
	waitSvc(t, 60*time.Second, ns, "squat", "the name conflict is reported", func(s *swarmv1.Service) error {
		c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != swarmv1.ReasonNameConflict {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	if s := getSvc(t, ns, "wp-wordpress"); s.Status.Replicas != "2/2" {
		t.Errorf("wp-wordpress counts the imposter's tasks: %s", s.Status.Replicas)
	}
}

func kindName(obj client.Object) string {
	t := fmt.Sprintf("%T", obj)
	return t[strings.LastIndex(t, ".")+1:]
}

func userDeployment(ns, name string, podLabels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: podLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
			},
		},
	}
}

// TestBadInputAtVolume: the compose corpus, cut and garbled, and a batch of invalid Services
// and Stacks, all applied at once: each is refused (by the converter or the API server's rules)
// or reported in its status; the operator never stops, and a service that was running is not
// touched.
func TestBadInputAtVolume(t *testing.T) {
	t.Parallel()
	if mainOperator == nil {
		t.Skip("the operator runs in the cluster (E2E_OPERATOR=external)")
	}
	ctx := context.Background()
	ns := newNamespace(t)
	svcSpec(t, ns, "canary", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2)})
	waitReady(t, ns, "canary", "2/2")
	canary := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "canary"}, canary); err != nil {
		t.Fatal(err)
	}

	// The compose corpus (internal/compose's fuzz seeds), each file cut at five places and
	// with its digits garbled.
	files, err := filepath.Glob("../compose/*/docker-compose.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no compose corpus: %v", err)
	}
	var inputs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for cut := 1; cut <= 5; cut++ {
			inputs = append(inputs, data[:len(data)*cut/6])
		}
		inputs = append(inputs, []byte(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return 'x' + (r-'0')%3
			}
			return r
		}, string(data))))
	}
	var applied []client.Object
	var mu sync.Mutex
	refused := 0
	apply := func(obj client.Object) {
		err := k8sClient.Create(ctx, obj)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			applied = append(applied, obj)
		case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
			refused++
		default:
			t.Errorf("creating %s %s: %v", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	var wg sync.WaitGroup
	for i, in := range inputs {
		dir := t.TempDir()
		// The corpus files name files next to them (env files, secrets): the converter says
		// they are missing, a refusal like any other.
		path := filepath.Join(dir, "docker-compose.yml")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := convertCompose(ctx, path, fmt.Sprintf("bad%d", i), ns)
		if err != nil {
			mu.Lock()
			refused++
			mu.Unlock()
			continue
		}
		for _, s := range res.Secrets {
			_ = k8sClient.Create(ctx, s)
		}
		// The corpus publishes the seed's ports, which the tests running alongside use.
		for j := range res.Stack.Spec.Services {
			res.Stack.Spec.Services[j].Ports = nil
		}
		wg.Add(1)
		go func() { defer wg.Done(); apply(res.Stack) }()
	}
	// Invalid objects written by hand (kubectl apply of a broken manifest).
	invalid := []map[string]any{
		{"image": ""},
		{"image": "nginx", "replicas": -1},
		{"image": "nginx", "mode": "bogus"},
		{"image": "nginx", "ports": []any{map[string]any{"target": 80, "published": 70000}}},
		{"image": "nginx", "mounts": []any{map[string]any{"type": "bind", "source": "/etc", "target": "/host-etc"}}},
		{"image": "nginx", "hostname": "{{.Node.Bogus}}"},
		{"image": "nginx", "placement": map[string]any{"constraints": []any{"node.labels.x=="}}},
		{"image": "nginx", "updateConfig": map[string]any{"parallelism": -3}},
		{"image": "nginx", "stopGracePeriod": "forever"},
		{"image": "nginx", "networks": []any{map[string]any{"target": "nowhere"}}},
	}
	invalidStacks := []map[string]any{
		{"services": []any{map[string]any{"name": "web"}}},
		{"services": []any{map[string]any{"name": "web", "image": "nginx"}, map[string]any{"name": "web", "image": "redis"}}},
		{"services": []any{map[string]any{"name": "web", "image": "nginx", "networks": []any{map[string]any{"target": "undeclared"}}}}},
		{"services": []any{map[string]any{"name": "web", "image": "nginx", "mounts": []any{map[string]any{"type": "volume", "source": "undeclared", "target": "/data"}}}}},
		{"services": []any{map[string]any{"name": "Not_A_Name", "image": "nginx"}}},
	}
	for i, bad := range append(kindsOf("Service", invalid), kindsOf("Stack", invalidStacks)...) {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": bad.spec}}
		u.SetAPIVersion(swarmv1.GroupVersion.String())
		u.SetKind(bad.kind)
		u.SetNamespace(ns)
		u.SetName(fmt.Sprintf("invalid-%d", i))
		wg.Add(1)
		go func() { defer wg.Done(); apply(u) }()
	}
	wg.Wait()
	t.Logf("%d inputs: %d refused before anything ran, %d applied", len(inputs)+len(invalid)+len(invalidStacks), refused, len(applied))

	// Everything applied is seen by the operator and reported: Ready, or not Ready with a
	// reason (Degraded, Stalled, or tasks waiting), for the generation applied.
	for _, obj := range applied {
		gvk, err := apiutil.GVKForObject(obj, scheme) // the converter's Stacks are typed, without a kind
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 120*time.Second, gvk.Kind+" "+obj.GetName()+" is reported", func() error {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), u); err != nil {
				return err
			}
			gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			if gen != u.GetGeneration() || len(conds) == 0 {
				return fmt.Errorf("observed generation %d of %d, conditions %v", gen, u.GetGeneration(), conds)
			}
			return nil
		})
	}
	for i := range invalid {
		name := fmt.Sprintf("invalid-%d", i) // the Services come first
		s := &swarmv1.Service{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); apierrors.IsNotFound(err) {
			continue // refused
		} else if err != nil {
			t.Fatal(err)
		}
		// Accepted: reported as what cannot be done (Stalled, Degraded) or is only approximated.
		stalled := meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionStalled)
		degraded := meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionDegraded)
		approximated := meta.IsStatusConditionFalse(s.Status.Conditions, "Honored")
		if !stalled && !degraded && !approximated {
			t.Errorf("Service %s (%v) was accepted and nothing is reported: %+v", name, invalid[i], s.Status.Conditions)
		}
	}
	select {
	case <-mainOperator.done:
		t.Fatalf("the operator exited:\n%s", tail(readFile(mainOperator.log), 30))
	default:
	}
	waitReady(t, ns, "canary", "2/2")
	after := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "canary"}, after); err != nil {
		t.Fatal(err)
	}
	if after.Generation != canary.Generation {
		t.Errorf("the canary's Deployment was written: generation %d, was %d", after.Generation, canary.Generation)
	}
}

// convertCompose converts a compose file as `kubectl swarm stack deploy -c FILE NAME` does.
func convertCompose(ctx context.Context, file, name, ns string) (*compose.Result, error) {
	p, err := compose.Load(ctx, compose.LoadOptions{Files: []string{file}, Environment: map[string]string{}})
	if err != nil {
		return nil, err
	}
	return compose.Convert(p, name, compose.ConvertOptions{Namespace: ns})
}

type badSpec struct {
	kind string
	spec map[string]any
}

func kindsOf(kind string, specs []map[string]any) []badSpec {
	out := make([]badSpec, 0, len(specs))
	for _, s := range specs {
		out = append(out, badSpec{kind, s})
	}
	return out
}
