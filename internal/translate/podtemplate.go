package translate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

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

// RestartDelayNote says what becomes of a restart delay that is set, "" when none is or no task
// restarts (condition none): Kubernetes has no per-pod restart delay. The kubelet restarts a
// task's container after its own back-off, 10s doubling to 5m and reset after 10m of running
// (KEP-4603 tunes it only per node, in the kubelet's configuration; the container restart rules
// of KEP-5307 choose whether to restart, not when), where swarmkit waits the delay
// (manager/orchestrator/restart/restart.go, Restart: delay from RestartPolicy.Delay).
func RestartDelayNote(s *swarmv1.ServiceSpec) string {
	rp := s.RestartPolicy
	if rp == nil || rp.Delay == nil || rp.RestartOn() == swarmv1.RestartNone {
		return ""
	}
	return fmt.Sprintf("restartPolicy.delay=%s: a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay", rp.Delay.Duration)
}

// ignoredRule lists what Kubernetes cannot do at all, so that it is reported, never dropped
// silently.
func ignoredRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	s := &svc.Spec
	if n := RestartNote(s); n != "" {
		notes = append(notes, n)
	}
	if n := RestartDelayNote(s); n != "" {
		notes = append(notes, n)
	}
	if !s.Mode.IsJob() && s.RestartPolicy != nil && (ptr.Deref(s.RestartPolicy.MaxAttempts, 0) > 0 || s.RestartPolicy.Window != nil) {
		notes = append(notes, "restartPolicy.maxAttempts/window: Kubernetes restarts long-running tasks without limit, with its own back-off")
	}
	if len(s.Ulimits) > 0 {
		names := make([]string, 0, len(s.Ulimits))
		for _, u := range s.Ulimits {
			names = append(names, u.Name)
		}
		notes = append(notes, "ulimits ("+strings.Join(names, ", ")+"): Kubernetes has no per-container ulimits; ignored")
	}
	if s.Logging != nil && s.Logging.Driver != "" && s.Logging.Driver != "json-file" {
		notes = append(notes, fmt.Sprintf("logging.driver=%s: Kubernetes keeps container logs itself; ignored", s.Logging.Driver))
	}
	if s.StopSignal != "" && s.StopSignal != "SIGTERM" && s.StopSignal != "TERM" && s.StopSignal != "15" {
		notes = append(notes, fmt.Sprintf("stopSignal=%s: tasks are stopped with SIGTERM (the image's STOPSIGNAL still applies)", s.StopSignal))
	}
	if s.Resources != nil && s.Resources.Limits != nil && s.Resources.Limits.Pids != nil {
		notes = append(notes, "resources.limits.pids: Kubernetes limits PIDs per node, not per container; ignored")
	}
	return notes, nil
}

// containerPortsRule reports the host-mode ports that are not published.
func containerPortsRule(svc *swarmv1.Service, _ Options) (notes []string, _ error) {
	for _, p := range svc.Spec.Ports {
		if p.Mode == swarmv1.PortModeHost && p.Published == 0 {
			notes = append(notes, fmt.Sprintf("ports: host-mode port %d/%s with no published port is not published on the node", p.Target, p.Protocol))
		}
	}
	return notes, nil
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

// Resources maps limits and reservations. A limit without a reservation gets an explicit zero
// request: Swarm reserves nothing unless asked, where Kubernetes would reserve the limit.
func Resources(r *swarmv1.Resources) (limits, requests corev1.ResourceList, notes []string, err error) {
	if r == nil {
		return nil, nil, nil, nil
	}
	limits, requests = corev1.ResourceList{}, corev1.ResourceList{}
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
				return nil, nil, nil, fmt.Errorf("resources.reservations.genericResources: %w", err)
			}
			if approximated {
				notes = append(notes, fmt.Sprintf("resources.reservations.genericResources: %s is the extended resource %s (the GPU device plugin's); a GPU with a given ID cannot be asked for", g.Kind, name))
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
			return nil, nil, nil, fmt.Errorf("resources: the %s reservation %s is above the limit %s", name, req.String(), lim.String())
		}
	}
	return limits, requests, notes, nil
}

// resourcesRule refuses resources Kubernetes cannot ask for and reports the approximated ones.
func resourcesRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, _, notes, err := Resources(svc.Spec.Resources)
	return notes, err
}

// PodSecurity is the pod security context of the service's tasks (user, groups, sysctls), nil
// when it sets none; notes report the sysctls the kubelet allows only when told to.
func PodSecurity(s *swarmv1.ServiceSpec) (sc *corev1.PodSecurityContext, notes []string, err error) {
	if s.User == "" && len(s.Groups) == 0 && len(s.Sysctls) == 0 {
		return nil, nil, nil
	}
	sc = &corev1.PodSecurityContext{}
	if s.User != "" {
		u, g, hasGroup := strings.Cut(s.User, ":")
		uid, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("user %q: must be UID or UID:GID", s.User)
		}
		sc.RunAsUser = &uid
		if hasGroup {
			gid, err := strconv.ParseInt(g, 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("user %q: must be UID or UID:GID", s.User)
			}
			sc.RunAsGroup = &gid
		}
	}
	for _, g := range s.Groups {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("groups: %q is not a numeric group id", g)
		}
		sc.SupplementalGroups = append(sc.SupplementalGroups, gid)
	}
	var unsafe []string
	for _, k := range sortedKeys(s.Sysctls) {
		verdict, err := swarmsyntax.Sysctl(k)
		if err != nil {
			return nil, nil, fmt.Errorf("sysctls: %w", err)
		}
		if verdict == swarmsyntax.SysctlUnsafe {
			unsafe = append(unsafe, k)
		}
		sc.Sysctls = append(sc.Sysctls, corev1.Sysctl{Name: k, Value: s.Sysctls[k]})
	}
	if len(unsafe) > 0 {
		notes = append(notes, swarmsyntax.UnsafeSysctlNote(unsafe))
	}
	return sc, notes, nil
}

// podSecurityRule refuses a user, group or sysctl Kubernetes cannot set and reports unsafe sysctls.
func podSecurityRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, notes, err := PodSecurity(&svc.Spec)
	return notes, err
}

// mountsRule refuses the mounts the operator will not make (the Docker socket; bind mounts
// unless allowed; a malformed NFS volume) and reports what it approximates.
func mountsRule(svc *swarmv1.Service, opts Options) (notes []string, _ error) {
	s := &svc.Spec
	for i, m := range s.Mounts {
		switch m.Type {
		case swarmv1.MountBind:
			if err := swarmsyntax.DockerSocket(m.Source, s.Image); err != nil {
				return nil, fmt.Errorf("mounts[%d]: %w", i, err)
			}
			if !opts.AllowBindMounts {
				return nil, fmt.Errorf("mounts[%d]: bind mount of %s is not allowed: the operator runs with --allow-bind-mounts=false; use a volume, or ask the cluster admin to allow host paths", i, m.Source)
			}
			if _, approximated := MountPropagation(m); approximated {
				notes = append(notes, fmt.Sprintf("mounts[%d]: bind propagation %s needs a privileged container on Kubernetes; rslave is used", i, m.Bind.Propagation))
			}
		case swarmv1.MountTmpfs:
			if m.Tmpfs != nil && m.Tmpfs.Mode != nil {
				notes = append(notes, fmt.Sprintf("mounts[%d]: tmpfs mode is not settable on Kubernetes; ignored", i))
			}
		default:
			src, err := VolumeSource(i, m)
			if err != nil {
				return nil, err
			}
			if src.HostPath != "" {
				if err := swarmsyntax.DockerSocket(src.HostPath, s.Image); err != nil {
					return nil, fmt.Errorf("mounts[%d]: %w", i, err)
				}
				if !opts.AllowBindMounts {
					return nil, fmt.Errorf("mounts[%d]: volume %s binds the host directory %s, which is not allowed: the operator runs with --allow-bind-mounts=false; use a volume without driver options, or ask the cluster admin to allow host paths", i, m.Source, src.HostPath)
				}
			}
			if (m.Volume == nil || !m.Volume.NoCopy) && opts.FilesImage == "" {
				notes = append(notes, fmt.Sprintf("mounts[%d]: a new volume at %s starts empty, not filled with the image's files there: the operator has no image of its own to fill it with (manager --files-image)", i, m.Target))
			}
			if d := m.Volume; src.Claim != "" && d != nil && (d.Driver != "" && d.Driver != "local" || len(d.DriverOptions) > 0) {
				notes = append(notes, fmt.Sprintf("mounts[%d]: volume driver %q with options %v has no Kubernetes equivalent; the claim %s is used", i, d.Driver, d.DriverOptions, m.Source))
			}
		}
	}
	return notes, nil
}

// MountPropagation is the mount propagation of a bind mount (nil: Kubernetes' default, none).
// Kubernetes gives shared propagation only to privileged containers, so rshared and shared
// become rslave, approximated.
func MountPropagation(m swarmv1.Mount) (mode *corev1.MountPropagationMode, approximated bool) {
	if m.Bind == nil {
		return nil, false
	}
	switch m.Bind.Propagation {
	case "rslave", "slave":
		return ptr.To(corev1.MountPropagationHostToContainer), false
	case "rshared", "shared":
		return ptr.To(corev1.MountPropagationHostToContainer), true
	}
	return nil, false
}

// sortedKeys are the keys of m, sorted.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MountSource is where the data of a volume mount lives: an NFS export (docker's local driver
// over NFS), a host directory (docker's local driver binding a device), a claim (a named volume:
// the PersistentVolumeClaim of its name), or none of them (an anonymous volume, an emptyDir).
type MountSource struct {
	NFS *swarmsyntax.NFS
	// HostPath is the host directory of a bind device; HostReadOnly its o: ro.
	HostPath     string
	HostReadOnly bool
	Claim        string
}

// VolumeSource reads mounts[i], a volume mount (neither bind nor tmpfs). An SMB share (driver
// options type cifs) is refused (swarmsyntax.CIFSVolume).
func VolumeSource(i int, m swarmv1.Mount) (MountSource, error) {
	if m.Volume != nil {
		if err := swarmsyntax.CIFSVolume(m.Volume.Driver, m.Volume.DriverOptions); err != nil {
			return MountSource{}, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		nfs, isNFS, err := swarmsyntax.NFSVolume(m.Volume.Driver, m.Volume.DriverOptions)
		if err != nil {
			return MountSource{}, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		if isNFS {
			return MountSource{NFS: &nfs}, nil
		}
		dir, ro, isBind, err := swarmsyntax.BindDevice(m.Volume.Driver, m.Volume.DriverOptions)
		if err != nil {
			return MountSource{}, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		if isBind {
			return MountSource{HostPath: dir, HostReadOnly: ro}, nil
		}
	}
	return MountSource{Claim: m.Source}, nil
}
