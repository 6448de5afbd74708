package nodes

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func lease(renewed *time.Time, seconds int32) *coordinationv1.Lease {
	l := &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To(seconds)}}
	if renewed != nil {
		l.Spec.RenewTime = &metav1.MicroTime{Time: *renewed}
	}
	return l
}

func TestLeaseDeadline(t *testing.T) {
	for _, c := range []struct {
		name      string
		lease     *coordinationv1.Lease
		downAfter time.Duration
		want      time.Time
		wantOK    bool
	}{
		{"the lease's own duration", lease(&t0, 10), 0, t0.Add(10 * time.Second), true},
		{"the setting wins", lease(&t0, 40), 15 * time.Second, t0.Add(15 * time.Second), true},
		{"no duration: the kubelet's default", lease(&t0, 0), 0, t0.Add(40 * time.Second), true},
		{"never renewed", lease(nil, 10), 0, time.Time{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := LeaseDeadline(c.lease, c.downAfter)
			if !got.Equal(c.want) || ok != c.wantOK {
				t.Errorf("LeaseDeadline = %v, %v; want %v, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestLeaseResumed(t *testing.T) {
	soon, late := t0.Add(3*time.Second), t0.Add(25*time.Second)
	for _, c := range []struct {
		name     string
		old, new *coordinationv1.Lease
		want     bool
	}{
		{"a renewal in time", lease(&t0, 10), lease(&soon, 10), false},
		{"a renewal after the lease went stale", lease(&t0, 10), lease(&late, 10), true},
		{"a new lease", lease(nil, 10), lease(&soon, 10), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := LeaseResumed(c.old, c.new, 0); got != c.want {
				t.Errorf("LeaseResumed = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDownTaints(t *testing.T) {
	other := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	added := metav1.NewTime(t0)
	down := corev1.Taint{Key: TaintDownKey, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &added}
	for _, c := range []struct {
		name        string
		taints      []corev1.Taint
		down        bool
		want        []corev1.Taint
		wantChanged bool
	}{
		{"marked down, others kept", []corev1.Taint{other}, true, []corev1.Taint{other, down}, true},
		{"already down", []corev1.Taint{other, down}, true, []corev1.Taint{other, down}, false},
		{"back: only ours removed", []corev1.Taint{down, other}, false, []corev1.Taint{other}, true},
		{"up and not marked", []corev1.Taint{other}, false, []corev1.Taint{other}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, changed := DownTaints(c.taints, c.down, t0)
			if diff := cmp.Diff(c.want, got); diff != "" || changed != c.wantChanged {
				t.Errorf("DownTaints changed=%v (want %v) (-want +got):\n%s", changed, c.wantChanged, diff)
			}
		})
	}
}

func TestMovesWhenDown(t *testing.T) {
	task := func(kind string, mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name:   "web-1",
			Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelService: "web"},
		}, Spec: corev1.PodSpec{NodeName: "worker1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: "web-abc", Controller: ptr.To(true)}}
		}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	now := metav1.NewTime(t0)
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"a replicated service's task", task("ReplicaSet", nil), true},
		{"a global service's task stays", task("DaemonSet", nil), false},
		{"a job's task is the Job's", task("Job", nil), false},
		{"already going", task("ReplicaSet", func(p *corev1.Pod) { p.DeletionTimestamp = &now }), false},
		{"finished", task("ReplicaSet", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), false},
		{"not a task", task("ReplicaSet", func(p *corev1.Pod) { p.Labels = nil }), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := MovesWhenDown(c.pod); got != c.want {
				t.Errorf("MovesWhenDown = %v, want %v", got, c.want)
			}
		})
	}
}
