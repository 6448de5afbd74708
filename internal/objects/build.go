package objects

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

// Inputs are facts about other objects that the reconciler looked up for Build.
type Inputs struct {
	// Stack is the name of the Stack the service belongs to, if any.
	Stack string
	// SecretKeys and ConfigKeys map a source to the data key that holds the file; default: the
	// source name itself.
	SecretKeys, ConfigKeys map[string]string
	// TemplatedSecrets and TemplatedConfigs are the sources created with the golang template
	// driver (files.AnnotationTemplate): each task gets them rendered (internal/files).
	TemplatedSecrets, TemplatedConfigs map[string]bool
	// SlotTemplates are the templated sources (secrets' and configs') that name .Task.Slot,
	// which only a global task has (templateNotes).
	SlotTemplates map[string]bool
	// UpdateState is where Swarm's updater is (status.updateStatus.state): it picks the
	// rolling update the workload follows (internal/update.StrategyFor).
	UpdateState swarmv1.UpdateState
	// ToleratedFailures is the number of failed new tasks the update under way steps past
	// (internal/update.Tolerated).
	ToleratedFailures int32
	// JobIteration is the run of a job service; each spec change runs the job again.
	JobIteration int64
	// Nodes are the nodes a global-job service runs on: one Job each.
	Nodes []string
	// NodeLabels are the labels of the cluster's nodes, for the services with node.labels or
	// engine.labels constraints (NeedsNodeLabels): Swarm compares their values
	// case-insensitively, so the node affinity lists the spellings the nodes carry.
	NodeLabels []map[string]string
	// ImageHealthcheck is the HEALTHCHECK of the image's config (nil: none, or not read), which
	// the tasks run where the service's healthcheck leaves it to the image
	// (swarmsyntax.MergeHealth).
	ImageHealthcheck *swarmv1.Healthcheck
	// Running is what the service's workload runs now (RunningOf its live template), so that
	// a new operator replaces no task by itself (Build).
	Running Running
}

// Running is what a service's tasks run now, as far as the operator rather than the service
// decided it.
type Running struct {
	// TemplateHash is the live template's LabelTemplateHash.
	TemplateHash string
	// FilesImage is the image of its install-files or copy-tools init container (both the
	// operator's); empty without one.
	FilesImage string
}

// RunningOf reads a live workload's pod template.
func RunningOf(t *corev1.PodTemplateSpec) Running {
	out := Running{TemplateHash: t.Labels[translate.LabelTemplateHash]}
	for _, c := range t.Spec.InitContainers {
		if c.Name == InstallFilesContainer || c.Name == CopyToolsContainer {
			out.FilesImage = c.Image
		}
	}
	return out
}

func lookup(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// SecretKey is the data key of the Secret that holds the secret source s.
func (in Inputs) SecretKey(s string) string { return lookup(in.SecretKeys, s) }

// ConfigKey is the data key of the ConfigMap that holds the config source s.
func (in Inputs) ConfigKey(s string) string { return lookup(in.ConfigKeys, s) }

// Objects are the Kubernetes objects that realise a service: a Deployment, a StatefulSet (a
// replicated service whose tasks need their slots, translate.PerSlot), a DaemonSet or Jobs.
type Objects struct {
	Deployment  *appsv1ac.DeploymentApplyConfiguration
	StatefulSet *appsv1ac.StatefulSetApplyConfiguration
	DaemonSet   *appsv1ac.DaemonSetApplyConfiguration
	// Jobs run a job service: one for replicated-job, one per node for global-job.
	Jobs []*batchv1ac.JobApplyConfiguration
	// TemplateHash identifies the task template; every task carries it in LabelTemplateHash.
	TemplateHash string
	// Service gives the service its name in DNS and publishes its ingress ports.
	Service *corev1ac.ServiceApplyConfiguration
	// Aliases give a service outside a stack its network aliases (AliasServices).
	Aliases []*corev1ac.ServiceApplyConfiguration
	// Notes say what the spec asks that Kubernetes can only approximate or cannot do.
	Notes []string
}

// WorkloadKind is the kind of the workload objects.
func (o *Objects) WorkloadKind() string {
	switch {
	case o.DaemonSet != nil:
		return "DaemonSet"
	case o.Deployment != nil:
		return "Deployment"
	case o.StatefulSet != nil:
		return "StatefulSet"
	default:
		return "Job"
	}
}

// Build returns the objects that realise svc. An error means the spec cannot be realised at all
// (it names the field and the fix; translate.Verdict's words); nothing should then be changed in
// the cluster. Objects.Notes are the verdict's notes.
//
// The same service, inputs and options always give the same pod template. One option is the
// operator's own version: its files image (the install-files init container's), which a new
// operator would change in the template of every service that installs files, and so replace
// their tasks. So Build keeps the image the workload runs (in.Running) when the template is
// then the very one running: an operator upgrade or restart, a change of replicas or service
// labels. When the template changes anyway (the service's task template changed: an update
// replaces the tasks in any case) or there is no workload yet, it takes opts.FilesImage.
func Build(svc *swarmv1.Service, in Inputs, opts translate.Options) (*Objects, error) {
	if live := in.Running; live.FilesImage != "" && live.FilesImage != opts.FilesImage {
		kept := opts
		kept.FilesImage = live.FilesImage
		if objs, err := buildWith(svc, in, kept); err == nil && objs.TemplateHash == live.TemplateHash {
			return objs, nil
		}
	}
	return buildWith(svc, in, opts)
}

// buildWith is Build with the files image of opts.
func buildWith(svc *swarmv1.Service, in Inputs, opts translate.Options) (*Objects, error) {
	notes, err := translate.Verdict(svc, opts)
	if err != nil {
		return nil, err
	}
	out := &Objects{Notes: append(notes, templateNotes(svc, in, opts)...)}
	tmpl, err := podTemplate(svc, in, opts)
	if err != nil {
		return nil, err
	}
	if svc.Spec.Mode.IsJob() {
		// Swarm runs a job again after every update of its spec.
		tmpl.WithAnnotations(map[string]string{translate.AnnotationJobIteration: strconv.FormatInt(in.JobIteration, 10)})
		jobTaskSlot(svc, tmpl)
	}
	out.TemplateHash = templateHash(tmpl)
	tmpl.WithLabels(map[string]string{translate.LabelTemplateHash: out.TemplateHash})
	owner := OwnerReference(svc)
	labels := translate.ObjectLabels(svc.Name, in.Stack)
	annotations, _ := translate.Annotations("labels", svc.Spec.Labels)
	selector := metav1ac.LabelSelector().WithMatchLabels(translate.SelectorLabels(svc.Name))
	strategy := update.StrategyFor(&svc.Spec, in.UpdateState, in.ToleratedFailures)

	switch svc.Spec.Mode {
	case swarmv1.ModeReplicatedJob, swarmv1.ModeGlobalJob:
		out.Jobs = jobs(svc, in, tmpl, labels, annotations, owner)
	case swarmv1.ModeGlobal:
		ds := appsv1ac.DaemonSet(svc.Name, svc.Namespace).
			WithLabels(labels).WithOwnerReferences(owner).
			WithSpec(appsv1ac.DaemonSetSpec().
				WithSelector(selector).
				WithTemplate(tmpl).
				WithRevisionHistoryLimit(5).
				WithUpdateStrategy(daemonSetStrategy(strategy)))
		if n := strategy.MinReadySeconds; n > 0 {
			ds.Spec.WithMinReadySeconds(n)
		}
		if len(annotations) > 0 {
			ds.WithAnnotations(annotations)
		}
		out.DaemonSet = ds
	default:
		// Replicated tasks wait until the Service controller lets them be scheduled
		// (update.Gate: stop-first, maxReplicasPerNode). The gate is not part of the task
		// template's hash: it is how tasks start, not what they run.
		tmpl.Spec.WithSchedulingGates(corev1ac.PodSchedulingGate().WithName(update.Gate))
		if translate.PerSlot(svc) {
			if out.StatefulSet, err = statefulSet(svc, in, tmpl, labels, annotations, owner, selector, strategy); err != nil {
				return nil, err
			}
			break
		}
		d := appsv1ac.Deployment(svc.Name, svc.Namespace).
			WithLabels(labels).WithOwnerReferences(owner).
			WithSpec(appsv1ac.DeploymentSpec().
				WithReplicas(ptr.Deref(svc.Spec.Replicas, 1)).
				WithSelector(selector).
				WithTemplate(tmpl).
				WithRevisionHistoryLimit(5).
				WithStrategy(appsv1ac.DeploymentStrategy().
					WithType(appsv1.RollingUpdateDeploymentStrategyType).
					WithRollingUpdate(appsv1ac.RollingUpdateDeployment().WithMaxSurge(strategy.MaxSurge).WithMaxUnavailable(strategy.MaxUnavailable))))
		if n := strategy.MinReadySeconds; n > 0 {
			d.Spec.WithMinReadySeconds(n)
		}
		if strategy.Paused {
			d.Spec.WithPaused(true)
		}
		if len(annotations) > 0 {
			d.WithAnnotations(annotations)
		}
		out.Deployment = d
	}

	out.Service, err = kubeService(svc, labels, annotations, owner, opts)
	if err != nil {
		return nil, err
	}
	out.Aliases = AliasServices(svc, opts)
	return out, nil
}

// OwnerReference makes the Service the controller of a child, so that the child goes with it.
func OwnerReference(svc *swarmv1.Service) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(swarmv1.GroupVersion.String()).
		WithKind("Service").
		WithName(svc.Name).
		WithUID(svc.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// daemonSetStrategy is the rolling update of a global service; a paused update becomes OnDelete,
// which replaces no more tasks (DaemonSets cannot be paused).
func daemonSetStrategy(s update.Strategy) *appsv1ac.DaemonSetUpdateStrategyApplyConfiguration {
	if s.Paused {
		return appsv1ac.DaemonSetUpdateStrategy().WithType(appsv1.OnDeleteDaemonSetStrategyType)
	}
	return appsv1ac.DaemonSetUpdateStrategy().WithType(appsv1.RollingUpdateDaemonSetStrategyType).
		WithRollingUpdate(appsv1ac.RollingUpdateDaemonSet().WithMaxSurge(s.MaxSurge).WithMaxUnavailable(s.MaxUnavailable))
}

// templateHash identifies a pod template: the same template always gives the same hash.
func templateHash(t *corev1ac.PodTemplateSpecApplyConfiguration) string {
	data, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("marshalling a pod template: %v", err)) // plain data: cannot fail
	}
	h := fnv.New64a()
	_, _ = h.Write(data)
	return strconv.FormatUint(h.Sum64(), 36)
}
