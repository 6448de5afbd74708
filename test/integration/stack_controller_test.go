package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// seedStack is the seed's docker-compose.yml (wordpress + mysql) as a Stack.
func seedStack(name, ns string) *swarmv1.Stack {
	return &swarmv1.Stack{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: swarmv1.StackSpec{
			Services: []swarmv1.StackService{
				{Name: "wordpress", ServiceSpec: swarmv1.ServiceSpec{Image: "wordpress", Replicas: ptr.To[int32](2),
					Ports:     []swarmv1.PortConfig{{Published: 8080, Target: 80}},
					Networks:  []swarmv1.NetworkAttachment{{Name: "common"}},
					Placement: &swarmv1.Placement{Constraints: []string{"node.role == worker"}},
					Env:       []swarmv1.EnvVar{{Name: "WORDPRESS_DB_HOST", Value: "dbcluster"}}}},
				{Name: "dbcluster", ServiceSpec: swarmv1.ServiceSpec{Image: "mysql:5.7", Replicas: ptr.To[int32](1),
					Networks:  []swarmv1.NetworkAttachment{{Name: "common"}},
					Placement: &swarmv1.Placement{Constraints: []string{"node.hostname == manager1"}},
					Mounts:    []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "mysql_vol", Target: "/var/lib/mysql"}}}},
			},
			Networks: []swarmv1.StackNetwork{{Name: "common"}},
			Volumes:  []swarmv1.StackVolume{{Name: "mysql_vol"}},
		},
	}
}

func waitStack(t *testing.T, ns, name, what string, check func(*swarmv1.Stack) error) *swarmv1.Stack {
	t.Helper()
	var st *swarmv1.Stack
	eventually(t, what, func() (err error) {
		if st, err = get(context.Background(), ns, name, &swarmv1.Stack{}); err != nil {
			return err
		}
		return check(st)
	})
	return st
}

func updateStack(t *testing.T, ns, name string, mutate func(*swarmv1.Stack)) {
	t.Helper()
	eventually(t, "updating Stack "+name, func() error {
		st, err := get(context.Background(), ns, name, &swarmv1.Stack{})
		if err != nil {
			return err
		}
		mutate(st)
		return k8sClient.Update(context.Background(), st)
	})
}

func TestStackDeploy(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	st := seedStack("wp", ns)
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatalf("creating the stack: %v", err)
	}
	var db *swarmv1.Service
	eventually(t, "the stack's services are created", func() (err error) {
		if _, err = get(ctx, ns, "wp-wordpress", &swarmv1.Service{}); err != nil {
			return err
		}
		db, err = get(ctx, ns, "wp-dbcluster", &swarmv1.Service{})
		return err
	})
	if !metav1.IsControlledBy(db, st) || db.Labels["swarm.kubeswarm.io/stack"] != "wp" || db.Spec.Labels["com.docker.stack.namespace"] != "wp" {
		t.Errorf("wp-dbcluster: owners %v labels %v service labels %v", db.OwnerReferences, db.Labels, db.Spec.Labels)
	}
	if db.Spec.Mounts[0].Source != "wp-mysql-vol" || db.Spec.Networks[0].Name != "wp-common" {
		t.Errorf("wp-dbcluster refers to %s and %s, want the claim wp-mysql-vol and network wp-common", db.Spec.Mounts[0].Source, db.Spec.Networks[0].Name)
	}
	claim, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
	if err != nil || !metav1.IsControlledBy(claim, st) {
		t.Errorf("claim wp-mysql-vol: %v, owners %v", err, claim.OwnerReferences)
	}
	for _, name := range []string{"wp-net-common", "wp-wordpress-published"} {
		if _, err := get(ctx, ns, name, &networkingv1.NetworkPolicy{}); err != nil {
			t.Errorf("NetworkPolicy %s: %v", name, err)
		}
	}
	np, _ := get(ctx, ns, "wp-net-common", &networkingv1.NetworkPolicy{})
	if np.Spec.PodSelector.MatchLabels["network.swarm.kubeswarm.io/wp-common"] != "true" {
		t.Errorf("wp-net-common selects %v", np.Spec.PodSelector)
	}
	short, err := get(ctx, ns, "dbcluster", &corev1.Service{})
	if err != nil || short.Spec.Type != corev1.ServiceTypeExternalName || short.Spec.ExternalName != "wp-dbcluster."+ns+".svc.cluster.local" {
		t.Errorf("short name dbcluster: %v %+v", err, short.Spec)
	}
	waitStack(t, ns, "wp", "the status lists the services", func(st *swarmv1.Stack) error {
		if st.Status.ServiceCount != 2 || len(st.Status.Services) != 2 || st.Status.Services[0].Name != "dbcluster" || st.Status.Services[1].Image != "wordpress" {
			return fmt.Errorf("status %+v", st.Status)
		}
		return nil
	})

	// Updating one service touches only that child.
	before := db.ResourceVersion
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Services[0].Replicas = ptr.To[int32](3) })
	eventually(t, "wordpress is scaled", func() error {
		s, err := get(ctx, ns, "wp-wordpress", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if ptr.Deref(s.Spec.Replicas, 0) != 3 {
			return fmt.Errorf("replicas %v", s.Spec.Replicas)
		}
		return nil
	})
	if db, _ = get(ctx, ns, "wp-dbcluster", &swarmv1.Service{}); db.Spec.Image != "mysql:5.7" || ptr.Deref(db.Spec.Replicas, 0) != 1 {
		t.Errorf("wp-dbcluster changed: %+v", db.Spec)
	}
	_ = before

	// docker service update on a stack's service lasts until the next deploy.
	updateService(t, ns, "wp-wordpress", func(s *swarmv1.Service) { s.Spec.Image = "wordpress:6" })
	updateService(t, ns, "wp-wordpress", func(s *swarmv1.Service) {
		s.Annotations["touch"] = "1" // a later change of the child is not undone either
	})
	if s, _ := get(ctx, ns, "wp-wordpress", &swarmv1.Service{}); s.Spec.Image != "wordpress:6" {
		t.Errorf("the direct update was undone: %s", s.Spec.Image)
	}
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Services[0].Env[0].Value = "wp-dbcluster" })
	eventually(t, "the next deploy writes the stack's spec", func() error {
		s, err := get(ctx, ns, "wp-wordpress", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if s.Spec.Image != "wordpress" || s.Spec.Env[0].Value != "wp-dbcluster" {
			return fmt.Errorf("image %s env %v", s.Spec.Image, s.Spec.Env)
		}
		return nil
	})

	// A service removed from the stack is pruned, with its short name.
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Services = st.Spec.Services[:1] })
	eventually(t, "dbcluster is pruned", func() error {
		if _, err := get(ctx, ns, "wp-dbcluster", &swarmv1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("wp-dbcluster: %w", err)
		}
		if _, err := get(ctx, ns, "dbcluster", &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("short name: %w", err)
		}
		return nil
	})
	if _, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("the volume went with the service: %v (it stays until the stack goes)", err)
	}
}

// TestStackShortNameClash: a second stack in the namespace whose service has the same short
// name is told so; the first stack's short name is left alone.
func TestStackShortNameClash(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	if err := k8sClient.Create(ctx, seedStack("wp", ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first stack's short name", func() error {
		_, err := get(ctx, ns, "dbcluster", &corev1.Service{})
		return err
	})
	second := seedStack("blog", ns)
	second.Spec.Services[0].Ports = nil // no port clash, only the name
	if err := k8sClient.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	waitStack(t, ns, "blog", "the later stack reports the clash", func(st *swarmv1.Stack) error {
		c := meta.FindStatusCondition(st.Status.Conditions, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != "NameConflict" || !strings.Contains(c.Message, "short name dbcluster is taken") {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	short, _ := get(ctx, ns, "dbcluster", &corev1.Service{})
	if short.Spec.ExternalName != "wp-dbcluster."+ns+".svc.cluster.local" || short.Labels["swarm.kubeswarm.io/stack"] != "wp" {
		t.Errorf("the first stack's short name was changed: %+v %v", short.Spec, short.Labels)
	}
	if _, err := get(ctx, ns, "blog-dbcluster", &swarmv1.Service{}); err != nil {
		t.Errorf("the later stack's services should still run, reachable as blog-dbcluster: %v", err)
	}
}

// TestStackInvalidReferences: a service using a network, secret, config or volume the stack does
// not declare is refused at apply time.
func TestStackInvalidReferences(t *testing.T) {
	ns := newNamespace(t)
	cases := map[string]func(*swarmv1.Stack){
		"network": func(st *swarmv1.Stack) { st.Spec.Services[0].Networks = []swarmv1.NetworkAttachment{{Name: "backend"}} },
		"secret":  func(st *swarmv1.Stack) { st.Spec.Services[0].Secrets = []swarmv1.FileReference{{Source: "db_pass"}} },
		"config":  func(st *swarmv1.Stack) { st.Spec.Services[0].Configs = []swarmv1.FileReference{{Source: "site"}} },
		"volume": func(st *swarmv1.Stack) {
			st.Spec.Services[1].Mounts = []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "other", Target: "/x"}}
		},
	}
	for what, mutate := range cases {
		st := seedStack("bad-"+what, ns)
		mutate(st)
		err := k8sClient.Create(context.Background(), st)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "a service uses a "+what) && !strings.Contains(err.Error(), "a service mounts a "+what) {
			t.Errorf("%s: err = %v, want Invalid naming the undeclared %s", what, err, what)
		}
	}
}

// TestStackNameTooLong: what the CRD cannot check (a <stack>-<service> name over 63
// characters) is reported on the Stack, and nothing of the running stack changes.
func TestStackNameTooLong(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	stackName := strings.Repeat("s", 30)
	if err := k8sClient.Create(ctx, seedStack(stackName, ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stack is deployed", func() error {
		_, err := get(ctx, ns, stackName+"-wordpress", &swarmv1.Service{})
		return err
	})
	long := strings.Repeat("a", 40)
	updateStack(t, ns, stackName, func(st *swarmv1.Stack) {
		st.Spec.Services[0].Image = "wordpress:7"
		st.Spec.Services = append(st.Spec.Services, swarmv1.StackService{Name: long, ServiceSpec: swarmv1.ServiceSpec{Image: "x"}})
	})
	waitStack(t, ns, stackName, "Degraded names the service", func(st *swarmv1.Stack) error {
		c := meta.FindStatusCondition(st.Status.Conditions, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, "service "+long+": its Service name") {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	if s, _ := get(ctx, ns, stackName+"-wordpress", &swarmv1.Service{}); s.Spec.Image != "wordpress" {
		t.Errorf("the running service was changed to %s", s.Spec.Image)
	}
	var list swarmv1.ServiceList
	_ = k8sClient.List(ctx, &list, client.InNamespace(ns))
	if len(list.Items) != 2 {
		t.Errorf("%d services, want the 2 of the stack untouched", len(list.Items))
	}
}

// TestStackRetainedVolume: a volume marked retain has a claim without owner, so it outlives
// the stack (docker stack rm leaves volumes); others go with the stack.
func TestStackRetainedVolume(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	st := seedStack("wp", ns)
	st.Spec.Volumes[0].Retain = true
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	var claim *corev1.PersistentVolumeClaim
	eventually(t, "the claim is made", func() (err error) {
		claim, err = get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
		return err
	})
	if len(claim.OwnerReferences) != 0 || claim.Labels["swarm.kubeswarm.io/stack"] != "wp" {
		t.Errorf("retained claim: owners %v labels %v, want no owner and the stack label", claim.OwnerReferences, claim.Labels)
	}
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Volumes[0].Retain = false })
	eventually(t, "the claim belongs to the stack once retain is off", func() error {
		c, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
		if err != nil {
			return err
		}
		if len(c.OwnerReferences) != 1 || c.OwnerReferences[0].Kind != "Stack" {
			return fmt.Errorf("owners %v", c.OwnerReferences)
		}
		return nil
	})
}
