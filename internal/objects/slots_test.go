package objects

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestStatefulSet: a per-slot service's StatefulSet: ordinals from 1, Parallel, claims retained,
// each volume a claim template of the stack's size and class, and Swarm's update config as its
// rolling update (a paused update holds every slot).
func TestStatefulSet(t *testing.T) {
	data := swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"}
	cases := []struct {
		name       string
		svc        *swarmv1.Service
		in         Inputs
		wantUpdate *appsv1ac.RollingUpdateStatefulSetStrategyApplyConfiguration
		wantClaims []*corev1ac.PersistentVolumeClaimApplyConfiguration
		wantReady  *int32
	}{
		{name: "the defaults: a slot at a time", svc: testutil.MakeService("db", "n").Replicas(3).Mount(data).Obj(),
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromInt32(1)),
			wantClaims: []*corev1ac.PersistentVolumeClaimApplyConfiguration{claimTemplate("data", "data", "db", "", "1Gi", nil)}},
		{name: "parallelism 2, start-first (reported): two slots at a time, delay", svc: testutil.MakeService("db", "n").Replicas(3).Mount(data).
			Update(swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2), Order: swarmv1.OrderStartFirst, Delay: &metav1.Duration{Duration: 10 * time.Second}}).Obj(),
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromInt32(2)),
			wantClaims: []*corev1ac.PersistentVolumeClaimApplyConfiguration{claimTemplate("data", "data", "db", "", "1Gi", nil)},
			wantReady:  ptr.To[int32](10)},
		{name: "parallelism 0: every slot at once", svc: testutil.MakeService("db", "n").Replicas(3).Mount(data).
			Update(swarmv1.UpdateConfig{Parallelism: ptr.To[int32](0)}).Obj(),
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromString("100%")),
			wantClaims: []*corev1ac.PersistentVolumeClaimApplyConfiguration{claimTemplate("data", "data", "db", "", "1Gi", nil)}},
		{name: "paused: every slot held where it is", svc: testutil.MakeService("db", "n").Replicas(3).Mount(data).Obj(),
			in:         Inputs{UpdateState: swarmv1.UpdateStatePaused},
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromInt32(1)).WithPartition(3),
			wantClaims: []*corev1ac.PersistentVolumeClaimApplyConfiguration{claimTemplate("data", "data", "db", "", "1Gi", nil)}},
		{name: "a stack's volume: its size, class and labels", svc: stackService(), in: Inputs{Stack: "wp"},
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromInt32(1)),
			wantClaims: []*corev1ac.PersistentVolumeClaimApplyConfiguration{claimTemplate("wp-mysql-vol", "mysql_vol", "wp-dbcluster", "wp", "5Gi", ptr.To("fast"))}},
		{name: "no volume, a slot template: no claim", svc: testutil.MakeService("zk", "n").Replicas(3).Env("ID", "{{.Task.Slot}}").Obj(),
			wantUpdate: appsv1ac.RollingUpdateStatefulSetStrategy().WithMaxUnavailable(intstr.FromInt32(1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.svc, tc.in, wide)
			if err != nil {
				t.Fatal(err)
			}
			if got.StatefulSet == nil || got.Deployment != nil {
				t.Fatalf("workload %s, want a StatefulSet", got.WorkloadKind())
			}
			spec := got.StatefulSet.Spec
			if *spec.Ordinals.Start != 1 || *spec.PodManagementPolicy != appsv1.ParallelPodManagement || *spec.Replicas != *tc.svc.Spec.Replicas ||
				*spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
				*spec.PersistentVolumeClaimRetentionPolicy.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
				t.Errorf("ordinals %v, policy %v, replicas %v, retention %+v", *spec.Ordinals.Start, *spec.PodManagementPolicy, *spec.Replicas, spec.PersistentVolumeClaimRetentionPolicy)
			}
			if diff := cmp.Diff(tc.wantUpdate, spec.UpdateStrategy.RollingUpdate); diff != "" || *spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
				t.Errorf("rolling update (-want +got):\n%s", diff)
			}
			var claims []*corev1ac.PersistentVolumeClaimApplyConfiguration
			for i := range spec.VolumeClaimTemplates {
				claims = append(claims, &spec.VolumeClaimTemplates[i])
			}
			if diff := cmp.Diff(tc.wantClaims, claims, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("claim templates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantReady, spec.MinReadySeconds); diff != "" {
				t.Errorf("minReadySeconds (-want +got):\n%s", diff)
			}
			if gates := spec.Template.Spec.SchedulingGates; len(gates) != 1 {
				t.Errorf("scheduling gates %+v, want the admission gate", gates)
			}
		})
	}
}

func claimTemplate(name, volume, service, stack, size string, class *string) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	labels := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: volume, translate.LabelSlotsOf: service}
	if stack != "" {
		labels[translate.LabelStack] = stack
	}
	spec := corev1ac.PersistentVolumeClaimSpec().WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}))
	if class != nil {
		spec.WithStorageClassName(*class)
	}
	c := &corev1ac.PersistentVolumeClaimApplyConfiguration{}
	return c.WithName(name).WithLabels(labels).WithSpec(spec)
}

// stackService is the seed's dbcluster as the Stack controller writes it with a sized volume.
func stackService() *swarmv1.Service {
	st := testutil.SeedStack()
	size := resource.MustParse("5Gi")
	st.Spec.Volumes[0].Size, st.Spec.Volumes[0].StorageClassName = &size, ptr.To("fast")
	for _, s := range st.Spec.Services {
		if s.Name == "dbcluster" {
			svc := stack.Child(st, s)
			svc.Spec.Replicas = ptr.To[int32](1)
			return svc
		}
	}
	panic("the seed has no dbcluster")
}

// TestSameClaimTemplates: a live StatefulSet's claim templates are the desired ones when what
// kubeswarm sets is the same, whatever the API server filled in; otherwise the StatefulSet is
// made anew.
func TestSameClaimTemplates(t *testing.T) {
	tmpl := func(name, size string, mutate ...func(*corev1.PersistentVolumeClaim)) corev1.PersistentVolumeClaim {
		c := corev1.PersistentVolumeClaim{}
		c.Name, c.Labels = name, map[string]string{translate.LabelVolume: name}
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}
		for _, m := range mutate {
			m(&c)
		}
		return c
	}
	filled := func(c *corev1.PersistentVolumeClaim) {
		c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
		c.Status.Phase = corev1.ClaimPending
		c.Spec.StorageClassName = ptr.To("standard")
	}
	class := func(sc string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr.To(sc) }
	}
	for _, tc := range []struct {
		name          string
		live, desired []corev1.PersistentVolumeClaim
		want          bool
	}{
		{"what the server fills in", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi", filled)}, []corev1.PersistentVolumeClaim{tmpl("data", "1024Mi")}, true},
		{"none", nil, nil, true},
		{"a volume added", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi")}, []corev1.PersistentVolumeClaim{tmpl("data", "1Gi"), tmpl("logs", "1Gi")}, false},
		{"another name", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi")}, []corev1.PersistentVolumeClaim{tmpl("db", "1Gi")}, false},
		{"resized", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi")}, []corev1.PersistentVolumeClaim{tmpl("data", "5Gi")}, false},
		{"another class", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi", filled)}, []corev1.PersistentVolumeClaim{tmpl("data", "1Gi", class("fast"))}, false},
		{"another label", []corev1.PersistentVolumeClaim{tmpl("data", "1Gi")}, []corev1.PersistentVolumeClaim{tmpl("data", "1Gi", func(c *corev1.PersistentVolumeClaim) { c.Labels["x"] = "y" })}, false},
	} {
		if got := SameClaimTemplates(tc.live, tc.desired); got != tc.want {
			t.Errorf("%s: SameClaimTemplates = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestExistingClaim: what the operator builds for a replicated service with a named volume whose
// one claim exists (translate.WithExistingClaims): a Deployment whose tasks share that claim, on one
// node, with a note; without the claim, a StatefulSet with a claim per slot.
func TestExistingClaim(t *testing.T) {
	data := swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"}
	for _, tc := range []struct {
		name           string
		svc            *swarmv1.Service
		claims         translate.Claims
		wantKind       string
		wantClaim      string // the claim the pod template mounts
		wantTemplates  []string
		wantAffinity   bool
		wantNotePrefix string
	}{
		{name: "the claim exists: a Deployment sharing it", svc: testutil.MakeService("web", "n").Replicas(2).Mount(data).Obj(),
			claims: translate.Claims{"data": ""}, wantKind: "Deployment", wantClaim: "data", wantAffinity: true,
			wantNotePrefix: "mounts: the tasks share the claim data, which existed before the service"},
		{name: "no claim: a StatefulSet, a claim per slot", svc: testutil.MakeService("web", "n").Replicas(2).Mount(data).Obj(),
			wantKind: "StatefulSet", wantTemplates: []string{"data"}},
		{name: "a stack's volume whose claim exists", svc: stackService(), claims: translate.Claims{"wp-mysql-vol": ""},
			wantKind: "Deployment", wantClaim: "wp-mysql-vol", wantAffinity: true,
			wantNotePrefix: "mounts: the tasks share the claim wp-mysql-vol, which existed before the service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := translate.WithExistingClaims(tc.svc, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(svc, Inputs{Stack: svc.Labels[translate.LabelStack]}, wide)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantKind, got.WorkloadKind()); diff != "" {
				t.Fatalf("kind (-want +got):\n%s", diff)
			}
			var tmpl *corev1ac.PodTemplateSpecApplyConfiguration
			var templates []string
			if got.Deployment != nil {
				tmpl = got.Deployment.Spec.Template
			} else {
				tmpl = got.StatefulSet.Spec.Template
				for _, c := range got.StatefulSet.Spec.VolumeClaimTemplates {
					templates = append(templates, *c.Name)
				}
			}
			var claim string
			for _, v := range tmpl.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					claim = *v.PersistentVolumeClaim.ClaimName
				}
			}
			affinity := tmpl.Spec.Affinity != nil && tmpl.Spec.Affinity.PodAffinity != nil
			if diff := cmp.Diff([]any{tc.wantClaim, tc.wantTemplates, tc.wantAffinity}, []any{claim, templates, affinity}); diff != "" {
				t.Errorf("claim, templates, affinity (-want +got):\n%s", diff)
			}
			found := tc.wantNotePrefix == ""
			for _, n := range got.Notes {
				found = found || strings.HasPrefix(n, tc.wantNotePrefix)
			}
			if !found {
				t.Errorf("no note starting %q in %q", tc.wantNotePrefix, got.Notes)
			}
		})
	}
}
