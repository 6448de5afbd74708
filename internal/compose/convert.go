package compose

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// Labels of the Secrets and ConfigMaps Convert makes.
const (
	// LabelStack names the stack a Secret or ConfigMap belongs to (docker's
	// com.docker.stack.namespace).
	LabelStack = "swarm.kubeswarm.io/stack"
	// LabelManagedBy is the standard managed-by label, with value ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "kubeswarm"
	// ExtensionKey is the compose extension (x-kubeswarm) on a top-level volume that sets what
	// compose cannot say about a claim: size, storageClassName (and the deprecated retain).
	ExtensionKey = "x-kubeswarm"
)

// ConvertOptions tune Convert.
type ConvertOptions struct {
	// Namespace is written into every object; empty leaves it to the caller (kubectl's
	// namespace).
	Namespace string
	// LeaveOutProxies leaves out the Traefik and caddy-docker-proxy services that routed HTTP
	// by reading the Docker socket (the cluster's gateway does their job from the other
	// services' labels); they are named among the warnings.
	LeaveOutProxies bool
}

// Result is a compose project as Kubernetes objects, ready to print as YAML or to apply.
type Result struct {
	// Stack is the stack's services, networks, volumes, secrets and configs.
	Stack *swarmv1.Stack
	// Secrets hold the stack's file- and environment-based secrets, named swarmv1.StackObjectName(stack,
	// secret), each with one key: the compose name.
	Secrets []*corev1.Secret
	// ConfigMaps hold the stack's file-, environment- and content-based configs, named and keyed
	// the same way.
	ConfigMaps []*corev1.ConfigMap
	// Warnings are what docker stack deploy would warn about, in its words ("Ignoring
	// unsupported options: build"), and what kubeswarm cannot honour. A caller prints each
	// followed by an empty line, as docker does.
	Warnings []string
}

// Object is an object of a result: a Kubernetes object with metadata (controller-runtime's
// client.Object, which this package does not import: a conversion needs no client).
type Object interface {
	metav1.Object
	runtime.Object
}

// Objects are the result's objects in the order to apply them: Secrets and ConfigMaps first,
// so that the Stack's services find them.
func (r *Result) Objects() []Object {
	var out []Object
	for _, s := range r.Secrets {
		out = append(out, s)
	}
	for _, c := range r.ConfigMaps {
		out = append(out, c)
	}
	return append(out, r.Stack)
}

// YAML is the result's objects as a YAML stream (for kubectl apply -f or a GitOps repository),
// without the empty status and creation timestamp that are no part of a desired state.
func (r *Result) YAML() ([]byte, error) {
	var b strings.Builder
	for i, o := range r.Objects() {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return nil, fmt.Errorf("converting %s: %w", o.GetName(), err)
		}
		delete(u, "status")
		if meta, ok := u["metadata"].(map[string]any); ok {
			delete(meta, "creationTimestamp")
		}
		y, err := yaml.Marshal(u)
		if err != nil {
			return nil, fmt.Errorf("marshalling %s: %w", o.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// Convert turns a loaded compose project into a Stack named stack, with the Secrets and
// ConfigMaps of its file-based secrets and configs, following what docker stack deploy does
// with each key. Errors name the file, the service (or object) and the key.
func Convert(p *Project, stack string, opts ConvertOptions) (*Result, error) {
	if p == nil || p.Project == nil {
		return nil, errors.New("no compose project")
	}
	if err := ValidateStackName(stack); err != nil {
		return nil, err
	}
	c := &converter{
		project:   p.Project,
		stack:     stack,
		opts:      opts,
		loc:       projectLocator(p.Project),
		bindFiles: map[string]bindFile{},
		result: &Result{Stack: &swarmv1.Stack{
			TypeMeta:   metav1.TypeMeta{APIVersion: swarmv1.GroupVersion.String(), Kind: "Stack"},
			ObjectMeta: metav1.ObjectMeta{Name: stack, Namespace: opts.Namespace},
		}},
	}
	c.result.Warnings = append(c.result.Warnings, p.Warnings...)
	if opts.LeaveOutProxies {
		// Before anything is read: their Docker socket bind is refused otherwise.
		c.project = leaveOutProxies(c.project, &c.result.Warnings)
	}
	c.inactive = inactiveObjects(p.Project)
	if err := c.keys(p.dockerKeys); err != nil {
		return nil, err
	}
	err := errors.Join(c.services(), c.networks(), c.volumes(), c.secrets(), c.configs())
	if err != nil {
		return nil, err
	}
	c.dockerServiceNames()
	if err := c.addBindObjects(); err != nil {
		return nil, err
	}
	if err := c.operatorVerdict(); err != nil {
		return nil, err
	}
	return c.result, nil
}

type converter struct {
	project *types.Project
	// inactive are the networks, volumes, secrets and configs (by kind) that only services of
	// inactive profiles use: they are left out, as those services are.
	inactive map[string]map[string]bool
	stack    string
	opts     ConvertOptions
	loc      *locator
	result   *Result
	// bindFiles are the project's files that bind mounts name, by the name of their config.
	bindFiles map[string]bindFile
}

func (c *converter) warn(format string, args ...any) {
	c.result.Warnings = append(c.result.Warnings, fmt.Sprintf(format, args...))
}

func (c *converter) fail(kind, name, key, format string, args ...any) error {
	return &Error{File: c.loc.fileOf(kind, name, key), Kind: kind, Name: name, Key: key, Err: fmt.Errorf(format, args...)}
}

// keys reports the services' keys as docker stack deploy does: forbidden ones refused,
// unsupported and deprecated ones warned about. present are keys of docker's lists that the
// loader saw set, even to a zero value.
func (c *converter) keys(present map[string][]string) error {
	r := newKeyReport()
	for _, name := range c.project.ServiceNames() {
		keys := map[string]bool{}
		for _, k := range serviceKeys(c.project.Services[name]) {
			keys[k] = true
		}
		for _, k := range present[name] {
			keys[k] = true
		}
		r.add(name, sortedKeys(keys))
	}
	if err := r.refusal(c.loc.fileOf); err != nil {
		return err
	}
	c.result.Warnings = append(c.result.Warnings, r.warnings()...)
	return nil
}

func (c *converter) services() error {
	var errs []error
	byName := map[string]string{} // Stack name → compose name
	for _, name := range c.project.ServiceNames() {
		s := c.project.Services[name]
		n, err := serviceName(c.stack, name)
		if err != nil {
			errs = append(errs, c.fail("service", name, "", "%v", err))
			continue
		}
		if other, ok := byName[n]; ok {
			errs = append(errs, c.fail("service", name, "", "its name is %q on Kubernetes, as is service %q's", n, other))
			continue
		}
		byName[n] = name
		if n != name {
			c.warn("service %q: named %q on Kubernetes (a DNS label): the other services find it by that name", name, n)
		}
		sc := &serviceConverter{name: name, project: c.project}
		spec := sc.convert(s)
		c.bindConfigs(sc, &spec)
		c.result.Warnings = append(c.result.Warnings, sc.warnings...)
		if err := errors.Join(sc.errs...); err != nil {
			errs = append(errs, locate(err, "service", name, c.loc.fileOf))
			continue
		}
		c.result.Stack.Spec.Services = append(c.result.Stack.Spec.Services, swarmv1.StackService{Name: n, ServiceSpec: spec})
	}
	return errors.Join(errs...)
}

// inactiveObjects are the objects used by disabled services (of inactive profiles) and by no
// enabled one.
// mountedByService tells whether an active service mounts the volume key.
func (c *converter) mountedByService(key string) bool {
	for _, s := range c.project.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source == key {
				return true
			}
		}
	}
	return false
}

func inactiveObjects(p *types.Project) map[string]map[string]bool {
	uses := func(services types.Services) map[string]map[string]bool {
		m := map[string]map[string]bool{"network": {}, "volume": {}, "secret": {}, "config": {}}
		for _, s := range services {
			for n := range s.Networks {
				m["network"][n] = true
			}
			for _, v := range s.Volumes {
				if v.Type == types.VolumeTypeVolume && v.Source != "" {
					m["volume"][v.Source] = true
				}
			}
			for _, r := range s.Secrets {
				m["secret"][r.Source] = true
			}
			for _, r := range s.Configs {
				m["config"][r.Source] = true
			}
		}
		return m
	}
	enabled, disabled := uses(p.Services), uses(p.DisabledServices)
	for kind, names := range disabled {
		for n := range names {
			if enabled[kind][n] {
				delete(names, n)
			}
		}
	}
	return disabled
}

// implicitName tells whether a top-level object's name is the one compose-go gives objects
// without a `name:` ("<project>_<key>").
func (c *converter) implicitName(key, name string) bool {
	return name == "" || name == c.project.Name+"_"+key
}

// checkClash refuses two compose names that are the same Kubernetes object.
func (c *converter) checkClash(kind string, names []string) error {
	var errs []error
	seen := map[string]string{}
	for _, n := range names {
		k := swarmv1.StackObjectName(c.stack, n)
		if other, ok := seen[k]; ok {
			errs = append(errs, c.fail(kind, n, "", "its Kubernetes name %q is also %s %q's", k, kind, other))
		}
		seen[k] = n
	}
	return errors.Join(errs...)
}

// networks are the stack's networks; the implicit default network is left out (the Stack
// controller puts services that name no network on it).
func (c *converter) networks() error {
	var names []string
	for _, key := range sortedKeys(c.project.Networks) {
		n := c.project.Networks[key]
		if c.inactive["network"][key] {
			continue
		}
		if key == "default" && c.implicitName(key, n.Name) && n.Driver == "" && !bool(n.External) && !n.Internal && len(n.Labels) == 0 && len(n.DriverOpts) == 0 {
			continue
		}
		names = append(names, key)
		sn := swarmv1.StackNetwork{Name: key, External: bool(n.External), Internal: n.Internal, Driver: n.Driver, Labels: nonEmpty(n.Labels)}
		if len(key) > 63 {
			return c.fail("network", key, "", "the name is longer than 63 characters")
		}
		if n.External {
			if en := externalName(n.Name); en != key {
				sn.ExternalName = en
			}
		}
		if !bool(n.External) && !c.implicitName(key, n.Name) {
			c.warn("network %q: name %q is not kept: the stack's networks are named after the stack", key, n.Name)
		}
		var ignored []string
		if n.Ipam.Driver != "" || len(n.Ipam.Config) > 0 {
			ignored = append(ignored, "ipam")
		}
		if len(n.DriverOpts) > 0 {
			ignored = append(ignored, "driver_opts")
		}
		if n.Attachable {
			ignored = append(ignored, "attachable")
		}
		if len(ignored) > 0 {
			c.warn("network %q: ignoring %s: kubeswarm has no equivalent", key, strings.Join(ignored, ", "))
		}
		c.result.Stack.Spec.Networks = append(c.result.Stack.Spec.Networks, sn)
	}
	return c.checkClash("network", names)
}

// volumeExtension is what x-kubeswarm on a top-level volume may say. Retain is read only to
// warn that it is no longer needed: every stack volume is kept by stack rm.
type volumeExtension struct {
	Size             string  `json:"size,omitempty"`
	StorageClassName *string `json:"storageClassName,omitempty"`
	Retain           *bool   `json:"retain,omitempty"`
}

func (c *converter) volumes() error {
	var errs []error
	for _, key := range sortedKeys(c.project.Volumes) {
		v := c.project.Volumes[key]
		if c.inactive["volume"][key] {
			continue
		}
		sv := swarmv1.StackVolume{Name: key, External: bool(v.External), Driver: v.Driver, DriverOptions: nonEmpty(v.DriverOpts), Labels: nonEmpty(v.Labels)}
		if len(key) > 63 {
			errs = append(errs, c.fail("volume", key, "", "the name is longer than 63 characters"))
			continue
		}
		mounted, err := swarmsyntax.MountedVolume(v.Driver, v.DriverOpts)
		switch {
		case err != nil && swarmsyntax.CIFSVolume(v.Driver, v.DriverOpts) != nil && c.mountedByService(key):
			// The services' verdict refuses it, in the operator's words (operatorVerdict).
		case err != nil:
			errs = append(errs, c.fail("volume", key, "driver_opts", "%v", err))
			continue
		case !mounted && !bool(v.External) && (v.Driver != "" && v.Driver != "local" || len(v.DriverOpts) > 0):
			driver := v.Driver
			if driver == "" {
				driver = "local"
			}
			c.warn("volume %q: driver %s with options %v has no Kubernetes equivalent: the claim %s of the cluster's storage class is made instead", key, driver, v.DriverOpts, swarmv1.StackObjectName(c.stack, key))
		}
		if v.External {
			if en := externalName(v.Name); en != key {
				sv.ExternalName = en
			}
		} else if !c.implicitName(key, v.Name) {
			c.warn("volume %q: name %q is not kept: the stack's claims are named after the stack (%s)", key, v.Name, swarmv1.StackObjectName(c.stack, key))
		}
		if raw, ok := v.Extensions[ExtensionKey]; ok {
			var ext volumeExtension
			if err := decodeExtension(raw, &ext); err != nil {
				errs = append(errs, c.fail("volume", key, ExtensionKey, "%v", err))
				continue
			}
			if ext.Size != "" {
				q, err := resource.ParseQuantity(ext.Size)
				if err != nil {
					errs = append(errs, c.fail("volume", key, ExtensionKey+".size", "%v", err))
					continue
				}
				sv.Size = &q
			}
			sv.StorageClassName = ext.StorageClassName
			if ext.Retain != nil {
				c.warn("volume %q: %s.retain is deprecated and ignored: stack rm keeps every volume of a stack (kubectl swarm volume rm removes one)", key, ExtensionKey)
			}
		}
		c.result.Stack.Spec.Volumes = append(c.result.Stack.Spec.Volumes, sv)
	}
	var names []string
	for _, v := range c.result.Stack.Spec.Volumes {
		if !v.External {
			names = append(names, v.Name)
		}
	}
	return errors.Join(append(errs, c.checkClash("volume", names))...)
}

// decodeExtension reads an x- extension (a YAML mapping) into out, refusing unknown keys.
func decodeExtension(raw any, out any) error {
	b, err := yaml.Marshal(raw)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(b, out)
}

// objectLabels are the labels of the Secrets and ConfigMaps of a stack.
func (c *converter) objectLabels() map[string]string {
	return map[string]string{LabelStack: c.stack, LabelManagedBy: ManagedBy}
}

// fileObject is a compose secret or config, as Convert reads it.
type fileObject struct {
	kind string // "secret" or "config"
	key  string
	obj  types.FileObjectConfig
}

// stackObject turns a top-level secret or config into its Stack entry, and reads its data
// unless it is external. External objects keep their own name (made a valid Kubernetes name in
// externalName); file-, environment- and content-based ones become the object
// swarmv1.StackObjectName(stack, key) with the single key `key`, as docker's <stack>_<key> objects.
func (c *converter) stackObject(f fileObject) (swarmv1.StackObject, []byte, error) {
	so := swarmv1.StackObject{Name: f.key, External: bool(f.obj.External), Labels: nonEmpty(f.obj.Labels)}
	if len(f.key) > 63 {
		return so, nil, c.fail(f.kind, f.key, "", "the name is longer than 63 characters")
	}
	if f.obj.External {
		if en := externalName(f.obj.Name); en != f.key {
			so.ExternalName = en
		}
		return so, nil, nil
	}
	if !c.implicitName(f.key, f.obj.Name) {
		c.warn("%s %q: name %q is not kept: the stack's %ss are named after the stack (%s)", f.kind, f.key, f.obj.Name, f.kind, swarmv1.StackObjectName(c.stack, f.key))
	}
	if f.obj.Driver != "" {
		return so, nil, c.fail(f.kind, f.key, "driver", "%s drivers are not supported: give a file, or create the Secret and mark the secret external", f.kind)
	}
	if err := files.CheckTemplateDriver(f.kind, f.key, f.obj.TemplateDriver); err != nil {
		return so, nil, c.fail(f.kind, f.key, "template_driver", "%v", err)
	}
	data, err := c.fileData(f)
	if err == nil && f.obj.TemplateDriver != "" {
		// Swarm expands it for each task (internal/files); one that cannot be expanded at all
		// is refused now rather than failing every task.
		if terr := files.CheckTemplate(f.kind, f.key, data); terr != nil {
			return so, nil, c.fail(f.kind, f.key, "template_driver", "%v", terr)
		}
	}
	return so, data, err
}

// fileData is the content of a secret or config of the compose file.
func (c *converter) fileData(f fileObject) ([]byte, error) {
	switch {
	case f.obj.File != "":
		data, err := os.ReadFile(f.obj.File)
		if err != nil {
			return nil, c.fail(f.kind, f.key, "file", "%v", err)
		}
		return data, nil
	case f.obj.Environment != "":
		v, ok := c.project.Environment[f.obj.Environment]
		if !ok {
			return nil, c.fail(f.kind, f.key, "environment", "variable %s is not set", f.obj.Environment)
		}
		return []byte(v), nil
	case f.obj.Content != "":
		return []byte(f.obj.Content), nil
	}
	return nil, c.fail(f.kind, f.key, "", "needs file, environment, content or external")
}

func (c *converter) secrets() error {
	var clash []string
	var all []error
	for _, key := range sortedKeys(c.project.Secrets) {
		if c.inactive["secret"][key] {
			continue
		}
		so, data, err := c.stackObject(fileObject{kind: "secret", key: key, obj: types.FileObjectConfig(c.project.Secrets[key])})
		if err != nil {
			all = append(all, err)
			continue
		}
		c.result.Stack.Spec.Secrets = append(c.result.Stack.Spec.Secrets, so)
		if so.External {
			continue
		}
		clash = append(clash, key)
		c.result.Secrets = append(c.result.Secrets, &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: templated(c.objectMeta(key, so.Labels), c.project.Secrets[key].TemplateDriver),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{key: data},
			// Swarm never changes a secret's content (only its labels): the API server refuses
			// a new content from any client; rotation is a secret of another name.
			Immutable: ptr.To(true),
		})
	}
	return errors.Join(append(all, c.checkClash("secret", clash))...)
}

func (c *converter) configs() error {
	var clash []string
	var all []error
	for _, key := range sortedKeys(c.project.Configs) {
		if c.inactive["config"][key] {
			continue
		}
		so, data, err := c.stackObject(fileObject{kind: "config", key: key, obj: types.FileObjectConfig(c.project.Configs[key])})
		if err != nil {
			all = append(all, err)
			continue
		}
		c.result.Stack.Spec.Configs = append(c.result.Stack.Spec.Configs, so)
		if so.External {
			continue
		}
		clash = append(clash, key)
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: templated(c.objectMeta(key, so.Labels), c.project.Configs[key].TemplateDriver),
			Immutable:  ptr.To(true), // as a secret's
		}
		if utf8.Valid(data) {
			cm.Data = map[string]string{key: string(data)}
		} else {
			cm.BinaryData = map[string][]byte{key: data}
		}
		c.result.ConfigMaps = append(c.result.ConfigMaps, cm)
	}
	return errors.Join(append(all, c.checkClash("config", clash))...)
}

// objectMeta of a Secret or ConfigMap: the stack's labels; the compose labels, which docker
// allows to hold any text, as annotations.
// templated marks a secret or config of the golang template driver (files.AnnotationTemplate),
// which the operator renders for each task.
func templated(m metav1.ObjectMeta, driver string) metav1.ObjectMeta {
	if driver == "" {
		return m
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[files.AnnotationTemplate] = driver
	return m
}

func (c *converter) objectMeta(key string, composeLabels map[string]string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: swarmv1.StackObjectName(c.stack, key), Namespace: c.opts.Namespace, Labels: c.objectLabels()}
	if len(composeLabels) > 0 {
		m.Annotations = map[string]string{}
		for k, v := range composeLabels {
			m.Annotations[k] = v
		}
	}
	return m
}
