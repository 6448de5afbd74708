//go:build e2e && !realnodes

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
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

type counters struct{ writes, reconciles float64 }

// scrape reads the operator's rest_client_requests_total (writes) and
// controller_runtime_reconcile_total (reconciles) from its metrics endpoint.
func scrape(b *testing.B) counters {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		b.Fatalf("reading the operator's metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var c counters
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
