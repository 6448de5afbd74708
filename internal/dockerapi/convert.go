package dockerapi

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// Names resolves the network IDs a docker ServiceSpec carries (the CLI sends IDs) to network
// names and back. Nil resolves every reference to itself.
type Names interface {
	NetworkName(idOrName string) string
	NetworkID(name string) string
	// File is the ID and docker name of the secret or config ("secret", "config") that is the
	// Kubernetes object kubeName.
	File(kind, kubeName string) (id, name string)
	// NodeUID is the Kubernetes node UID (what node.id constraints match) of a docker node ID,
	// and NodeID the way back.
	NodeUID(id string) string
	NodeID(uid string) string
}

type identity struct{}

func (identity) NetworkName(s string) string          { return s }
func (identity) NetworkID(s string) string            { return s }
func (identity) File(_, name string) (string, string) { return "", name }
func (identity) NodeUID(s string) string              { return s }
func (identity) NodeID(s string) string               { return s }

// nodeConstraints rewrites the value of node.id constraints with to: the docker CLI's node IDs
// are the Engine API's, the node-id label of a Kubernetes node is its UID. Other constraints
// are left as written.
func nodeConstraints(constraints []string, to func(string) string) []string {
	if len(constraints) == 0 {
		return constraints
	}
	out := make([]string, 0, len(constraints))
	for _, c := range constraints {
		pc, err := swarmsyntax.ParseConstraint(c)
		if err == nil && pc.Key == "node.id" && to(pc.Value) != pc.Value {
			op := "=="
			if !pc.Equal {
				op = "!="
			}
			c = "node.id" + op + to(pc.Value)
		}
		out = append(out, c)
	}
	return out
}

// ToKube turns a docker ServiceSpec into kubeswarm's: the one translation of the Engine API's
// front door. Swarm's rules are then checked by swarmsyntax.ValidateSpec, as for the plugin and
// the compose converter.
func ToKube(in swarm.ServiceSpec, names Names) (swarmv1.ServiceSpec, error) {
	if names == nil {
		names = identity{}
	}
	var out swarmv1.ServiceSpec
	out.Labels = nonEmpty(in.Labels)
	t := in.TaskTemplate
	if t.ContainerSpec == nil {
		return out, fmt.Errorf("ContainerSpec: must be provided")
	}
	c := t.ContainerSpec
	out.Image = c.Image
	out.Entrypoint = c.Command
	out.Command = c.Args
	for _, e := range c.Env {
		v, err := swarmsyntax.ParseEnv(e)
		if err != nil {
			return out, err
		}
		out.Env = append(out.Env, v)
	}
	out.WorkingDir, out.User, out.Groups, out.Hostname = c.Dir, c.User, c.Groups, c.Hostname
	for _, h := range c.Hosts {
		// The Engine API's form is "IP hostname [alias…]"; the CLI's host:ip is also accepted.
		f := strings.Fields(h)
		if len(f) >= 2 {
			for _, name := range f[1:] {
				out.ExtraHosts = append(out.ExtraHosts, swarmv1.HostEntry{Hostname: name, IP: f[0]})
			}
			continue
		}
		e, err := swarmsyntax.ParseHost(h)
		if err != nil {
			return out, err
		}
		out.ExtraHosts = append(out.ExtraHosts, e)
	}
	if d := c.DNSConfig; d != nil {
		for _, a := range d.Nameservers {
			out.DNS = append(out.DNS, a.String())
		}
		out.DNSSearch, out.DNSOptions = d.Search, d.Options
	}
	out.ContainerLabels = nonEmpty(c.Labels)
	out.Init = c.Init
	out.TTY, out.ReadOnly, out.StopSignal = c.TTY, c.ReadOnly, c.StopSignal
	if c.StopGracePeriod != nil {
		out.StopGracePeriod = &metav1.Duration{Duration: *c.StopGracePeriod}
	}
	if h := c.Healthcheck; h != nil {
		out.Healthcheck = &swarmv1.Healthcheck{Test: h.Test, Interval: dur(h.Interval), Timeout: dur(h.Timeout),
			StartPeriod: dur(h.StartPeriod), StartInterval: dur(h.StartInterval)}
		if h.Retries != 0 {
			out.Healthcheck.Retries = ptr.To(int32(h.Retries))
		}
	}
	for _, m := range c.Mounts {
		km := swarmv1.Mount{Type: swarmv1.MountType(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if m.Type == mount.TypeVolume || m.Type == "" {
			// A named volume is a claim: a stack's wp_mysql_vol is the claim wp-mysql-vol.
			km.Source = swarmv1.KubernetesName(m.Source)
		}
		if o := m.VolumeOptions; o != nil {
			km.Volume = &swarmv1.VolumeOptions{NoCopy: o.NoCopy, Subpath: o.Subpath, Labels: o.Labels}
			if o.DriverConfig != nil {
				km.Volume.Driver, km.Volume.DriverOptions = o.DriverConfig.Name, o.DriverConfig.Options
			}
		}
		if o := m.BindOptions; o != nil && o.Propagation != "" {
			km.Bind = &swarmv1.BindOptions{Propagation: string(o.Propagation)}
		}
		if o := m.TmpfsOptions; o != nil {
			km.Tmpfs = &swarmv1.TmpfsOptions{}
			if o.SizeBytes != 0 {
				km.Tmpfs.Size = resource.NewQuantity(o.SizeBytes, resource.BinarySI)
			}
			if o.Mode != 0 {
				km.Tmpfs.Mode = ptr.To(swarmsyntax.OctalDigits(uint32(o.Mode.Perm())))
			}
		}
		out.Mounts = append(out.Mounts, km)
	}
	for _, s := range c.Secrets {
		out.Secrets = append(out.Secrets, fileRef(swarmv1.KubernetesName(s.SecretName), s.File))
	}
	for _, s := range c.Configs {
		if s.File == nil {
			continue // runtime configs (credential specs) are Windows only
		}
		out.Configs = append(out.Configs, fileRef(swarmv1.KubernetesName(s.ConfigName), (*swarm.SecretReferenceFileTarget)(s.File)))
	}
	out.CapAdd, out.CapDrop = c.CapabilityAdd, c.CapabilityDrop
	out.Sysctls = nonEmpty(c.Sysctls)
	for _, u := range c.Ulimits {
		out.Ulimits = append(out.Ulimits, swarmv1.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}

	if r := t.Resources; r != nil {
		res := &swarmv1.Resources{}
		if l := r.Limits; l != nil && (l.NanoCPUs != 0 || l.MemoryBytes != 0 || l.Pids != 0) {
			res.Limits = &swarmv1.ResourceLimits{CPUs: nanoCPUs(l.NanoCPUs), Memory: bytesQ(l.MemoryBytes)}
			if l.Pids != 0 {
				res.Limits.Pids = ptr.To(l.Pids)
			}
		}
		if rv := r.Reservations; rv != nil && (rv.NanoCPUs != 0 || rv.MemoryBytes != 0 || len(rv.GenericResources) > 0) {
			res.Reservations = &swarmv1.ResourceReservations{CPUs: nanoCPUs(rv.NanoCPUs), Memory: bytesQ(rv.MemoryBytes)}
			for _, g := range rv.GenericResources {
				if d := g.DiscreteResourceSpec; d != nil {
					res.Reservations.GenericResources = append(res.Reservations.GenericResources, swarmv1.GenericResource{Kind: d.Kind, Value: d.Value})
				}
			}
		}
		if res.Limits != nil || res.Reservations != nil {
			out.Resources = res
		}
	}
	if r := t.RestartPolicy; r != nil {
		out.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartCondition(r.Condition), Delay: durp(r.Delay), Window: durp(r.Window)}
		if r.MaxAttempts != nil {
			out.RestartPolicy.MaxAttempts = ptr.To(int32(*r.MaxAttempts))
		}
	}
	if p := t.Placement; p != nil && (len(p.Constraints) > 0 || len(p.Preferences) > 0 || p.MaxReplicas != 0) {
		out.Placement = &swarmv1.Placement{Constraints: nodeConstraints(p.Constraints, names.NodeUID)}
		for _, pref := range p.Preferences {
			if pref.Spread != nil {
				out.Placement.Preferences = append(out.Placement.Preferences, swarmv1.PlacementPreference{Spread: pref.Spread.SpreadDescriptor})
			}
		}
		if p.MaxReplicas != 0 {
			out.Placement.MaxReplicasPerNode = ptr.To(int32(p.MaxReplicas))
		}
	}
	for _, n := range t.Networks {
		out.Networks = append(out.Networks, swarmv1.NetworkAttachment{Name: names.NetworkName(n.Target), Aliases: n.Aliases})
	}
	if d := t.LogDriver; d != nil {
		out.Logging = &swarmv1.Logging{Driver: d.Name, Options: d.Options}
	}
	out.ForceUpdate = int64(t.ForceUpdate)

	switch m := in.Mode; {
	case m.Global != nil:
		out.Mode = swarmv1.ModeGlobal
	case m.ReplicatedJob != nil:
		out.Mode = swarmv1.ModeReplicatedJob
		if m.ReplicatedJob.MaxConcurrent != nil {
			out.MaxConcurrent = ptr.To(int32(*m.ReplicatedJob.MaxConcurrent))
		}
		if m.ReplicatedJob.TotalCompletions != nil {
			out.Replicas = ptr.To(int32(*m.ReplicatedJob.TotalCompletions))
		}
	case m.GlobalJob != nil:
		out.Mode = swarmv1.ModeGlobalJob
	default:
		out.Mode = swarmv1.ModeReplicated
		if m.Replicated != nil && m.Replicated.Replicas != nil {
			out.Replicas = ptr.To(int32(*m.Replicated.Replicas))
		} else {
			out.Replicas = ptr.To(int32(1))
		}
	}
	out.UpdateConfig = updateToKube(in.UpdateConfig)
	out.RollbackConfig = updateToKube(in.RollbackConfig)
	if e := in.EndpointSpec; e != nil {
		out.EndpointMode = string(e.Mode)
		for _, p := range e.Ports {
			out.Ports = append(out.Ports, swarmv1.PortConfig{Target: int32(p.TargetPort), Published: int32(p.PublishedPort),
				Protocol: string(p.Protocol), Mode: swarmv1.PortMode(p.PublishMode)})
		}
	}
	return out, swarmsyntax.ValidateSpec(&out)
}

// ToDocker is the inverse of ToKube: what `docker service inspect` shows of a kubeswarm spec.
func ToDocker(name string, in *swarmv1.ServiceSpec, names Names) swarm.ServiceSpec {
	if names == nil {
		names = identity{}
	}
	c := &swarm.ContainerSpec{Image: in.Image, Command: in.Entrypoint, Args: in.Command, Dir: in.WorkingDir,
		User: in.User, Groups: in.Groups, Hostname: in.Hostname, Labels: in.ContainerLabels, Init: in.Init,
		TTY: in.TTY, ReadOnly: in.ReadOnly, StopSignal: in.StopSignal, CapabilityAdd: in.CapAdd,
		CapabilityDrop: in.CapDrop, Sysctls: in.Sysctls}
	for _, e := range in.Env {
		c.Env = append(c.Env, e.Name+"="+e.Value)
	}
	for _, h := range in.ExtraHosts {
		c.Hosts = append(c.Hosts, h.IP+" "+h.Hostname)
	}
	if len(in.DNS)+len(in.DNSSearch)+len(in.DNSOptions) > 0 {
		c.DNSConfig = &swarm.DNSConfig{Search: in.DNSSearch, Options: in.DNSOptions}
		for _, s := range in.DNS {
			if a, err := netip.ParseAddr(s); err == nil {
				c.DNSConfig.Nameservers = append(c.DNSConfig.Nameservers, a)
			}
		}
	}
	if in.StopGracePeriod != nil {
		c.StopGracePeriod = ptr.To(in.StopGracePeriod.Duration)
	}
	if h := in.Healthcheck; h != nil {
		c.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: swarmsyntax.DurationOr(h.Interval, 0),
			Timeout: swarmsyntax.DurationOr(h.Timeout, 0), StartPeriod: swarmsyntax.DurationOr(h.StartPeriod, 0),
			StartInterval: swarmsyntax.DurationOr(h.StartInterval, 0), Retries: int(ptr.Deref(h.Retries, 0))}
	}
	for _, m := range in.Mounts {
		dm := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if dm.Type == "" {
			dm.Type = mount.TypeVolume
		}
		if o := m.Volume; o != nil {
			dm.VolumeOptions = &mount.VolumeOptions{NoCopy: o.NoCopy, Subpath: o.Subpath, Labels: o.Labels}
			if o.Driver != "" || len(o.DriverOptions) > 0 {
				dm.VolumeOptions.DriverConfig = &mount.Driver{Name: o.Driver, Options: o.DriverOptions}
			}
		}
		if o := m.Bind; o != nil {
			dm.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(o.Propagation)}
		}
		if o := m.Tmpfs; o != nil {
			dm.TmpfsOptions = &mount.TmpfsOptions{}
			if o.Size != nil {
				dm.TmpfsOptions.SizeBytes = o.Size.Value()
			}
			if o.Mode != nil {
				dm.TmpfsOptions.Mode = os.FileMode(octal(*o.Mode))
			}
		}
		c.Mounts = append(c.Mounts, dm)
	}
	for _, s := range in.Secrets {
		id, name := names.File("secret", s.Source)
		c.Secrets = append(c.Secrets, &swarm.SecretReference{SecretID: id, SecretName: name, File: fileTarget(s, name)})
	}
	for _, s := range in.Configs {
		id, name := names.File("config", s.Source)
		c.Configs = append(c.Configs, &swarm.ConfigReference{ConfigID: id, ConfigName: name, File: (*swarm.ConfigReferenceFileTarget)(fileTarget(s, name))})
	}
	for _, u := range in.Ulimits {
		c.Ulimits = append(c.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	t := swarm.TaskSpec{ContainerSpec: c, ForceUpdate: uint64(in.ForceUpdate)}
	if r := in.Resources; r != nil {
		t.Resources = &swarm.ResourceRequirements{}
		if l := r.Limits; l != nil {
			t.Resources.Limits = &swarm.Limit{NanoCPUs: quantityNano(l.CPUs), MemoryBytes: quantityValue(l.Memory), Pids: ptr.Deref(l.Pids, 0)}
		}
		if rv := r.Reservations; rv != nil {
			t.Resources.Reservations = &swarm.Resources{NanoCPUs: quantityNano(rv.CPUs), MemoryBytes: quantityValue(rv.Memory)}
			for _, g := range rv.GenericResources {
				t.Resources.Reservations.GenericResources = append(t.Resources.Reservations.GenericResources,
					swarm.GenericResource{DiscreteResourceSpec: &swarm.DiscreteGenericResource{Kind: g.Kind, Value: g.Value}})
			}
		}
	}
	if r := in.RestartPolicy; r != nil {
		t.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(r.Condition), Delay: mdur(r.Delay), Window: mdur(r.Window)}
		if r.MaxAttempts != nil {
			t.RestartPolicy.MaxAttempts = ptr.To(uint64(*r.MaxAttempts))
		}
	}
	if p := in.Placement; p != nil {
		t.Placement = &swarm.Placement{Constraints: nodeConstraints(p.Constraints, names.NodeID), MaxReplicas: uint64(ptr.Deref(p.MaxReplicasPerNode, 0))}
		for _, pref := range p.Preferences {
			t.Placement.Preferences = append(t.Placement.Preferences, swarm.PlacementPreference{Spread: &swarm.SpreadOver{SpreadDescriptor: pref.Spread}})
		}
	}
	for _, n := range in.Networks {
		t.Networks = append(t.Networks, swarm.NetworkAttachmentConfig{Target: names.NetworkID(n.Name), Aliases: n.Aliases})
	}
	if l := in.Logging; l != nil {
		t.LogDriver = &swarm.Driver{Name: l.Driver, Options: l.Options}
	}
	out := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name, Labels: in.Labels}, TaskTemplate: t}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	switch in.Mode {
	case swarmv1.ModeGlobal:
		out.Mode.Global = &swarm.GlobalService{}
	case swarmv1.ModeGlobalJob:
		out.Mode.GlobalJob = &swarm.GlobalJob{}
	case swarmv1.ModeReplicatedJob:
		out.Mode.ReplicatedJob = &swarm.ReplicatedJob{}
		if in.MaxConcurrent != nil {
			out.Mode.ReplicatedJob.MaxConcurrent = ptr.To(uint64(*in.MaxConcurrent))
		}
		if in.Replicas != nil {
			out.Mode.ReplicatedJob.TotalCompletions = ptr.To(uint64(*in.Replicas))
		}
	default:
		out.Mode.Replicated = &swarm.ReplicatedService{Replicas: ptr.To(uint64(ptr.Deref(in.Replicas, 1)))}
	}
	out.UpdateConfig = updateToDocker(in.UpdateConfig)
	out.RollbackConfig = updateToDocker(in.RollbackConfig)
	if in.EndpointMode != "" || len(in.Ports) > 0 {
		out.EndpointSpec = &swarm.EndpointSpec{Mode: swarm.ResolutionMode(in.EndpointMode)}
		for _, p := range in.Ports {
			out.EndpointSpec.Ports = append(out.EndpointSpec.Ports, dockerPort(p))
		}
	}
	return out
}

func dockerPort(p swarmv1.PortConfig) swarm.PortConfig {
	proto, mode := p.Protocol, p.Mode
	if proto == "" {
		proto = "tcp"
	}
	if mode == "" {
		mode = swarmv1.PortModeIngress
	}
	return swarm.PortConfig{Protocol: network.IPProtocol(proto), TargetPort: uint32(p.Target),
		PublishedPort: uint32(p.Published), PublishMode: swarm.PortConfigPublishMode(mode)}
}

// InsertDefaults fills in what Swarm's `GET /services/{id}?insertDefaults=1` adds to a spec
// (swarmkit api/defaults; as the reference Swarm answers).
func InsertDefaults(s *swarm.ServiceSpec) {
	c := s.TaskTemplate.ContainerSpec
	if c != nil {
		if c.Init == nil {
			c.Init = ptr.To(false)
		}
		if c.StopGracePeriod == nil {
			c.StopGracePeriod = ptr.To(swarmsyntax.DefaultStopGracePeriod)
		}
		if c.DNSConfig == nil {
			c.DNSConfig = &swarm.DNSConfig{}
		}
		if c.Isolation == "" {
			c.Isolation = container.IsolationDefault
		}
	}
	t := &s.TaskTemplate
	if t.Resources == nil {
		t.Resources = &swarm.ResourceRequirements{}
	}
	if t.Resources.Limits == nil {
		t.Resources.Limits = &swarm.Limit{}
	}
	if t.Resources.Reservations == nil {
		t.Resources.Reservations = &swarm.Resources{}
	}
	if t.RestartPolicy == nil {
		t.RestartPolicy = &swarm.RestartPolicy{}
	}
	if t.RestartPolicy.Condition == "" {
		t.RestartPolicy.Condition = swarm.RestartPolicyConditionAny
	}
	if t.RestartPolicy.Delay == nil {
		t.RestartPolicy.Delay = ptr.To(5 * time.Second)
	}
	if t.RestartPolicy.MaxAttempts == nil {
		t.RestartPolicy.MaxAttempts = ptr.To(uint64(0))
	}
	if t.Placement == nil {
		t.Placement = &swarm.Placement{}
	}
	if t.Runtime == "" {
		t.Runtime = swarm.RuntimeContainer
	}
	if s.Mode.ReplicatedJob == nil && s.Mode.GlobalJob == nil {
		for _, u := range []**swarm.UpdateConfig{&s.UpdateConfig, &s.RollbackConfig} {
			if *u == nil {
				*u = &swarm.UpdateConfig{Parallelism: 1}
			}
			if (*u).FailureAction == "" {
				(*u).FailureAction = swarm.UpdateFailureActionPause
			}
			if (*u).Monitor == 0 {
				(*u).Monitor = 5 * time.Second
			}
			if (*u).Order == "" {
				(*u).Order = swarm.UpdateOrderStopFirst
			}
		}
	}
	if s.EndpointSpec == nil {
		s.EndpointSpec = &swarm.EndpointSpec{}
	}
	if s.EndpointSpec.Mode == "" {
		s.EndpointSpec.Mode = swarm.ResolutionModeVIP
	}
}

func updateToKube(u *swarm.UpdateConfig) *swarmv1.UpdateConfig {
	if u == nil {
		return nil
	}
	return &swarmv1.UpdateConfig{Parallelism: ptr.To(int32(u.Parallelism)), Delay: dur(u.Delay),
		FailureAction: swarmv1.FailureAction(u.FailureAction), Monitor: dur(u.Monitor),
		MaxFailureRatio: swarmsyntax.Ratio(u.MaxFailureRatio), Order: swarmv1.UpdateOrder(u.Order)}
}

func updateToDocker(u *swarmv1.UpdateConfig) *swarm.UpdateConfig {
	if u == nil {
		return nil
	}
	out := &swarm.UpdateConfig{Parallelism: uint64(ptr.Deref(u.Parallelism, 1)), Delay: swarmsyntax.DurationOr(u.Delay, 0),
		FailureAction: swarm.FailureAction(u.FailureAction), Monitor: swarmsyntax.DurationOr(u.Monitor, 0),
		Order: swarm.UpdateOrder(u.Order)}
	if u.MaxFailureRatio != "" {
		var f float32
		if _, err := fmt.Sscanf(u.MaxFailureRatio, "%g", &f); err == nil {
			out.MaxFailureRatio = f
		}
	}
	return out
}

func fileRef(source string, f *swarm.SecretReferenceFileTarget) swarmv1.FileReference {
	r := swarmv1.FileReference{Source: source}
	if f != nil {
		r.Target, r.UID, r.GID = f.Name, f.UID, f.GID
		r.Mode = ptr.To(swarmsyntax.OctalDigits(uint32(f.Mode.Perm())))
	}
	return r
}

func fileTarget(r swarmv1.FileReference, name string) *swarm.SecretReferenceFileTarget {
	f := &swarm.SecretReferenceFileTarget{Name: r.Target, UID: r.UID, GID: r.GID, Mode: 0o444}
	if f.Name == "" {
		f.Name = name
	}
	if f.UID == "" {
		f.UID = "0"
	}
	if f.GID == "" {
		f.GID = "0"
	}
	if r.Mode != nil {
		f.Mode = os.FileMode(octal(*r.Mode))
	}
	return f
}

// octal reads the digits of OctalDigits back: 444 is 0o444.
func octal(digits int32) uint32 {
	var v uint32
	var mul uint32 = 1
	for d := digits; d > 0; d /= 10 {
		v += uint32(d%10) * mul
		mul *= 8
	}
	return v
}

func dur(d time.Duration) *metav1.Duration {
	if d == 0 {
		return nil
	}
	return &metav1.Duration{Duration: d}
}

func durp(d *time.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	return &metav1.Duration{Duration: *d}
}

func mdur(d *metav1.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	return ptr.To(d.Duration)
}

func nanoCPUs(n int64) *resource.Quantity {
	if n == 0 {
		return nil
	}
	return resource.NewScaledQuantity(n, resource.Nano)
}

func bytesQ(n int64) *resource.Quantity {
	if n == 0 {
		return nil
	}
	return resource.NewQuantity(n, resource.BinarySI)
}

func quantityNano(q *resource.Quantity) int64 {
	if q == nil {
		return 0
	}
	return q.ScaledValue(resource.Nano)
}

func quantityValue(q *resource.Quantity) int64 {
	if q == nil {
		return 0
	}
	return q.Value()
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
