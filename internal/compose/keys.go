package compose

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// What docker stack deploy does with each service key, from docker/cli
// cli/compose/types/types.go (UnsupportedProperties, DeprecatedProperties, ForbiddenProperties)
// and cli/command/stack/loader/loader.go (the words it prints).
var (
	// dockerUnsupported are ignored with "Ignoring unsupported options: …". docker still reads
	// `restart` when deploy.restart_policy is not set (convertRestartPolicy), and so does Convert.
	dockerUnsupported = []string{
		"build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links",
		"ipc", "links", "mac_address", "network_mode", "pid", "privileged", "restart",
		"security_opt", "shm_size", "userns_mode",
	}
	// dockerDeprecated are ignored with "Ignoring deprecated options: …".
	dockerDeprecated = map[string]string{
		"container_name": "Setting the container name is not supported.",
	}
	// dockerForbidden are refused with "Compose file contains unsupported options: …". docker
	// also refuses `extends`; compose-go resolves it here, as docker's own message used to advise
	// ("Use `docker-compose config` to generate a configuration with all `extends` options
	// resolved, and deploy from that").
	dockerForbidden = map[string]string{
		"volume_driver": "Instead of setting the volume driver on the service, define a volume using the top-level `volumes` option and specify the driver there.",
		"volumes_from":  "To share a volume between services, define it using the top-level `volumes` option and reference it from each service that shares it using the service-level `volumes` option.",
		"cpu_quota":     "Set resource limits using deploy.resources",
		"cpu_shares":    "Set resource limits using deploy.resources",
		"cpuset":        "Set resource limits using deploy.resources",
		"mem_limit":     "Set resource limits using deploy.resources",
		"memswap_limit": "Set resource limits using deploy.resources",
	}
	// noEquivalent are keys docker stack deploy honours that a kubeswarm Service cannot express.
	noEquivalent = map[string]bool{
		"credential_spec": true, "isolation": true, "oom_score_adj": true, "stdin_open": true,
	}
	// converted are the keys Convert turns into the Stack (or uses while converting: env_file
	// and label_file are read into environment and labels by compose-go, extends and profiles are
	// resolved by it, depends_on is checked and, as by docker, otherwise ignored).
	converted = map[string]bool{
		"image": true, "command": true, "entrypoint": true, "environment": true, "env_file": true,
		"working_dir": true, "user": true, "group_add": true, "hostname": true,
		"extra_hosts": true, "dns": true, "dns_search": true, "dns_opt": true, "labels": true,
		"label_file": true, "deploy": true, "scale": true, "ports": true, "healthcheck": true,
		"networks": true, "volumes": true, "tmpfs": true, "secrets": true, "configs": true,
		"stop_grace_period": true, "stop_signal": true, "cap_add": true, "cap_drop": true,
		"read_only": true, "sysctls": true, "tty": true, "init": true, "ulimits": true,
		"logging": true, "depends_on": true, "profiles": true, "extends": true,
		// docker ignores expose (its virtual IP answers on every port); a Kubernetes Service
		// answers only on the ports it lists, so expose gives the virtual IP its ports.
		"expose":                                true,
		"deploy.resources.reservations.devices": true,
	}
)

// serviceKeys are the keys a loaded service sets (compose-go's JSON form, which leaves out
// unset keys), so that no key goes unnoticed, including ones a later compose-go learns.
func serviceKeys(s types.ServiceConfig) []string {
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	var keys []string
	for k, v := range m {
		if string(v) == "null" || string(v) == "{}" || string(v) == "[]" || string(v) == `""` || string(v) == "false" || string(v) == "0" {
			continue
		}
		keys = append(keys, k)
	}
	if s.Deploy != nil {
		for _, r := range []struct {
			key string
			res *types.Resource
		}{{"deploy.resources.limits", s.Deploy.Resources.Limits}, {"deploy.resources.reservations", s.Deploy.Resources.Reservations}} {
			if r.res != nil && len(r.res.Devices) > 0 {
				keys = append(keys, r.key+".devices")
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// keyReport sorts the keys of the stack's services the way docker stack deploy reports them.
type keyReport struct {
	unsupported map[string]bool
	deprecated  map[string]bool
	forbidden   map[string][]string // key → services
	unknown     map[string]bool     // keys docker stack deploy's schema does not have
	noEquiv     map[string][]string // service → keys
}

func newKeyReport() *keyReport {
	return &keyReport{unsupported: map[string]bool{}, deprecated: map[string]bool{}, forbidden: map[string][]string{}, unknown: map[string]bool{}, noEquiv: map[string][]string{}}
}

func (r *keyReport) add(service string, keys []string) {
	for _, k := range keys {
		switch {
		case converted[k]:
		case slices.Contains(dockerUnsupported, k):
			r.unsupported[k] = true
		case dockerDeprecated[k] != "":
			r.deprecated[k] = true
		case dockerForbidden[k] != "":
			r.forbidden[k] = append(r.forbidden[k], service)
		case noEquivalent[k]:
			r.noEquiv[service] = append(r.noEquiv[service], k)
		default:
			r.unknown[k] = true
		}
	}
}

// isDockerKey tells whether a service key is on one of docker's lists (unsupported, deprecated,
// forbidden).
func isDockerKey(k string) bool {
	return slices.Contains(dockerUnsupported, k) || dockerDeprecated[k] != "" || dockerForbidden[k] != ""
}

// warnings are docker's two warnings, in its words and order, then kubeswarm's.
func (r *keyReport) warnings() []string {
	var out []string
	if len(r.unsupported) > 0 {
		out = append(out, "Ignoring unsupported options: "+strings.Join(sortedKeys(r.unsupported), ", "))
	}
	if len(r.deprecated) > 0 {
		var msgs []string
		for _, k := range sortedKeys(r.deprecated) {
			msgs = append(msgs, fmt.Sprintf("%s: %s", k, dockerDeprecated[k]))
		}
		out = append(out, "Ignoring deprecated options:\n\n"+strings.Join(msgs, "\n\n"))
	}
	if len(r.unknown) > 0 {
		out = append(out, "Ignoring options that docker stack deploy does not support: "+strings.Join(sortedKeys(r.unknown), ", "))
	}
	for _, s := range sortedKeys(r.noEquiv) {
		out = append(out, fmt.Sprintf("service %q: ignoring %s: kubeswarm has no equivalent", s, strings.Join(r.noEquiv[s], ", ")))
	}
	return out
}

// refusal is docker's error for forbidden keys, each line naming where the key is set.
func (r *keyReport) refusal(fileOf func(kind, name, key string) string) error {
	if len(r.forbidden) == 0 {
		return nil
	}
	var msgs []string
	for _, k := range sortedKeys(r.forbidden) {
		services := r.forbidden[k]
		sort.Strings(services)
		for _, s := range services {
			loc := (&Error{File: fileOf("service", s, k), Kind: "service", Name: s}).Error()
			msgs = append(msgs, fmt.Sprintf("%s%s: %s", loc, k, dockerForbidden[k]))
		}
	}
	return fmt.Errorf("Compose file contains unsupported options:\n\n%s\n", strings.Join(msgs, "\n\n")) //nolint:staticcheck // docker's words
}
