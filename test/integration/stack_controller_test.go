package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/objects"
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
					Env:       []swarmv1.EnvVar{{Name: "WORDPRESS_DB_HOST", Value: "dbcluster"}},
					// Two services mount mysql_vol: the stack keeps one claim of it, which both
					// share (stack.PerSlotVolume), the claim these tests are about.
					Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "mysql_vol", Target: "/backup", ReadOnly: true}}}},
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
	if err != nil || len(claim.OwnerReferences) != 0 || claim.Labels["swarm.kubeswarm.io/stack"] != "wp" {
		t.Errorf("claim wp-mysql-vol: %v, owners %v labels %v, want no owner and the stack label", err, claim.OwnerReferences, claim.Labels)
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
	// The network's names: wordpress by its virtual IP; dbcluster (no ports, no virtual IP) by
	// its tasks' addresses, which the endpointslice controller (not run by envtest) would list.
	dns, err := get(ctx, ns, "wp-common", &corev1.Service{})
	if err != nil || dns.Spec.ClusterIP != corev1.ClusterIPNone || dns.Spec.Selector != nil || !metav1.IsControlledBy(dns, st) {
		t.Errorf("network common's DNS Service wp-common: %v %+v", err, dns.Spec)
	}
	fakeTaskSlice(t, ns, "wp", "wp-dbcluster", "10.0.0.9")
	var vip string
	eventually(t, "wordpress and dbcluster are named on network common", func() error {
		k, err := get(ctx, ns, "wp-wordpress", &corev1.Service{})
		if err != nil {
			return err
		}
		vip = k.Spec.ClusterIP
		return wantNames(ctx, ns, "wp-common-ipv4", "dbcluster=10.0.0.9", "tasks-dbcluster=10.0.0.9", "wordpress="+vip)
	})
	dep, err := get(ctx, ns, "wp-wordpress", &appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	wantSearch := []string{"wp-common." + ns + ".svc.cluster.local", ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
	if pod.DNSPolicy != corev1.DNSNone || pod.DNSConfig == nil || !slices.Equal(pod.DNSConfig.Nameservers, []string{clusterDNS}) ||
		!slices.Equal(pod.DNSConfig.Searches, wantSearch) {
		t.Errorf("wordpress's tasks' DNS: policy %s config %+v, want None, nameserver %s, searches %v", pod.DNSPolicy, pod.DNSConfig, clusterDNS, wantSearch)
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

	// A service removed from the stack is pruned, with its names.
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Services = st.Spec.Services[:1] })
	eventually(t, "dbcluster is pruned", func() error {
		if _, err := get(ctx, ns, "wp-dbcluster", &swarmv1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("wp-dbcluster: %w", err)
		}
		return wantNames(ctx, ns, "wp-common-ipv4", "wordpress="+vip)
	})
	if _, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("the volume went with the service: %v (docker stack deploy never removes volumes)", err)
	}
}

// TestStackNamesScoped: two stacks in one namespace, each with a service dbcluster, each name
// their own: the names live in each stack's network domain, never in the namespace's.
func TestStackNamesScoped(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	first, second := seedStack("wp", ns), seedStack("blog", ns)
	for _, st := range []*swarmv1.Stack{first, second} {
		// Published ports are the cluster's (other tests publish 8080): an exposed port gives
		// the virtual IP.
		st.Spec.Services[0].Ports = nil
		st.Spec.Services[0].ExposedPorts = []swarmv1.ExposedPort{{Port: 80}}
		if err := k8sClient.Create(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	fakeTaskSlice(t, ns, "wp", "wp-dbcluster", "10.0.0.7")
	fakeTaskSlice(t, ns, "blog", "blog-dbcluster", "10.0.0.8")
	for _, st := range []string{"wp", "blog"} {
		eventually(t, st+"'s names", func() error {
			k, err := get(ctx, ns, st+"-wordpress", &corev1.Service{})
			if err != nil {
				return err
			}
			if k.Spec.ClusterIP == corev1.ClusterIPNone || k.Spec.ClusterIP == "" {
				return fmt.Errorf("%s-wordpress has no virtual IP: %+v", st, k.Spec)
			}
			ip := map[string]string{"wp": "10.0.0.7", "blog": "10.0.0.8"}[st]
			return wantNames(ctx, ns, st+"-common-ipv4", "dbcluster="+ip, "tasks-dbcluster="+ip, "wordpress="+k.Spec.ClusterIP)
		})
		waitStack(t, ns, st, "no conflict", func(s *swarmv1.Stack) error {
			if c := meta.FindStatusCondition(s.Status.Conditions, swarmv1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
				return fmt.Errorf("Degraded %+v", c)
			}
			return nil
		})
	}
	if _, err := get(ctx, ns, "dbcluster", &corev1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Service named dbcluster in the namespace would be every stack's: %v", err)
	}
}

// fakeTaskSlice stands in for the endpointslice controller (envtest runs none): the slice of a
// stack service's Kubernetes Service with one ready task.
func fakeTaskSlice(t *testing.T, ns, stackName, service, addr string) {
	t.Helper()
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-fake", Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: service, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io",
			"swarm.kubeswarm.io/stack": stackName, "app.kubernetes.io/managed-by": "kubeswarm"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if err := k8sClient.Create(context.Background(), es); err != nil {
		t.Fatal(err)
	}
}

// wantNames checks a stack's DNS slice names exactly these "hostname=address" pairs.
func wantNames(ctx context.Context, ns, slice string, want ...string) error {
	es, err := get(ctx, ns, slice, &discoveryv1.EndpointSlice{})
	if err != nil {
		return err
	}
	var got []string
	for _, ep := range es.Endpoints {
		for _, a := range ep.Addresses {
			got = append(got, ptr.Deref(ep.Hostname, "")+"="+a)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("slice %s names %v, want %v", slice, got, want)
	}
	return nil
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

// volumeStack is the seed stack without published ports (other tests' namespaces are never
// deleted in envtest, and their services keep port 8080).
func volumeStack(ns string) *swarmv1.Stack {
	st := seedStack("wp", ns)
	st.Spec.Services[0].Ports = nil
	return st
}

// stackApplied waits for the Stack to have applied every object of its current generation.
func stackApplied(t *testing.T, ns, name string) *swarmv1.Stack {
	t.Helper()
	return waitStack(t, ns, name, "the stack is applied", func(st *swarmv1.Stack) error {
		c := meta.FindStatusCondition(st.Status.Conditions, swarmv1.ConditionDegraded)
		if st.Status.ObservedGeneration != st.Generation || c == nil || (c.Status != metav1.ConditionFalse && c.Reason != controllers.ReasonServiceDegraded) {
			return fmt.Errorf("observed %d of %d, Degraded %+v", st.Status.ObservedGeneration, st.Generation, c)
		}
		return nil
	})
}

// deleteStackAsGC deletes a Stack, then what the garbage collector (not running in envtest)
// would delete with it: the objects it owned, and theirs (the Services' workloads), whatever
// their kind among those kubeswarm writes.
func deleteStackAsGC(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	st, err := get(ctx, ns, name, &swarmv1.Stack{})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
	gone := map[types.UID]bool{st.UID: true}
	for deleted := true; deleted; {
		deleted = false
		for _, list := range []client.ObjectList{&swarmv1.ServiceList{}, &corev1.ServiceList{}, &networkingv1.NetworkPolicyList{},
			&corev1.PersistentVolumeClaimList{}, &appsv1.DeploymentList{}, &appsv1.DaemonSetList{}, &batchv1.JobList{}} {
			if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			if err := meta.EachListItem(list, func(o runtime.Object) error {
				obj := o.(client.Object)
				for _, ref := range obj.GetOwnerReferences() {
					if gone[ref.UID] && !gone[obj.GetUID()] {
						gone[obj.GetUID()], deleted = true, true
						return client.IgnoreNotFound(k8sClient.Delete(ctx, obj))
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "stack "+name+" is gone", func() error {
		if _, err := get(ctx, ns, name, &swarmv1.Stack{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("stack %s: %w", name, err)
		}
		return nil
	})
}

// TestStackKeepsVolumes: deleting a Stack (docker stack rm) leaves its claims, owned by nobody,
// so the garbage collector keeps them; deploying the same stack again uses the same claim (its
// data), not a new one. envtest has no garbage collector: the owner references say what it
// would delete.
func TestStackKeepsVolumes(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	st := volumeStack(ns)
	st.Spec.Volumes[0].Retain = true //nolint:staticcheck // the deprecated field is still accepted
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	stackApplied(t, ns, "wp")
	claim, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
	if err != nil {
		t.Fatal(err)
	}
	if len(claim.OwnerReferences) != 0 || claim.Labels["swarm.kubeswarm.io/stack"] != "wp" || claim.Labels["swarm.kubeswarm.io/volume"] != "mysql_vol" {
		t.Errorf("claim: owners %v labels %v, want no owner and the stack and volume labels", claim.OwnerReferences, claim.Labels)
	}
	updateStack(t, ns, "wp", func(st *swarmv1.Stack) { st.Spec.Volumes[0].Retain = false }) //nolint:staticcheck // the deprecated field is still accepted
	stackApplied(t, ns, "wp")
	if c, _ := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{}); len(c.OwnerReferences) != 0 {
		t.Errorf("retain: false gave the claim owners %v; the field is deprecated and changes nothing", c.OwnerReferences)
	}

	deleteStackAsGC(t, ns, "wp")
	kept, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
	if err != nil || kept.UID != claim.UID || len(kept.OwnerReferences) != 0 || kept.DeletionTimestamp != nil {
		t.Fatalf("after the stack went: %v, owners %v, deleting %v; want the same claim, owned by nobody", err, kept.OwnerReferences, kept.DeletionTimestamp)
	}

	// The same stack again: the new Stack takes its claim back, as docker reuses the volume.
	if err := k8sClient.Create(ctx, volumeStack(ns)); err != nil {
		t.Fatal(err)
	}
	stackApplied(t, ns, "wp")
	again, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
	if err != nil || again.UID != claim.UID || len(again.OwnerReferences) != 0 {
		t.Errorf("redeployed: %v, UID %s (was %s), owners %v; want the same claim, owned by nobody", err, again.UID, claim.UID, again.OwnerReferences)
	}
	eventually(t, "dbcluster mounts the kept claim", func() error {
		db, err := get(ctx, ns, "wp-dbcluster", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if len(db.Spec.Mounts) != 1 || db.Spec.Mounts[0].Source != "wp-mysql-vol" {
			return fmt.Errorf("mounts %+v", db.Spec.Mounts)
		}
		return nil
	})
}

// TestStackReleasesOwnedClaims: a claim that an earlier kubeswarm made owned by the Stack (or by
// an earlier Stack of the same name) loses that owner reference at the next reconcile, so that
// deleting the Stack no longer deletes its data.
func TestStackReleasesOwnedClaims(t *testing.T) {
	for _, tc := range []struct {
		name  string
		owner func(st *swarmv1.Stack) metav1.OwnerReference
	}{
		{"owned by this Stack", func(st *swarmv1.Stack) metav1.OwnerReference {
			return *metav1.NewControllerRef(st, swarmv1.GroupVersion.WithKind("Stack"))
		}},
		{"owned by an earlier Stack of the same name", func(st *swarmv1.Stack) metav1.OwnerReference {
			ref := *metav1.NewControllerRef(st, swarmv1.GroupVersion.WithKind("Stack"))
			ref.UID = "0b4c9f3e-0000-4000-8000-000000000001"
			return ref
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			if err := k8sClient.Create(ctx, volumeStack(ns)); err != nil {
				t.Fatal(err)
			}
			st := stackApplied(t, ns, "wp")
			// Written as kubeswarm's field manager wrote it before claims were kept.
			ref := tc.owner(st)
			old := objects.Claims(st, nil)[0].WithOwnerReferences(metav1ac.OwnerReference().WithAPIVersion(ref.APIVersion).
				WithKind(ref.Kind).WithName(ref.Name).WithUID(ref.UID).WithController(true).WithBlockOwnerDeletion(true))
			if err := k8sClient.Apply(ctx, old, client.FieldOwner(controllers.FieldOwner), client.ForceOwnership); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the claim is released", func() error {
				c, err := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{})
				if err != nil {
					return err
				}
				if len(c.OwnerReferences) != 0 {
					return fmt.Errorf("owners %v", c.OwnerReferences)
				}
				return nil
			})
			stackApplied(t, ns, "wp")
		})
	}
}

// TestStackClaimOfAnotherStack: a claim of the stack's name labelled with another stack is not
// taken (a name conflict), and is left as it is.
func TestStackClaimOfAnotherStack(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	other := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "wp-mysql-vol", Namespace: ns, Labels: map[string]string{
			"swarm.kubeswarm.io/stack": "shop", "app.kubernetes.io/managed-by": "kubeswarm", "swarm.kubeswarm.io/volume": "x"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}}},
	}
	if err := k8sClient.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(ctx, volumeStack(ns)); err != nil {
		t.Fatal(err)
	}
	waitStack(t, ns, "wp", "the stack reports the conflict", func(st *swarmv1.Stack) error {
		c := meta.FindStatusCondition(st.Status.Conditions, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "PersistentVolumeClaim wp-mysql-vol exists and does not belong to this stack") {
			return fmt.Errorf("Degraded %+v", c)
		}
		return nil
	})
	if c, _ := get(ctx, ns, "wp-mysql-vol", &corev1.PersistentVolumeClaim{}); c.Labels["swarm.kubeswarm.io/stack"] != "shop" || len(c.OwnerReferences) != 0 {
		t.Errorf("the other stack's claim was changed: labels %v owners %v", c.Labels, c.OwnerReferences)
	}
}
