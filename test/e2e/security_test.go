//go:build e2e && !realnodes

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// The operator is not a way around the cluster's rules (docs/swarm-on-kubernetes.md,
// "Security").

// TestPodSecurityApplies: in a namespace whose Pod Security level is restricted, a service whose
// tasks that level forbids gets no task; the refusal is reported on the Service (Ready False,
// TasksRefused, Stalled) with Kubernetes' own words.
func TestPodSecurityApplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	nsObj := &corev1.Namespace{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if err := k8sClient.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	svcSpec(t, ns, "web", swarmv1.ServiceSpec{Image: "nginx"})
	waitSvc(t, 90*time.Second, ns, "web", "the refusal is reported", func(s *swarmv1.Service) error {
		ready := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionReady)
		stalled := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionStalled)
		if ready == nil || ready.Reason != "TasksRefused" || !strings.Contains(ready.Message, "PodSecurity") || stalled == nil {
			return fmt.Errorf("Ready %+v, Stalled %+v", ready, stalled)
		}
		return nil
	})
	if got := tasks(t, ns, "web"); len(got) != 0 {
		t.Errorf("%d tasks exist in a restricted namespace", len(got))
	}
}

// asUser is a client that acts as user (impersonation), bound to config/rbac/swarm_user_role.yaml
// in ns only.
func asUser(t *testing.T, ns, user string) client.Client {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{}
	path, _ := filepath.Abs("../../config/rbac/swarm_user_role.yaml")
	if err := testutil.ReadManifest(path, role); err != nil {
		t.Fatal(err)
	}
	role.Namespace = ns
	if err := k8sClient.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "swarm-user", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.GetConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNoWayIntoAnotherNamespace: a user who may create Services and Stacks in namespace A only
// cannot make the operator read, create or change anything in namespace B: a secret, a config or
// a volume is looked for in A only; a Stack's and a Service's children are made in A, owned by
// what the user made; B's objects of the same names are left as they are.
func TestNoWayIntoAnotherNamespace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newNamespace(t), newNamespace(t)
	user := asUser(t, a, "mallory")

	// B has what A's user would like: a secret, and a service named like A's stack's.
	if err := k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: b},
		StringData: map[string]string{"db-password": "hunter2"}}); err != nil {
		t.Fatal(err)
	}
	svcSpec(t, b, "shop-web", swarmv1.ServiceSpec{Image: "nginx:1.26"})
	waitReady(t, b, "shop-web", "1/1")
	before := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: b, Name: "shop-web"}, before); err != nil {
		t.Fatal(err)
	}

	// The user's own namespace is theirs: a Service there mounting B's secret, and a Stack.
	if err := user.Create(ctx, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "thief", Namespace: a},
		Spec: swarmv1.ServiceSpec{Image: "nginx", Secrets: []swarmv1.FileReference{{Source: "db-password"}}}}); err != nil {
		t.Fatalf("creating a Service in the user's namespace: %v", err)
	}
	if err := user.Create(ctx, &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: a},
		Spec: swarmv1.StackSpec{Services: []swarmv1.StackService{{Name: "web", ServiceSpec: swarmv1.ServiceSpec{Image: "nginx:1.27"}}}}}); err != nil {
		t.Fatalf("creating a Stack in the user's namespace: %v", err)
	}
	// B is not theirs at all.
	err := user.Create(ctx, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: b}, Spec: swarmv1.ServiceSpec{Image: "nginx"}})
	if !apierrors.IsForbidden(err) {
		t.Errorf("creating a Service in %s as the user of %s: %v, want forbidden", b, a, err)
	}

	waitSvc(t, 60*time.Second, a, "thief", "B's secret is not found from A", func(s *swarmv1.Service) error {
		c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != "MissingObject" || !strings.Contains(c.Message, "secret not found: db-password") {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	waitReady(t, a, "shop-web", "1/1")
	stack := &swarmv1.Stack{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: a, Name: "shop"}, stack); err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: a, Name: "shop-web"}, dep); err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(dep); ref == nil || ref.Name != "shop-web" {
		t.Errorf("A's Deployment is not owned by A's service: %+v", ref)
	}

	// Nothing in B changed; the operator made nothing there.
	after := &appsv1.Deployment{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: b, Name: "shop-web"}, after); err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation || after.Spec.Template.Spec.Containers[0].Image != "nginx:1.26" {
		t.Errorf("B's Deployment changed: generation %d (was %d), image %s", after.Generation, before.Generation, after.Spec.Template.Spec.Containers[0].Image)
	}
	services := &swarmv1.ServiceList{}
	if err := k8sClient.List(ctx, services, client.InNamespace(b)); err != nil {
		t.Fatal(err)
	}
	if len(services.Items) != 1 {
		t.Errorf("%d Services in %s, want only its own shop-web", len(services.Items), b)
	}
}
