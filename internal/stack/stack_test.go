package stack

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func TestChild(t *testing.T) {
	st := testutil.SeedStack()
	db := Child(st, st.Spec.Services[1])
	if db.Name != "wp-dbcluster" || db.Namespace != "ns" || db.Labels["swarm.kubeswarm.io/stack"] != "wp" || db.Annotations[AnnotationStackGeneration] != "3" {
		t.Errorf("meta: %+v", db.ObjectMeta)
	}
	if len(db.OwnerReferences) != 1 || db.OwnerReferences[0].Kind != "Stack" || !ptr.Deref(db.OwnerReferences[0].Controller, false) {
		t.Errorf("owner: %+v", db.OwnerReferences)
	}
	want := swarmv1.ServiceSpec{Image: "mysql:5.7",
		Labels:   map[string]string{LabelDockerStackNamespace: "wp", LabelDockerStackImage: "mysql:5.7"},
		Networks: []swarmv1.NetworkAttachment{{Name: "wp-common"}},
		Mounts:   []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "wp-mysql-vol", Target: "/var/lib/mysql"}},
		Secrets:  []swarmv1.FileReference{{Source: "wp-db-pass", Target: "db_pass"}, {Source: "vault", Target: "key"}}}
	if diff := cmp.Diff(want, db.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if cron := Child(st, st.Spec.Services[2]); len(cron.Spec.Networks) != 1 || cron.Spec.Networks[0].Name != "wp-default" {
		t.Errorf("a service on no network is on the stack's default network: %+v", cron.Spec.Networks)
	}
	if st.Spec.Services[1].Mounts[0].Source != "mysql_vol" {
		t.Errorf("Child changed the Stack's own spec")
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(testutil.SeedStack()); err != nil {
		t.Fatalf("the seed is valid: %v", err)
	}
	st := testutil.SeedStack()
	st.Spec.Services[0].Networks = []swarmv1.NetworkAttachment{{Name: "backend"}}
	st.Spec.Services[1].Configs = []swarmv1.FileReference{{Source: "site"}}
	st.Name = strings.Repeat("s", 60)
	err := Validate(st)
	for _, want := range []string{"service wordpress: networks: network backend is not declared", "service dbcluster: configs: config site is not declared",
		"service wordpress: its Service name " + st.Name + "-wordpress must be a DNS label"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to say %q", err, want)
		}
	}
}

// TestIsClaimOf: a claim labelled with the stack is the stack's to update when nothing controls
// it, or a Stack of the same name does (claims of earlier versions, or of an earlier Stack).
func TestIsClaimOf(t *testing.T) {
	labels := map[string]string{"swarm.kubeswarm.io/stack": "wp", "app.kubernetes.io/managed-by": "kubeswarm", "swarm.kubeswarm.io/volume": "mysql_vol"}
	owner := func(apiVersion, kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(uid), Controller: ptr.To(true)}}
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   bool
	}{
		{name: "labelled, no owner", labels: labels, want: true},
		{name: "owned by this Stack (made by an earlier version)", labels: labels, owners: owner("swarm.kubeswarm.io/v1alpha1", "Stack", "wp", "uid-wp"), want: true},
		{name: "owned by an earlier Stack of the same name", labels: labels, owners: owner("swarm.kubeswarm.io/v1alpha1", "Stack", "wp", "uid-old"), want: true},
		{name: "owned by another stack", labels: labels, owners: owner("swarm.kubeswarm.io/v1alpha1", "Stack", "shop", "uid-shop")},
		{name: "controlled by something else", labels: labels, owners: owner("apps/v1", "StatefulSet", "wp", "uid-sts")},
		{name: "another stack's label", labels: map[string]string{"swarm.kubeswarm.io/stack": "shop", "app.kubernetes.io/managed-by": "kubeswarm"}},
		{name: "not made by kubeswarm", labels: map[string]string{"swarm.kubeswarm.io/stack": "wp"}},
		{name: "unlabelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "wp-mysql-vol", Namespace: "ns", Labels: tc.labels, OwnerReferences: tc.owners}}
			if got := IsClaimOf(testutil.SeedStack(), claim); got != tc.want {
				t.Errorf("IsClaimOf = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestClaimName: an external volume's claim is known by its external name.
func TestClaimName(t *testing.T) {
	if got := ClaimName(testutil.SeedStack(), "old"); got != "legacy-data" {
		t.Errorf("external volume claim %q, want its externalName", got)
	}
	if got := ClaimName(testutil.SeedStack(), "mysql_vol"); got != "wp-mysql-vol" {
		t.Errorf("volume claim %q, want wp-mysql-vol", got)
	}
}
