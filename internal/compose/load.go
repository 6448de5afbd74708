package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadOptions say which compose files to load and how, as `docker stack deploy -c a.yml -c b.yml`
// (plus what docker compose adds: .env files, extends, profiles).
type LoadOptions struct {
	// Files are the compose files (`-c`), merged in order; at least one.
	Files []string
	// WorkingDir is the project directory: relative paths (env_file, bind mounts, secret and
	// config files, extends) are relative to it. Default: the directory of the first file.
	WorkingDir string
	// Environment is the environment that interpolates ${VAR} in the files and that
	// environment-based secrets read. nil means the process environment.
	Environment map[string]string
	// EnvFiles are .env files that add to Environment (the environment wins). Default: the
	// project directory's .env, when there is one.
	EnvFiles []string
	// Profiles are the active profiles; services of other profiles are left out.
	Profiles []string
	// ProjectName is the compose project name (${COMPOSE_PROJECT_NAME}); default: the files'
	// top-level `name:`, else the project directory's name. The stack name given to Convert is
	// independent of it.
	ProjectName string
	// SkipInterpolation leaves ${VAR} as written.
	SkipInterpolation bool
}

// Project is a loaded compose project, with what the loader had to warn about (variables that
// are not set). Convert passes the warnings on in its Result.
type Project struct {
	*types.Project
	// Warnings found while loading.
	Warnings []string

	// dockerKeys are the keys of docker's lists (unsupported, deprecated, forbidden) that each
	// service's merged model has, whatever their value: docker reports `privileged: false` too.
	dockerKeys map[string][]string
}

// Load reads, interpolates and merges the compose files with compose-go (extends, profiles,
// env_file and .env included). A problem is reported as an *Error (or several joined) naming
// the file, the service and the key.
func Load(ctx context.Context, opts LoadOptions) (*Project, error) {
	if len(opts.Files) == 0 {
		return nil, errors.New("no compose file given")
	}
	l, err := newLoad(opts)
	if err != nil {
		return nil, err
	}
	project, err := l.project(ctx, l.abs, true)
	if err != nil {
		return nil, l.diagnose(ctx, err)
	}
	project.ComposeFiles = slices.Clone(opts.Files)
	if err := checkReferences(project, l.fileOf); err != nil {
		return nil, err
	}
	return &Project{Project: project, Warnings: l.warnings(), dockerKeys: l.dockerKeys}, nil
}

// load is one Load call: the resolved files, directory and environment.
type load struct {
	opts LoadOptions
	abs  []string // absolute paths of opts.Files
	dir  string
	env  types.Mapping

	loc *locator

	mu         sync.Mutex
	unset      map[string]bool // variables interpolated while unset
	dockerKeys map[string][]string
}

func newLoad(opts LoadOptions) (*load, error) {
	l := &load{opts: opts, unset: map[string]bool{}}
	for _, f := range opts.Files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", f, err)
		}
		l.abs = append(l.abs, a)
	}
	l.dir = opts.WorkingDir
	if l.dir == "" {
		l.dir = filepath.Dir(l.abs[0])
	}
	dir, err := filepath.Abs(l.dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", l.dir, err)
	}
	l.dir = dir
	l.loc = newLocator(opts.Files, l.abs, l.dir)

	l.env = types.Mapping{}
	if opts.Environment == nil {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				l.env[k] = v
			}
		}
	} else {
		for k, v := range opts.Environment {
			l.env[k] = v
		}
	}
	envFiles := opts.EnvFiles
	if envFiles == nil {
		if st, err := os.Stat(filepath.Join(l.dir, ".env")); err == nil && !st.IsDir() {
			envFiles = []string{filepath.Join(l.dir, ".env")}
		}
	}
	if len(envFiles) > 0 {
		fromFiles, err := dotenv.GetEnvFromFile(l.env, envFiles)
		if err != nil {
			return nil, &Error{File: strings.Join(envFiles, ", "), Err: err}
		}
		l.env.Merge(fromFiles)
	}
	return l, nil
}

// project loads files with compose-go. record says whether unset variables are remembered
// (only for the real load, not for the diagnosis of errors).
func (l *load) project(ctx context.Context, files []string, record bool) (*types.Project, error) {
	options := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(l.dir),
		cli.WithProfiles(l.opts.Profiles),
		cli.WithInterpolation(!l.opts.SkipInterpolation),
		// References are checked by checkReferences, whose errors name file, service and key.
		cli.WithConsistency(false),
		cli.WithLoadOptions(func(o *loader.Options) {
			if o.Interpolate != nil {
				o.Interpolate.Substitute = l.substitute(record)
			}
		}),
	}
	if record {
		options = append(options, cli.WithLoadOptions(loader.WithUnsupportedAttributesCheck(everyServiceKey, l.recordDockerKeys)))
	}
	if l.opts.ProjectName != "" {
		options = append(options, cli.WithName(l.opts.ProjectName))
	}
	po, err := cli.NewProjectOptions(files, options...)
	if err != nil {
		return nil, err
	}
	po.Environment = l.env.Clone()
	return po.LoadProject(ctx)
}

// substitute interpolates like compose-go, but collects "variable is not set" warnings instead
// of logging them.
func (l *load) substitute(record bool) func(string, template.Mapping) (string, error) {
	return func(s string, mapping template.Mapping) (string, error) {
		if record {
			for _, name := range plainReferences(s) {
				if _, ok := mapping(name); !ok {
					l.mu.Lock()
					l.unset[name] = true
					l.mu.Unlock()
				}
			}
		}
		return template.SubstituteWithOptions(s, mapping, template.WithoutLogging)
	}
}

// everyServiceKey is the pattern of every key of every service. One pattern, not one per key of
// docker's lists: compose-go tries each pattern on every node of the model, and stops at a
// service's keys once one matches, so a single pattern is a short walk (recordDockerKeys keeps
// the keys of docker's lists).
var everyServiceKey = []loader.UnsupportedAttributePattern{{Path: tree.NewPath("services", tree.PathMatchAll, tree.PathMatchAll)}}

func (l *load) recordDockerKeys(found []loader.UnsupportedAttribute) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dockerKeys = map[string][]string{}
	for _, f := range found {
		if parts := f.Path.Parts(); len(parts) == 3 && isDockerKey(parts[2]) {
			l.dockerKeys[parts[1]] = append(l.dockerKeys[parts[1]], parts[2])
		}
	}
}

// plainReferences are the variables that s uses without a default or an error ($X, ${X}); a
// "$$" is an escaped dollar.
func plainReferences(s string) []string {
	var names []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			i++
		case next == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				continue
			}
			if name := s[i+2 : i+2+end]; isVarName(name) {
				names = append(names, name)
			}
		case isVarStart(next):
			j := i + 1
			for j < len(s) && (isVarStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			names = append(names, s[i+1:j])
			i = j - 1
		}
	}
	return names
}

func isVarStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isVarName(s string) bool {
	if s == "" || !isVarStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isVarStart(c) && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// warnings are compose's own words for unset variables, sorted.
func (l *load) warnings() []string {
	var out []string
	for name := range l.unset {
		out = append(out, fmt.Sprintf("The %q variable is not set. Defaulting to a blank string.", name))
	}
	sort.Strings(out)
	return out
}

func (l *load) allFiles() string { return strings.Join(l.opts.Files, ", ") }

// diagnose turns an error of compose-go into one naming the file, the service and the key. When
// the message does not name the file, each file is loaded alone to find the one at fault.
func (l *load) diagnose(ctx context.Context, err error) error {
	msg := err.Error()
	file := ""
	for i, a := range l.abs { // the longest path the message names: /p/data.yml, not /p/a.yml
		if strings.Contains(msg, a) && len(a) > len(file) {
			file = l.opts.Files[i]
		}
	}
	for i, a := range l.abs {
		msg = strings.ReplaceAll(msg, a, l.opts.Files[i])
	}
	kind, name, key := pathIn(msg)
	if m := falseSchema.FindStringSubmatch(msg); m != nil {
		// compose-go's words for a key the compose specification does not have
		msg = fmt.Sprintf("unknown key %s (the compose specification has no such key)", m[1])
	}
	if file == "" && len(l.abs) > 1 {
		for i, a := range l.abs {
			if _, lone := l.project(ctx, []string{a}, false); lone != nil {
				file = l.opts.Files[i]
				if kind == "" {
					kind, name, key = pathIn(lone.Error())
				}
				break
			}
		}
	}
	if file == "" && kind != "" {
		file = l.fileOf(kind, name, key)
	}
	if file == "" {
		file = l.allFiles()
	}
	if kind == "" {
		kind, name, key = l.badPort(file)
	}
	return &Error{File: file, Kind: kind, Name: name, Key: key, Err: errors.New(msg)}
}

var falseSchema = regexp.MustCompile(`(\S+) false schema$`)

var pathPattern = regexp.MustCompile(`\b(services|networks|volumes|secrets|configs)(?:\.|\[)([a-zA-Z0-9._-]+?)(?:\]|\b)\.?([a-z_]+(?:\.[a-z_]+)*)?`)

// pathIn finds the compose path (services.web.ports, services[web].deploy.replicas) that an
// error message of compose-go names.
func pathIn(msg string) (kind, name, key string) {
	m := pathPattern.FindStringSubmatch(msg)
	if m == nil {
		return "", "", ""
	}
	return strings.TrimSuffix(m[1], "s"), m[2], m[3]
}

// fileOf is the file that sets key of the service (or object) name.
func (l *load) fileOf(kind, name, key string) string { return l.loc.fileOf(kind, name, key) }

// badPort finds the service whose ports do not parse, for compose-go's port errors, which name
// neither the service nor the key.
func (l *load) badPort(file string) (kind, name, key string) {
	for i, a := range l.abs {
		if l.opts.Files[i] != file && len(l.abs) > 1 {
			continue
		}
		services, _ := l.loc.rawModel(a)["services"].(map[string]any)
		names := make([]string, 0, len(services))
		for n := range services {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s, _ := services[n].(map[string]any)
			ports, _ := s["ports"].([]any)
			for j, p := range ports {
				if str, ok := p.(string); ok {
					if _, err := types.ParsePortConfig(str); err != nil {
						return "service", n, fmt.Sprintf("ports[%d]", j)
					}
				}
			}
		}
	}
	return "", "", ""
}
