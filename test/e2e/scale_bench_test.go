//go:build e2e && !realnodes

package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// BenchmarkScale creates BENCH_SERVICES (1000) Services of BENCH_REPLICAS (3) tasks, each
// publishing a port, and times them until every one is Ready; and, in the same run, the floor:
// the same Deployments and Kubernetes Services a user would apply without kubeswarm, timed
// until every Deployment's replicas are ready. The floor goes first, in a namespace removed
// before kubeswarm's turn. It prints both and their ratio, the operator's writes per Service,
// its writes while the Services then sit unchanged for BENCH_IDLE (60s), and its peak RSS.
// Run it with hack/bench-scale.sh (a cluster of 100 nodes).
func BenchmarkScale(b *testing.B) {
	n := envInt("BENCH_SERVICES", 1000)
	replicas := int32(envInt("BENCH_REPLICAS", 3))
	idle := envDuration("BENCH_IDLE", 60*time.Second)
	ctx := context.Background()
	for b.Loop() {
		floorNS := scaleNamespace(b, "floor")
		start := time.Now()
		createAll(b, n, func(i int) []client.Object {
			dep, ksvc := plainService(floorNS, fmt.Sprintf("svc-%04d", i), replicas)
			return []client.Object{dep, ksvc}
		})
		waitAll(b, n, "Deployments ready", func() (int, error) {
			list := &appsv1.DeploymentList{}
			if err := k8sClient.List(ctx, list, client.InNamespace(floorNS)); err != nil {
				return 0, err
			}
			ready := 0
			for _, d := range list.Items {
				if d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == replicas && d.Status.UpdatedReplicas == replicas {
					ready++
				}
			}
			return ready, nil
		})
		floor := time.Since(start)
		fmt.Printf("floor: %d Deployments + Services ready in %.1fs\n", n, floor.Seconds())
		removeNamespace(b, floorNS)

		ns := scaleNamespace(b, "swarm")
		before := scrape(b)
		start = time.Now()
		createAll(b, n, func(i int) []client.Object {
			return []client.Object{&swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%04d", i), Namespace: ns},
				Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To(replicas), Ports: []swarmv1.PortConfig{{Target: 80}}}}}
		})
		waitAll(b, n, "Services Ready", func() (int, error) {
			list := &swarmv1.ServiceList{}
			if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
				return 0, err
			}
			ready := 0
			for _, s := range list.Items {
				if meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionReady) {
					ready++
				}
			}
			return ready, nil
		})
		took := time.Since(start)
		fmt.Printf("kubeswarm: %d Services Ready in %.1fs\n", n, took.Seconds())
		time.Sleep(10 * time.Second) // the last status writes of convergence
		converged := scrape(b)
		time.Sleep(idle)
		after := scrape(b)
		perService := (converged.writes - before.writes) / float64(n)
		fmt.Printf("services=%d replicas=%d kubeswarm=%.1fs floor=%.1fs ratio=%.3f writes_per_service=%.2f idle=%s idle_writes=%.0f idle_reconciles=%.0f peak_rss=%s heap_inuse_converged=%.0fMiB gomemlimit=%s\n",
			n, replicas, took.Seconds(), floor.Seconds(), took.Seconds()/floor.Seconds(), perService,
			idle, after.writes-converged.writes, after.reconciles-converged.reconciles, operatorPeakRSS(), converged.heapInuse/(1<<20),
			cmp.Or(os.Getenv("OPERATOR_GOMEMLIMIT"), "none"))
		fmt.Printf("idle reconciles by controller: %s\n", idleByController(converged, after))
		saveHeapProfile(b, "artifacts/operator-heap-scale.pprof")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "ratio")
		b.ReportMetric(perService, "writes/service")
		removeNamespace(b, ns) // the next run (another operator's) starts on an empty cluster
	}
}

// scaleNamespace makes a namespace for one side of the benchmark, removed at the end.
func scaleNamespace(b *testing.B, side string) string {
	ns := fmt.Sprintf("scale-%s-%d", side, time.Now().Unix())
	if err := k8sClient.Create(context.Background(), namespaceObj(ns)); err != nil {
		b.Fatalf("creating namespace: %v", err)
	}
	b.Cleanup(func() { _ = k8sClient.Delete(context.Background(), namespaceObj(ns)) })
	return ns
}

// removeNamespace deletes ns and waits until it is gone, so that the next side starts on an
// empty cluster.
func removeNamespace(b *testing.B, ns string) {
	ctx := context.Background()
	if err := k8sClient.Delete(ctx, namespaceObj(ns)); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Minute)
	for time.Now().Before(deadline) {
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(2 * time.Second)
	}
	b.Fatalf("namespace %s was not removed in 15m", ns)
}

// createAll creates the objects of n services from 8 workers, as fast as the apiserver takes
// them (the test's client has no rate limit).
func createAll(b *testing.B, n int, objs func(i int) []client.Object) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				for _, o := range objs(i) {
					if err := k8sClient.Create(context.Background(), o); err != nil {
						errs <- fmt.Errorf("creating %s: %w", o.GetName(), err)
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// waitAll polls every 2 s until count says all n are done (30 min at most).
func waitAll(b *testing.B, n int, what string, count func() (int, error)) {
	deadline := time.Now().Add(30 * time.Minute)
	last := time.Now()
	for {
		done, err := count()
		if err != nil {
			b.Fatal(err)
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d %s", done, n, what)
		}
		if time.Since(last) > 30*time.Second {
			fmt.Printf("  %d of %d %s\n", done, n, what)
			last = time.Now()
		}
		time.Sleep(2 * time.Second)
	}
}

// plainService is what a Kubernetes user would apply for one published service: a Deployment
// and a NodePort Service.
func plainService(ns, name string, replicas int32) (*appsv1.Deployment, *corev1.Service) {
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "task", Image: "nginx"}}},
			},
		},
	}
	ksvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}
	return dep, ksvc
}

// operatorPeakRSS is the peak resident memory of the operator the tests started (VmHWM).
func operatorPeakRSS() string {
	if mainOperator == nil {
		return "n/a"
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", mainOperator.cmd.Process.Pid))
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			if _, err := fmt.Sscan(v, &kb); err == nil {
				return fmt.Sprintf("%.0fMiB", float64(kb)/1024)
			}
		}
	}
	return "n/a"
}
