package objects

import (
	"encoding/json"
	"fmt"
	"path"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// withContext gives install-files the task's context to render the templated files with
// (files.Render): the node's and the pod's names and the pod's uid from the downward API (a
// global task's slot is its node, as swarmkit template/context.go gives it), and the service's
// facts, its env as written and where the task's secrets and configs are projected (for the
// secret and config functions) as files.TemplateContext. The secrets and configs are projected
// into the source volume, read by root only.
func (in *installer) withContext(svc *swarmv1.Service, inputs Inputs) {
	s := &svc.Spec
	tc := files.TemplateContext{ServiceID: string(svc.UID), ServiceName: svc.Name, ServiceLabels: s.Labels}
	for _, e := range s.Env {
		tc.Env = append(tc.Env, e.Name+"="+e.Value)
	}
	for i, ref := range s.Secrets {
		p := path.Join("context", fmt.Sprintf("secret-%d", i))
		in.sources = append(in.sources, corev1ac.VolumeProjection().WithSecret(corev1ac.SecretProjection().WithName(ref.Source).
			WithItems(corev1ac.KeyToPath().WithKey(inputs.SecretKey(ref.Source)).WithPath(p).WithMode(installSourceMode))))
		if tc.Secrets == nil {
			tc.Secrets = map[string]string{}
		}
		tc.Secrets[secretTarget(ref)] = p
	}
	for i, ref := range s.Configs {
		p := path.Join("context", fmt.Sprintf("config-%d", i))
		in.sources = append(in.sources, corev1ac.VolumeProjection().WithConfigMap(corev1ac.ConfigMapProjection().WithName(ref.Source).
			WithItems(corev1ac.KeyToPath().WithKey(inputs.ConfigKey(ref.Source)).WithPath(p).WithMode(installSourceMode))))
		if tc.Configs == nil {
			tc.Configs = map[string]string{}
		}
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		tc.Configs[target] = p
	}
	raw, _ := json.Marshal(tc) // maps marshal sorted: the same service, the same template
	field := func(name, fieldPath string) *corev1ac.EnvVarApplyConfiguration {
		return corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(fieldPath)))
	}
	in.env = []*corev1ac.EnvVarApplyConfiguration{
		field(files.EnvNodeName, "spec.nodeName"),
		field(files.EnvTaskName, "metadata.name"),
		field(files.EnvTaskID, "metadata.uid"),
	}
	if s.Mode.IsGlobal() {
		in.env = append(in.env, field(files.EnvTaskSlot, "spec.nodeName"))
	} else if f, ok := translate.SlotField(svc); ok {
		in.env = append(in.env, field(files.EnvTaskSlot, f))
	}
	in.env = append(in.env, corev1ac.EnvVar().WithName(files.TemplateContextEnv).WithValue(translate.EscapeReferences(string(raw))))
}

// templateNotes say what of a templated secret or config the tasks cannot get: a replicated
// task's slot; without the operator's image nothing renders it, and the file is delivered as
// written.
func templateNotes(svc *swarmv1.Service, in Inputs, opts translate.Options) []string {
	var notes []string
	if _, slots := translate.SlotField(svc); !slots && !svc.Spec.Mode.IsGlobal() {
		// swarmkit template/context.go: a replicated task's slot; Deployment pods have none
		// (a template in a secret or config does not make the service one with slots).
		for i, ref := range svc.Spec.Secrets {
			if in.TemplatedSecrets[ref.Source] && in.SlotTemplates[ref.Source] {
				notes = append(notes, fmt.Sprintf("secrets[%d]: {{.Task.Slot}} in the template %s is empty: the service's tasks have no slots on Kubernetes", i, ref.Source))
			}
		}
		for i, ref := range svc.Spec.Configs {
			if in.TemplatedConfigs[ref.Source] && in.SlotTemplates[ref.Source] {
				notes = append(notes, fmt.Sprintf("configs[%d]: {{.Task.Slot}} in the template %s is empty: the service's tasks have no slots on Kubernetes", i, ref.Source))
			}
		}
	}
	if opts.FilesImage != "" {
		return notes
	}
	for i, ref := range svc.Spec.Secrets {
		if in.TemplatedSecrets[ref.Source] {
			notes = append(notes, fmt.Sprintf("secrets[%d]: the template %s is delivered unexpanded: the operator has no image of its own to render it with (manager --files-image)", i, ref.Source))
		}
	}
	for i, ref := range svc.Spec.Configs {
		if in.TemplatedConfigs[ref.Source] {
			notes = append(notes, fmt.Sprintf("configs[%d]: the template %s is delivered unexpanded: the operator has no image of its own to render it with (manager --files-image)", i, ref.Source))
		}
	}
	return notes
}
