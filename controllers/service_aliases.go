package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// applyAliases writes the Services that give a service outside a stack its network aliases
// (internal/objects' AliasServices) and deletes those of aliases it no longer has. A Service of
// an alias's name that is not this service's is never taken over: the service is Degraded,
// NameConflict, naming it.
func (r *ServiceReconciler) applyAliases(ctx context.Context, svc *swarmv1.Service, aliases []*corev1ac.ServiceApplyConfiguration) error {
	want := map[string]bool{}
	var problems []error
	for _, a := range aliases {
		want[*a.Name] = true
		key := client.ObjectKey{Namespace: svc.Namespace, Name: *a.Name}
		err := applyIfChanged(ctx, &r.childApplier, svc, key, &corev1.Service{}, a, corev1ac.ExtractService)
		switch {
		case errors.Is(err, errNameConflict):
			problems = append(problems, kindError(errNameConflict, err,
				"network alias %s: a Service %s exists and does not belong to this service; remove that Service, or choose another alias", *a.Name, *a.Name))
		case err != nil:
			problems = append(problems, fmt.Errorf("network alias %s: %w", *a.Name, err))
		}
	}
	err := deleteControlled(ctx, r.Client, svc, &corev1.ServiceList{}, client.MatchingLabels{translate.LabelAliasOf: svc.Name},
		func(o client.Object) bool { return want[o.GetName()] }, nil)
	if err != nil {
		problems = append(problems, fmt.Errorf("removing the Services of dropped network aliases: %w", err))
	}
	if len(problems) == 1 {
		return problems[0] // a kinded error's message as it is, for the condition
	}
	return errors.Join(problems...)
}
