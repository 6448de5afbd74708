package cli

import (
	"regexp"
	"slices"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

var regexpUser = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)

func removeString(list []string, s string) []string {
	return slices.DeleteFunc(list, func(x string) bool { return x == s })
}

func addStrings(list []string, add []string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

func nilIfEmpty[T any](l []T) []T {
	if len(l) == 0 {
		return nil
	}
	return l
}

func setEnv(env []swarmv1.EnvVar, e swarmv1.EnvVar) []swarmv1.EnvVar {
	for i := range env {
		if env[i].Name == e.Name {
			env[i] = e
			return env
		}
	}
	return append(env, e)
}

// applyLists applies the list flags: on create they set the lists, on update the -add variants
// add (or replace the entry with the same key) and the -rm variants remove, as docker does.
func (o *serviceFlags) applyLists(spec *swarmv1.ServiceSpec) error {
	// Environment: --env-file first, then --env, so that -e wins (docker's order).
	for _, f := range o.list("env-file") {
		vars, err := swarmsyntax.ReadEnvFile(f)
		if err != nil {
			return flagError("env-file", f, err)
		}
		for _, e := range vars {
			spec.Env = setEnv(spec.Env, e)
		}
	}
	for _, name := range o.list("env-rm") {
		k, _ := swarmsyntax.ParseKeyValue(name)
		spec.Env = slices.DeleteFunc(spec.Env, func(e swarmv1.EnvVar) bool { return e.Name == k })
	}
	for _, flag := range []string{"env", "env-add"} {
		for _, s := range o.list(flag) {
			e, err := swarmsyntax.ParseEnv(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			spec.Env = setEnv(spec.Env, e)
		}
	}
	spec.Env = nilIfEmpty(spec.Env)

	spec.Labels = applyMap(spec.Labels, append(o.list("label"), o.list("label-add")...), o.list("label-rm"))
	spec.ContainerLabels = applyMap(spec.ContainerLabels, append(o.list("container-label"), o.list("container-label-add")...), o.list("container-label-rm"))
	spec.Sysctls = applyMap(spec.Sysctls, append(o.list("sysctl"), o.list("sysctl-add")...), o.list("sysctl-rm"))

	// Ports: removals match the target port and protocol, and the published port when given.
	for _, s := range o.list("publish-rm") {
		ports, err := swarmsyntax.ParsePublish(s)
		if err != nil {
			return flagError("publish-rm", s, err)
		}
		for _, rm := range ports {
			spec.Ports = slices.DeleteFunc(spec.Ports, func(p swarmv1.PortConfig) bool {
				proto := p.Protocol
				if proto == "" {
					proto = "tcp"
				}
				return p.Target == rm.Target && proto == rm.Protocol && (rm.Published == 0 || rm.Published == p.Published)
			})
		}
	}
	for _, flag := range []string{"publish", "publish-add"} {
		for _, s := range o.list(flag) {
			ports, err := swarmsyntax.ParsePublish(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			for _, p := range ports {
				// On update, a port with the same published port and protocol is replaced.
				spec.Ports = slices.DeleteFunc(spec.Ports, func(q swarmv1.PortConfig) bool {
					if flag != "publish-add" {
						return false
					}
					qp := q.Protocol
					if qp == "" {
						qp = "tcp"
					}
					return p.Published != 0 && q.Published == p.Published && qp == p.Protocol
				})
				spec.Ports = append(spec.Ports, p)
			}
		}
	}
	spec.Ports = nilIfEmpty(spec.Ports)

	for _, target := range o.list("mount-rm") {
		spec.Mounts = slices.DeleteFunc(spec.Mounts, func(m swarmv1.Mount) bool { return m.Target == target })
	}
	for _, flag := range []string{"mount", "mount-add"} {
		for _, s := range o.list(flag) {
			m, err := swarmsyntax.ParseMount(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			spec.Mounts = slices.DeleteFunc(spec.Mounts, func(x swarmv1.Mount) bool { return x.Target == m.Target })
			spec.Mounts = append(spec.Mounts, m)
		}
	}
	spec.Mounts = nilIfEmpty(spec.Mounts)

	var err error
	if spec.Secrets, err = o.applyRefs(spec.Secrets, "secret"); err != nil {
		return err
	}
	if spec.Configs, err = o.applyRefs(spec.Configs, "config"); err != nil {
		return err
	}

	for _, name := range o.list("network-rm") {
		spec.Networks = slices.DeleteFunc(spec.Networks, func(n swarmv1.NetworkAttachment) bool { return n.Name == name })
	}
	for _, flag := range []string{"network", "network-add"} {
		for _, s := range o.list(flag) {
			n, err := swarmsyntax.ParseNetwork(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			spec.Networks = slices.DeleteFunc(spec.Networks, func(x swarmv1.NetworkAttachment) bool { return x.Name == n.Name })
			spec.Networks = append(spec.Networks, n)
		}
	}
	spec.Networks = nilIfEmpty(spec.Networks)

	spec.DNS = applyList(spec.DNS, o.list("dns"), o.list("dns-add"), o.list("dns-rm"))
	spec.DNSOptions = applyList(spec.DNSOptions, o.list("dns-option"), o.list("dns-option-add"), o.list("dns-option-rm"))
	spec.DNSSearch = applyList(spec.DNSSearch, o.list("dns-search"), o.list("dns-search-add"), o.list("dns-search-rm"))
	spec.Groups = applyList(spec.Groups, o.list("group"), o.list("group-add"), o.list("group-rm"))
	for _, g := range spec.Groups {
		if !regexpUser.MatchString(g) || regexp.MustCompile(":").MatchString(g) {
			return flagError("group", g, errNumericGroup)
		}
	}
	if o.update {
		// docker service update --cap-add/--cap-drop: adding a capability takes it off the drop
		// list and the other way round.
		for _, c := range o.list("cap-add") {
			spec.CapDrop = removeString(spec.CapDrop, c)
			spec.CapAdd = addStrings(spec.CapAdd, []string{c})
		}
		for _, c := range o.list("cap-drop") {
			spec.CapAdd = removeString(spec.CapAdd, c)
			spec.CapDrop = addStrings(spec.CapDrop, []string{c})
		}
		spec.CapAdd, spec.CapDrop = nilIfEmpty(spec.CapAdd), nilIfEmpty(spec.CapDrop)
	} else {
		spec.CapAdd = applyList(spec.CapAdd, o.list("cap-add"), nil, nil)
		spec.CapDrop = applyList(spec.CapDrop, o.list("cap-drop"), nil, nil)
	}

	for _, s := range o.list("host-rm") {
		h, _ := swarmsyntax.ParseHost(s)
		name := h.Hostname
		if name == "" {
			name = s
		}
		spec.ExtraHosts = slices.DeleteFunc(spec.ExtraHosts, func(x swarmv1.HostEntry) bool {
			return x.Hostname == name && (h.IP == "" || h.IP == x.IP)
		})
	}
	for _, flag := range []string{"host", "host-add"} {
		for _, s := range o.list(flag) {
			h, err := swarmsyntax.ParseHost(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			spec.ExtraHosts = append(spec.ExtraHosts, h)
		}
	}
	spec.ExtraHosts = nilIfEmpty(spec.ExtraHosts)

	for _, name := range o.list("ulimit-rm") {
		spec.Ulimits = slices.DeleteFunc(spec.Ulimits, func(u swarmv1.Ulimit) bool { return u.Name == name })
	}
	for _, flag := range []string{"ulimit", "ulimit-add"} {
		for _, s := range o.list(flag) {
			u, err := swarmsyntax.ParseUlimit(s)
			if err != nil {
				return flagError(flag, s, err)
			}
			spec.Ulimits = slices.DeleteFunc(spec.Ulimits, func(x swarmv1.Ulimit) bool { return x.Name == u.Name })
			spec.Ulimits = append(spec.Ulimits, u)
		}
	}
	spec.Ulimits = nilIfEmpty(spec.Ulimits)
	return nil
}

var errNumericGroup = errorString("groups are not resolved on Kubernetes: give numeric GIDs")

type errorString string

func (e errorString) Error() string { return string(e) }

func (o *serviceFlags) applyRefs(refs []swarmv1.FileReference, kind string) ([]swarmv1.FileReference, error) {
	for _, name := range o.list(kind + "-rm") {
		refs = slices.DeleteFunc(refs, func(r swarmv1.FileReference) bool { return r.Source == name })
	}
	for _, flag := range []string{kind, kind + "-add"} {
		for _, s := range o.list(flag) {
			r, err := swarmsyntax.ParseFileReference(s)
			if err != nil {
				return nil, flagError(flag, s, err)
			}
			target := func(x swarmv1.FileReference) string {
				if x.Target != "" {
					return x.Target
				}
				return x.Source
			}
			refs = slices.DeleteFunc(refs, func(x swarmv1.FileReference) bool { return target(x) == target(r) })
			refs = append(refs, r)
		}
	}
	return nilIfEmpty(refs), nil
}

func applyMap(m map[string]string, add, rm []string) map[string]string {
	for _, k := range rm {
		delete(m, k)
	}
	for _, s := range add {
		k, v := swarmsyntax.ParseKeyValue(s)
		if m == nil {
			m = map[string]string{}
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func applyList(list, set, add, rm []string) []string {
	for _, r := range rm {
		list = removeString(list, r)
	}
	list = addStrings(list, set)
	list = addStrings(list, add)
	return nilIfEmpty(list)
}
