package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// listValue is a repeatable flag that, like the docker CLI's "list" options, never splits its
// values on commas.
type listValue struct {
	values []string
	kind   string
}

func (l *listValue) String() string {
	if len(l.values) == 0 {
		return ""
	}
	return "[" + strings.Join(l.values, " ") + "]"
}
func (l *listValue) Set(v string) error { l.values = append(l.values, v); return nil }
func (l *listValue) Type() string       { return l.kind }

// serviceFlags are the flags of `service create` and `service update`, kept as given; apply
// turns them into the spec.
type serviceFlags struct {
	update bool
	lists  map[string]*listValue

	name, mode, image, args                                  string
	replicas, maxConcurrent, maxPerNode                      uint64
	updateParallelism, rollbackParallelism                   uint64
	updateDelay, updateMonitor, rollbackDelay, rollbackMon   time.Duration
	updateFailureAction, updateOrder                         string
	rollbackFailureAction, rollbackOrder                     string
	updateMaxFailureRatio, rollbackMaxFailureRatio           float64
	restartCondition                                         string
	restartDelay, restartWindow                              time.Duration
	restartMaxAttempts                                       uint64
	limitCPU, limitMemory, reserveCPU, reserveMemory         string
	limitPids                                                int64
	healthCmd                                                string
	healthInterval, healthTimeout, healthStart, healthStartI time.Duration
	healthRetries                                            int
	noHealthcheck                                            bool
	endpointMode, entrypoint, workdir, user, hostname        string
	readOnly, initFlag, tty, force, rollback                 bool
	stopGracePeriod                                          time.Duration
	stopSignal, logDriver                                    string
	isolation                                                string
	oomScoreAdj                                              int64
	withRegistryAuth, noResolveImage                         bool
}

// Flags whose values are lists; update has -add/-rm variants of most.
var (
	createLists = []string{"env", "env-file", "label", "container-label", "constraint", "placement-pref",
		"generic-resource", "publish", "mount", "secret", "config", "network", "dns", "dns-option", "dns-search",
		"host", "group", "cap-add", "cap-drop", "sysctl", "ulimit", "log-opt"}
	updateLists = []string{"env-add", "env-rm", "label-add", "label-rm", "container-label-add", "container-label-rm",
		"constraint-add", "constraint-rm", "placement-pref-add", "placement-pref-rm", "generic-resource-add",
		"generic-resource-rm", "publish-add", "publish-rm", "mount-add", "mount-rm", "secret-add", "secret-rm",
		"config-add", "config-rm", "network-add", "network-rm", "dns-add", "dns-rm", "dns-option-add",
		"dns-option-rm", "dns-search-add", "dns-search-rm", "host-add", "host-rm", "group-add", "group-rm",
		"cap-add", "cap-drop", "sysctl-add", "sysctl-rm", "ulimit-add", "ulimit-rm", "log-opt"}
	listKinds = map[string]string{"publish": "port", "publish-add": "port", "publish-rm": "port", "mount": "mount",
		"mount-add": "mount", "secret": "secret", "secret-add": "secret", "config": "config", "config-add": "config",
		"network": "network", "network-add": "network", "placement-pref": "pref", "placement-pref-add": "pref",
		"placement-pref-rm": "pref", "ulimit": "ulimit", "ulimit-add": "ulimit"}
	listUsage = map[string]string{
		"env": "Set environment variables", "env-file": "Read in a file of environment variables",
		"label": "Service labels", "container-label": "Container labels", "constraint": "Placement constraints",
		"placement-pref": "Add a placement preference", "generic-resource": "User defined resources",
		"publish": "Publish a port as a node port", "mount": "Attach a filesystem mount to the service",
		"secret": "Specify secrets to expose to the service", "config": "Specify configurations to expose to the service",
		"network": "Network attachments", "dns": "Set custom DNS servers", "dns-option": "Set DNS options",
		"dns-search": "Set custom DNS search domains", "host": "Set one or more custom host-to-IP mappings (host:ip)",
		"group": "Set one or more supplementary user groups for the container", "cap-add": "Add Linux capabilities",
		"cap-drop": "Drop Linux capabilities", "sysctl": "Sysctl options", "ulimit": "Ulimit options",
		"log-opt": "Logging driver options",
	}
)

func (o *serviceFlags) list(name string) []string {
	if l, ok := o.lists[name]; ok {
		return l.values
	}
	return nil
}

func (o *serviceFlags) addFlags(fs *pflag.FlagSet) {
	o.lists = map[string]*listValue{}
	names := createLists
	if o.update {
		names = updateLists
	}
	for _, n := range names {
		kind := listKinds[n]
		if kind == "" {
			kind = "list"
		}
		l := &listValue{kind: kind}
		o.lists[n] = l
		base := strings.TrimSuffix(strings.TrimSuffix(n, "-add"), "-rm")
		usage := listUsage[base]
		switch {
		case n == "cap-add" || n == "cap-drop":
			usage = listUsage[n]
		case strings.HasSuffix(n, "-add"):
			usage = "Add or update: " + strings.ToLower(usage[:1]) + usage[1:]
		case strings.HasSuffix(n, "-rm"):
			usage = "Remove: " + strings.ToLower(usage[:1]) + usage[1:]
		}
		short := ""
		switch n {
		case "env":
			short = "e"
		case "label":
			short = "l"
		case "publish":
			short = "p"
		}
		fs.VarP(l, n, short, usage)
	}
	if !o.update {
		fs.StringVar(&o.name, "name", "", "Service name")
		fs.StringVar(&o.mode, "mode", "replicated", `Service mode ("replicated", "global", "replicated-job", "global-job")`)
		fs.StringVar(&o.endpointMode, "endpoint-mode", "vip", "Endpoint mode (vip or dnsrr)")
	} else {
		fs.StringVar(&o.image, "image", "", "Service image tag")
		fs.StringVar(&o.args, "args", "", "Service command args")
		fs.BoolVar(&o.force, "force", false, "Force update even if no changes require it")
		fs.BoolVar(&o.rollback, "rollback", false, "Rollback to previous specification")
		fs.StringVar(&o.endpointMode, "endpoint-mode", "", "Endpoint mode (vip or dnsrr)")
		// docker service update has no --mode; it is accepted here only to refuse a change with
		// docker's message.
		fs.StringVar(&o.mode, "mode", "", "Service mode (cannot be changed)")
		_ = fs.MarkHidden("mode")
	}
	fs.Uint64Var(&o.replicas, "replicas", 0, "Number of tasks")
	fs.Uint64Var(&o.maxConcurrent, "max-concurrent", 0, "Number of job tasks to run concurrently (default equal to --replicas)")
	fs.Uint64Var(&o.maxPerNode, "replicas-max-per-node", 0, "Maximum number of tasks per node (default 0 = unlimited)")
	fs.Uint64Var(&o.updateParallelism, "update-parallelism", 1, "Maximum number of tasks updated simultaneously (0 to update all at once)")
	fs.DurationVar(&o.updateDelay, "update-delay", 0, "Delay between updates (ns|us|ms|s|m|h)")
	fs.DurationVar(&o.updateMonitor, "update-monitor", 5*time.Second, "Duration after each task update to monitor for failure (ns|us|ms|s|m|h)")
	fs.StringVar(&o.updateFailureAction, "update-failure-action", "pause", `Action on update failure ("pause", "continue", "rollback")`)
	fs.Float64Var(&o.updateMaxFailureRatio, "update-max-failure-ratio", 0, "Failure rate to tolerate during an update")
	fs.StringVar(&o.updateOrder, "update-order", "stop-first", `Update order ("start-first", "stop-first")`)
	fs.Uint64Var(&o.rollbackParallelism, "rollback-parallelism", 1, "Maximum number of tasks rolled back simultaneously (0 to roll back all at once)")
	fs.DurationVar(&o.rollbackDelay, "rollback-delay", 0, "Delay between task rollbacks (ns|us|ms|s|m|h)")
	fs.DurationVar(&o.rollbackMon, "rollback-monitor", 5*time.Second, "Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h)")
	fs.StringVar(&o.rollbackFailureAction, "rollback-failure-action", "pause", `Action on rollback failure ("pause", "continue")`)
	fs.Float64Var(&o.rollbackMaxFailureRatio, "rollback-max-failure-ratio", 0, "Failure rate to tolerate during a rollback")
	fs.StringVar(&o.rollbackOrder, "rollback-order", "stop-first", `Rollback order ("start-first", "stop-first")`)
	fs.StringVar(&o.restartCondition, "restart-condition", "any", `Restart when condition is met ("none", "on-failure", "any")`)
	fs.DurationVar(&o.restartDelay, "restart-delay", 5*time.Second, "Delay between restart attempts (ns|us|ms|s|m|h)")
	fs.Uint64Var(&o.restartMaxAttempts, "restart-max-attempts", 0, "Maximum number of restarts before giving up")
	fs.DurationVar(&o.restartWindow, "restart-window", 0, "Window used to evaluate the restart policy (ns|us|ms|s|m|h)")
	fs.StringVar(&o.limitCPU, "limit-cpu", "", "Limit CPUs")
	fs.StringVar(&o.limitMemory, "limit-memory", "", "Limit Memory")
	fs.Int64Var(&o.limitPids, "limit-pids", 0, "Limit maximum number of processes (default 0 = unlimited)")
	fs.StringVar(&o.reserveCPU, "reserve-cpu", "", "Reserve CPUs")
	fs.StringVar(&o.reserveMemory, "reserve-memory", "", "Reserve Memory")
	fs.StringVar(&o.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&o.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h)")
	fs.DurationVar(&o.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h)")
	fs.IntVar(&o.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.DurationVar(&o.healthStart, "health-start-period", 0, "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)")
	fs.DurationVar(&o.healthStartI, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h)")
	fs.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVar(&o.hostname, "hostname", "", "Container hostname")
	fs.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.BoolVar(&o.initFlag, "init", false, "Use an init inside each service container to forward signals and reap processes")
	fs.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.DurationVar(&o.stopGracePeriod, "stop-grace-period", 10*time.Second, "Time to wait before force killing a container (ns|us|ms|s|m|h)")
	fs.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.StringVar(&o.logDriver, "log-driver", "", "Logging driver for service")
	fs.StringVar(&o.isolation, "isolation", "", "Service container isolation mode")
	fs.Int64Var(&o.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	fs.BoolVar(&o.withRegistryAuth, "with-registry-auth", false, "Send registry authentication details to swarm agents")
	fs.BoolVar(&o.noResolveImage, "no-resolve-image", false, "Do not query the registry to resolve image digest and supported platforms")
	_ = fs.MarkHidden("isolation")
	_ = fs.MarkHidden("oom-score-adj")
}

// changed tells whether a flag was given on the command line.
type changedFunc func(name string) bool

// apply sets the flags that were given onto spec; it changes nothing else. It is pure apart from
// reading --env-file files.
func (o *serviceFlags) apply(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	if o.update && changed("image") {
		spec.Image = o.image
	}
	if o.update && changed("args") {
		a, err := swarmsyntax.ShellSplit(o.args)
		if err != nil {
			return flagError("args", o.args, err)
		}
		spec.Command = a
	}
	if o.update && changed("mode") && swarmv1.ServiceMode(o.mode) != orDefaultMode(spec.Mode) {
		return errors.New("service mode change is not allowed")
	}
	if !o.update && changed("mode") {
		switch o.mode {
		case "replicated", "global", "replicated-job", "global-job":
			spec.Mode = swarmv1.ServiceMode(o.mode)
		default:
			return fmt.Errorf("invalid replicated mode %q", o.mode)
		}
	}
	mode := spec.Mode
	if mode == "" {
		mode = swarmv1.ModeReplicated
	}
	if changed("replicas") {
		if mode != swarmv1.ModeReplicated && mode != swarmv1.ModeReplicatedJob {
			return errors.New(swarmsyntax.MsgReplicas)
		}
		spec.Replicas = ptr.To(int32(o.replicas))
	}
	if changed("max-concurrent") {
		if mode != swarmv1.ModeReplicatedJob {
			return errors.New(swarmsyntax.MsgConcurrent)
		}
		spec.MaxConcurrent = ptr.To(int32(o.maxConcurrent))
	}
	if mode.IsJob() {
		for _, f := range []string{"update-parallelism", "update-delay", "update-monitor", "update-failure-action",
			"update-max-failure-ratio", "update-order", "rollback-parallelism", "rollback-delay", "rollback-monitor",
			"rollback-failure-action", "rollback-max-failure-ratio", "rollback-order"} {
			if changed(f) {
				return fmt.Errorf("update and rollback configuration is not supported for jobs")
			}
		}
	}
	if err := o.applyPlacement(spec, changed, mode); err != nil {
		return err
	}
	if err := o.applyUpdateConfigs(spec, changed); err != nil {
		return err
	}
	if err := o.applyRestartAndResources(spec, changed); err != nil {
		return err
	}
	if err := o.applyHealth(spec, changed); err != nil {
		return err
	}
	if err := o.applyContainer(spec, changed); err != nil {
		return err
	}
	if err := o.applyLists(spec); err != nil {
		return err
	}
	if o.update && o.force {
		spec.ForceUpdate++
	}
	return nil
}

func (o *serviceFlags) applyPlacement(spec *swarmv1.ServiceSpec, changed changedFunc, mode swarmv1.ServiceMode) error {
	pl := spec.Placement
	if pl == nil {
		pl = &swarmv1.Placement{}
	}
	if changed("replicas-max-per-node") {
		if mode != swarmv1.ModeReplicated && mode != swarmv1.ModeReplicatedJob {
			return errors.New(swarmsyntax.MsgMaxPerNode)
		}
		pl.MaxReplicasPerNode = ptr.To(int32(o.maxPerNode))
	}
	for _, flag := range []string{"constraint", "constraint-add"} {
		for _, c := range o.list(flag) {
			if _, err := swarmsyntax.ParseConstraint(c); err != nil {
				return flagError(flag, c, err)
			}
			pl.Constraints = removeString(pl.Constraints, c)
			pl.Constraints = append(pl.Constraints, c)
		}
	}
	for _, c := range o.list("constraint-rm") {
		pl.Constraints = removeString(pl.Constraints, c)
	}
	for _, p := range o.list("placement-pref-rm") {
		pp, err := swarmsyntax.ParsePlacementPref(p)
		if err != nil {
			return flagError("placement-pref-rm", p, err)
		}
		pl.Preferences = slices.DeleteFunc(pl.Preferences, func(x swarmv1.PlacementPreference) bool { return x == pp })
	}
	for _, flag := range []string{"placement-pref", "placement-pref-add"} {
		for _, p := range o.list(flag) {
			pp, err := swarmsyntax.ParsePlacementPref(p)
			if err != nil {
				return flagError(flag, p, err)
			}
			pl.Preferences = append(pl.Preferences, pp)
		}
	}
	if len(pl.Constraints) == 0 {
		pl.Constraints = nil
	}
	if len(pl.Preferences) == 0 {
		pl.Preferences = nil
	}
	if pl.MaxReplicasPerNode == nil && pl.Constraints == nil && pl.Preferences == nil {
		pl = nil
	}
	spec.Placement = pl
	return nil
}

func validateFailureAction(flag, v string, allowRollback bool) (swarmv1.FailureAction, error) {
	switch v {
	case "pause", "continue":
		return swarmv1.FailureAction(v), nil
	case "rollback":
		if allowRollback {
			return swarmv1.FailureActionRollback, nil
		}
	}
	if allowRollback {
		return "", flagError(flag, v, fmt.Errorf(`must be "pause", "continue" or "rollback"`))
	}
	return "", flagError(flag, v, fmt.Errorf(`must be "pause" or "continue"`))
}

func validateOrder(flag, v string) (swarmv1.UpdateOrder, error) {
	if v != "stop-first" && v != "start-first" {
		return "", flagError(flag, v, fmt.Errorf(`must be "start-first" or "stop-first"`))
	}
	return swarmv1.UpdateOrder(v), nil
}

func formatRatio(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (o *serviceFlags) applyUpdateConfigs(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	for _, prefix := range []string{"update", "rollback"} {
		target := &spec.UpdateConfig
		par, delay, mon, fa, ratio, order := o.updateParallelism, o.updateDelay, o.updateMonitor, o.updateFailureAction, o.updateMaxFailureRatio, o.updateOrder
		if prefix == "rollback" {
			target = &spec.RollbackConfig
			par, delay, mon, fa, ratio, order = o.rollbackParallelism, o.rollbackDelay, o.rollbackMon, o.rollbackFailureAction, o.rollbackMaxFailureRatio, o.rollbackOrder
		}
		any := false
		for _, f := range []string{"parallelism", "delay", "monitor", "failure-action", "max-failure-ratio", "order"} {
			any = any || changed(prefix+"-"+f)
		}
		if !any {
			continue
		}
		uc := *target
		if uc == nil {
			uc = &swarmv1.UpdateConfig{}
		}
		if changed(prefix + "-parallelism") {
			uc.Parallelism = ptr.To(int32(par))
		}
		if changed(prefix + "-delay") {
			uc.Delay = &metav1.Duration{Duration: delay}
		}
		if changed(prefix + "-monitor") {
			uc.Monitor = &metav1.Duration{Duration: mon}
		}
		if changed(prefix + "-failure-action") {
			a, err := validateFailureAction(prefix+"-failure-action", fa, prefix == "update")
			if err != nil {
				return err
			}
			uc.FailureAction = a
		}
		if changed(prefix + "-max-failure-ratio") {
			if ratio < 0 || ratio > 1 {
				return flagError(prefix+"-max-failure-ratio", formatRatio(ratio), fmt.Errorf("must be between 0 and 1"))
			}
			uc.MaxFailureRatio = formatRatio(ratio)
		}
		if changed(prefix + "-order") {
			ord, err := validateOrder(prefix+"-order", order)
			if err != nil {
				return err
			}
			uc.Order = ord
		}
		*target = uc
	}
	return nil
}

func (o *serviceFlags) applyRestartAndResources(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	if changed("restart-condition") || changed("restart-delay") || changed("restart-max-attempts") || changed("restart-window") {
		rp := spec.RestartPolicy
		if rp == nil {
			rp = &swarmv1.RestartPolicy{}
		}
		if changed("restart-condition") {
			switch o.restartCondition {
			case "none", "on-failure", "any":
				rp.Condition = swarmv1.RestartCondition(o.restartCondition)
			default:
				return flagError("restart-condition", o.restartCondition, fmt.Errorf(`must be "none", "on-failure" or "any"`))
			}
		}
		if changed("restart-delay") {
			rp.Delay = &metav1.Duration{Duration: o.restartDelay}
		}
		if changed("restart-max-attempts") {
			rp.MaxAttempts = ptr.To(int32(o.restartMaxAttempts))
		}
		if changed("restart-window") {
			rp.Window = &metav1.Duration{Duration: o.restartWindow}
		}
		spec.RestartPolicy = rp
	}
	res := spec.Resources
	if res == nil {
		res = &swarmv1.Resources{}
	}
	lim, rsv := res.Limits, res.Reservations
	if lim == nil {
		lim = &swarmv1.ResourceLimits{}
	}
	if rsv == nil {
		rsv = &swarmv1.ResourceReservations{}
	}
	if changed("limit-cpu") {
		q, err := swarmsyntax.CPUs(o.limitCPU)
		if err != nil {
			return flagError("limit-cpu", o.limitCPU, err)
		}
		lim.CPUs = q
		if q.IsZero() {
			lim.CPUs = nil
		}
	}
	if changed("limit-memory") {
		q, err := swarmsyntax.Memory(o.limitMemory)
		if err != nil {
			return flagError("limit-memory", o.limitMemory, err)
		}
		lim.Memory = q
		if q.IsZero() {
			lim.Memory = nil
		}
	}
	if changed("limit-pids") {
		lim.Pids = ptr.To(o.limitPids)
		if o.limitPids == 0 {
			lim.Pids = nil
		}
	}
	if changed("reserve-cpu") {
		q, err := swarmsyntax.CPUs(o.reserveCPU)
		if err != nil {
			return flagError("reserve-cpu", o.reserveCPU, err)
		}
		rsv.CPUs = q
		if q.IsZero() {
			rsv.CPUs = nil
		}
	}
	if changed("reserve-memory") {
		q, err := swarmsyntax.Memory(o.reserveMemory)
		if err != nil {
			return flagError("reserve-memory", o.reserveMemory, err)
		}
		rsv.Memory = q
		if q.IsZero() {
			rsv.Memory = nil
		}
	}
	for _, flag := range []string{"generic-resource", "generic-resource-add"} {
		for _, g := range o.list(flag) {
			gr, err := swarmsyntax.ParseGenericResource(g)
			if err != nil {
				return flagError(flag, g, err)
			}
			rsv.GenericResources = slices.DeleteFunc(rsv.GenericResources, func(x swarmv1.GenericResource) bool { return x.Kind == gr.Kind })
			rsv.GenericResources = append(rsv.GenericResources, gr)
		}
	}
	for _, g := range o.list("generic-resource-rm") {
		kind, _ := swarmsyntax.ParseKeyValue(g)
		rsv.GenericResources = slices.DeleteFunc(rsv.GenericResources, func(x swarmv1.GenericResource) bool { return x.Kind == kind })
	}
	if len(rsv.GenericResources) == 0 {
		rsv.GenericResources = nil
	}
	res.Limits, res.Reservations = lim, rsv
	if *lim == (swarmv1.ResourceLimits{}) {
		res.Limits = nil
	}
	if rsv.CPUs == nil && rsv.Memory == nil && rsv.GenericResources == nil {
		res.Reservations = nil
	}
	spec.Resources = res
	if res.Limits == nil && res.Reservations == nil {
		spec.Resources = nil
	}
	return nil
}

func (o *serviceFlags) applyHealth(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	healthFlags := []string{"health-cmd", "health-interval", "health-timeout", "health-retries", "health-start-period", "health-start-interval"}
	anyHealth := false
	for _, f := range healthFlags {
		anyHealth = anyHealth || changed(f)
	}
	if o.noHealthcheck {
		if anyHealth {
			return fmt.Errorf("--no-healthcheck conflicts with --health-* options")
		}
		spec.Healthcheck = &swarmv1.Healthcheck{Disable: true}
		return nil
	}
	if !anyHealth {
		return nil
	}
	hc := spec.Healthcheck
	if hc == nil || hc.Disable {
		hc = &swarmv1.Healthcheck{}
	}
	if changed("health-cmd") {
		hc.Test = nil
		if o.healthCmd != "" {
			hc.Test = []string{"CMD-SHELL", o.healthCmd}
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		dst  **metav1.Duration
	}{{"health-interval", o.healthInterval, &hc.Interval}, {"health-timeout", o.healthTimeout, &hc.Timeout},
		{"health-start-period", o.healthStart, &hc.StartPeriod}, {"health-start-interval", o.healthStartI, &hc.StartInterval}} {
		if !changed(d.flag) {
			continue
		}
		if d.v != 0 && d.v < time.Millisecond {
			return flagError(d.flag, d.v.String(), fmt.Errorf("must be at least 1ms"))
		}
		if d.v < 0 {
			return flagError(d.flag, d.v.String(), fmt.Errorf("must not be negative"))
		}
		*d.dst = &metav1.Duration{Duration: d.v}
		if d.v == 0 {
			*d.dst = nil
		}
	}
	if changed("health-retries") {
		if o.healthRetries < 0 {
			return flagError("health-retries", strconv.Itoa(o.healthRetries), fmt.Errorf("must not be negative"))
		}
		hc.Retries = ptr.To(int32(o.healthRetries))
		if o.healthRetries == 0 {
			hc.Retries = nil
		}
	}
	spec.Healthcheck = hc
	return nil
}

func (o *serviceFlags) applyContainer(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	if changed("entrypoint") {
		e, err := swarmsyntax.ShellSplit(o.entrypoint)
		if err != nil {
			return flagError("entrypoint", o.entrypoint, err)
		}
		spec.Entrypoint = e
	}
	if changed("workdir") {
		spec.WorkingDir = o.workdir
	}
	if changed("user") {
		if o.user != "" && !regexpUser.MatchString(o.user) {
			return flagError("user", o.user, fmt.Errorf("user names are not resolved on Kubernetes: give a numeric UID[:GID]"))
		}
		spec.User = o.user
	}
	if changed("hostname") {
		spec.Hostname = o.hostname
	}
	if changed("endpoint-mode") {
		if o.endpointMode != "vip" && o.endpointMode != "dnsrr" {
			return flagError("endpoint-mode", o.endpointMode, fmt.Errorf("must be vip or dnsrr"))
		}
		spec.EndpointMode = o.endpointMode
	}
	if changed("read-only") {
		spec.ReadOnly = o.readOnly
	}
	if changed("init") {
		spec.Init = ptr.To(o.initFlag)
	}
	if changed("tty") {
		spec.TTY = o.tty
	}
	if changed("stop-grace-period") {
		spec.StopGracePeriod = &metav1.Duration{Duration: o.stopGracePeriod}
	}
	if changed("stop-signal") {
		spec.StopSignal = o.stopSignal
	}
	if changed("log-driver") || len(o.list("log-opt")) > 0 {
		lg := spec.Logging
		if lg == nil {
			lg = &swarmv1.Logging{}
		}
		if changed("log-driver") {
			lg.Driver = o.logDriver
		}
		for _, opt := range o.list("log-opt") {
			k, v := swarmsyntax.ParseKeyValue(opt)
			if lg.Options == nil {
				lg.Options = map[string]string{}
			}
			lg.Options[k] = v
		}
		spec.Logging = lg
	}
	return nil
}

// warnings say which of the given flags Kubernetes cannot honour, so that nothing is dropped
// silently; the operator reports the same in the Service's Honored condition.
func (o *serviceFlags) warnings(spec *swarmv1.ServiceSpec, changed changedFunc) []string {
	var out []string
	ignored := func(flag, why string) {
		if changed(flag) || len(o.list(flag)) > 0 {
			out = append(out, fmt.Sprintf("--%s is ignored: %s", flag, why))
		}
	}
	ignored("ulimit", "Kubernetes has no per-container ulimits")
	ignored("ulimit-add", "Kubernetes has no per-container ulimits")
	ignored("limit-pids", "Kubernetes limits processes per node, not per container")
	ignored("stop-signal", "Kubernetes stops containers with the image's STOPSIGNAL")
	ignored("isolation", "Windows isolation modes do not exist on Kubernetes")
	ignored("oom-score-adj", "Kubernetes sets the OOM score from the pod's QoS class")
	if (changed("log-driver") || len(o.list("log-opt")) > 0) && spec.Logging != nil && spec.Logging.Driver != "" && spec.Logging.Driver != "json-file" {
		out = append(out, "--log-driver is ignored: Kubernetes keeps container logs itself")
	}
	for _, flag := range []string{"publish", "publish-add"} {
		for _, v := range o.list(flag) {
			if w := swarmsyntax.PublishWarning(v); w != "" {
				out = append(out, w)
			}
		}
	}
	if n := translate.RestartNote(spec); n != "" && changed("restart-condition") {
		out = append(out, "--restart-condition: "+n)
	}
	if n := translate.RestartDelayNote(spec); n != "" && changed("restart-delay") {
		out = append(out, "--restart-delay: "+n)
	}
	return out
}

// flagError is the docker CLI's (and pflag's) message for a bad flag value.
func flagError(flag, value string, err error) error {
	return fmt.Errorf("invalid argument %q for %q flag: %w", value, "--"+flag, err)
}
