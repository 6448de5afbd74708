package objects

import (
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// nodeAffinity is the required node affinity that all constraints together ask for, or nil.
func nodeAffinity(p *swarmv1.Placement, nodeLabels []map[string]string) (*corev1ac.NodeAffinityApplyConfiguration, error) {
	reqs, err := translate.NodeRequirements(p, nodeLabels)
	if err != nil || len(reqs) == 0 {
		return nil, err
	}
	term := corev1ac.NodeSelectorTerm()
	for _, r := range reqs {
		term.WithMatchExpressions(corev1ac.NodeSelectorRequirement().WithKey(r.Key).WithOperator(r.Operator).WithValues(r.Values...))
	}
	return corev1ac.NodeAffinity().WithRequiredDuringSchedulingIgnoredDuringExecution(
		corev1ac.NodeSelector().WithNodeSelectorTerms(term)), nil
}

// topologySpread spreads a replicated service's tasks: always over nodes (Swarm's scheduler
// prefers the node with the fewest tasks of the service), and over the values of each
// placement preference's label. All are preferences (ScheduleAnyway), as in Swarm; nodes with
// taints the task does not tolerate (drained, paused) are not counted.
func topologySpread(svc *swarmv1.Service) ([]*corev1ac.TopologySpreadConstraintApplyConfiguration, error) {
	keys, err := translate.SpreadKeys(svc)
	if err != nil {
		return nil, err
	}
	out := make([]*corev1ac.TopologySpreadConstraintApplyConfiguration, 0, len(keys))
	for _, k := range keys {
		out = append(out, corev1ac.TopologySpreadConstraint().
			WithMaxSkew(1).
			WithTopologyKey(k).
			WithWhenUnsatisfiable(corev1.ScheduleAnyway).
			WithNodeTaintsPolicy(corev1.NodeInclusionPolicyHonor).
			WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(translate.SelectorLabels(svc.Name))))
	}
	return out, nil
}

// maxPerNode is the scheduling rule of maxReplicasPerNode 1: a required pod anti-affinity on the
// hostname, exact. Above 1 no scheduling rule counts to N (a topology spread's maxSkew bounds the
// difference between nodes, not the number on one): the Service controller caps it when it lets
// each held task go (internal/update.Admit), so there is no rule here.
func maxPerNode(svc *swarmv1.Service) *corev1ac.PodAntiAffinityApplyConfiguration {
	if p := svc.Spec.Placement; svc.Spec.Mode.IsGlobal() || p == nil || p.MaxReplicasPerNode == nil || *p.MaxReplicasPerNode != 1 {
		return nil
	}
	sel := metav1ac.LabelSelector().WithMatchLabels(translate.SelectorLabels(svc.Name))
	return corev1ac.PodAntiAffinity().WithRequiredDuringSchedulingIgnoredDuringExecution(
		corev1ac.PodAffinityTerm().WithTopologyKey(corev1.LabelHostname).WithLabelSelector(sel))
}
