package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// createClaim makes a claim as an earlier kubeswarm made it.
func createClaim(t *testing.T, ns, name string, labels map[string]string) {
	t.Helper()
	l := map[string]string{translate.LabelManagedBy: translate.ManagedByValue}
	for k, v := range labels {
		l[k] = v
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if err := k8sClient.Create(context.Background(), pvc); err != nil {
		t.Fatalf("creating claim %s: %v", name, err)
	}
}

// mountsClaim checks that a Deployment's tasks mount claim, on one node (pod affinity).
func mountsClaim(claim string) func(*appsv1.Deployment) error {
	return func(d *appsv1.Deployment) error {
		var got []string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				got = append(got, v.PersistentVolumeClaim.ClaimName)
			}
		}
		if len(got) != 1 || got[0] != claim {
			return fmt.Errorf("claims %q, want %s", got, claim)
		}
		if a := d.Spec.Template.Spec.Affinity; a == nil || a.PodAffinity == nil {
			return fmt.Errorf("no pod affinity: the tasks sharing claim %s are not kept on one node", claim)
		}
		return nil
	}
}

// honoredSays waits for the service's Honored condition to say why its claim is not per slot.
func honoredSays(t *testing.T, ns, name, claim string) {
	t.Helper()
	want := "mounts: the tasks share the claim " + claim + ", which existed before the service"
	waitService(t, ns, name, "Honored says the existing claim is shared", func(s *swarmv1.Service) error {
		if c := condition(s, controllers.ConditionHonored); c == nil || !strings.Contains(c.Message, want) {
			return fmt.Errorf("Honored = %+v, want %q", c, want)
		}
		return nil
	})
}

// noStatefulSet fails if name has a StatefulSet, after the operator had time to make one.
func noStatefulSet(t *testing.T, ns, name string) {
	t.Helper()
	time.Sleep(2 * time.Second)
	if _, err := get(context.Background(), ns, name, &appsv1.StatefulSet{}); !apierrors.IsNotFound(err) {
		t.Errorf("StatefulSet %s: %v, want none: the tasks moved off the existing claim", name, err)
	}
}

// TestExistingClaimStaysShared: a replicated service whose named volume's claim exists (an
// earlier kubeswarm's, which its tasks shared, or the user's, labelled as kubeswarm's) keeps mounting that one claim
// from a Deployment, as before per-slot claims; the claim deleted, the service gets a claim per
// slot from a StatefulSet, and a claim of the volume's name made again changes nothing.
func TestExistingClaimStaysShared(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createClaim(t, ns, "data", map[string]string{translate.LabelVolume: "data"})
	svc := testutil.MakeService("web", ns).Replicas(2).Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"}).Obj()
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "web", mountsClaim("data"))
	honoredSays(t, ns, "web", "data")
	noStatefulSet(t, ns, "web")

	// Deleted (here kept Terminating by its protection finalizer, as while tasks mount it): the
	// slots get their own claims.
	pvc, err := get(ctx, ns, "data", &corev1.PersistentVolumeClaim{})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Delete(ctx, pvc); err != nil {
		t.Fatal(err)
	}
	waitStatefulSet(t, ns, "web", func(sts *appsv1.StatefulSet) error {
		if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
			return fmt.Errorf("claim templates %+v", sts.Spec.VolumeClaimTemplates)
		}
		return nil
	})
	eventually(t, "the Deployment is deleted", func() error {
		if d, err := get(ctx, ns, "web", &appsv1.Deployment{}); err == nil && d.DeletionTimestamp.IsZero() {
			return fmt.Errorf("still there")
		}
		return nil
	})

	// The slots' claims exist (the StatefulSet controller does not run here: made as it makes
	// them); a claim of the volume's name made afterwards takes nothing from them.
	if err := removeFinalizers(ctx, ns, "data"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "claim data is gone", func() error {
		if _, err := get(ctx, ns, "data", &corev1.PersistentVolumeClaim{}); err == nil {
			return errors.New("still there")
		} else if !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
	createClaim(t, ns, "data-web-1", map[string]string{translate.LabelVolume: "data", translate.LabelSlotsOf: "web"})
	createClaim(t, ns, "data", map[string]string{translate.LabelVolume: "data"})
	time.Sleep(2 * time.Second)
	if _, err := get(ctx, ns, "web", &appsv1.StatefulSet{}); err != nil {
		t.Errorf("StatefulSet web: %v, want it kept", err)
	}
	if d, err := get(ctx, ns, "web", &appsv1.Deployment{}); err == nil && d.DeletionTimestamp.IsZero() {
		t.Errorf("a Deployment web came back: the slots' claims were left for claim data")
	}
}

// removeFinalizers lets a deleted claim go (no controller manager removes the protection here).
func removeFinalizers(ctx context.Context, ns, name string) error {
	pvc, err := get(ctx, ns, name, &corev1.PersistentVolumeClaim{})
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	pvc.Finalizers = nil
	return k8sClient.Update(ctx, pvc)
}

// TestStackExistingClaimStaysShared: the seed stack's mysql_vol, mounted by dbcluster alone,
// whose claim <stack>-mysql_vol exists (an earlier kubeswarm made it and dbcluster's tasks
// shared it): dbcluster keeps mounting it from a Deployment, and the Stack keeps applying it.
func TestStackExistingClaimStaysShared(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createClaim(t, ns, "wp-mysql-vol", map[string]string{translate.LabelVolume: "mysql_vol", translate.LabelStack: "wp"})
	st := seedStack("wp", ns)
	st.Spec.Services[0].Mounts = nil // dbcluster alone mounts mysql_vol: per slot, but for its claim
	st.Spec.Services[0].Ports = nil  // published ports are the cluster's: TestStackDeploy's 8080
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, ns, "wp-dbcluster", mountsClaim("wp-mysql-vol"))
	honoredSays(t, ns, "wp-dbcluster", "wp-mysql-vol")
	eventually(t, "the Stack applies its claim", func() error {
		pvc, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
		if err != nil {
			return err
		}
		for _, f := range pvc.ManagedFields {
			if f.Manager == controllers.FieldOwner && f.Operation == metav1.ManagedFieldsOperationApply {
				return nil
			}
		}
		return fmt.Errorf("no apply by %s in %+v", controllers.FieldOwner, pvc.ManagedFields)
	})
	noStatefulSet(t, ns, "wp-dbcluster")
	if pvc, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{}); err != nil || !pvc.DeletionTimestamp.IsZero() {
		t.Errorf("claim wp-mysql-vol: %v, deleting %v: want it kept", err, pvc.DeletionTimestamp)
	}
}
