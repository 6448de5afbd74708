//go:build e2e && !realnodes

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// BenchmarkIdleWrites counts the write requests (POST, PUT, PATCH, DELETE) the operator sends
// while BENCH_SERVICES (200) converged Services sit unchanged for BENCH_IDLE (60s), read from
// the operator's own client metrics. The target is 0. Run it with hack/bench-reconcile.sh.
func BenchmarkIdleWrites(b *testing.B) {
	n := envInt("BENCH_SERVICES", 200)
	idle := envDuration("BENCH_IDLE", 60*time.Second)
	ctx := context.Background()
	for b.Loop() {
		ns := benchNamespace(b)
		start := time.Now()
		for i := range n {
			svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%03d", i), Namespace: ns},
				Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](1), Ports: []swarmv1.PortConfig{{Target: 80}}}}
			if err := k8sClient.Create(ctx, svc); err != nil {
				b.Fatalf("creating %s: %v", svc.Name, err)
			}
		}
		deadline := time.Now().Add(5 * time.Minute)
		for ready := 0; ready < n; {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d Services became Ready", ready, n)
			}
			time.Sleep(2 * time.Second)
			list := &swarmv1.ServiceList{}
			if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
				b.Fatal(err)
			}
			ready = 0
			for _, s := range list.Items {
				if meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionReady) {
					ready++
				}
			}
		}
		converged := time.Since(start)
		time.Sleep(5 * time.Second) // the last status writes of convergence
		before := scrape(b)
		if before.writes < float64(n) || before.reconciles < float64(n) {
			// Creating n Services takes at least n writes: reading nothing means a broken scrape.
			b.Fatalf("the operator's metrics show %.0f writes and %.0f reconciles for %d new Services; is %s its metrics endpoint?", before.writes, before.reconciles, n, metricsAddr)
		}
		time.Sleep(idle)
		after := scrape(b)
		writes := after.writes - before.writes
		reconciles := after.reconciles - before.reconciles
		fmt.Printf("services=%d converged_in=%s (operator writes %.0f, reconciles %.0f) idle=%s operator_writes=%.0f reconciles=%.0f\n",
			n, converged.Round(time.Second), before.writes, before.reconciles, idle, writes, reconciles)
		b.ReportMetric(writes, "writes")
		b.ReportMetric(converged.Seconds(), "converge-s")
	}
}

func namespaceObj(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func benchNamespace(b *testing.B) string {
	ns := fmt.Sprintf("bench-%d", time.Now().Unix())
	if err := k8sClient.Create(context.Background(), namespaceObj(ns)); err != nil {
		b.Fatalf("creating namespace: %v", err)
	}
	b.Cleanup(func() { _ = k8sClient.Delete(context.Background(), namespaceObj(ns)) })
	return ns
}

type counters struct {
	writes, reconciles float64
	// byController: reconciles by controller.
	byController map[string]float64
	// heapInuse is the Go heap in use (go_memstats_heap_inuse_bytes).
	heapInuse float64
}

// scrape reads the operator's rest_client_requests_total (writes),
// controller_runtime_reconcile_total (reconciles) and its heap in use from its metrics endpoint.
func scrape(b *testing.B) counters {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		b.Fatalf("reading the operator's metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	c := counters{byController: map[string]float64{}}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "rest_client_requests_total{"):
			for _, m := range []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`} {
				if strings.Contains(line, m) {
					c.writes += v
				}
			}
		case strings.HasPrefix(line, "controller_runtime_reconcile_total{"):
			c.reconciles += v
			if _, rest, ok := strings.Cut(line, `controller="`); ok {
				name, _, _ := strings.Cut(rest, `"`)
				c.byController[name] += v
			}
		case strings.HasPrefix(line, "go_memstats_heap_inuse_bytes "):
			c.heapInuse = v
		}
	}
	return c
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// idleByController says which controllers reconciled between two scrapes, and how often.
func idleByController(from, to counters) string {
	var parts []string
	for name, v := range to.byController {
		if d := v - from.byController[name]; d > 0 {
			parts = append(parts, fmt.Sprintf("%s=%.0f", name, d))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// saveHeapProfile writes the operator's heap profile (its pprof endpoint) to path, for
// `go tool pprof -sample_index=inuse_space path`.
func saveHeapProfile(b *testing.B, path string) {
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap")
	if err != nil {
		b.Logf("reading the operator's heap profile: %v", err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := os.Create(path)
	if err != nil {
		b.Logf("saving the heap profile: %v", err)
		return
	}
	defer func() { _ = f.Close() }()
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Logf("saving the heap profile: %v", err)
		return
	}
	fmt.Printf("heap profile: test/e2e/%s\n", path)
}
