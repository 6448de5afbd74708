package controllers

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestJobProgress: a job service's progress is that of its run's Jobs, whatever template each
// has (a Job kept from an older operator, a node's that joined later), not the earlier runs'.
func TestJobProgress(t *testing.T) {
	job := func(iteration, hash string, succeeded int32) batchv1.Job {
		return batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{translate.LabelTemplateHash: hash}},
			Spec: batchv1.JobSpec{Completions: ptr.To[int32](1), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{translate.AnnotationJobIteration: iteration}}}},
			Status: batchv1.JobStatus{Succeeded: succeeded},
		}
	}
	jobs := []batchv1.Job{job("2", "old-operator", 1), job("2", "new-operator", 0), job("1", "earlier-run", 1)}
	running, completed, total, failed := jobProgress(jobs, 2)
	if running != 0 || completed != 1 || total != 2 || failed != "" {
		t.Errorf("jobProgress = %d running, %d of %d completed, failed %q; want 0, 1 of 2, none", running, completed, total, failed)
	}
}
