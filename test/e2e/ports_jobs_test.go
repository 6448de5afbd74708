//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func kubeService(t *testing.T, ns, name string) *corev1.Service {
	t.Helper()
	k := &corev1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, k); err != nil {
		t.Fatalf("reading Kubernetes Service %s: %v", name, err)
	}
	return k
}

// TestHostModePorts: --publish mode=host,published=8000,target=80: the port is bound only on
// the nodes that run a task (hostPort), never twice on one node; a task that finds no free
// node waits, with the scheduler's reason. No node port is opened.
func TestHostModePorts(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2),
		Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80, Mode: swarmv1.PortModeHost}}})
	got := waitRunning(t, 60*time.Second, ns, "web", 2)
	if len(got) != 2 {
		t.Errorf("tasks by node %v, want two nodes", got)
	}
	for _, p := range tasks(t, ns, "web") {
		if hp := p.Spec.Containers[0].Ports[0].HostPort; hp != 8000 {
			t.Errorf("task %s hostPort %d, want 8000", p.Name, hp)
		}
	}
	if k := kubeService(t, ns, "web"); k.Spec.Type != corev1.ServiceTypeClusterIP || k.Spec.Ports[0].NodePort != 0 {
		t.Errorf("Kubernetes Service %s %+v, want ClusterIP without node port", k.Spec.Type, k.Spec.Ports)
	}
	s := getSvc(t, ns, "web")
	if len(s.Status.Ports) != 1 || s.Status.Ports[0].Mode != swarmv1.PortModeHost || s.Status.Ports[0].Published != 8000 || s.Status.PortsSummary != "" {
		t.Errorf("status ports %+v summary %q, want host 8000 and no ingress PORTS", s.Status.Ports, s.Status.PortsSummary)
	}
	nodes := len(nodeNames(t))
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Replicas = ptr.To(int32(nodes + 1)) })
	waitSvc(t, 60*time.Second, ns, "web", "one task more than nodes waits for a free port", func(s *swarmv1.Service) error {
		c := readyCondition(s)
		if s.Status.Replicas != fmt.Sprintf("%d/%d", nodes, nodes+1) || c == nil || !strings.Contains(c.Message, "1 pending") || !strings.Contains(c.Message, "free ports") {
			return fmt.Errorf("replicas %q Ready %+v", s.Status.Replicas, c)
		}
		return nil
	})
}

// TestPublishAddRemove: docker service update --publish-add 8080:80 / --publish-rm 80: the
// routing mesh opens and closes the port (the Service changes between headless and NodePort).
func TestPublishAddRemove(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2)})
	waitReady(t, ns, "web", "2/2")
	if k := kubeService(t, ns, "web"); k.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("a service without ports: clusterIP %q, want headless", k.Spec.ClusterIP)
	}
	updateSvc(t, ns, "web", func(s *swarmv1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, swarmv1.PortConfig{Published: 8080, Target: 80, Protocol: "tcp", Mode: swarmv1.PortModeIngress})
	})
	waitSvc(t, 30*time.Second, ns, "web", "the port is published", func(s *swarmv1.Service) error {
		if s.Status.PortsSummary != "*:8080->80/tcp" {
			return fmt.Errorf("ports %q", s.Status.PortsSummary)
		}
		return nil
	})
	if k := kubeService(t, ns, "web"); k.Spec.Type != corev1.ServiceTypeNodePort || k.Spec.Ports[0].NodePort != 8080 {
		t.Errorf("Kubernetes Service %s %+v, want NodePort 8080", k.Spec.Type, k.Spec.Ports)
	}
	updateSvc(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Ports = nil })
	eventually(t, 30*time.Second, "the port is closed", func() error {
		k := &corev1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, k); err != nil {
			return err
		}
		if k.Spec.Type != corev1.ServiceTypeClusterIP || k.Spec.ClusterIP != corev1.ClusterIPNone {
			return fmt.Errorf("type %s clusterIP %s", k.Spec.Type, k.Spec.ClusterIP)
		}
		return nil
	})
	if s := getSvc(t, ns, "web"); s.Status.PortsSummary != "" {
		t.Errorf("status still shows %q", s.Status.PortsSummary)
	}
}

// TestReplicatedJob: --mode replicated-job --replicas 3 --max-concurrent 2 runs three tasks to
// completion, two at a time; an update runs the job again.
func TestReplicatedJob(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "migrate", swarmv1.ServiceSpec{Image: "busybox", Mode: swarmv1.ModeReplicatedJob, Replicas: ptr.To[int32](3), MaxConcurrent: ptr.To[int32](2)})
	waitSvc(t, 90*time.Second, ns, "migrate", "the job completes", func(s *swarmv1.Service) error {
		if !isReady(s) || s.Status.Replicas != "0/2 (3/3 completed)" {
			return fmt.Errorf("replicas %q ready %v", s.Status.Replicas, isReady(s))
		}
		return nil
	})
	job := &batchv1.Job{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "migrate"}, job); err != nil {
		t.Fatal(err)
	}
	if *job.Spec.Completions != 3 || *job.Spec.Parallelism != 2 {
		t.Errorf("Job completions %d parallelism %d, want 3 and 2", *job.Spec.Completions, *job.Spec.Parallelism)
	}
	first := job.UID
	updateSvc(t, ns, "migrate", func(s *swarmv1.Service) { s.Spec.Env = []swarmv1.EnvVar{{Name: "RUN", Value: "2"}} })
	waitSvc(t, 90*time.Second, ns, "migrate", "the job runs again and completes", func(s *swarmv1.Service) error {
		j := &batchv1.Job{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "migrate"}, j); err != nil {
			return err
		}
		if j.UID == first || !isReady(s) || s.Status.JobIteration != 1 {
			return fmt.Errorf("same Job %v, ready %v, iteration %d", j.UID == first, isReady(s), s.Status.JobIteration)
		}
		return nil
	})
}

// TestGlobalJob: --mode global-job runs one task to completion on every eligible node, and on a
// node that joins later.
func TestGlobalJob(t *testing.T) {
	ns := newNamespace(t)
	nodes := nodeNames(t)
	svcSpec(t, ns, "scan", swarmv1.ServiceSpec{Image: "busybox", Mode: swarmv1.ModeGlobalJob})
	want := fmt.Sprintf("0/0 (%d/%d completed)", len(nodes), len(nodes))
	waitSvc(t, 90*time.Second, ns, "scan", "a task completes on every node", func(s *swarmv1.Service) error {
		if !isReady(s) || s.Status.Replicas != want {
			return fmt.Errorf("replicas %q ready %v", s.Status.Replicas, isReady(s))
		}
		return nil
	})
	t.Cleanup(func() { localCluster(t, "remove-node", "worker8") })
	localCluster(t, "add-node", "worker8")
	want = fmt.Sprintf("0/0 (%d/%d completed)", len(nodes)+1, len(nodes)+1)
	waitSvc(t, 90*time.Second, ns, "scan", "the new node runs it too", func(s *swarmv1.Service) error {
		if !isReady(s) || s.Status.Replicas != want {
			return fmt.Errorf("replicas %q ready %v", s.Status.Replicas, isReady(s))
		}
		return nil
	})
	j := &batchv1.Job{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "scan-worker8"}, j); err != nil {
		t.Errorf("no Job for the new node: %v", err)
	}
}

// TestVolumeClaim: a named volume becomes a claim that is bound, and the task runs with it.
func TestVolumeClaim(t *testing.T) {
	ns := newNamespace(t)
	svcSpec(t, ns, "db", swarmv1.ServiceSpec{Image: "mysql:5.7", Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "mysql-data", Target: "/var/lib/mysql"}}})
	waitReady(t, ns, "db", "1/1")
	// A replicated service's named volume is a claim per slot (the StatefulSet's claim template).
	pvc := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "mysql-data-db-1"}, pvc); err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Errorf("claim mysql-data-db-1: %v phase %s, want Bound", err, pvc.Status.Phase)
	}
}
