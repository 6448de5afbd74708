package controllers

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// numberTasks writes each replicated task's slot on its pod (tasks.AnnotationSlot), so that a
// task keeps its number for its life and `service ps` and the visualizer, which read it, number
// it alike. Only live tasks are written: a task that is over keeps the slot it has.
func (r *ServiceReconciler) numberTasks(ctx context.Context, svc *swarmv1.Service) error {
	if svc.Spec.Mode.IsGlobal() {
		return nil
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(svc.Namespace), client.MatchingLabels(translate.SelectorLabels(svc.Name))); err != nil {
		return fmt.Errorf("listing the tasks: %w", err)
	}
	var ts []*corev1.Pod
	for i := range pods.Items {
		if tasks.IsTask(&pods.Items[i]) {
			ts = append(ts, &pods.Items[i])
		}
	}
	slots := tasks.AssignSlots(ts, nil)
	for _, p := range ts {
		s := slots[tasks.Key(p)]
		if s == 0 || tasks.Slot(p) == s || p.DeletionTimestamp != nil {
			continue
		}
		patch := client.MergeFrom(p.DeepCopy())
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[tasks.AnnotationSlot] = strconv.Itoa(s)
		if err := r.Patch(ctx, p, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("writing the slot of task %s: %w", p.Name, err)
		}
	}
	return nil
}
