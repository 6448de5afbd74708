package objects

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// jobs builds the Jobs of a job service. replicated-job: one Indexed Job, completions =
// replicas, parallelism = maxConcurrent (default: replicas, as the docker CLI); each completion
// index is a task's slot, 0 to replicas-1 as swarmkit numbers a replicated job's slots
// (manager/orchestrator/jobs/replicated/reconciler.go). global-job: one Job per node in
// Inputs.Nodes, pinned to it, so that each eligible node runs the task once, nodes that join
// later included. The restart policy maps exactly (jobBackoff).
func jobs(svc *swarmv1.Service, in Inputs, tmpl *corev1ac.PodTemplateSpecApplyConfiguration,
	labels, annotations map[string]string, owner *metav1ac.OwnerReferenceApplyConfiguration) []*batchv1ac.JobApplyConfiguration {
	job := func(name string, t *corev1ac.PodTemplateSpecApplyConfiguration, extra map[string]string, spec *batchv1ac.JobSpecApplyConfiguration) *batchv1ac.JobApplyConfiguration {
		j := batchv1ac.Job(name, svc.Namespace).WithLabels(labels).WithLabels(extra).
			WithLabels(map[string]string{translate.LabelTemplateHash: t.Labels[translate.LabelTemplateHash]}).
			WithOwnerReferences(owner).
			WithSpec(spec.WithTemplate(t))
		if len(annotations) > 0 {
			j.WithAnnotations(annotations)
		}
		return j
	}
	if svc.Spec.Mode == swarmv1.ModeReplicatedJob {
		total := ptr.Deref(svc.Spec.Replicas, 1)
		spec := batchv1ac.JobSpec().WithCompletions(total).WithParallelism(ptr.Deref(svc.Spec.MaxConcurrent, max(total, 1))).
			WithCompletionMode(batchv1.IndexedCompletion)
		if perTask, counted := jobBackoff(svc.Spec.RestartPolicy); counted {
			spec.WithBackoffLimitPerIndex(perTask).WithBackoffLimit(math.MaxInt32)
		} else {
			spec.WithBackoffLimit(math.MaxInt32)
		}
		return []*batchv1ac.JobApplyConfiguration{job(svc.Name, tmpl, nil, spec)}
	}
	backoff := int32(math.MaxInt32)
	if n, counted := jobBackoff(svc.Spec.RestartPolicy); counted {
		backoff = n // one task per Job: the Job's limit is the task's
	}
	out := make([]*batchv1ac.JobApplyConfiguration, 0, len(in.Nodes))
	for _, node := range in.Nodes {
		t := pinToNode(tmpl, node)
		spec := batchv1ac.JobSpec().WithCompletions(1).WithParallelism(1).WithBackoffLimit(backoff)
		out = append(out, job(globalJobName(svc.Name, node), t, map[string]string{translate.LabelNode: labelSafe(node)}, spec))
	}
	return out
}

// jobBackoff is how often a job's task is retried when counted: condition none → never (0);
// on-failure and any → maxAttempts times. counted is false without a limit (maxAttempts 0, as
// Swarm). swarmkit counts restarts per task, by slot (manager/orchestrator/restart/restart.go,
// shouldRestart: restartInfo.totalRestarts < MaxAttempts per SlotTuple), so a replicated job
// gets it as backoffLimitPerIndex: each index (slot) fails on its own, the others go on, where
// one Job-wide backoffLimit would fail a job whose tasks each fail once.
func jobBackoff(rp *swarmv1.RestartPolicy) (n int32, counted bool) {
	switch {
	case rp == nil:
		return 0, false
	case rp.Condition == swarmv1.RestartNone:
		return 0, true
	case ptr.Deref(rp.MaxAttempts, 0) > 0:
		return *rp.MaxAttempts, true
	}
	return 0, false
}

// jobTaskSlot gives a replicated job's task its slot in translate.SlotEnv: its completion index
// (translate.JobSlotField), read from the pod's annotation as the Job controller's own
// JOB_COMPLETION_INDEX is. Swarm numbers a replicated job's slots from 0, as the index (unlike a
// replicated service's, from 1). A container whose env templates already refer to it has it.
func jobTaskSlot(svc *swarmv1.Service, tmpl *corev1ac.PodTemplateSpecApplyConfiguration) {
	if svc.Spec.Mode != swarmv1.ModeReplicatedJob {
		return
	}
	for i := range tmpl.Spec.Containers {
		c := &tmpl.Spec.Containers[i]
		if c.Name == nil || *c.Name != translate.ContainerName || slices.ContainsFunc(c.Env, func(e corev1ac.EnvVarApplyConfiguration) bool {
			return e.Name != nil && *e.Name == translate.SlotEnv
		}) {
			continue
		}
		c.WithEnv(corev1ac.EnvVar().WithName(translate.SlotEnv).WithValueFrom(corev1ac.EnvVarSource().
			// apiVersion as the API server defaults it, so that the Job as applied reads back the
			// same and is not applied again at each of its status changes (TestJobNotRewritten).
			WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath(translate.JobSlotField))))
	}
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
