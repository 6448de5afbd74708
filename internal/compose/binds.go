package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Bind mounts of the project's own files (./conf/nginx.conf:/etc/nginx/nginx.conf) name files
// on the machine that runs `docker stack deploy`; Swarm mounts the same path of whichever node
// runs the task, so they work when the project is on every node (a single-node swarm, a shared
// folder). On Kubernetes, the node has no copy: the files travel as Swarm configs would, in
// ConfigMaps made here, mounted read-only at the target. A bind of a path outside the project
// stays a bind mount (a hostPath, which the operator allows only with --allow-bind-mounts).
const (
	// maxBindBytes is what one bind may hold: a ConfigMap's limit (1 MiB; kubernetes
	// pkg/apis/core/validation, MaxSecretSize), for a file and for a whole folder alike.
	maxBindBytes = 1 << 20
	// maxBindFiles is how many files a folder may hold: each is a ConfigMap and a volume of
	// every task.
	maxBindFiles = 64
	// bindPrefix starts the compose name of a bind's config, so that it cannot be the name of
	// one of the file's own configs.
	bindPrefix = "bind_"
	// AnnotationBindSource is the project path a bind's ConfigMap was made from.
	AnnotationBindSource = "swarm.kubeswarm.io/bind-source"
)

// projectBind is a bind mount of a file or folder of the project.
type projectBind struct {
	key            string // volumes[i]
	source, target string
	readOnly       bool
}

// projectDir is the folder the project's relative paths start from.
func (c *serviceConverter) projectDir() string { return c.project.WorkingDir }

// inProject tells whether a bind's source (made absolute by the loader) is inside the project.
func (c *serviceConverter) inProject(source string) bool {
	dir := c.projectDir()
	if dir == "" || !filepath.IsAbs(source) {
		return false
	}
	rel, err := filepath.Rel(dir, source)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// bindFile is one file of a project bind, as a config of the stack.
type bindFile struct {
	name   string // compose name of the config
	rel    string // path in the project
	target string // where the task sees it
	mode   int32
	data   []byte
}

// readBind reads the files of a project bind: the file, or every regular file under the folder
// (symbolic links followed), each mounted at the same place under the target.
func (c *serviceConverter) readBind(b projectBind) []bindFile {
	display := "./" + filepath.ToSlash(c.rel(b.source))
	info, err := os.Stat(b.source)
	if err != nil {
		// Swarm's words when a node lacks the path (docker daemon/volume/mounts).
		c.fail(b.key, "invalid mount config for type \"bind\": bind source path does not exist: %s", display)
		return nil
	}
	var files []bindFile
	var total int64
	add := func(p string, fi fs.FileInfo, target string) error {
		if len(files) == maxBindFiles {
			return fmt.Errorf("%s has more than %d files: each becomes a ConfigMap; use a volume, or put the files into the image", display, maxBindFiles)
		}
		total += fi.Size()
		if total > maxBindBytes {
			return fmt.Errorf("%s holds more than 1 MiB (%s at least): the files of a bind travel in ConfigMaps, which hold at most 1 MiB; use a volume, or put the files into the image", display, sizeText(total))
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(c.rel(p))
		files = append(files, bindFile{name: bindConfigName(rel), rel: rel, target: target, mode: int32(fi.Mode().Perm() &^ 0o222), data: data})
		return nil
	}
	if !info.IsDir() {
		if err := add(b.source, info, b.target); err != nil {
			c.fail(b.key, "%v", err)
		}
		return files
	}
	err = filepath.WalkDir(b.source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Stat(p) // follows links
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		sub, _ := filepath.Rel(b.source, p)
		return add(p, fi, path.Join(b.target, filepath.ToSlash(sub)))
	})
	if err != nil {
		c.fail(b.key, "%v", err)
		return nil
	}
	if len(files) == 0 {
		c.fail(b.key, "%s has no files to mount: the task's folder would be empty; use a volume for data the task writes", display)
	}
	return files
}

func (c *serviceConverter) rel(p string) string {
	rel, err := filepath.Rel(c.projectDir(), p)
	if err != nil {
		return p
	}
	return rel
}

// bindConfigName is the compose name of the config holding a project file, also its
// ConfigMap's key: bind_ and its path with "/" as "_" and any other character a key cannot
// have as "-" (conf/nginx.conf: bind_conf_nginx.conf), shortened with a hash past 63
// characters.
func bindConfigName(rel string) string {
	name := bindPrefix + strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return '_'
		case r == '-' || r == '.' || r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			return r
		}
		return '-'
	}, rel)
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(rel))
	return name[:54] + "_" + hex.EncodeToString(sum[:])[:8]
}

func sizeText(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// bindConfigs turns the project binds of a service into config references, and collects the
// files for the stack's ConfigMaps.
func (c *converter) bindConfigs(sc *serviceConverter, spec *swarmv1.ServiceSpec) {
	for _, b := range sc.binds {
		files := sc.readBind(b)
		var names []string
		for _, f := range files {
			if prev, ok := c.bindFiles[f.name]; ok && prev.rel != f.rel {
				sc.fail(b.key, "%s and %s are both the config %s; rename one", prev.rel, f.rel, f.name)
				continue
			}
			c.bindFiles[f.name] = f
			spec.Configs = append(spec.Configs, swarmv1.FileReference{Source: f.name, Target: f.target, Mode: ptr.To(f.mode)})
			names = append(names, swarmv1.StackObjectName(c.stack, f.name))
		}
		if len(files) == 0 {
			continue
		}
		written := "./" + filepath.ToSlash(sc.rel(b.source))
		what := "the ConfigMap " + names[0]
		if len(names) > 1 {
			what = fmt.Sprintf("%d ConfigMaps (%s, …)", len(names), names[0])
		}
		note := ""
		if !b.readOnly {
			note = "; the task cannot write there: use a volume for data it writes"
		}
		sc.warn("%s: %s is mounted from %s, read-only, as a Swarm config: deploy again after changing the files%s", b.key, written, what, note)
	}
}

// addBindObjects adds the project files' configs to the stack and their ConfigMaps to the
// result, and refuses a name one of the file's own configs has too.
func (c *converter) addBindObjects() error {
	names := make([]string, 0, len(c.bindFiles))
	for n := range c.bindFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := c.bindFiles[n]
		c.result.Stack.Spec.Configs = append(c.result.Stack.Spec.Configs, swarmv1.StackObject{Name: n})
		meta := c.objectMeta(n, nil)
		meta.Annotations = map[string]string{AnnotationBindSource: "./" + f.rel}
		cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta}
		if utf8.Valid(f.data) {
			cm.Data = map[string]string{n: string(f.data)}
		} else {
			cm.BinaryData = map[string][]byte{n: f.data}
		}
		c.result.ConfigMaps = append(c.result.ConfigMaps, cm)
	}
	var all []string
	for _, o := range c.result.Stack.Spec.Configs {
		if !o.External {
			all = append(all, o.Name)
		}
	}
	return c.checkClash("config", all)
}
