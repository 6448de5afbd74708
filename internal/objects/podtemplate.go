package objects

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// podTemplate builds the pod template of a service's tasks. Everything here belongs to Swarm's
// task template: changing it replaces tasks. Nothing else (replicas, service labels, update
// config) may appear in it. It judges nothing (Build has run translate.Verdict first); its
// errors are those of the translate values it reads (a constraint that is no requirement, a
// user that is no number, …), in the verdict's words.
func podTemplate(svc *swarmv1.Service, in Inputs, opts translate.Options) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	s := &svc.Spec
	container := corev1ac.Container().
		WithName(translate.ContainerName).
		WithImage(s.Image).
		WithImagePullPolicy(imagePullPolicy(opts, s.Image))
	if len(s.Entrypoint) > 0 {
		container.WithCommand(translate.EscapeAll(s.Entrypoint)...)
	}
	if len(s.Command) > 0 {
		container.WithArgs(translate.EscapeAll(s.Command)...)
	}
	container.WithEnv(envWithTemplates(svc)...)
	if s.WorkingDir != "" {
		container.WithWorkingDir(s.WorkingDir)
	}
	if s.TTY {
		container.WithTTY(true)
	}
	containerPorts(container, s.Ports, translate.HostNetwork(s))
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
	addProbes(container, swarmsyntax.MergeHealth(s.Healthcheck, in.ImageHealthcheck))

	pod := corev1ac.PodSpec().
		WithRestartPolicy(corev1.RestartPolicyAlways).
		WithEnableServiceLinks(false).
		WithAutomountServiceAccountToken(false).
		WithTerminationGracePeriodSeconds(int64(seconds(swarmsyntax.DurationOr(s.StopGracePeriod, swarmsyntax.DefaultStopGracePeriod), 0)))
	if s.RegistryAuthSecret != "" {
		// docker --with-registry-auth: the client's credentials for the image's registry.
		pod.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(s.RegistryAuthSecret))
	}
	if s.Mode.IsJob() {
		pod.WithRestartPolicy(jobRestartPolicy(s.RestartPolicy))
	} else if p, ok := serviceRestartPolicy(s.Mode, s.RestartPolicy); ok {
		container.WithRestartPolicy(p)
	}
	if err := addMounts(pod, container, svc, slotVolumes(svc), in, opts); err != nil {
		return nil, err
	}
	pod.WithContainers(container)

	if ptr.Deref(s.Init, false) {
		// The pause container becomes PID 1 of a shared process namespace and reaps zombies,
		// which is what docker's --init is for.
		pod.WithShareProcessNamespace(true)
	}
	if h, _, err := translate.Hostname(svc); err != nil {
		return nil, err
	} else if h != "" {
		pod.WithHostname(h)
	}
	addHostAliases(pod, s.ExtraHosts)
	podDNS(pod, svc, in, opts)
	if translate.HostNetwork(s) {
		// The node's network, as Swarm's predefined host network gives (translate's
		// hostNetworkRule); the cluster's names still resolve.
		pod.WithHostNetwork(true)
		if pod.DNSPolicy == nil {
			pod.WithDNSPolicy(corev1.DNSClusterFirstWithHostNet)
		}
	}
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
		return nil, err
	}
	if na != nil {
		affinity.WithNodeAffinity(na)
		hasAffinity = true
	}
	spread, err := topologySpread(svc)
	if err != nil {
		return nil, err
	}
	pod.WithTopologySpreadConstraints(spread...)
	if anti := maxPerNode(svc); anti != nil {
		affinity.WithPodAntiAffinity(anti)
		hasAffinity = true
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
		t := int64(seconds(swarmsyntax.DurationOr(s.NodeFailureTimeout, nodeFailureTimeout(opts)), 0))
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
		// The user's text is escaped first, so that only the references the templates
		// become are expanded by Kubernetes.
		v, _ := translate.ExpandTemplates(translate.EscapeReferences(e.Value), svc, vars)
		env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValue(v))
	}
	head := make([]*corev1ac.EnvVarApplyConfiguration, 0, len(vars))
	for _, d := range translate.DownwardVars(vars) {
		head = append(head, corev1ac.EnvVar().WithName(d.Name).WithValueFrom(corev1ac.EnvVarSource().
			WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(d.FieldPath))))
	}
	return append(head, env...)
}

// containerPorts are the container's ports; host-mode ones take the node's published port. On
// the host network the task answers on the node at its target port (docker discards the
// published one), and Kubernetes wants the host port to be the container port.
func containerPorts(c *corev1ac.ContainerApplyConfiguration, ports []swarmv1.PortConfig, hostNetwork bool) {
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
			if hostNetwork && p.Published != 0 {
				k.host = p.Target
			}
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
			caps.WithAdd(capability(c))
		}
		for _, c := range s.CapDrop {
			caps.WithDrop(capability(c))
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
	interval := seconds(h.Interval, 1)
	timeout := seconds(h.Timeout, 1)
	probe := func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().
			WithExec(corev1ac.ExecAction().WithCommand(translate.EscapeAll(h.Command)...)).
			WithPeriodSeconds(interval).WithTimeoutSeconds(timeout).
			WithFailureThreshold(h.Retries).WithSuccessThreshold(1)
	}
	c.WithReadinessProbe(probe()).WithLivenessProbe(probe())
	if h.StartPeriod > 0 {
		// Failures during the start period do not count; after it, retries apply as usual.
		step := seconds(h.StartInterval, 1)
		n := seconds(h.StartPeriod, 1)
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
//   - volume (any of the kinds below): filled from the image on first use unless nocopy
//     (copier).
//   - volume with a source: the PersistentVolumeClaim of that name; without a
//     source, an anonymous emptyDir; docker's local driver over NFS (driver options type nfs),
//     the NFS export itself; binding a host directory (type none, o bind), a hostPath, under
//     the policy of bind mounts. A per-slot volume (perSlot: mount index to claim template) is
//     the volume of the claim template's name, which the StatefulSet adds to each pod with its
//     slot's claim.
//   - bind: a hostPath (translate's mountsRule refuses it without --allow-bind-mounts).
//   - tmpfs: a memory-backed emptyDir.
//   - secrets and configs: see addFiles.
func addMounts(pod *corev1ac.PodSpecApplyConfiguration, c *corev1ac.ContainerApplyConfiguration, svc *swarmv1.Service, perSlot map[int]string, in Inputs, opts translate.Options) error {
	s := &svc.Spec
	var copyUp copier
	for i, m := range s.Mounts {
		name := fmt.Sprintf("mount-%d", i)
		if t, ok := perSlot[i]; ok {
			name = t
		}
		vm := corev1ac.VolumeMount().WithName(name).WithMountPath(path.Clean(m.Target))
		if m.ReadOnly {
			vm.WithReadOnly(true)
		}
		if _, ok := perSlot[i]; ok {
			if m.Volume != nil && m.Volume.Subpath != "" {
				vm.WithSubPath(m.Volume.Subpath)
			}
			copyUp.add(name, m) // each slot's new claim is filled from the image
			c.WithVolumeMounts(vm)
			continue
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
			src, err := translate.VolumeSource(i, m)
			switch {
			case err != nil:
				return err
			case src.NFS != nil:
				vol.WithNFS(corev1ac.NFSVolumeSource().WithServer(src.NFS.Server).WithPath(src.NFS.Path).WithReadOnly(src.NFS.ReadOnly))
			case src.HostPath != "":
				// docker's local driver fails on a device that is no directory; so does the kubelet.
				vol.WithHostPath(corev1ac.HostPathVolumeSource().WithPath(src.HostPath).WithType(corev1.HostPathDirectory))
				if src.HostReadOnly {
					vm.WithReadOnly(true)
				}
			case src.Claim == "":
				vol.WithEmptyDir(corev1ac.EmptyDirVolumeSource())
			default:
				vol.WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(src.Claim))
			}
			if m.Volume != nil && m.Volume.Subpath != "" {
				vm.WithSubPath(m.Volume.Subpath)
			}
			// A read-only export or directory cannot be filled (docker's mount of it fails).
			if !(src.HostReadOnly || src.NFS != nil && src.NFS.ReadOnly) {
				copyUp.add(name, m)
			}
		}
		pod.WithVolumes(vol)
		c.WithVolumeMounts(vm)
	}
	copyUp.addTo(pod, s, opts)
	return addFiles(pod, c, svc, in, opts)
}

// seconds rounds a duration up to whole seconds, at least min.
func seconds(d time.Duration, min int32) int32 {
	s := int32(math.Ceil(d.Seconds()))
	return max(s, min)
}

// imagePullPolicy is the policy Kubernetes gives a container that names none (the API server's
// defaulting, k8s.io/kubernetes pkg/apis/core/v1/defaults.go): Always for :latest or no tag, so
// that every node runs what the tag names now, as a Swarm node pulls the tag docker resolved;
// IfNotPresent for any other tag. An image pinned by digest (what `--resolve-image` writes,
// name:tag@sha256:…) cannot change, so it is never pulled again, whatever its tag.
//
// A cluster whose nodes cannot reach a registry and have their images loaded beforehand
// (air-gapped, or kind with `kind load`) runs the operator with --latest-pull-policy=IfNotPresent.
func imagePullPolicy(opts translate.Options, image string) corev1.PullPolicy {
	p := pullPolicy(image)
	if p == corev1.PullAlways && opts.LatestPullPolicy != "" {
		return opts.LatestPullPolicy
	}
	return p
}

// pullPolicy is Kubernetes' default policy for image, without the operator's option (the files
// image's init container).
func pullPolicy(image string) corev1.PullPolicy {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return corev1.PullIfNotPresent // the runtime reports a bad name better than a policy could
	}
	if _, digested := ref.(reference.Digested); digested {
		return corev1.PullIfNotPresent
	}
	if tagged, ok := ref.(reference.Tagged); ok && tagged.Tag() != "latest" {
		return corev1.PullIfNotPresent
	}
	return corev1.PullAlways
}

// jobRestartPolicy is the pod restart policy of a job's tasks: condition none never restarts;
// nor does a task whose restarts are counted (maxAttempts): the Job makes a new pod for each
// retry, as swarmkit makes a new task, and counts them per task (jobBackoff). Without a limit the
// kubelet restarts the task's container in place.
func jobRestartPolicy(rp *swarmv1.RestartPolicy) corev1.RestartPolicy {
	if rp != nil && (rp.Condition == swarmv1.RestartNone || ptr.Deref(rp.MaxAttempts, 0) > 0) {
		return corev1.RestartPolicyNever
	}
	return corev1.RestartPolicyOnFailure
}

// serviceRestartPolicy is the task container's own restart policy in a replicated service
// (Kubernetes' container restart rules, beta and on by default since v1.35): Swarm restarts no
// task under condition none, and no task that exited 0 under on-failure (swarmkit
// manager/orchestrator/restart/restart.go, shouldRestart), so the kubelet must not start the
// container again either. The pod's own policy stays Always (the only one a Deployment takes);
// the pod of a container that will not restart ends, and what its ReplicaSet makes in its place
// is held by the Service controller (update.StaysStopped). ok is false for condition any, the
// default (the pod's Always), and for a global service: a DaemonSet deletes an ended pod and
// makes a new one at once, a loop without the kubelet's back-off (translate.RestartNote).
func serviceRestartPolicy(mode swarmv1.ServiceMode, rp *swarmv1.RestartPolicy) (p corev1.ContainerRestartPolicy, ok bool) {
	switch {
	case !mode.IsReplicated():
		return "", false
	case rp.RestartOn() == swarmv1.RestartNone:
		return corev1.ContainerRestartPolicyNever, true
	case rp.RestartOn() == swarmv1.RestartOnFailure:
		return corev1.ContainerRestartPolicyOnFailure, true
	}
	return "", false
}

// capability turns docker's "CAP_NET_ADMIN" or "net_admin" into Kubernetes' "NET_ADMIN".
func capability(c string) corev1.Capability {
	return corev1.Capability(strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
}

// nodeFailureTimeout is how long replicated tasks stay on a failed node: the option, else 30s.
func nodeFailureTimeout(opts translate.Options) time.Duration {
	if opts.NodeFailureTimeout == 0 {
		return 30 * time.Second
	}
	return opts.NodeFailureTimeout
}
