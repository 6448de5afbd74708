//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/compose"
)

// deployStack converts compose files as `kubectl swarm stack deploy -c FILE NAME` does and
// creates or updates the Stack (and its Secrets/ConfigMaps) in ns.
func deployStack(t *testing.T, ns, name string, files ...string) {
	t.Helper()
	ctx := context.Background()
	p, err := compose.Load(ctx, compose.LoadOptions{Files: files, Environment: map[string]string{}})
	if err != nil {
		t.Fatalf("loading %v: %v", files, err)
	}
	res, err := compose.Convert(p, name, compose.ConvertOptions{Namespace: ns})
	if err != nil {
		t.Fatalf("converting %v: %v", files, err)
	}
	for _, s := range res.Secrets {
		if err := k8sClient.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	st := res.Stack
	existing := &swarmv1.Stack{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(st), existing); apierrors.IsNotFound(err) {
		if err := k8sClient.Create(ctx, st); err != nil {
			t.Fatalf("creating stack %s: %v", name, err)
		}
		return
	} else if err != nil {
		t.Fatal(err)
	}
	existing.Spec = st.Spec
	if err := k8sClient.Update(ctx, existing); err != nil {
		t.Fatalf("updating stack %s: %v", name, err)
	}
}

// TestSeedStack: the seed's docker-compose.yml, exactly as the seed has it, deploys as stack
// wp: wordpress's two tasks only on workers, dbcluster only on manager1, its volume bound, the
// network's policy and the short names there; deploying a changed file updates in place, a
// service left out is pruned, deleting the Stack removes all it owns but keeps its volume's
// claim, and deploying the stack again mounts that same claim.
func TestSeedStack(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	seed, _ := filepath.Abs("../compose/seed/docker-compose.yml")
	deployStack(t, ns, "wp", seed)

	eventually(t, 90*time.Second, "the stack is Ready", func() error {
		st := &swarmv1.Stack{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp"}, st); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(st.Status.Conditions, swarmv1.ConditionReady) || st.Status.ServiceCount != 2 {
			return fmt.Errorf("services %d conditions %+v", st.Status.ServiceCount, st.Status.Conditions)
		}
		return nil
	})
	if got := waitRunning(t, 30*time.Second, ns, "wp-wordpress", 2); got["manager1"] != 0 {
		t.Errorf("wordpress tasks by node %v, want only workers (node.role == worker)", got)
	}
	if got := waitRunning(t, 30*time.Second, ns, "wp-dbcluster", 1); got["manager1"] != 1 {
		t.Errorf("dbcluster tasks by node %v, want manager1 (node.hostname == manager1)", got)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, pvc); err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Errorf("volume wp-mysql-vol-wp-dbcluster-1: %v, phase %s", err, pvc.Status.Phase)
	}
	for _, name := range []string{"wp-net-common", "wp-wordpress-published"} {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &networkingv1.NetworkPolicy{}); err != nil {
			t.Errorf("NetworkPolicy %s: %v", name, err)
		}
	}
	// The names on network common: wordpress by its virtual IP, dbcluster (no ports) by its task.
	eventually(t, 60*time.Second, "network common names wordpress and dbcluster", func() error {
		es := &discoveryv1.EndpointSlice{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp-common-ipv4"}, es); err != nil {
			return err
		}
		want := map[string]string{"wordpress": kubeService(t, ns, "wp-wordpress").Spec.ClusterIP, "dbcluster": ""}
		for _, ep := range es.Endpoints {
			if addr, ok := want[ptr.Deref(ep.Hostname, "")]; ok && (addr == "" || ep.Addresses[0] == addr) {
				delete(want, *ep.Hostname)
			}
		}
		if len(want) > 0 {
			return fmt.Errorf("not named: %v in %+v", want, es.Endpoints)
		}
		return nil
	})
	if k := kubeService(t, ns, "wp-wordpress"); k.Spec.Type != corev1.ServiceTypeNodePort || k.Spec.Ports[0].NodePort != 8080 {
		t.Errorf("wordpress is published as %s %+v, want NodePort 8080", k.Spec.Type, k.Spec.Ports)
	}
	for _, p := range tasks(t, ns, "wp-wordpress") {
		if p.Labels["network.swarm.kubeswarm.io/wp-common"] != "true" {
			t.Errorf("task %s is not labelled as on network wp-common: %v", p.Name, p.Labels)
		}
	}

	// Deploy a changed file: wordpress's image changes in place, dbcluster is not touched.
	db := getSvc(t, ns, "wp-dbcluster")
	wpUID := getSvc(t, ns, "wp-wordpress").UID
	dir := t.TempDir()
	data, _ := os.ReadFile(seed)
	changed := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(changed, []byte(strings.Replace(string(data), "image: wordpress\n", "image: wordpress:6\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	deployStack(t, ns, "wp", changed)
	waitSvc(t, 60*time.Second, ns, "wp-wordpress", "wordpress runs the new image", func(s *swarmv1.Service) error {
		if s.Spec.Image != "wordpress:6" || !isReady(s) || updateStateOf(s) != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("image %s ready %v update %+v", s.Spec.Image, isReady(s), s.Status.UpdateStatus)
		}
		return nil
	})
	if s := getSvc(t, ns, "wp-wordpress"); s.UID != wpUID {
		t.Errorf("wordpress was recreated, not updated in place")
	}
	if after := getSvc(t, ns, "wp-dbcluster"); after.Generation != db.Generation {
		t.Errorf("dbcluster's spec changed (generation %d -> %d) though its part of the file did not", db.Generation, after.Generation)
	}

	// Deploy a file without dbcluster: it is pruned.
	pruned := filepath.Join(dir, "pruned.yml")
	onlyWP := strings.Split(string(data), "  dbcluster:")[0]
	onlyWP = strings.Replace(onlyWP, "    depends_on:\n      - dbcluster\n", "", 1)
	onlyWP += "networks:\n  common:\n\nvolumes:\n  mysql_vol:\n"
	if err := os.WriteFile(pruned, []byte(onlyWP), 0o644); err != nil {
		t.Fatal(err)
	}
	deployStack(t, ns, "wp", pruned)
	eventually(t, 60*time.Second, "dbcluster is pruned", func() error {
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp-dbcluster"}, &swarmv1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("wp-dbcluster: %w", err)
		}
		if n := len(tasks(t, ns, "wp-dbcluster")); n != 0 {
			return fmt.Errorf("%d dbcluster tasks left", n)
		}
		return nil
	})

	// docker stack rm: everything the stack owns goes; its volume stays, as docker keeps volumes.
	if err := k8sClient.Delete(ctx, &swarmv1.Stack{ObjectMeta: metav1ObjectMeta("wp", ns)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the stack's objects are gone", func() error {
		checks := map[string]client.Object{
			"Service wp-wordpress": &swarmv1.Service{}, "Deployment wp-wordpress": &appsv1.Deployment{},
			"policy wp-net-common": &networkingv1.NetworkPolicy{}, "network names wp-common": &corev1.Service{},
		}
		for what, obj := range checks {
			name := what[strings.LastIndex(what, " ")+1:]
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s still there (%w)", what, err)
			}
		}
		if n := len(tasks(t, ns, "wp-wordpress")); n != 0 {
			return fmt.Errorf("%d wordpress tasks left", n)
		}
		return nil
	})
	kept := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, kept); err != nil || kept.UID != pvc.UID ||
		kept.DeletionTimestamp != nil || len(kept.OwnerReferences) != 0 {
		t.Fatalf("after stack rm, claim wp-mysql-vol-wp-dbcluster-1: %v, UID %s (was %s), deleting %v, owners %v; want the same claim kept",
			err, kept.UID, pvc.UID, kept.DeletionTimestamp, kept.OwnerReferences)
	}

	// The same stack again: its database mounts the same claim, bound to the same volume.
	deployStack(t, ns, "wp", seed)
	if got := waitRunning(t, 60*time.Second, ns, "wp-dbcluster", 1); got["manager1"] != 1 {
		t.Errorf("dbcluster tasks by node %v after the second deploy", got)
	}
	for _, p := range tasks(t, ns, "wp-dbcluster") {
		claims := []string{}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims = append(claims, v.PersistentVolumeClaim.ClaimName)
			}
		}
		if len(claims) != 1 || claims[0] != "wp-mysql-vol-wp-dbcluster-1" {
			t.Errorf("task %s mounts the claims %v, want wp-mysql-vol-wp-dbcluster-1", p.Name, claims)
		}
	}
	again := &corev1.PersistentVolumeClaim{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wp-mysql-vol-wp-dbcluster-1"}, again); err != nil || again.UID != pvc.UID ||
		again.Spec.VolumeName != pvc.Spec.VolumeName || again.Status.Phase != corev1.ClaimBound || len(again.OwnerReferences) != 0 {
		t.Errorf("after the second deploy, claim wp-mysql-vol-wp-dbcluster-1: %v, UID %s (was %s), volume %s (was %s), phase %s, owners %v",
			err, again.UID, pvc.UID, again.Spec.VolumeName, pvc.Spec.VolumeName, again.Status.Phase, again.OwnerReferences)
	}
}
