package compose

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// serviceConverter converts one compose service, collecting errors (each naming its key) and
// warnings.
type serviceConverter struct {
	name     string // compose name
	project  *types.Project
	errs     []error
	warnings []string
	// binds are the bind mounts of the project's own files, which become configs.
	binds []projectBind
}

func (c *serviceConverter) fail(key, format string, args ...any) {
	c.errs = append(c.errs, fieldError(key, format, args...))
}

func (c *serviceConverter) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf("service %q: ", c.name)+fmt.Sprintf(format, args...))
}

// convert follows docker/cli's cli/compose/convert/service.go (Service): compose `entrypoint`
// is the container's command (docker --entrypoint), `command` its args; `labels` are container
// labels and `deploy.labels` service labels.
func (c *serviceConverter) convert(s types.ServiceConfig) swarmv1.ServiceSpec {
	spec := swarmv1.ServiceSpec{
		Image:           s.Image,
		Entrypoint:      []string(s.Entrypoint),
		Command:         []string(s.Command),
		Env:             c.env(s.Environment),
		WorkingDir:      s.WorkingDir,
		User:            c.user(s.User),
		Groups:          c.groups(s.GroupAdd),
		Hostname:        s.Hostname,
		ExtraHosts:      c.extraHosts(s.ExtraHosts),
		DNS:             []string(s.DNS),
		DNSSearch:       []string(s.DNSSearch),
		DNSOptions:      s.DNSOpts,
		ContainerLabels: nonEmpty(s.Labels),
		Healthcheck:     c.healthcheck(s.HealthCheck),
		Ports:           c.ports(s.Ports),
		ExposedPorts:    c.expose(s.Expose),
		Networks:        c.networks(s.Networks),
		Mounts:          c.mounts(s.Volumes, s.Tmpfs),
		Secrets:         c.files("secrets", "/run/secrets/", secretRefs(s.Secrets)),
		Configs:         c.files("configs", "/", configRefs(s.Configs)),
		StopGracePeriod: swarmsyntax.Duration(s.StopGracePeriod),
		StopSignal:      s.StopSignal,
		Init:            s.Init,
		TTY:             s.Tty,
		ReadOnly:        s.ReadOnly,
		Sysctls:         nonEmpty(s.Sysctls),
		Ulimits:         ulimits(s.Ulimits),
		Logging:         logging(s.Logging),
	}
	spec.CapAdd, spec.CapDrop = effectiveCapAddCapDrop(s.CapAdd, s.CapDrop)
	c.deploy(&spec, s)
	c.validate(&spec)
	return spec
}

// validate applies the rules every front door applies (swarmsyntax.ValidateSpec), each error
// under its compose key.
func (c *serviceConverter) validate(spec *swarmv1.ServiceSpec) {
	for _, e := range swarmsyntax.RuleErrors(swarmsyntax.ValidateSpec(spec)) {
		c.errs = append(c.errs, &Error{Key: ruleKeys[e.Field], Err: e})
	}
}

// ruleKeys are the compose keys of the API fields that swarmsyntax.ValidateSpec names.
var ruleKeys = map[string]string{
	"replicas":                     "deploy.replicas",
	"maxConcurrent":                "deploy.replicas",
	"updateConfig":                 "deploy.update_config",
	"rollbackConfig.failureAction": "deploy.rollback_config.failure_action",
	"placement.maxReplicasPerNode": "deploy.placement.max_replicas_per_node",
	"placement.constraints":        "deploy.placement.constraints",
	"placement.preferences":        "deploy.placement.preferences",
	"endpointMode":                 "deploy.endpoint_mode",
	"ports":                        "ports",
}

func nonEmpty[M ~map[string]string](m M) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return map[string]string(m)
}

// env is the service's environment (env_file first, then environment, as compose-go merged
// them), sorted. A variable without a value (`- VAR`) that the environment does not set either
// is left out, as the docker engine leaves it out of the container.
func (c *serviceConverter) env(m types.MappingWithEquals) []swarmv1.EnvVar {
	var out []swarmv1.EnvVar
	for _, k := range sortedKeys(m) {
		if m[k] == nil {
			c.warn("environment: %s has no value and is not set in the environment; it is left out", k)
			continue
		}
		out = append(out, swarmv1.EnvVar{Name: k, Value: *m[k]})
	}
	return out
}

var numericID = regexp.MustCompile(`^[0-9]+$`)

// user is the service's user as Kubernetes can run it: numeric ids (UID or UID:GID). Names
// are resolved by docker in the image's /etc/passwd when the container starts; Kubernetes
// takes only numbers, and the image is not at hand here. So a name is approximated: root is
// 0; any other name leaves the image's own user (what the image's USER says, often root),
// with a warning naming the fix. A group name drops the group the same way.
func (c *serviceConverter) user(u string) string {
	if u == "" {
		return ""
	}
	name, group, hasGroup := strings.Cut(u, ":")
	id := func(s string) (string, bool) {
		if s == "root" {
			return "0", true
		}
		return s, numericID.MatchString(s)
	}
	uid, ok := id(name)
	if !ok {
		c.warn("user: %q is a user name, which Kubernetes does not resolve: the tasks run as the image's own user (its USER, often root); give the numeric id (docker run --rm --entrypoint id IMAGE -u %s) to run as %s", u, name, name)
		return ""
	}
	if !hasGroup {
		return uid
	}
	gid, ok := id(group)
	if !ok {
		c.warn("user: %q: group %q is a name, which Kubernetes does not resolve: the tasks run with the user's own group; give the numeric id", u, group)
		return uid
	}
	return uid + ":" + gid
}

func (c *serviceConverter) groups(gs []string) []string {
	for _, g := range gs {
		if _, err := strconv.ParseUint(g, 10, 32); err != nil {
			c.fail("group_add", "%q must be a numeric group id: Kubernetes does not resolve group names", g)
			return nil
		}
	}
	return gs
}

func (c *serviceConverter) extraHosts(hosts types.HostsList) []swarmv1.HostEntry {
	var out []swarmv1.HostEntry
	for _, h := range sortedKeys(hosts) {
		for _, ip := range hosts[h] {
			if net.ParseIP(ip) == nil {
				c.fail("extra_hosts", "%s: %q is not an IP address", h, ip)
				continue
			}
			out = append(out, swarmv1.HostEntry{Hostname: h, IP: ip})
		}
	}
	return out
}

// healthcheck is docker's convertHealthcheck: disable and test are exclusive.
func (c *serviceConverter) healthcheck(h *types.HealthCheckConfig) *swarmv1.Healthcheck {
	if h == nil {
		return nil
	}
	if h.Disable {
		if len(h.Test) != 0 {
			c.fail("healthcheck", "test and disable can't be set at the same time")
		}
		return &swarmv1.Healthcheck{Disable: true}
	}
	out := &swarmv1.Healthcheck{
		Test:          []string(h.Test),
		Interval:      swarmsyntax.Duration(h.Interval),
		Timeout:       swarmsyntax.Duration(h.Timeout),
		StartPeriod:   swarmsyntax.Duration(h.StartPeriod),
		StartInterval: swarmsyntax.Duration(h.StartInterval),
	}
	if len(h.Test) > 0 {
		switch h.Test[0] {
		case "CMD", "CMD-SHELL":
			if len(h.Test) < 2 {
				c.fail("healthcheck.test", "%s needs a command", h.Test[0])
			}
		case "NONE":
		default:
			c.fail("healthcheck.test", "must start with CMD, CMD-SHELL or NONE, not %q", h.Test[0])
		}
	}
	if h.Retries != nil && *h.Retries > 0 {
		if *h.Retries > 1<<31-1 {
			c.fail("healthcheck.retries", "%d is too large", *h.Retries)
		} else {
			out.Retries = ptr.To(int32(*h.Retries))
		}
	}
	return out
}

// expose is compose's expose list: the ports of the service's virtual IP inside the cluster.
func (c *serviceConverter) expose(list types.StringOrNumberList) []swarmv1.ExposedPort {
	var out []swarmv1.ExposedPort
	for i, e := range list {
		ports, err := swarmsyntax.ParseExpose(e)
		if err != nil {
			c.fail(fmt.Sprintf("expose[%d]", i), "%v", err)
			continue
		}
		out = append(out, ports...)
	}
	return out
}

// ports are docker's (opts.ConvertPortToPortConfig): a published range expands to one port each,
// a host IP is ignored with docker's warning.
func (c *serviceConverter) ports(ports []types.ServicePortConfig) []swarmv1.PortConfig {
	var out []swarmv1.PortConfig
	for i, p := range ports {
		key := fmt.Sprintf("ports[%d]", i)
		if p.Target < 1 || p.Target > 65535 {
			c.fail(key, "target port %d is not between 1 and 65535", p.Target)
			continue
		}
		protocol, ok := swarmsyntax.Protocol(p.Protocol)
		if !ok {
			c.fail(key, "invalid protocol %q: must be tcp, udp or sctp", p.Protocol)
			continue
		}
		mode, ok := swarmsyntax.PublishMode(p.Mode)
		if !ok {
			c.fail(key, "invalid publish mode %q: must be ingress or host", p.Mode)
			continue
		}
		if w := swarmsyntax.IgnoredHostIP(p.HostIP, p.Published, strconv.Itoa(int(p.Target)), protocol); w != "" {
			c.warnings = append(c.warnings, w)
		}
		first, last, err := swarmsyntax.PortRange(p.Published)
		if err != nil {
			c.fail(key, "invalid published port %q: %v", p.Published, err)
			continue
		}
		for port := first; port <= last; port++ {
			out = append(out, swarmv1.PortConfig{Target: int32(p.Target), Published: port, Protocol: protocol, Mode: mode})
		}
	}
	return out
}

// networks are the service's networks, sorted, with their aliases; none when the service is
// only on the implicit default network (the Stack controller attaches it there).
func (c *serviceConverter) networks(nets map[string]*types.ServiceNetworkConfig) []swarmv1.NetworkAttachment {
	if len(nets) == 1 {
		if cfg, ok := nets["default"]; ok && (cfg == nil || len(cfg.Aliases) == 0) {
			return nil
		}
	}
	var out []swarmv1.NetworkAttachment
	for _, n := range sortedKeys(nets) {
		a := swarmv1.NetworkAttachment{Name: n}
		if cfg := nets[n]; cfg != nil {
			a.Aliases = cfg.Aliases
			var ignored []string
			if cfg.Ipv4Address != "" {
				ignored = append(ignored, "ipv4_address")
			}
			if cfg.Ipv6Address != "" {
				ignored = append(ignored, "ipv6_address")
			}
			if len(cfg.DriverOpts) > 0 {
				ignored = append(ignored, "driver_opts")
			}
			if cfg.MacAddress != "" {
				ignored = append(ignored, "mac_address")
			}
			if len(cfg.LinkLocalIPs) > 0 {
				ignored = append(ignored, "link_local_ips")
			}
			if len(ignored) > 0 {
				c.warn("networks.%s: ignoring %s: kubeswarm has no equivalent", n, strings.Join(ignored, ", "))
			}
		}
		out = append(out, a)
	}
	return out
}

// mounts follow docker's cli/compose/convert/volume.go; the service's short `tmpfs` list
// (which docker silently drops) becomes tmpfs mounts too.
func (c *serviceConverter) mounts(vols []types.ServiceVolumeConfig, tmpfs []string) []swarmv1.Mount {
	var out []swarmv1.Mount
	for i, v := range vols {
		key := fmt.Sprintf("volumes[%d]", i)
		m := swarmv1.Mount{Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		optionsOf := func(kind string) {
			if v.Volume != nil && kind != "volume" {
				c.fail(key, "volume options are incompatible with type %s", kind)
			}
			if v.Bind != nil && kind != "bind" {
				c.fail(key, "bind options are incompatible with type %s", kind)
			}
			if v.Tmpfs != nil && kind != "tmpfs" {
				c.fail(key, "tmpfs options are incompatible with type %s", kind)
			}
		}
		switch v.Type {
		case types.VolumeTypeVolume, "":
			m.Type = swarmv1.MountVolume
			optionsOf("volume")
			if v.Volume != nil && (v.Volume.NoCopy || v.Volume.Subpath != "") {
				m.Volume = &swarmv1.VolumeOptions{NoCopy: v.Volume.NoCopy, Subpath: v.Volume.Subpath}
			}
		case types.VolumeTypeBind:
			m.Type = swarmv1.MountBind
			optionsOf("bind")
			if v.Source == "" {
				c.fail(key, "invalid bind source, source cannot be empty")
			}
			if c.inProject(v.Source) {
				c.binds = append(c.binds, projectBind{key: key, source: v.Source, target: v.Target, readOnly: v.ReadOnly})
				continue
			}
			if v.Bind != nil && v.Bind.Propagation != "" {
				m.Bind = &swarmv1.BindOptions{Propagation: v.Bind.Propagation}
			}
			if v.Bind != nil && v.Bind.SELinux != "" {
				c.warn("%s: ignoring the SELinux relabelling %q: kubeswarm has no equivalent", key, v.Bind.SELinux)
			}
		case types.VolumeTypeTmpfs:
			m.Type = swarmv1.MountTmpfs
			optionsOf("tmpfs")
			if v.Source != "" {
				c.fail(key, "invalid tmpfs source, source must be empty")
			}
			if v.Tmpfs != nil {
				var mode *int32
				if v.Tmpfs.Mode != 0 {
					mode = ptr.To(swarmsyntax.OctalDigits(v.Tmpfs.Mode))
				}
				m.Tmpfs = c.tmpfsOptions(key, v.Tmpfs.Size, mode)
			}
		default:
			c.fail(key, "volume type %q is not supported: use volume, bind or tmpfs", v.Type)
			continue
		}
		if !strings.HasPrefix(v.Target, "/") {
			c.fail(key, "target %q must be an absolute path", v.Target)
		}
		out = append(out, m)
	}
	for _, t := range tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		m := swarmv1.Mount{Type: swarmv1.MountTmpfs, Target: target}
		var size types.UnitBytes
		var mode *int32
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "":
			case "size":
				if err := size.DecodeMapstructure(v); err != nil {
					c.fail("tmpfs", "%s: invalid size %q", t, v)
				}
			case "mode":
				md, err := swarmsyntax.OctalMode(v, 0o7777)
				if err != nil {
					c.fail("tmpfs", "%s: invalid mode %q", t, v)
					continue
				}
				mode = ptr.To(swarmsyntax.OctalDigits(md))
			case "ro":
				m.ReadOnly = true
			case "rw":
			default:
				c.warn("tmpfs: ignoring option %q of %s", k, target)
			}
		}
		m.Tmpfs = c.tmpfsOptions("tmpfs", size, mode)
		if !strings.HasPrefix(target, "/") {
			c.fail("tmpfs", "target %q must be an absolute path", target)
		}
		out = append(out, m)
	}
	return out
}

func (c *serviceConverter) tmpfsOptions(key string, size types.UnitBytes, mode *int32) *swarmv1.TmpfsOptions {
	o := &swarmv1.TmpfsOptions{Mode: mode}
	q, err := swarmsyntax.MemoryQuantity(size)
	if err != nil {
		c.fail(key, "tmpfs size: %v", err)
	}
	o.Size = q
	if o.Size == nil && o.Mode == nil {
		return nil
	}
	return o
}

type fileRef = types.FileReferenceConfig

func secretRefs(refs []types.ServiceSecretConfig) []fileRef {
	out := make([]fileRef, len(refs))
	for i, r := range refs {
		out[i] = fileRef(r)
	}
	return out
}

func configRefs(refs []types.ServiceConfigObjConfig) []fileRef {
	out := make([]fileRef, len(refs))
	for i, r := range refs {
		out[i] = fileRef(r)
	}
	return out
}

// files are the service's secrets (dir "/run/secrets/") or configs (dir "/"), sorted by source
// as docker sorts them. A target that is the default (compose-go writes "/run/secrets/<source>"
// for secrets) is left out, so that the Service controller mounts it the default way.
func (c *serviceConverter) files(key, dir string, refs []fileRef) []swarmv1.FileReference {
	var out []swarmv1.FileReference
	for _, r := range refs {
		f := swarmv1.FileReference{Source: r.Source, Target: r.Target, UID: r.UID, GID: r.GID}
		if rel, ok := strings.CutPrefix(f.Target, dir); ok && rel != "" && !strings.Contains(rel, "/") {
			f.Target = rel
		}
		if f.Target == f.Source {
			f.Target = ""
		}
		if r.Mode != nil {
			if *r.Mode < 0 || *r.Mode > 0o777 {
				c.fail(key, "%s: mode %o is not a file mode (0 to 0777)", r.Source, *r.Mode)
			} else {
				f.Mode = ptr.To(int32(*r.Mode))
			}
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

func ulimits(m map[string]*types.UlimitsConfig) []swarmv1.Ulimit {
	var out []swarmv1.Ulimit
	for _, name := range sortedKeys(m) {
		u := m[name]
		if u == nil {
			continue
		}
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		out = append(out, swarmv1.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	return out
}

func logging(l *types.LoggingConfig) *swarmv1.Logging {
	if l == nil || (l.Driver == "" && len(l.Options) == 0) {
		return nil
	}
	return &swarmv1.Logging{Driver: l.Driver, Options: nonEmpty(l.Options)}
}

// effectiveCapAddCapDrop is docker's opts.EffectiveCapAddCapDrop: capabilities upper-cased with
// the CAP_ prefix, ALL trumping the others, an added capability not dropped, sorted.
func effectiveCapAddCapDrop(add, drop []string) (capAdd, capDrop []string) {
	normalize := func(caps []string) map[string]bool {
		m := map[string]bool{}
		for _, c := range caps {
			c = strings.ToUpper(strings.TrimSpace(c))
			if c != "ALL" && c != "RESET" && !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			m[c] = true
		}
		if m["ALL"] {
			m = map[string]bool{"ALL": true}
		}
		return m
	}
	addCaps, dropCaps := normalize(add), normalize(drop)
	for c := range dropCaps {
		if !addCaps[c] && c != "RESET" {
			capDrop = append(capDrop, c)
		}
	}
	for c := range addCaps {
		if c != "RESET" {
			capAdd = append(capAdd, c)
		}
	}
	sort.Strings(capAdd)
	sort.Strings(capDrop)
	return capAdd, capDrop
}

// deploy converts the deploy section: mode and replicas as docker's convertDeployMode, the
// update and rollback configs as convertUpdateConfig, the restart policy as
// convertRestartPolicy (with the service's `restart` when deploy.restart_policy is not set).
func (c *serviceConverter) deploy(spec *swarmv1.ServiceSpec, s types.ServiceConfig) {
	d := s.Deploy
	if d == nil {
		d = &types.DeployConfig{}
	}
	replicas := d.Replicas
	if replicas == nil {
		replicas = s.Scale
	}
	switch mode := swarmv1.ServiceMode(d.Mode); mode {
	case "", swarmv1.ModeReplicated, swarmv1.ModeReplicatedJob:
		if mode != "" {
			spec.Mode = mode
		}
		if replicas != nil {
			if *replicas < 0 || *replicas > 1<<31-1 {
				c.fail("deploy.replicas", "%d is not a number of replicas", *replicas)
			} else {
				spec.Replicas = ptr.To(int32(*replicas))
			}
		}
	case swarmv1.ModeGlobal, swarmv1.ModeGlobalJob:
		spec.Mode = mode
		if d.Replicas != nil {
			spec.Replicas = ptr.To(int32(0)) // refused by swarmsyntax.ValidateSpec
		}
	default:
		c.fail("deploy.mode", "unknown mode: %s", d.Mode)
	}
	spec.Labels = nonEmpty(d.Labels)
	switch em := strings.ToLower(d.EndpointMode); em {
	case "":
	case "vip", "dnsrr":
		spec.EndpointMode = em
	default:
		c.fail("deploy.endpoint_mode", "unknown endpoint mode %q: must be vip or dnsrr", d.EndpointMode)
	}
	spec.UpdateConfig = c.updateConfig("deploy.update_config", d.UpdateConfig)
	spec.RollbackConfig = c.updateConfig("deploy.rollback_config", d.RollbackConfig)
	spec.RestartPolicy = c.restartPolicy(s.Restart, d.RestartPolicy)
	spec.Resources = c.resources(d.Resources)
	spec.Placement = c.placement(d.Placement)
}

func (c *serviceConverter) updateConfig(key string, u *types.UpdateConfig) *swarmv1.UpdateConfig {
	if u == nil {
		return nil
	}
	out := &swarmv1.UpdateConfig{
		Delay:           swarmsyntax.NonZeroDuration(u.Delay),
		Monitor:         swarmsyntax.NonZeroDuration(u.Monitor),
		MaxFailureRatio: swarmsyntax.Ratio(u.MaxFailureRatio),
		FailureAction:   swarmv1.FailureAction(u.FailureAction),
		Order:           swarmv1.UpdateOrder(u.Order),
	}
	if u.Parallelism != nil {
		if *u.Parallelism > 1<<31-1 {
			c.fail(key+".parallelism", "%d is too large", *u.Parallelism)
		} else {
			out.Parallelism = ptr.To(int32(*u.Parallelism))
		}
	}
	switch out.FailureAction {
	case "", swarmv1.FailureActionPause, swarmv1.FailureActionContinue, swarmv1.FailureActionRollback:
	default:
		c.fail(key+".failure_action", "unknown failure action %q: must be pause, continue or rollback", u.FailureAction)
	}
	switch out.Order {
	case "", swarmv1.OrderStopFirst, swarmv1.OrderStartFirst:
	default:
		c.fail(key+".order", "unknown order %q: must be stop-first or start-first", u.Order)
	}
	if u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1 {
		c.fail(key+".max_failure_ratio", "%s is not between 0 and 1", out.MaxFailureRatio)
	}
	return out
}

func (c *serviceConverter) restartPolicy(restart string, p *types.RestartPolicy) *swarmv1.RestartPolicy {
	if p != nil {
		out := &swarmv1.RestartPolicy{
			Condition: swarmv1.RestartCondition(p.Condition),
			Delay:     swarmsyntax.Duration(p.Delay),
			Window:    swarmsyntax.Duration(p.Window),
		}
		switch out.Condition {
		case "", swarmv1.RestartNone, swarmv1.RestartOnFailure, swarmv1.RestartAny:
		default:
			c.fail("deploy.restart_policy.condition", "unknown condition %q: must be none, on-failure or any", p.Condition)
		}
		if p.MaxAttempts != nil {
			if *p.MaxAttempts > 1<<31-1 {
				c.fail("deploy.restart_policy.max_attempts", "%d is too large", *p.MaxAttempts)
			} else {
				out.MaxAttempts = ptr.To(int32(*p.MaxAttempts))
			}
		}
		return out
	}
	if restart == "" {
		return nil
	}
	name, count, _ := strings.Cut(restart, ":")
	var attempts *int32
	if count != "" {
		n, err := strconv.ParseInt(count, 10, 32)
		if err != nil || n < 0 {
			c.fail("restart", "invalid restart policy: maximum retry count must be a non-negative number")
			return nil
		}
		if n > 0 {
			attempts = ptr.To(int32(n))
		}
	}
	switch name {
	case "no":
		return nil
	case "always", "unless-stopped":
		return &swarmv1.RestartPolicy{Condition: swarmv1.RestartAny, MaxAttempts: attempts}
	case "on-failure":
		return &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure, MaxAttempts: attempts}
	default:
		c.fail("restart", "invalid restart policy: unknown policy '%s' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')", name)
		return nil
	}
}

func (c *serviceConverter) resources(r types.Resources) *swarmv1.Resources {
	out := &swarmv1.Resources{}
	if l := r.Limits; l != nil {
		lim := &swarmv1.ResourceLimits{}
		var err error
		if lim.CPUs, err = swarmsyntax.CPUsQuantity(l.NanoCPUs); err != nil {
			c.fail("deploy.resources.limits.cpus", "%v", err)
		}
		if lim.Memory, err = swarmsyntax.MemoryQuantity(l.MemoryBytes); err != nil {
			c.fail("deploy.resources.limits.memory", "%v", err)
		}
		if l.Pids != 0 {
			lim.Pids = ptr.To(l.Pids)
		}
		if len(l.GenericResources) > 0 {
			c.fail("deploy.resources.limits.generic_resources", "generic resources can only be reserved")
		}
		if *lim != (swarmv1.ResourceLimits{}) {
			out.Limits = lim
		}
	}
	if rs := r.Reservations; rs != nil {
		res := &swarmv1.ResourceReservations{}
		var err error
		if res.CPUs, err = swarmsyntax.CPUsQuantity(rs.NanoCPUs); err != nil {
			c.fail("deploy.resources.reservations.cpus", "%v", err)
		}
		if res.Memory, err = swarmsyntax.MemoryQuantity(rs.MemoryBytes); err != nil {
			c.fail("deploy.resources.reservations.memory", "%v", err)
		}
		res.GenericResources = append(res.GenericResources, c.devices(rs.Devices)...)
		for _, g := range rs.GenericResources {
			if d := g.DiscreteResourceSpec; d != nil {
				if d.Kind == "" || d.Value < 1 {
					c.fail("deploy.resources.reservations.generic_resources", "a discrete resource needs a kind and a value of at least 1")
					continue
				}
				res.GenericResources = append(res.GenericResources, swarmv1.GenericResource{Kind: d.Kind, Value: d.Value})
			}
		}
		res.GenericResources = mergeKinds(res.GenericResources)
		if res.CPUs != nil || res.Memory != nil || len(res.GenericResources) > 0 {
			out.Reservations = res
		}
	}
	if out.Limits == nil && out.Reservations == nil {
		return nil
	}
	return out
}

// mergeKinds adds up the generic resources of one kind (a GPU device request and a
// generic_resources entry, say): the Service lists each kind once.
func mergeKinds(rs []swarmv1.GenericResource) []swarmv1.GenericResource {
	var out []swarmv1.GenericResource
	at := map[string]int{}
	for _, r := range rs {
		if i, ok := at[r.Kind]; ok {
			out[i].Value += r.Value
			continue
		}
		at[r.Kind] = len(out)
		out = append(out, r)
	}
	return out
}

// devices are compose's device requests (docker compose's GPU syntax, which docker stack deploy
// ignores): one with the gpu capability asks for its count of the driver's extended resource
// (nvidia.com/gpu), as a generic resource. Kubernetes asks for a number of GPUs: `count: all`
// (or no count) asks for one, and device_ids for as many as they name, with a warning.
func (c *serviceConverter) devices(devs []types.DeviceRequest) []swarmv1.GenericResource {
	const key = "deploy.resources.reservations.devices"
	var out []swarmv1.GenericResource
	for i, d := range devs {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !slices.Contains(d.Capabilities, "gpu") {
			c.warn("%s: ignoring capabilities %s: only gpu devices have a Kubernetes equivalent", k, strings.Join(d.Capabilities, ", "))
			continue
		}
		name, err := swarmsyntax.GPUResource(d.Driver)
		if err != nil {
			c.fail(k+".driver", "%v", err)
			continue
		}
		n := int64(d.Count)
		switch {
		case len(d.IDs) > 0:
			n = int64(len(d.IDs))
			c.warn("%s: device_ids %s: Kubernetes' device plugin picks the GPUs; %d %s asked for", k, strings.Join(d.IDs, ", "), n, name)
		case n <= 0:
			n = 1
			c.warn("%s: count all: Kubernetes asks for a number of GPUs; 1 %s is asked for (set count to ask for more)", k, name)
		}
		out = append(out, swarmv1.GenericResource{Kind: name, Value: n})
	}
	return out
}

func (c *serviceConverter) placement(p types.Placement) *swarmv1.Placement {
	out := &swarmv1.Placement{Constraints: p.Constraints}
	for _, pref := range p.Preferences {
		out.Preferences = append(out.Preferences, swarmv1.PlacementPreference{Spread: pref.Spread})
	}
	if p.MaxReplicas > 0 {
		if p.MaxReplicas > 1<<31-1 {
			c.fail("deploy.placement.max_replicas_per_node", "%d is too large", p.MaxReplicas)
		} else {
			out.MaxReplicasPerNode = ptr.To(int32(p.MaxReplicas))
		}
	}
	if len(out.Constraints) == 0 && len(out.Preferences) == 0 && out.MaxReplicasPerNode == nil {
		return nil
	}
	return out
}
