package objects

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// jobs builds the Jobs of a job service. replicated-job: one Job, completions = replicas,
// parallelism = maxConcurrent (default: replicas, as the docker CLI). global-job: one Job per
// node in Inputs.Nodes, pinned to it, so that each eligible node runs the task once, nodes that
// join later included. The restart policy maps exactly: none → no retry; on-failure and any →
// retry failed tasks, up to maxAttempts (0: without limit, as Swarm).
func jobs(svc *swarmv1.Service, in Inputs, tmpl *corev1ac.PodTemplateSpecApplyConfiguration,
	labels, annotations map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration) []*batchv1ac.JobApplyConfiguration {
	backoff := int32(math.MaxInt32)
	if rp := svc.Spec.RestartPolicy; rp != nil {
		switch {
		case rp.Condition == swarmv1.RestartNone:
			backoff = 0
		case ptr.Deref(rp.MaxAttempts, 0) > 0:
			backoff = *rp.MaxAttempts
		}
	}
	job := func(name string, completions, parallelism int32, t *corev1ac.PodTemplateSpecApplyConfiguration, extra map[string]string) *batchv1ac.JobApplyConfiguration {
		j := batchv1ac.Job(name, svc.Namespace).WithLabels(labels).WithLabels(extra).
			WithLabels(map[string]string{translate.LabelTemplateHash: t.Labels[translate.LabelTemplateHash]}).
			WithOwnerReferences(owner).
			WithSpec(batchv1ac.JobSpec().
				WithCompletions(completions).WithParallelism(parallelism).
				WithBackoffLimit(backoff).WithTemplate(t))
		if len(annotations) > 0 {
			j.WithAnnotations(annotations)
		}
		return j
	}
	if svc.Spec.Mode == swarmv1.ModeReplicatedJob {
		total := ptr.Deref(svc.Spec.Replicas, 1)
		return []*batchv1ac.JobApplyConfiguration{job(svc.Name, total, ptr.Deref(svc.Spec.MaxConcurrent, max(total, 1)), tmpl, nil)}
	}
	out := make([]*batchv1ac.JobApplyConfiguration, 0, len(in.Nodes))
	for _, node := range in.Nodes {
		t := pinToNode(tmpl, node)
		out = append(out, job(globalJobName(svc.Name, node), 1, 1, t, map[string]string{translate.LabelNode: labelSafe(node)}))
	}
	return out
}

// globalJobName is the name of a global-job service's Job on a node.
func globalJobName(service, node string) string {
	if name := service + "-" + node; len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(node))
	return fmt.Sprintf("%.50s-%s", service, strconv.FormatUint(uint64(h.Sum32()), 36))
}

// labelSafe cuts v to the 63 characters of a label value.
func labelSafe(v string) string {
	if len(v) > 63 {
		return v[:63]
	}
	return v
}

// pinToNode copies a pod template and adds a required match on the node's name to every
// node-selector term (terms are ORed, so each must carry it), as the DaemonSet controller does.
func pinToNode(tmpl *corev1ac.PodTemplateSpecApplyConfiguration, node string) *corev1ac.PodTemplateSpecApplyConfiguration {
	data, _ := json.Marshal(tmpl)
	t := &corev1ac.PodTemplateSpecApplyConfiguration{}
	_ = json.Unmarshal(data, t)
	field := corev1ac.NodeSelectorRequirement().WithKey("metadata.name").WithOperator(corev1.NodeSelectorOpIn).WithValues(node)
	if t.Spec.Affinity == nil {
		t.Spec.WithAffinity(corev1ac.Affinity())
	}
	if t.Spec.Affinity.NodeAffinity == nil {
		t.Spec.Affinity.WithNodeAffinity(corev1ac.NodeAffinity())
	}
	na := t.Spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.NodeSelector().WithNodeSelectorTerms(corev1ac.NodeSelectorTerm()))
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		terms[i].WithMatchFields(field)
	}
	return t
}

// TaskPodSpec is the pod spec of a service's tasks as the scheduler reads it: its node affinity
// (the placement constraints, matched against nodeLabels: the labels of the cluster's nodes)
// and tolerations (availability) say where the tasks may run. It judges nothing (whether bind
// mounts are allowed is translate.Verdict's to say, not where tasks run); its errors are those
// of the values it reads, each also a Verdict error.
func TaskPodSpec(svc *swarmv1.Service, nodeLabels []map[string]string) (corev1.PodSpec, error) {
	var spec corev1.PodSpec
	tmpl, err := podTemplate(svc, Inputs{NodeLabels: nodeLabels}, translate.Options{})
	if err != nil {
		return spec, err
	}
	data, _ := json.Marshal(tmpl.Spec)
	err = json.Unmarshal(data, &spec)
	return spec, err
}
