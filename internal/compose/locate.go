package compose

import (
	"context"
	"path/filepath"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// locator tells which of several merged compose files sets a key, for error messages. It reads
// each file's own model with compose-go (no interpolation, merging, extends or validation), only
// when an error needs it.
type locator struct {
	display []string // the files as the user named them
	abs     []string
	dir     string

	mu  sync.Mutex
	raw map[string]map[string]any
}

func newLocator(display, abs []string, dir string) *locator {
	return &locator{display: display, abs: abs, dir: dir, raw: map[string]map[string]any{}}
}

// projectLocator locates keys in the files a project was loaded from (Project.ComposeFiles, as
// the user named them, relative to the current directory).
func projectLocator(p *types.Project) *locator {
	var abs []string
	for _, f := range p.ComposeFiles {
		a, err := filepath.Abs(f)
		if err != nil {
			a = f
		}
		abs = append(abs, a)
	}
	return newLocator(p.ComposeFiles, abs, p.WorkingDir)
}

func (l *locator) rawModel(abs string) (model map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, ok := l.raw[abs]; ok {
		return m
	}
	defer func() {
		// Without validation compose-go may trip over a malformed file; the locator only
		// helps an error message, so it gives up on that file instead.
		if recover() != nil {
			model = nil
		}
		l.raw[abs] = model
	}()
	m, err := loader.LoadModelWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  l.dir,
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SkipInterpolation = true
		o.SkipValidation = true
		o.SkipNormalization = true
		o.SkipExtends = true
		o.SkipInclude = true
		o.SkipConsistencyCheck = true
		o.SkipDefaultValues = true
		o.ResolvePaths = false
		o.SetProjectName("raw", true)
	})
	if err != nil {
		return nil
	}
	return m
}

// fileOf is the file that sets key of the service (or object) name: the last file that has
// it, since later files override earlier ones; else the last that has the service; else all.
func (l *locator) fileOf(kind, name, key string) string {
	switch {
	case len(l.display) == 0:
		return ""
	case len(l.display) == 1:
		return l.display[0]
	case kind == "":
		return strings.Join(l.display, ", ")
	}
	top := strings.SplitN(key, ".", 2)[0]
	top, _, _ = strings.Cut(top, "[")
	withName, withKey := "", ""
	for i, a := range l.abs {
		section, _ := l.rawModel(a)[kind+"s"].(map[string]any)
		obj, ok := section[name]
		if !ok {
			continue
		}
		withName = l.display[i]
		if o, _ := obj.(map[string]any); o != nil && top != "" {
			if _, ok := o[top]; ok {
				withKey = l.display[i]
			}
		}
	}
	switch {
	case withKey != "":
		return withKey
	case withName != "":
		return withName
	}
	return strings.Join(l.display, ", ")
}
