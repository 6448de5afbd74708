package objects

import (
	"fmt"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// podTemplate builds the pod template of a service's tasks (translate.Verdict has judged the
// spec: errors here are its errors). Everything here belongs to Swarm's
// task template: changing it replaces tasks. Nothing else (replicas, service labels,
// update config) may appear in it.
func podTemplate(svc *swarmv1.Service, in translate.Inputs, opts translate.Options) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	s := &svc.Spec
	container := corev1ac.Container().
		WithName(translate.ContainerName).
		WithImage(s.Image).
		WithImagePullPolicy(opts.PullPolicy(s.Image))
	if len(s.Entrypoint) > 0 {
		container.WithCommand(s.Entrypoint...)
	}
	if len(s.Command) > 0 {
		container.WithArgs(s.Command...)
	}
	container.WithEnv(envWithTemplates(svc)...)
	if s.WorkingDir != "" {
		container.WithWorkingDir(s.WorkingDir)
	}
	if s.TTY {
		container.WithTTY(true)
	}
	containerPorts(container, s.Ports)
	res, err := resources(s.Resources)
	if err != nil {
		return nil, err
	}
	if res != nil {
		container.WithResources(res)
	}
	if sc := containerSecurity(s); sc != nil {
		container.WithSecurityContext(sc)
	}
	addProbes(container, s.Healthcheck)

	pod := corev1ac.PodSpec().
		WithRestartPolicy(corev1.RestartPolicyAlways).
		WithEnableServiceLinks(false).
		WithAutomountServiceAccountToken(false).
		WithTerminationGracePeriodSeconds(int64(translate.Seconds(swarmsyntax.DurationOr(s.StopGracePeriod, swarmsyntax.DefaultStopGracePeriod), 0)))
	if s.Mode.IsJob() {
		pod.WithRestartPolicy(translate.JobRestartPolicy(s.RestartPolicy))
	} else if p, ok := translate.ServiceRestartPolicy(s.Mode, s.RestartPolicy); ok {
		container.WithRestartPolicy(p)
	}
	if err := addMounts(pod, container, s, in, opts); err != nil {
		return nil, err
	}
	pod.WithContainers(container)

	if ptr.Deref(s.Init, false) {
		// The pause container becomes PID 1 of a shared process namespace and reaps zombies,
		// which is what docker's --init is for.
		pod.WithShareProcessNamespace(true)
	}
	if s.Hostname != "" {
		h, _, err := translate.Hostname(svc)
		if err != nil {
			return nil, err
		}
		if h != "" {
			pod.WithHostname(h)
		}
	}
	addHostAliases(pod, s.ExtraHosts)
	podDNS(pod, svc, in, opts)
	if psc, err := podSecurity(s); err != nil {
		return nil, err
	} else if psc != nil {
		pod.WithSecurityContext(psc)
	}

	// Placement.
	affinity := corev1ac.Affinity()
	hasAffinity := false
	na, err := nodeAffinity(s.Placement, in.NodeLabels)
	if err != nil {
		return nil, fmt.Errorf("placement.constraints: %w", err)
	}
	if na != nil {
		affinity.WithNodeAffinity(na)
		hasAffinity = true
	}
	if !s.Mode.IsGlobal() {
		spread, err := topologySpread(svc.Name, s.Placement)
		if err != nil {
			return nil, fmt.Errorf("placement.preferences: %w", err)
		}
		if anti := maxPerNode(svc.Name, s.Placement); anti != nil {
			affinity.WithPodAntiAffinity(anti)
			hasAffinity = true
		}
		pod.WithTopologySpreadConstraints(spread...)
	}
	if shared := sharedClaimAffinity(svc); shared != nil {
		affinity.WithPodAffinity(shared)
		hasAffinity = true
	}
	if hasAffinity {
		pod.WithAffinity(affinity)
	}
	pod.WithTolerations(corev1ac.Toleration().
		WithKey(translate.ControlPlaneTaint).WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule))
	if !s.Mode.IsGlobal() {
		// The DaemonSet controller gives global tasks its own not-ready/unreachable tolerations;
		// replicated tasks leave a failed node after nodeFailureTimeout instead of 5 minutes.
		t := int64(translate.Seconds(swarmsyntax.DurationOr(s.NodeFailureTimeout, opts.NodeFailureTimeoutOrDefault()), 0))
		for _, key := range []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady} {
			pod.WithTolerations(corev1ac.Toleration().WithKey(key).WithOperator(corev1.TolerationOpExists).
				WithEffect(corev1.TaintEffectNoExecute).WithTolerationSeconds(t))
		}
	}

	labels, err := translate.TaskLabels(svc, in.Stack)
	if err != nil {
		return nil, err
	}
	tmpl := corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(pod)
	annotations, _ := translate.Annotations("containerLabels", s.ContainerLabels)
	if s.ForceUpdate != 0 {
		annotations[translate.AnnotationForceUpdate] = strconv.FormatInt(s.ForceUpdate, 10)
	}
	if len(annotations) > 0 {
		tmpl.WithAnnotations(annotations)
	}
	return tmpl, nil
}

// envWithTemplates builds the container's environment: the downward-API variables the templates
// need come first, so that the service's own variables can refer to them.
func envWithTemplates(svc *swarmv1.Service) []*corev1ac.EnvVarApplyConfiguration {
	vars := map[string]bool{}
	var env []*corev1ac.EnvVarApplyConfiguration
	for _, e := range svc.Spec.Env {
		v, _ := translate.ExpandTemplates(e.Value, svc, vars)
		env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValue(v))
	}
	head := make([]*corev1ac.EnvVarApplyConfiguration, 0, len(vars))
	for _, d := range translate.DownwardVars(vars) {
		head = append(head, corev1ac.EnvVar().WithName(d.Name).WithValueFrom(corev1ac.EnvVarSource().
			WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(d.FieldPath))))
	}
	return append(head, env...)
}

func containerPorts(c *corev1ac.ContainerApplyConfiguration, ports []swarmv1.PortConfig) {
	type key struct {
		port, host int32
		proto      string
	}
	seen := map[key]bool{}
	for _, p := range ports {
		proto := translate.KubernetesProtocol(p.Protocol)
		k := key{port: p.Target, proto: string(proto)}
		if p.Mode == swarmv1.PortModeHost {
			k.host = p.Published
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		cp := corev1ac.ContainerPort().WithContainerPort(p.Target).WithProtocol(proto)
		if k.host != 0 {
			cp.WithHostPort(k.host)
		}
		c.WithPorts(cp)
	}
}

// resources are translate.Resources as the container's.
func resources(r *swarmv1.Resources) (*corev1ac.ResourceRequirementsApplyConfiguration, error) {
	limits, requests, _, err := translate.Resources(r)
	if err != nil || r == nil {
		return nil, err
	}
	out := corev1ac.ResourceRequirements()
	if len(limits) > 0 {
		out.WithLimits(limits)
	}
	if len(requests) > 0 {
		out.WithRequests(requests)
	}
	return out, nil
}

func containerSecurity(s *swarmv1.ServiceSpec) *corev1ac.SecurityContextApplyConfiguration {
	if !s.ReadOnly && len(s.CapAdd) == 0 && len(s.CapDrop) == 0 {
		return nil
	}
	sc := corev1ac.SecurityContext()
	if s.ReadOnly {
		sc.WithReadOnlyRootFilesystem(true)
	}
	if len(s.CapAdd)+len(s.CapDrop) > 0 {
		caps := corev1ac.Capabilities()
		for _, c := range s.CapAdd {
			caps.WithAdd(translate.Capability(c))
		}
		for _, c := range s.CapDrop {
			caps.WithDrop(translate.Capability(c))
		}
		sc.WithCapabilities(caps)
	}
	return sc
}

// podSecurity is translate.PodSecurity as the pod's security context.
func podSecurity(s *swarmv1.ServiceSpec) (*corev1ac.PodSecurityContextApplyConfiguration, error) {
	psc, _, err := translate.PodSecurity(s)
	if err != nil || psc == nil {
		return nil, err
	}
	sc := corev1ac.PodSecurityContext()
	if psc.RunAsUser != nil {
		sc.WithRunAsUser(*psc.RunAsUser)
	}
	if psc.RunAsGroup != nil {
		sc.WithRunAsGroup(*psc.RunAsGroup)
	}
	sc.WithSupplementalGroups(psc.SupplementalGroups...)
	for _, s := range psc.Sysctls {
		sc.WithSysctls(corev1ac.Sysctl().WithName(s.Name).WithValue(s.Value))
	}
	return sc, nil
}

// addProbes turns a healthcheck into readiness and liveness probes (and a startup probe for the
// start period). Without a healthcheck no probe is set: Kubernetes ignores an image's
// HEALTHCHECK, so a service that relies on it should spell it out.
func addProbes(c *corev1ac.ContainerApplyConfiguration, hc *swarmv1.Healthcheck) {
	h := swarmsyntax.EffectiveHealth(hc)
	if h == nil {
		return
	}
	interval := translate.Seconds(h.Interval, 1)
	timeout := translate.Seconds(h.Timeout, 1)
	probe := func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().
			WithExec(corev1ac.ExecAction().WithCommand(h.Command...)).
			WithPeriodSeconds(interval).WithTimeoutSeconds(timeout).
			WithFailureThreshold(h.Retries).WithSuccessThreshold(1)
	}
	c.WithReadinessProbe(probe()).WithLivenessProbe(probe())
	if h.StartPeriod > 0 {
		// Failures during the start period do not count; after it, retries apply as usual.
		step := translate.Seconds(h.StartInterval, 1)
		n := translate.Seconds(h.StartPeriod, 1)
		c.WithStartupProbe(probe().WithPeriodSeconds(step).WithFailureThreshold((n+step-1)/step + h.Retries))
	}
}

func addHostAliases(pod *corev1ac.PodSpecApplyConfiguration, hosts []swarmv1.HostEntry) {
	var ips []string
	byIP := map[string][]string{}
	for _, h := range hosts {
		if _, ok := byIP[h.IP]; !ok {
			ips = append(ips, h.IP)
		}
		byIP[h.IP] = append(byIP[h.IP], h.Hostname)
	}
	for _, ip := range ips {
		pod.WithHostAliases(corev1ac.HostAlias().WithIP(ip).WithHostnames(byIP[ip]...))
	}
}

// addMounts adds volumes, bind mounts, tmpfs, secrets and configs.
//
//   - volume with a source: the PersistentVolumeClaim of that name; without a
//     source, an anonymous emptyDir; docker's local driver over NFS (driver options type nfs),
//     the NFS export itself.
//   - bind: a hostPath, only when the operator allows bind mounts (--allow-bind-mounts).
//   - tmpfs: a memory-backed emptyDir.
//   - secrets and configs: see addFiles.
func addMounts(pod *corev1ac.PodSpecApplyConfiguration, c *corev1ac.ContainerApplyConfiguration, s *swarmv1.ServiceSpec, in translate.Inputs, opts translate.Options) error {
	for i, m := range s.Mounts {
		name := fmt.Sprintf("mount-%d", i)
		vm := corev1ac.VolumeMount().WithName(name).WithMountPath(path.Clean(m.Target))
		if m.ReadOnly {
			vm.WithReadOnly(true)
		}
		vol := corev1ac.Volume().WithName(name)
		switch m.Type {
		case swarmv1.MountBind:
			vol.WithHostPath(corev1ac.HostPathVolumeSource().WithPath(m.Source))
			if mode, _ := translate.MountPropagation(m); mode != nil {
				vm.WithMountPropagation(*mode)
			}
		case swarmv1.MountTmpfs:
			ed := corev1ac.EmptyDirVolumeSource().WithMedium(corev1.StorageMediumMemory)
			if m.Tmpfs != nil && m.Tmpfs.Size != nil {
				ed.WithSizeLimit(*m.Tmpfs.Size)
			}
			vol.WithEmptyDir(ed)
		default:
			nfs, isNFS, err := translate.VolumeNFS(m)
			switch {
			case err != nil:
				return fmt.Errorf("mounts[%d]: %w", i, err)
			case isNFS:
				vol.WithNFS(corev1ac.NFSVolumeSource().WithServer(nfs.Server).WithPath(nfs.Path).WithReadOnly(nfs.ReadOnly))
			case m.Source == "":
				vol.WithEmptyDir(corev1ac.EmptyDirVolumeSource())
			default:
				vol.WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(m.Source))
			}
			if m.Volume != nil && m.Volume.Subpath != "" {
				vm.WithSubPath(m.Volume.Subpath)
			}
		}
		pod.WithVolumes(vol)
		c.WithVolumeMounts(vm)
	}
	return addFiles(pod, c, s, in, opts)
}
