//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// BenchmarkStackDeploy times `kubectl swarm stack deploy --detach=false` of a compose file of
// BENCH_STACK_SERVICES (50) services (2 replicas each, one network, every fifth publishing a
// port), from the command's start to its exit (it waits until every service has converged),
// and checks that every service is then Ready. Run it with hack/bench-stack.sh.
func BenchmarkStackDeploy(b *testing.B) {
	n := envInt("BENCH_STACK_SERVICES", 50)
	bin := os.Getenv("KUBECTL_SWARM_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../bin/kubectl-swarm")
	}
	file := filepath.Join(b.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(file, []byte(benchCompose(n)), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ns := benchNamespace(b)
		cmd := exec.Command(bin, "-n", ns, "stack", "deploy", "--detach=false", "--resolve-image", "never", "-c", file, "bench")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			b.Fatalf("stack deploy: %v\n%s", err, out)
		}
		list := &swarmv1.ServiceList{}
		if err := k8sClient.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, s := range list.Items {
			if meta.IsStatusConditionTrue(s.Status.Conditions, swarmv1.ConditionReady) {
				ready++
			}
		}
		if ready != n {
			b.Fatalf("stack deploy returned with %d of %d services Ready\n%s", ready, n, out)
		}
		fmt.Printf("stack_services=%d tasks=%d stack_deploy_detach_false=%.1fs (%d Ready)\n", n, 2*n, took.Seconds(), ready)
		b.ReportMetric(took.Seconds(), "converge-s")
	}
}

// benchCompose is a compose file of n services.
func benchCompose(n int) string {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  svc%02d:\n    image: nginx:1.27\n    networks: [back]\n    deploy:\n      replicas: 2\n", i)
		if i%5 == 0 {
			fmt.Fprintf(&sb, "    ports:\n      - \"%d:80\"\n", 9000+i)
		}
	}
	sb.WriteString("networks:\n  back: {}\n")
	return sb.String()
}
