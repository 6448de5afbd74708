package translate

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// seconds rounds a duration up to whole seconds, at least min.
func seconds(d time.Duration, min int32) int32 {
	s := int32(math.Ceil(d.Seconds()))
	return max(s, min)
}

// podTemplate builds the pod template of a service's tasks. Everything here belongs to Swarm's
// task template: changing it replaces tasks. Nothing else (replicas, service labels,
// update config) may appear in it.
func podTemplate(svc *swarmv1.Service, in Inputs, opts Options, notes *[]string) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	s := &svc.Spec
	container := corev1ac.Container().
		WithName(ContainerName).
		WithImage(s.Image).
		WithImagePullPolicy(opts.pullPolicy(s.Image))
	if len(s.Entrypoint) > 0 {
		container.WithCommand(s.Entrypoint...)
	}
	if len(s.Command) > 0 {
		container.WithArgs(s.Command...)
	}
	container.WithEnv(envWithTemplates(svc, notes)...)
	if s.WorkingDir != "" {
		container.WithWorkingDir(s.WorkingDir)
	}
	if s.TTY {
		container.WithTTY(true)
	}
	if err := containerPorts(container, s.Ports, notes); err != nil {
		return nil, err
	}
	res, err := resources(s.Resources, notes)
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
		WithTerminationGracePeriodSeconds(int64(seconds(swarmsyntax.DurationOr(s.StopGracePeriod, swarmsyntax.DefaultStopGracePeriod), 0)))
	if s.Mode.IsJob() {
		pod.WithRestartPolicy(jobRestartPolicy(s.RestartPolicy))
	} else if p, ok := serviceRestartPolicy(s.Mode, s.RestartPolicy); ok {
		container.WithRestartPolicy(p)
	}
	if err := addMounts(pod, container, s, in, opts, notes); err != nil {
		return nil, err
	}
	pod.WithContainers(container)

	if ptr.Deref(s.Init, false) {
		// The pause container becomes PID 1 of a shared process namespace and reaps zombies,
		// which is what docker's --init is for.
		pod.WithShareProcessNamespace(true)
	}
	if s.Hostname != "" {
		h, note, err := hostname(svc)
		if err != nil {
			return nil, err
		}
		if h != "" {
			pod.WithHostname(h)
		}
		if note != "" {
			*notes = append(*notes, note)
		}
	}
	addHostAliases(pod, s.ExtraHosts)
	podDNS(pod, svc, in, opts)
	if psc, err := podSecurity(s, notes); err != nil {
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
	if shared := sharedClaimAffinity(svc, notes); shared != nil {
		affinity.WithPodAffinity(shared)
		hasAffinity = true
	}
	if hasAffinity {
		pod.WithAffinity(affinity)
	}
	pod.WithTolerations(corev1ac.Toleration().
		WithKey(ControlPlaneTaint).WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule))
	if !s.Mode.IsGlobal() {
		// The DaemonSet controller gives global tasks its own not-ready/unreachable tolerations;
		// replicated tasks leave a failed node after nodeFailureTimeout instead of 5 minutes.
		t := int64(seconds(swarmsyntax.DurationOr(s.NodeFailureTimeout, opts.nodeFailureTimeout()), 0))
		for _, key := range []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady} {
			pod.WithTolerations(corev1ac.Toleration().WithKey(key).WithOperator(corev1.TolerationOpExists).
				WithEffect(corev1.TaintEffectNoExecute).WithTolerationSeconds(t))
		}
	}

	labels := objectLabels(svc.Name, in.Stack)
	for _, n := range s.Networks {
		key := LabelNetworkPrefix + n.Name
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, fmt.Errorf("networks: %q cannot label tasks (%s); use a shorter name of lower-case letters, digits and '-'", n.Name, strings.Join(errs, "; "))
		}
		labels[key] = "true"
	}
	tmpl := corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(pod)
	annotations := map[string]string{}
	for _, k := range sortedKeys(s.ContainerLabels) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			*notes = append(*notes, fmt.Sprintf("containerLabels: %q is not a valid Kubernetes annotation key, ignored", k))
			continue
		}
		annotations[k] = s.ContainerLabels[k]
	}
	if s.ForceUpdate != 0 {
		annotations[AnnotationForceUpdate] = strconv.FormatInt(s.ForceUpdate, 10)
	}
	if len(annotations) > 0 {
		tmpl.WithAnnotations(annotations)
	}
	ignoredOptions(s, notes)
	return tmpl, nil
}

// pullPolicy is the policy Kubernetes gives a container that names none (the API server's
// defaulting, k8s.io/kubernetes pkg/apis/core/v1/defaults.go): Always for :latest or no tag, so
// that every node runs what the tag names now, as a Swarm node pulls the tag docker resolved;
// IfNotPresent for any other tag. An image pinned by digest (what `--resolve-image` writes,
// name:tag@sha256:…) cannot change, so it is never pulled again, whatever its tag.
//
// A cluster whose nodes cannot reach a registry and have their images loaded beforehand
// (air-gapped, or kind with `kind load`) runs the operator with --latest-pull-policy=IfNotPresent.
func (o Options) pullPolicy(image string) corev1.PullPolicy {
	p := pullPolicy(image)
	if p == corev1.PullAlways && o.LatestPullPolicy != "" {
		return o.LatestPullPolicy
	}
	return p
}

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

// jobRestartPolicy is the pod restart policy of a job's tasks: condition none never restarts.
func jobRestartPolicy(rp *swarmv1.RestartPolicy) corev1.RestartPolicy {
	if rp != nil && rp.Condition == swarmv1.RestartNone {
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
// makes a new one at once, a loop without the kubelet's back-off (RestartNote).
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

// RestartNote says what differs from Swarm's restart condition of a service, "" when nothing
// does: a global service's task that ended is started again on its node (the kubelet restarts
// its container, with its back-off), where Swarm leaves it stopped under condition none, and
// under on-failure when it exited 0. A DaemonSet deletes a pod that ended and makes a new one at
// once, so the container keeps the pod's Always.
func RestartNote(s *swarmv1.ServiceSpec) string {
	if s.Mode != swarmv1.ModeGlobal {
		return ""
	}
	switch s.RestartPolicy.RestartOn() {
	case swarmv1.RestartNone:
		return "restartPolicy.condition=none: a global service's task that exits is started again on its node, with the kubelet's back-off (a DaemonSet replaces a pod that ended); Swarm leaves it stopped"
	case swarmv1.RestartOnFailure:
		return "restartPolicy.condition=on-failure: a global service's task that exits with status 0 is started again on its node, with the kubelet's back-off (a DaemonSet replaces a pod that ended); Swarm leaves it stopped"
	}
	return ""
}

// ignoredOptions lists what Kubernetes cannot do at all, so that it is reported, never dropped
// silently.
func ignoredOptions(s *swarmv1.ServiceSpec, notes *[]string) {
	if n := RestartNote(s); n != "" {
		*notes = append(*notes, n)
	}
	if !s.Mode.IsJob() && s.RestartPolicy != nil && (ptr.Deref(s.RestartPolicy.MaxAttempts, 0) > 0 || s.RestartPolicy.Window != nil) {
		*notes = append(*notes, "restartPolicy.maxAttempts/window: Kubernetes restarts long-running tasks without limit, with its own back-off")
	}
	if len(s.Ulimits) > 0 {
		names := make([]string, 0, len(s.Ulimits))
		for _, u := range s.Ulimits {
			names = append(names, u.Name)
		}
		*notes = append(*notes, "ulimits ("+strings.Join(names, ", ")+"): Kubernetes has no per-container ulimits; ignored")
	}
	if s.Logging != nil && s.Logging.Driver != "" && s.Logging.Driver != "json-file" {
		*notes = append(*notes, fmt.Sprintf("logging.driver=%s: Kubernetes keeps container logs itself; ignored", s.Logging.Driver))
	}
	if s.StopSignal != "" && s.StopSignal != "SIGTERM" && s.StopSignal != "TERM" && s.StopSignal != "15" {
		*notes = append(*notes, fmt.Sprintf("stopSignal=%s: tasks are stopped with SIGTERM (the image's STOPSIGNAL still applies)", s.StopSignal))
	}
	if s.Resources != nil && s.Resources.Limits != nil && s.Resources.Limits.Pids != nil {
		*notes = append(*notes, "resources.limits.pids: Kubernetes limits PIDs per node, not per container; ignored")
	}
}

func containerPorts(c *corev1ac.ContainerApplyConfiguration, ports []swarmv1.PortConfig, notes *[]string) error {
	type key struct {
		port, host int32
		proto      string
	}
	seen := map[key]bool{}
	for _, p := range ports {
		proto := KubernetesProtocol(p.Protocol)
		k := key{port: p.Target, proto: string(proto)}
		if p.Mode == swarmv1.PortModeHost {
			if p.Published == 0 {
				*notes = append(*notes, fmt.Sprintf("ports: host-mode port %d/%s with no published port is not published on the node", p.Target, p.Protocol))
			} else {
				k.host = p.Published
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
	return nil
}

// KubernetesProtocol is a Swarm port protocol (tcp, udp, sctp; "" is tcp) as Kubernetes names it.
func KubernetesProtocol(p string) corev1.Protocol {
	switch p {
	case "udp":
		return corev1.ProtocolUDP
	case "sctp":
		return corev1.ProtocolSCTP
	default:
		return corev1.ProtocolTCP
	}
}

// resources maps limits and reservations. A limit without a reservation gets an explicit zero
// request: Swarm reserves nothing unless asked, where Kubernetes would reserve the limit.
func resources(r *swarmv1.Resources, notes *[]string) (*corev1ac.ResourceRequirementsApplyConfiguration, error) {
	if r == nil {
		return nil, nil
	}
	limits, requests := corev1.ResourceList{}, corev1.ResourceList{}
	if l := r.Limits; l != nil {
		if l.CPUs != nil {
			limits[corev1.ResourceCPU] = *l.CPUs
		}
		if l.Memory != nil {
			limits[corev1.ResourceMemory] = *l.Memory
		}
	}
	if rv := r.Reservations; rv != nil {
		if rv.CPUs != nil {
			requests[corev1.ResourceCPU] = *rv.CPUs
		}
		if rv.Memory != nil {
			requests[corev1.ResourceMemory] = *rv.Memory
		}
		for _, g := range rv.GenericResources {
			name, approximated, err := swarmsyntax.ExtendedResource(g.Kind)
			if err != nil {
				return nil, fmt.Errorf("resources.reservations.genericResources: %w", err)
			}
			if approximated {
				*notes = append(*notes, fmt.Sprintf("resources.reservations.genericResources: %s is the extended resource %s (the GPU device plugin's); a GPU with a given ID cannot be asked for", g.Kind, name))
			}
			q := *resource.NewQuantity(g.Value, resource.DecimalSI)
			if prev, ok := requests[corev1.ResourceName(name)]; ok {
				q.Add(prev) // gpu and nvidia.com/gpu are one resource
			}
			// Kubernetes needs extended resources' limits equal to their requests.
			requests[corev1.ResourceName(name)], limits[corev1.ResourceName(name)] = q, q
		}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		lim, hasLim := limits[name]
		req, hasReq := requests[name]
		switch {
		case hasLim && !hasReq:
			requests[name] = resource.Quantity{Format: resource.DecimalSI}
		case hasLim && hasReq && req.Cmp(lim) > 0:
			return nil, fmt.Errorf("resources: the %s reservation %s is above the limit %s", name, req.String(), lim.String())
		}
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

// capability turns docker's "CAP_NET_ADMIN" or "net_admin" into Kubernetes' "NET_ADMIN".
func capability(c string) corev1.Capability {
	return corev1.Capability(strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
}

func podSecurity(s *swarmv1.ServiceSpec, notes *[]string) (*corev1ac.PodSecurityContextApplyConfiguration, error) {
	if s.User == "" && len(s.Groups) == 0 && len(s.Sysctls) == 0 {
		return nil, nil
	}
	sc := corev1ac.PodSecurityContext()
	if s.User != "" {
		u, g, hasGroup := strings.Cut(s.User, ":")
		uid, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("user %q: must be UID or UID:GID", s.User)
		}
		sc.WithRunAsUser(uid)
		if hasGroup {
			gid, err := strconv.ParseInt(g, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("user %q: must be UID or UID:GID", s.User)
			}
			sc.WithRunAsGroup(gid)
		}
	}
	for _, g := range s.Groups {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("groups: %q is not a numeric group id", g)
		}
		sc.WithSupplementalGroups(gid)
	}
	var unsafe []string
	for _, k := range sortedKeys(s.Sysctls) {
		verdict, err := swarmsyntax.Sysctl(k)
		if err != nil {
			return nil, fmt.Errorf("sysctls: %w", err)
		}
		if verdict == swarmsyntax.SysctlUnsafe {
			unsafe = append(unsafe, k)
		}
		sc.WithSysctls(corev1ac.Sysctl().WithName(k).WithValue(s.Sysctls[k]))
	}
	if len(unsafe) > 0 {
		*notes = append(*notes, swarmsyntax.UnsafeSysctlNote(unsafe))
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
			WithExec(corev1ac.ExecAction().WithCommand(h.Command...)).
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
//   - volume with a source: the PersistentVolumeClaim of that name; without a
//     source, an anonymous emptyDir; docker's local driver over NFS (driver options type nfs),
//     the NFS export itself.
//   - bind: a hostPath, only when the operator allows bind mounts (--allow-bind-mounts).
//   - tmpfs: a memory-backed emptyDir.
//   - secrets and configs: see addFiles.
func addMounts(pod *corev1ac.PodSpecApplyConfiguration, c *corev1ac.ContainerApplyConfiguration, s *swarmv1.ServiceSpec, in Inputs, opts Options, notes *[]string) error {
	for i, m := range s.Mounts {
		name := fmt.Sprintf("mount-%d", i)
		vm := corev1ac.VolumeMount().WithName(name).WithMountPath(path.Clean(m.Target))
		if m.ReadOnly {
			vm.WithReadOnly(true)
		}
		vol := corev1ac.Volume().WithName(name)
		switch m.Type {
		case swarmv1.MountBind:
			if err := swarmsyntax.DockerSocket(m.Source, s.Image); err != nil {
				return fmt.Errorf("mounts[%d]: %w", i, err)
			}
			if !opts.AllowBindMounts {
				return fmt.Errorf("mounts[%d]: bind mount of %s is not allowed: the operator runs with --allow-bind-mounts=false; use a volume, or ask the cluster admin to allow host paths", i, m.Source)
			}
			vol.WithHostPath(corev1ac.HostPathVolumeSource().WithPath(m.Source))
			if m.Bind != nil {
				switch m.Bind.Propagation {
				case "rslave", "slave":
					vm.WithMountPropagation(corev1.MountPropagationHostToContainer)
				case "rshared", "shared":
					vm.WithMountPropagation(corev1.MountPropagationHostToContainer)
					*notes = append(*notes, fmt.Sprintf("mounts[%d]: bind propagation %s needs a privileged container on Kubernetes; rslave is used", i, m.Bind.Propagation))
				}
			}
		case swarmv1.MountTmpfs:
			ed := corev1ac.EmptyDirVolumeSource().WithMedium(corev1.StorageMediumMemory)
			if m.Tmpfs != nil && m.Tmpfs.Size != nil {
				ed.WithSizeLimit(*m.Tmpfs.Size)
			}
			if m.Tmpfs != nil && m.Tmpfs.Mode != nil {
				*notes = append(*notes, fmt.Sprintf("mounts[%d]: tmpfs mode is not settable on Kubernetes; ignored", i))
			}
			vol.WithEmptyDir(ed)
		default:
			nfs, isNFS, err := volumeNFS(m)
			switch {
			case err != nil:
				return fmt.Errorf("mounts[%d]: %w", i, err)
			case isNFS:
				vol.WithNFS(corev1ac.NFSVolumeSource().WithServer(nfs.Server).WithPath(nfs.Path).WithReadOnly(nfs.ReadOnly))
			case m.Source == "":
				vol.WithEmptyDir(corev1ac.EmptyDirVolumeSource())
			default:
				vol.WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(m.Source))
				if d := m.Volume; d != nil && (d.Driver != "" && d.Driver != "local" || len(d.DriverOptions) > 0) {
					*notes = append(*notes, fmt.Sprintf("mounts[%d]: volume driver %q with options %v has no Kubernetes equivalent; the claim %s is used", i, d.Driver, d.DriverOptions, m.Source))
				}
			}
			if m.Volume != nil && m.Volume.Subpath != "" {
				vm.WithSubPath(m.Volume.Subpath)
			}
		}
		pod.WithVolumes(vol)
		c.WithVolumeMounts(vm)
	}
	return addFiles(pod, c, s, in, opts, notes)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// volumeNFS reads a volume mount of docker's local driver over NFS.
func volumeNFS(m swarmv1.Mount) (swarmsyntax.NFS, bool, error) {
	if m.Volume == nil {
		return swarmsyntax.NFS{}, false, nil
	}
	return swarmsyntax.NFSVolume(m.Volume.Driver, m.Volume.DriverOptions)
}
