package tasks

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

func TestAssignSlots(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pod := func(name, service string, age time.Duration, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-age)),
			Labels: map[string]string{translate.LabelService: service, translate.LabelManagedBy: translate.ManagedByValue}}}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} }
	failed := func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }
	ofJob := func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "j", APIVersion: "batch/v1"}}
	}
	ordinal := func(n string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "db", APIVersion: "apps/v1", Controller: ptr.To(true)}}
			p.Labels[appsv1.PodIndexLabel] = n
		}
	}
	index := func(i string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: i} }
	}
	a := pod("a", "web", 3*time.Minute)
	b := pod("b", "web", 2*time.Minute)
	c := pod("c", "web", time.Minute)
	other := pod("z", "api", time.Minute)
	bGone := pod("b", "web", 2*time.Minute, deleting)
	bFailed := pod("b", "web", 2*time.Minute, failed)
	d := pod("d", "web", 0)
	cases := []struct {
		name string
		pods []*corev1.Pod
		prev Slots
		want Slots
	}{
		{"a StatefulSet's tasks: their ordinals, whatever the age and the previous build", []*corev1.Pod{
			pod("db-1", "db", 0, ordinal("1")), pod("db-3", "db", 3*time.Minute, ordinal("3")), pod("db-2", "db", time.Minute, ordinal("2"), deleting)},
			Slots{"n/db-1": 3},
			Slots{"n/db-1": 1, "n/db-2": 2, "n/db-3": 3}},
		{"first build: oldest first, per service", []*corev1.Pod{c, other, a, b}, nil,
			Slots{"n/a": 1, "n/b": 2, "n/c": 3, "n/z": 1}},
		{"kept across builds whatever the age", []*corev1.Pod{a, b, c}, Slots{"n/a": 3, "n/b": 1, "n/c": 2},
			Slots{"n/a": 3, "n/b": 1, "n/c": 2}},
		{"a replacement takes the slot of the task it replaces", []*corev1.Pod{a, c, d}, Slots{"n/a": 1, "n/b": 2, "n/c": 3},
			Slots{"n/a": 1, "n/c": 3, "n/d": 2}},
		{"a task being deleted keeps its number without holding it", []*corev1.Pod{a, bGone, c, d}, Slots{"n/a": 1, "n/b": 2, "n/c": 3},
			Slots{"n/a": 1, "n/b": 2, "n/c": 3, "n/d": 2}},
		{"a failed task of a long-running service does not hold its slot", []*corev1.Pod{a, bFailed, c, d}, Slots{"n/a": 1, "n/b": 2, "n/c": 3},
			Slots{"n/a": 1, "n/b": 2, "n/c": 3, "n/d": 2}},
		{"a job's finished tasks hold their slots", []*corev1.Pod{pod("a", "job", 2*time.Minute, ofJob, failed), pod("b", "job", time.Minute, ofJob)}, nil,
			Slots{"n/a": 1, "n/b": 2}},
		{"a replicated job's tasks have their indexes, from 0, retries too", []*corev1.Pod{
			pod("a", "job", 3*time.Minute, ofJob, failed, index("1")), pod("b", "job", 2*time.Minute, ofJob, index("0")),
			pod("c", "job", time.Minute, ofJob, index("1")), pod("old", "job", 4*time.Minute, ofJob)}, Slots{"n/c": 7},
			Slots{"n/a": 1, "n/b": 0, "n/c": 1, "n/old": 1}},
		{"scaled up: the lowest free slots", []*corev1.Pod{a, d}, Slots{"n/a": 2},
			Slots{"n/a": 2, "n/d": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, AssignSlots(tc.pods, tc.prev)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRetried: a replicated job's task that failed and whose slot has a newer task is its
// slot's history; the newest task of a slot is not, failed or not, nor a task without a slot.
func TestRetried(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pod := func(name, index string, age time.Duration, phase corev1.PodPhase) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: name, CreationTimestamp: metav1.NewTime(t0.Add(-age))},
			Status: corev1.PodStatus{Phase: phase}}
		if index != "" {
			p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: index}
		}
		return p
	}
	pods := []corev1.Pod{
		pod("0-first", "0", 3*time.Minute, corev1.PodFailed), pod("0-second", "0", 2*time.Minute, corev1.PodFailed),
		pod("0-third", "0", time.Minute, corev1.PodSucceeded),
		pod("1-only", "1", time.Minute, corev1.PodFailed),
		pod("no-index", "", 5*time.Minute, corev1.PodFailed),
	}
	want := map[string]bool{"n/0-first": true, "n/0-second": true}
	if diff := cmp.Diff(want, Retried(pods)); diff != "" {
		t.Errorf("retried (-want +got):\n%s", diff)
	}
}
