package nodes

import (
	corev1 "k8s.io/api/core/v1"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	klog "k8s.io/klog/v2"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/objects"
)

// Ready tells whether the Kubernetes node is Ready (Swarm's state "ready"): the one readiness
// test of the Node controller, the Service controller's node watch and global jobs.
func Ready(node *corev1.Node) bool { return State(node) == swarmv1.NodeReady }

// Eligible are the nodes a global-job service runs on: Ready, schedulable, meeting the
// placement constraints and with no taint its tasks do not tolerate (a paused or drained node).
func Eligible(svc *swarmv1.Service, nodes []corev1.Node) ([]string, error) {
	labels := make([]map[string]string, len(nodes))
	for i := range nodes {
		labels[i] = nodes[i].Labels
	}
	spec, err := objects.TaskPodSpec(svc, labels)
	if err != nil {
		return nil, err
	}
	var selector *nodeaffinity.LazyErrorNodeSelector
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		selector = nodeaffinity.NewLazyErrorNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	var out []string
	for i := range nodes {
		n := &nodes[i]
		if n.Spec.Unschedulable || !Ready(n) || n.DeletionTimestamp != nil {
			continue
		}
		if selector != nil {
			if ok, _ := selector.Match(n); !ok {
				continue
			}
		}
		if _, untolerated := v1helper.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}, false); untolerated {
			continue
		}
		out = append(out, n.Name)
	}
	return out, nil
}
