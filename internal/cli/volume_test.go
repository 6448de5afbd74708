package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// makeClaim makes a bound claim; labels nil is a claim kubeswarm did not make.
func makeClaim(name string, class *string, labels map[string]string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: testUID("pvc/" + name), Labels: labels,
			CreationTimestamp: metav1.NewTime(testNow.Add(-48 * time.Hour))},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
			VolumeName: "pvc-" + name, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}
}

func stackClaimLabels(stack, volume string) map[string]string {
	return map[string]string{translate.LabelStack: stack, translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: volume}
}

// withClaim gives a pod a volume of the claim.
func withClaim(p *corev1.Pod, claim string) *corev1.Pod {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "mount-0",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	return p
}

// seedVolumes: the seed stack's database volume (in use by its task), a volume of `service
// create --mount` (its only task finished), an external volume a service mounts, a claim of
// another stack nobody uses, and a claim kubeswarm has nothing to do with.
func seedVolumes() []client.Object {
	db := makeService("wp-dbcluster").Obj()
	db.Spec.Mounts = []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "wp-mysql-vol", Target: "/var/lib/mysql"}}
	legacy := makeService("legacy").Obj()
	legacy.Spec.Mounts = []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "legacy-data", Target: "/data"}}
	finished := withClaim(makePod("backup", "backup-x1", "worker1", time.Hour, false), "data")
	finished.Status.Phase = corev1.PodSucceeded
	return []client.Object{
		makeClaim("wp-mysql-vol", ptr.To("standard"), stackClaimLabels("wp", "mysql_vol")),
		makeClaim("data", nil, map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: "data"}),
		makeClaim("legacy-data", ptr.To("fast-ssd"), nil),
		makeClaim("shop-cache", ptr.To("standard"), stackClaimLabels("shop", "cache")),
		makeClaim("unrelated", nil, map[string]string{"app": "other"}),
		db, legacy,
		withClaim(makePod("wp-dbcluster", "wp-dbcluster-abc", "manager1", time.Hour, true), "wp-mysql-vol"),
		finished,
	}
}

func TestVolumeLs(t *testing.T) {
	f := newTestFactory(seedVolumes()...)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"volume_ls", nil},
		{"volume_ls_quiet", []string{"-q"}},
		{"volume_ls_dangling", []string{"--filter", "dangling=true"}},
		{"volume_ls_in_use", []string{"-f", "dangling=false"}},
		{"volume_ls_filter_label", []string{"-f", "label=com.docker.stack.namespace=wp"}},
		{"volume_ls_filter_name", []string{"-f", "name=^wp_", "-f", "name=legacy-data"}},
		{"volume_ls_filter_driver", []string{"-f", "driver=local"}},
		{"volume_ls_format", []string{"--format", `{{.Name}}: {{.Driver}} claim={{.Claim}} {{.Phase}} links={{.Links}} stack={{.Label "com.docker.stack.namespace"}}`}},
		{"volume_ls_table_labels", []string{"--format", "table {{.Name}}\t{{.Links}}\t{{.Labels}}"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, _, err := run(t, f, append([]string{"volume", "ls"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", "size=1"}, "invalid filter 'size'"},
		{[]string{"-f", "dangling=maybe"}, "invalid filter 'dangling=maybe'"},
		{[]string{"-f", "dangling"}, "bad format of filter (expected name=value)"},
	} {
		if _, _, err := run(t, f, append([]string{"volume", "ls"}, tc.args...)...); err == nil || err.Error() != tc.want {
			t.Errorf("volume ls %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestVolumeInspect(t *testing.T) {
	f := newTestFactory(seedVolumes()...)
	out, _, err := run(t, f, "volume", "inspect", "wp_mysql_vol", "data")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "volume_inspect", out)
	out, _, err = run(t, f, "volume", "inspect", "-f", "{{.Name}} {{.Status.Claim}} {{.Status.UsedBy}}", "wp-mysql-vol")
	if err != nil || out != "wp_mysql_vol wp-mysql-vol [wp-dbcluster.1]\n" {
		t.Errorf("inspect -f by the claim's name: %q %v", out, err)
	}
	if _, _, err := run(t, f, "volume", "inspect", "unrelated"); err == nil || err.Error() != "get unrelated: no such volume" {
		t.Errorf("inspect of a claim kubeswarm has nothing to do with: %v", err)
	}
}

func TestVolumeRm(t *testing.T) {
	claimExists := func(f *testFactory, name string) bool {
		err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, &corev1.PersistentVolumeClaim{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	for _, tc := range []struct {
		name      string
		args      []string
		out       string
		errOut    string
		err       string
		removed   []string
		kept      []string
		unrelated bool
	}{
		{
			name: "a volume in use is refused, naming its tasks", args: []string{"wp_mysql_vol"},
			err: "remove wp_mysql_vol: volume is in use - [wp-dbcluster.1]", kept: []string{"wp-mysql-vol"},
		},
		{
			name: "by the claim's name too", args: []string{"wp-mysql-vol"},
			err: "remove wp-mysql-vol: volume is in use - [wp-dbcluster.1]", kept: []string{"wp-mysql-vol"},
		},
		{
			name: "--force removes a volume in use when its tasks stop", args: []string{"-f", "wp_mysql_vol"},
			out: "wp_mysql_vol\n", errOut: "warning: wp_mysql_vol is in use by [wp-dbcluster.1]: it is removed when they stop\n", removed: []string{"wp-mysql-vol"},
		},
		{
			name: "volumes no task uses go; the others are reported together", args: []string{"data", "nope", "shop_cache", "unrelated"},
			out: "data\nshop_cache\n", err: "get nope: no such volume\nget unrelated: no such volume",
			removed: []string{"data", "shop-cache"}, kept: []string{"unrelated"},
		},
		{
			name: "--force: an unknown name is no error, as docker's", args: []string{"--force", "nope", "legacy-data"},
			out: "nope\nlegacy-data\n", removed: []string{"legacy-data"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFactory(seedVolumes()...)
			out, errOut, err := run(t, f, append([]string{"volume", "rm"}, tc.args...)...)
			if got := errString(err); got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
			if diff := cmp.Diff(tc.out, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errOut, errOut); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			for _, name := range tc.removed {
				if claimExists(f, name) {
					t.Errorf("claim %s was not removed", name)
				}
			}
			for _, name := range tc.kept {
				if !claimExists(f, name) {
					t.Errorf("claim %s was removed", name)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestStackRmKeepsVolumes: stack rm removes services, secrets and networks, says nothing of
// volumes, and lets go of a claim that an earlier kubeswarm made owned by the Stack, so that the
// garbage collector keeps it; volume ls shows it afterwards, and volume rm removes it.
func TestStackRmKeepsVolumes(t *testing.T) {
	st := &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: "wp", Namespace: "default", UID: testUID("stack/wp")},
		Spec: swarmv1.StackSpec{
			Services: []swarmv1.StackService{{Name: "dbcluster", ServiceSpec: swarmv1.ServiceSpec{Image: "mysql:5.7",
				Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "mysql_vol", Target: "/var/lib/mysql"}}}}},
			Volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}, {Name: "logs"}},
		}}
	owned := makeClaim("wp-mysql-vol", ptr.To("standard"), stackClaimLabels("wp", "mysql_vol"))
	owned.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(st, swarmv1.GroupVersion.WithKind("Stack"))}
	kept := makeClaim("wp-logs", ptr.To("standard"), stackClaimLabels("wp", "logs"))
	f := newTestFactory(st, owned, kept)
	out, _, err := run(t, f, "stack", "rm", "wp")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Removing service wp_dbcluster\nRemoving network wp_default\n"; out != want {
		t.Errorf("stack rm printed %q, want %q", out, want)
	}
	if strings.Contains(strings.ToLower(out), "volume") {
		t.Errorf("stack rm speaks of volumes: %q", out)
	}
	for _, name := range []string{"wp-mysql-vol", "wp-logs"} {
		c := &corev1.PersistentVolumeClaim{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, c); err != nil || len(c.OwnerReferences) != 0 {
			t.Errorf("claim %s after stack rm: %v, owners %v; want it kept, owned by nobody", name, err, c.OwnerReferences)
		}
	}
	if out, _, err := run(t, f, "volume", "ls", "-q"); err != nil || out != "wp_logs\nwp_mysql_vol\n" {
		t.Errorf("volume ls -q after stack rm: %q %v", out, err)
	}
	if out, _, err := run(t, f, "volume", "rm", "wp_mysql_vol", "wp_logs"); err != nil || out != "wp_mysql_vol\nwp_logs\n" {
		t.Errorf("volume rm: %q %v", out, err)
	}
	if out, _, err := run(t, f, "volume", "ls", "-q"); err != nil || out != "" {
		t.Errorf("volume ls -q after volume rm: %q %v", out, err)
	}
}

// TestPerSlotVolumes: each claim of a per-slot volume (a StatefulSet's, one per task) is a volume
// of its own name, a stack's too; the stack's shared claim keeps docker's <stack>_<volume>.
func TestPerSlotVolumes(t *testing.T) {
	slots := func(stack, volume, service string) map[string]string {
		l := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: volume, translate.LabelSlotsOf: service}
		if stack != "" {
			l[translate.LabelStack] = stack
		}
		return l
	}
	for _, tc := range []struct {
		claim *corev1.PersistentVolumeClaim
		want  string
	}{
		{makeClaim("data-web-1", nil, slots("", "data", "web")), "data-web-1"},
		{makeClaim("wp-mysql-vol-wp-dbcluster-2", nil, slots("wp", "mysql_vol", "wp-dbcluster")), "wp-mysql-vol-wp-dbcluster-2"},
		{makeClaim("wp-mysql-vol", nil, stackClaimLabels("wp", "mysql_vol")), "wp_mysql_vol"},
	} {
		if got := volumeName(tc.claim); got != tc.want {
			t.Errorf("volumeName(%s) = %q, want %q", tc.claim.Name, got, tc.want)
		}
	}
	f := newTestFactory(
		makeClaim("data-web-1", nil, slots("", "data", "web")), makeClaim("data-web-2", nil, slots("", "data", "web")),
		makeClaim("wp-mysql-vol-wp-dbcluster-1", nil, slots("wp", "mysql_vol", "wp-dbcluster")),
		withClaim(makePod("web", "web-1", "worker1", time.Hour, true), "data-web-1"))
	out, _, err := run(t, f, "volume", "ls", "--format", "{{.Name}} {{.Label \"com.docker.stack.namespace\"}} {{.Links}}")
	if err != nil {
		t.Fatal(err)
	}
	want := "data-web-1  1\ndata-web-2  0\nwp-mysql-vol-wp-dbcluster-1 wp 0\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("volume ls (-want +got):\n%s", diff)
	}
}
