package files

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"text/template"
)

// A secret or config created with `--template-driver golang` (compose `template_driver:
// golang`) is a Go template that Swarm expands for each task, with the task's context (moby
// swarmkit template/context.go, PayloadContext; template/getter.go ExpandSecretSpec and
// ExpandConfigSpec). kubeswarm keeps the driver on the Secret or ConfigMap (AnnotationTemplate)
// and install-files renders such a file for each task, where the task's facts are known: its
// node and pod names from the downward API (the env variables below), the service's facts and
// the task's environment as written (TemplateContextEnv), and the task's other secrets and
// configs, projected next to it.

// TemplateDriver is the only driver Swarm knows (swarmkit api/specs.proto, Driver templating).
const TemplateDriver = "golang"

// AnnotationTemplate on a Secret or ConfigMap names its template driver.
const AnnotationTemplate = "swarm.kubeswarm.io/template-driver"

// The variables install-files reads the task's context from. The downward API gives the first
// ones; TemplateContextEnv holds a TemplateContext as JSON.
const (
	EnvNodeName         = "SWARM_NODE_HOSTNAME"
	EnvTaskName         = "SWARM_TASK_NAME"
	EnvTaskID           = "SWARM_TASK_ID"
	EnvTaskSlot         = "SWARM_TASK_SLOT"
	TemplateContextEnv  = "SWARM_TEMPLATE_CONTEXT"
	templateItemPrefix  = TemplateDriver + "="
	templateName        = "expansion"
	templateMissingKeys = "missingkey=error"
)

// TemplateContext is what the pod template knows of a task's context: the service, the task's
// environment as written, and where install-files finds the task's secrets and configs by their
// targets (paths relative to its source directory).
type TemplateContext struct {
	ServiceID     string            `json:"serviceID"`
	ServiceName   string            `json:"serviceName"`
	ServiceLabels map[string]string `json:"serviceLabels,omitempty"`
	Env           []string          `json:"env,omitempty"`
	Secrets       map[string]string `json:"secrets,omitempty"`
	Configs       map[string]string `json:"configs,omitempty"`
}

// taskContext is swarmkit's template.Context: the fields a template names.
type taskContext struct {
	Service struct {
		ID     string
		Name   string
		Labels map[string]string
	}
	Node struct {
		ID       string
		Hostname string
		Platform struct{ Architecture, OS string }
	}
	Task struct{ ID, Name, Slot string }
}

// templateFuncs are swarmkit's functions (template/template.go join; context.go secret, config,
// env), given by get.
func templateFuncs(get func(kind, name string) (string, error)) template.FuncMap {
	return template.FuncMap{
		"join":   func(s ...string) string { return strings.Join(s[1:], s[0]) },
		"secret": func(name string) (string, error) { return get("secret", name) },
		"config": func(name string) (string, error) { return get("config", name) },
		"env":    func(name string) (string, error) { return get("env", name) },
	}
}

func parseTemplate(text string, get func(kind, name string) (string, error)) (*template.Template, error) {
	return template.New(templateName).Option(templateMissingKeys).Funcs(templateFuncs(get)).Parse(text)
}

// CheckTemplate refuses what Swarm would fail to expand whatever the task: a template that does
// not parse, or calls a function Swarm does not have (text/template's "function "x" not
// defined"), in swarmkit's words ("failed to expand templated config …"). The doors that write
// a templated secret or config run it before writing.
func CheckTemplate(kind, name string, data []byte) error {
	if _, err := parseTemplate(string(data), nil); err != nil {
		return fmt.Errorf("%s %s: failed to expand templated %s: %w", kind, name, kind, err)
	}
	return nil
}

// NamesSlot tells whether a template names the task's slot (.Task.Slot).
func NamesSlot(text string) bool { return slotRE.MatchString(text) }

var slotRE = regexp.MustCompile(`\.Task\.Slot\b`)

// CheckTemplateDriver refuses a driver other than Swarm's golang.
func CheckTemplateDriver(kind, name, driver string) error {
	if driver != "" && driver != TemplateDriver {
		return fmt.Errorf("%s %s: template driver %q is not supported: Swarm knows only %q", kind, name, driver, TemplateDriver)
	}
	return nil
}

// Render expands text for the task whose context getenv gives (the variables above), reading
// the task's secrets and configs under dir.
func Render(text string, getenv func(string) string, dir string) ([]byte, error) {
	var tc TemplateContext
	if raw := getenv(TemplateContextEnv); raw != "" {
		if err := json.Unmarshal([]byte(raw), &tc); err != nil {
			return nil, fmt.Errorf("reading %s: %w", TemplateContextEnv, err)
		}
	}
	var ctx taskContext
	ctx.Service.ID, ctx.Service.Name, ctx.Service.Labels = tc.ServiceID, tc.ServiceName, tc.ServiceLabels
	ctx.Node.ID, ctx.Node.Hostname = getenv(EnvNodeName), getenv(EnvNodeName)
	// install-files runs on the task's node: its platform is the node's.
	ctx.Node.Platform.Architecture, ctx.Node.Platform.OS = runtime.GOARCH, runtime.GOOS
	ctx.Task.ID, ctx.Task.Name, ctx.Task.Slot = getenv(EnvTaskID), getenv(EnvTaskName), getenv(EnvTaskSlot)
	get := func(kind, name string) (string, error) {
		switch kind {
		case "env":
			// swarmkit envGetter: the task's variable as written, "" when it has none.
			for _, e := range tc.Env {
				if k, v, ok := strings.Cut(e, "="); ok && k == name {
					return v, nil
				}
			}
			return "", nil
		case "secret", "config":
			refs := tc.Secrets
			if kind == "config" {
				refs = tc.Configs
			}
			p, ok := refs[name]
			if !ok {
				return "", fmt.Errorf("%s target %s not found", kind, name)
			}
			b, err := os.ReadFile(filepath.Join(dir, p))
			return string(b), err
		}
		return "", errors.New("unknown function")
	}
	tmpl, err := parseTemplate(text, get)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, ctx); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
