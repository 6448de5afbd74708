//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestReplicatedSpreadsOverNodes: docker service create --replicas 3 nginx. Three tasks run,
// one on each of the three nodes manager1, worker1 and worker2: managers run tasks, as in Swarm.
func TestReplicatedSpreadsOverNodes(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	create(t, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: ns},
		Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](3)}})
	waitReady(t, ns, "nginx", "3/3")
	byNode, n, err := runningPods(ctx, ns, "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d running tasks, want 3", n)
	}
	nodes := &corev1.NodeList{}
	if err := k8sClient.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	for _, node := range nodes.Items {
		if byNode[node.Name] != 1 {
			t.Errorf("tasks by node = %v, want one on each of the %d nodes", byNode, len(nodes.Items))
			break
		}
	}
}

// TestGlobalOnePerNode: --mode global runs exactly one task on every node.
func TestGlobalOnePerNode(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	create(t, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: swarmv1.ServiceSpec{Image: "busybox", Mode: swarmv1.ModeGlobal}})
	nodes := &corev1.NodeList{}
	if err := k8sClient.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d/%d", len(nodes.Items), len(nodes.Items))
	waitReady(t, ns, "agent", want)
	byNode, _, err := runningPods(ctx, ns, "agent")
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range nodes.Items {
		if byNode[node.Name] != 1 {
			t.Errorf("tasks by node = %v, want exactly one on each node", byNode)
			break
		}
	}
}

// TestPublishedPortIsNodePort: --publish 8000:80 makes a NodePort Service whose node port is
// 8000, the routing mesh; status and the PORTS column say *:8000->80/tcp.
func TestPublishedPortIsNodePort(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	create(t, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2), Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80}}}})
	svc := waitReady(t, ns, "web", "2/2")
	if svc.Status.PortsSummary != "*:8000->80/tcp" {
		t.Errorf("status.portsSummary = %q, want *:8000->80/tcp", svc.Status.PortsSummary)
	}
	ks := &corev1.Service{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ks); err != nil {
		t.Fatal(err)
	}
	if ks.Spec.Type != corev1.ServiceTypeNodePort || len(ks.Spec.Ports) != 1 || ks.Spec.Ports[0].NodePort != 8000 || ks.Spec.Ports[0].TargetPort.IntVal != 80 {
		t.Errorf("Kubernetes Service = %s %+v, want NodePort 8000 → 80", ks.Spec.Type, ks.Spec.Ports)
	}
	eventually(t, 30*time.Second, "the Service has the two tasks as ready endpoints", func() error {
		slices := &discoveryv1.EndpointSliceList{}
		if err := k8sClient.List(ctx, slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: "web"}); err != nil {
			return err
		}
		n := 0
		for _, sl := range slices.Items {
			for _, e := range sl.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					n++
				}
			}
		}
		if n != 2 {
			return fmt.Errorf("%d ready endpoints", n)
		}
		return nil
	})
}

// TestRemoveDeletesEverything: docker service rm — the Deployment, the Kubernetes Service and
// the tasks go with the Service (garbage collection through owner references).
func TestRemoveDeletesEverything(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: ns},
		Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2), Ports: []swarmv1.PortConfig{{Target: 80}}}}
	create(t, svc)
	waitReady(t, ns, "gone", "2/2")
	if err := k8sClient.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: "gone"}
	eventually(t, 60*time.Second, "the Deployment, the Kubernetes Service and the tasks are gone", func() error {
		if err := k8sClient.Get(ctx, key, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Deployment: %w", err)
		}
		if err := k8sClient.Get(ctx, key, &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Service: %w", err)
		}
		pods := &corev1.PodList{}
		if err := k8sClient.List(ctx, pods, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pods.Items) != 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
}
