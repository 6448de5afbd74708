package controllers

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// ownedJobs lists the Jobs of a service.
func (r *ServiceReconciler) ownedJobs(ctx context.Context, svc *swarmv1.Service) ([]batchv1.Job, error) {
	list := &batchv1.JobList{}
	if err := r.List(ctx, list, client.InNamespace(svc.Namespace), client.MatchingLabels(translate.SelectorLabels(svc.Name))); err != nil {
		return nil, fmt.Errorf("listing the Jobs: %w", err)
	}
	out := list.Items[:0]
	for _, j := range list.Items {
		if metav1.IsControlledBy(&j, svc) {
			out = append(out, j)
		}
	}
	return out, nil
}

// applyJobs applies a job service's Jobs. A Job's template cannot change, so a Job of an older
// run (another iteration: the spec changed) is deleted first and made again once it is gone; a
// Job no longer wanted (its node left) is deleted. A Job of this run whose template differs
// only by what the operator generates (a new operator's template, another node's spelling of a
// label value) is left as it is: Swarm runs a job again only when its spec changes, and an
// operator upgrade must not run it again.
func (r *ServiceReconciler) applyJobs(ctx context.Context, svc *swarmv1.Service, desired []*batchv1ac.JobApplyConfiguration) error {
	existing, err := r.ownedJobs(ctx, svc)
	if err != nil {
		return err
	}
	want := map[string]*batchv1ac.JobApplyConfiguration{}
	for _, j := range desired {
		want[*j.Name] = j
	}
	waiting, kept := map[string]bool{}, map[string]bool{}
	for i := range existing {
		job := &existing[i]
		d, ok := want[job.Name]
		if ok && job.Labels[translate.LabelTemplateHash] == d.Labels[translate.LabelTemplateHash] {
			continue
		}
		if ok && jobIteration(job) == d.Spec.Template.Annotations[translate.AnnotationJobIteration] {
			kept[job.Name] = true
			continue
		}
		waiting[job.Name] = true
		if job.DeletionTimestamp != nil {
			continue
		}
		if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting Job %s: %w", job.Name, err)
		}
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted Job %s of an earlier run", job.Name)
	}
	for _, j := range desired {
		if waiting[*j.Name] || kept[*j.Name] {
			continue // kept, or made again when the old one is gone (its deletion brings us back)
		}
		if err := applyIfChanged(ctx, &r.childApplier, svc, client.ObjectKey{Namespace: svc.Namespace, Name: *j.Name}, &batchv1.Job{}, j, batchv1ac.ExtractJob); err != nil {
			return err
		}
	}
	return nil
}

// globalJobNodes are the nodes a global-job service runs on: the eligible nodes, and the nodes
// that already ran it (a node drained after its run keeps its completed task).
func (r *ServiceReconciler) globalJobNodes(ctx context.Context, svc *swarmv1.Service) ([]string, error) {
	nodeList := &corev1.NodeList{}
	if err := r.List(ctx, nodeList); err != nil {
		return nil, fmt.Errorf("listing the nodes: %w", err)
	}
	eligible, err := nodes.Eligible(svc, nodeList.Items)
	if err != nil {
		// A spec whose placement cannot be read runs nowhere; objects.Build refuses it in the
		// same words (Degraded, InvalidSpec), where an error here would only be retried.
		eligible = nil
	}
	set := map[string]bool{}
	for _, n := range eligible {
		set[n] = true
	}
	exists := map[string]bool{}
	for _, n := range nodeList.Items {
		exists[n.Name] = true
	}
	jobs, err := r.ownedJobs(ctx, svc)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if n := j.Labels[translate.LabelNode]; n != "" && exists[n] {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// jobIteration is the run of its job service a Job runs (objects.Build).
func jobIteration(j *batchv1.Job) string {
	return j.Spec.Template.Annotations[translate.AnnotationJobIteration]
}

// jobProgress sums the Jobs of a job service's run (iteration): running tasks, completed tasks,
// total completions and whether one failed for good.
func jobProgress(jobs []batchv1.Job, iteration int64) (running, completed, total int32, failed string) {
	for _, j := range jobs {
		if jobIteration(&j) != strconv.FormatInt(iteration, 10) || j.DeletionTimestamp != nil {
			continue
		}
		running += ptr.Deref(j.Status.Ready, 0)
		completed += j.Status.Succeeded
		total += ptr.Deref(j.Spec.Completions, 1)
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && failed == "" {
				failed = fmt.Sprintf("Job %s failed: %s", j.Name, c.Message)
			}
		}
	}
	return running, completed, total, failed
}
