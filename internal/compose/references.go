package compose

import (
	"errors"
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// checkReferences checks what compose-go's consistency check does, with errors that name the
// file, the service and the key: every service has an image (docker stack deploy builds
// nothing), and every service, network, volume, secret and config a service names exists.
func checkReferences(p *types.Project, fileOf func(kind, name, key string) string) error {
	var errs []error
	fail := func(service, key, format string, args ...any) {
		errs = append(errs, &Error{File: fileOf("service", service, key), Kind: "service", Name: service, Key: key, Err: fmt.Errorf(format, args...)})
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Image == "" {
			if s.Build != nil {
				fail(name, "image", "is required: docker stack deploy does not build images (build is ignored)")
			} else {
				fail(name, "image", "is required")
			}
		}
		deps := make([]string, 0, len(s.DependsOn))
		for d := range s.DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			if _, ok := p.Services[d]; ok {
				continue
			}
			if _, ok := p.DisabledServices[d]; ok {
				if !s.DependsOn[d].Required {
					continue
				}
				fail(name, "depends_on", "service %q is not enabled (its profiles are not active)", d)
				continue
			}
			fail(name, "depends_on", "undefined service %q", d)
		}
		for _, n := range sortedKeys(s.Networks) {
			if _, ok := p.Networks[n]; !ok {
				fail(name, "networks", "undefined network %q", n)
			}
		}
		for i, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Volumes[v.Source]; !ok {
					fail(name, fmt.Sprintf("volumes[%d]", i), "undefined volume %q", v.Source)
				}
			}
		}
		for _, ref := range s.Secrets {
			if _, ok := p.Secrets[ref.Source]; !ok {
				fail(name, "secrets", "undefined secret %q", ref.Source)
			}
		}
		for _, ref := range s.Configs {
			if _, ok := p.Configs[ref.Source]; !ok {
				fail(name, "configs", "undefined config %q", ref.Source)
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
