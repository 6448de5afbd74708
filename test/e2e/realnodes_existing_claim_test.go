//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestRealExistingClaimShared: a volume whose claim exists before the service (as an earlier
// kubeswarm's shared claim does after an upgrade; made here as kubeswarm made it) is that one
// claim for every task, data included:
//
//	docker service create --name keep --replicas 2 --mount source=data,target=/data kubeswarm.test/web:1
//
// The service runs as a Deployment whose two tasks share the claim on one node: what one writes,
// the other reads; the Honored condition says why the volume is not per slot.
func TestRealExistingClaimShared(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns,
		Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: "data"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if err := k8sClient.Create(context.Background(), claim); err != nil {
		t.Fatal(err)
	}
	mustSwarm(t, ns, "service", "create", "-d", "--name", "keep", "--replicas", "2",
		"--mount", "type=volume,source=data,target=/data", "kubeswarm.test/web:1")
	byNode := waitRunning(t, 3*time.Minute, ns, "keep", 2)
	if len(byNode) != 1 {
		t.Errorf("tasks on %v, want both on one node (they share one ReadWriteOnce claim)", byNode)
	}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "keep"}, &appsv1.StatefulSet{}); !apierrors.IsNotFound(err) {
		t.Errorf("StatefulSet keep: %v, want none (the volume's claim existed)", err)
	}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "keep"}, &appsv1.Deployment{}); err != nil {
		t.Errorf("Deployment keep: %v", err)
	}
	pods := runningTasks(t, ns, "keep")
	if len(pods) != 2 {
		t.Fatalf("%d running tasks, want 2", len(pods))
	}
	want := "written by " + pods[0].Name
	if _, err := send("PUT", fileURL(pods[0], "/data/shared"), want); err != nil {
		t.Fatal(err)
	}
	if got := readTaskFile(t, pods[1], "/data/shared"); got != want {
		t.Errorf("task %s reads %q from the volume, want %q (written by the other task)", pods[1].Name, got, want)
	}
	eventually(t, time.Minute, "Honored says why the volume is shared", func() error {
		svc := &swarmv1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "keep"}, svc); err != nil {
			return err
		}
		c := meta.FindStatusCondition(svc.Status.Conditions, controllers.ConditionHonored)
		if c == nil || !strings.Contains(c.Message, "the tasks share the claim data, which existed before the service") {
			return fmt.Errorf("Honored: %+v", c)
		}
		return nil
	})
}
