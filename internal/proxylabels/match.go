package proxylabels

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// PathKind is how a Match compares the request path.
type PathKind string

// Path kinds: Traefik's Path, PathPrefix and PathRegexp.
const (
	PathExact  PathKind = "Exact"
	PathPrefix PathKind = "PathPrefix"
	PathRegexp PathKind = "RegularExpression"
)

// KV is a header or query parameter to match; Regexp says Value is a regular expression.
type KV struct {
	Name, Value string
	Regexp      bool
}

// Match is one alternative of a rule: every field given must match.
type Match struct {
	// Hosts are alternatives; a leading "*." is a wildcard label (from HostRegexp). None: any host.
	Hosts    []string
	Path     string
	PathKind PathKind
	Method   string
	Headers  []KV
	Query    []KV
}

// matchOf reads one conjunction of matchers. An error says which matcher cannot be expressed.
func matchOf(terms []term) (Match, error) {
	var m Match
	hostSet := false
	for _, t := range terms {
		name := strings.ToLower(t.Name)
		if t.Not {
			return Match{}, fmt.Errorf("the negation !%s(…) cannot be expressed", t.Name)
		}
		arg := func(n int) (string, error) {
			if len(t.Args) != n {
				return "", fmt.Errorf("%s takes %d value(s), not %d", t.Name, n, len(t.Args))
			}
			return t.Args[0], nil
		}
		switch name {
		case "host", "hostheader", "hostregexp":
			v, err := arg(1)
			if err != nil {
				return Match{}, err
			}
			h := strings.ToLower(v)
			if name == "hostregexp" {
				if h, err = wildcardHost(v); err != nil {
					return Match{}, err
				}
			}
			if hostSet && !slices.Equal(m.Hosts, []string{h}) {
				// Host(a) && Host(b): nothing matches both unless they are the same.
				return Match{}, fmt.Errorf("Host(`%s`) && Host(`%s`) can never match", m.Hosts[0], h)
			}
			m.Hosts, hostSet = []string{h}, true
		case "path", "pathprefix", "pathregexp":
			v, err := arg(1)
			if err != nil {
				return Match{}, err
			}
			if m.PathKind != "" {
				return Match{}, fmt.Errorf("two path matchers joined by && cannot be expressed")
			}
			kind := map[string]PathKind{"path": PathExact, "pathprefix": PathPrefix, "pathregexp": PathRegexp}[name]
			if kind != PathRegexp && strings.ContainsAny(v, "{}") {
				// Traefik v2 read {name:regexp} in paths.
				return Match{}, fmt.Errorf("the path template %s(`%s`) cannot be expressed", t.Name, v)
			}
			if !strings.HasPrefix(v, "/") && kind != PathRegexp {
				return Match{}, fmt.Errorf("%s(`%s`) must start with /", t.Name, v)
			}
			m.Path, m.PathKind = v, kind
		case "method":
			v, err := arg(1)
			if err != nil {
				return Match{}, err
			}
			if m.Method != "" && m.Method != strings.ToUpper(v) {
				return Match{}, fmt.Errorf("Method(`%s`) && Method(`%s`) can never match", m.Method, v)
			}
			m.Method = strings.ToUpper(v)
		case "header", "headers", "headerregexp", "headersregexp":
			if len(t.Args) != 2 {
				return Match{}, fmt.Errorf("%s takes a name and a value", t.Name)
			}
			m.Headers = append(m.Headers, KV{Name: t.Args[0], Value: t.Args[1], Regexp: strings.HasSuffix(name, "regexp")})
		case "query", "queryregexp":
			if len(t.Args) != 2 {
				// v2's Query(`k=v`) form.
				if len(t.Args) == 1 && strings.Contains(t.Args[0], "=") {
					k, v, _ := strings.Cut(t.Args[0], "=")
					t.Args = []string{k, v}
				} else {
					return Match{}, fmt.Errorf("%s takes a name and a value", t.Name)
				}
			}
			m.Query = append(m.Query, KV{Name: t.Args[0], Value: t.Args[1], Regexp: name == "queryregexp"})
		default:
			// ClientIP, HostSNI and the rest have no counterpart in a route.
			return Match{}, fmt.Errorf("the matcher %s cannot be expressed", t.Name)
		}
	}
	return m, nil
}

// v2HostTemplate is Traefik v2's HostRegexp(`{name:regexp}.example.com`) or (`{name}.example.com`).
var v2HostTemplate = regexp.MustCompile(`^\{[a-zA-Z0-9_]+(:[^{}]*)?\}\.([a-zA-Z0-9.-]+)$`)

// v3HostRegexp is a v3 HostRegexp whose first label is any label and the rest literal:
// ^[^.]+\.example\.com$, .+\.example\.com, ^[a-z0-9-]+\.example\.com$.
var v3HostRegexp = regexp.MustCompile(`^\^?(\.\+|\.\*|\[\^\.\]\+|\[[a-zA-Z0-9-]+\]\+)\\\.((?:[a-zA-Z0-9-]|\\\.)+)\$?$`)

// wildcardHost reads a HostRegexp that a Gateway or Ingress wildcard host (*.example.com)
// expresses: any first label(s), then a literal domain.
func wildcardHost(re string) (string, error) {
	if m := v2HostTemplate.FindStringSubmatch(re); m != nil {
		return "*." + strings.ToLower(m[2]), nil
	}
	if m := v3HostRegexp.FindStringSubmatch(re); m != nil {
		return "*." + strings.ToLower(strings.ReplaceAll(m[2], `\.`, ".")), nil
	}
	return "", fmt.Errorf("HostRegexp(`%s`) cannot be expressed: only a wildcard first label before a fixed domain (*.example.com) can", re)
}
