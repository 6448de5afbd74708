//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// BenchmarkRollout measures the time from a spec change (a new image) to every task of a
// BENCH_REPLICAS-replica (100) service running the new image, with update parallelism
// BENCH_PARALLELISM (10, stop-first), through kubeswarm; and the same for a hand-written
// Deployment with the same pod template (kubeswarm's, its Swarm spread included) and the
// equivalent strategy (maxSurge 0, maxUnavailable = the parallelism). It prints both and their
// ratio; kubeswarm should add no more than 10%. BENCH_ROUNDS (3) rounds alternate the two. Run
// it with hack/bench-rollout.sh.
func BenchmarkRollout(b *testing.B) {
	rounds := envInt("BENCH_ROUNDS", 3)
	replicas := int32(envInt("BENCH_REPLICAS", 100))
	parallelism := int32(envInt("BENCH_PARALLELISM", 10))
	ctx := context.Background()
	for b.Loop() {
		ns := benchNamespace(b)
		svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: swarmv1.ServiceSpec{
			Image: "nginx:v0", Replicas: ptr.To[int32](replicas), UpdateConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To(parallelism)}}}
		if err := k8sClient.Create(ctx, svc); err != nil {
			b.Fatal(err)
		}
		dep := handWritten(ns, replicas, parallelism, swarmDeployment(b, ns, "web"))
		if err := k8sClient.Create(ctx, dep); err != nil {
			b.Fatal(err)
		}
		sel := map[string]client.MatchingLabels{"swarm": {"swarm.kubeswarm.io/service": "web"}, "deployment": {"app": "hand"}}
		waitImage(b, ns, sel["swarm"], "nginx:v0", int(replicas))
		waitImage(b, ns, sel["deployment"], "nginx:v0", int(replicas))
		var swarmTotal, depTotal time.Duration
		for i := 1; i <= rounds; i++ {
			img := fmt.Sprintf("nginx:v%d", i)
			start := time.Now()
			if err := retryUpdate(ctx, svc, func() { svc.Spec.Image = img }); err != nil {
				b.Fatal(err)
			}
			waitImage(b, ns, sel["swarm"], img, int(replicas))
			swarmTook := time.Since(start)

			start = time.Now()
			if err := retryUpdate(ctx, dep, func() { dep.Spec.Template.Spec.Containers[0].Image = img }); err != nil {
				b.Fatal(err)
			}
			waitImage(b, ns, sel["deployment"], img, int(replicas))
			depTook := time.Since(start)
			fmt.Printf("round %d: kubeswarm %.2fs, Deployment %.2fs\n", i, swarmTook.Seconds(), depTook.Seconds())
			swarmTotal += swarmTook
			depTotal += depTook
		}
		ratio := swarmTotal.Seconds() / depTotal.Seconds()
		fmt.Printf("replicas=%d parallelism=%d rounds=%d kubeswarm_mean=%.2fs deployment_mean=%.2fs ratio=%.3f\n",
			replicas, parallelism, rounds, swarmTotal.Seconds()/float64(rounds), depTotal.Seconds()/float64(rounds), ratio)
		b.ReportMetric(swarmTotal.Seconds()/float64(rounds), "kubeswarm-s")
		b.ReportMetric(depTotal.Seconds()/float64(rounds), "deployment-s")
		b.ReportMetric(ratio, "ratio")
	}
}

// swarmDeployment waits for the Deployment kubeswarm makes for service name and returns it.
func swarmDeployment(b *testing.B, ns, name string) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	deadline := time.Now().Add(time.Minute)
	for k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, dep) != nil {
		if time.Now().After(deadline) {
			b.Fatalf("no Deployment %s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return dep
}

// handWritten is the Deployment a Kubernetes user would write for the same service: a copy of
// like's pod spec (kubeswarm's, its spread counting the hand-written Deployment's own pods)
// without kubeswarm's admission gate, which only the operator lifts, for its own tasks.
func handWritten(ns string, replicas, parallelism int32, like *appsv1.Deployment) *appsv1.Deployment {
	labels := map[string]string{"app": "hand"}
	pod := *like.Spec.Template.Spec.DeepCopy()
	for i := range pod.TopologySpreadConstraints {
		pod.TopologySpreadConstraints[i].LabelSelector = &metav1.LabelSelector{MatchLabels: labels}
	}
	pod.Containers[0].Image = "nginx:v0"
	pod.SchedulingGates = nil
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hand", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: ptr.To(intstr.FromInt32(0)), MaxUnavailable: ptr.To(intstr.FromInt32(parallelism))}},
			RevisionHistoryLimit: like.Spec.RevisionHistoryLimit,
			Template:             corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

func retryUpdate(ctx context.Context, obj client.Object, mutate func()) error {
	for range 20 {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate()
		if err := k8sClient.Update(ctx, obj); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("could not update %s", obj.GetName())
}

// waitImage polls (every 100 ms) until exactly n pods match sel, all Running and Ready with
// image, and no other pod of sel remains.
func waitImage(b *testing.B, ns string, sel client.MatchingLabels, image string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		pods := &corev1.PodList{}
		if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns), sel); err != nil {
			b.Fatal(err)
		}
		ok := len(pods.Items) == n
		for _, p := range pods.Items {
			if p.Spec.Containers[0].Image != image || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(&p) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("pods %v never all ran %s", sel, image)
}
