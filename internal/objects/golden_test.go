package objects

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/yaml"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// The golden test (docs/swarm-on-kubernetes.md, "Operator upgrades"): a new operator that
// generates another pod template for an unchanged Service replaces every task of it, so every
// change of a generated template must be seen and decided. testdata/golden holds a corpus of
// services, one file each: the input (the Service, and the inputs and operator options the
// template depends on) and the pod templates objects.Build makes of it. A case may hold a
// deployed Stack instead, whose services are what the Stack controller writes (stack.Child).

var (
	updateGolden  = flag.Bool("update", false, "rewrite testdata/golden/*.yaml from what objects.Build makes, and record new cases in TEMPLATES.sha256")
	releaseGolden = flag.Bool("release", false, "a release was cut: record every case's templates in TEMPLATES.sha256 as the released ones")
)

const (
	goldenDir = "testdata/golden"
	// templatesFile records, per case, the hash of the templates the last release generated.
	templatesFile = "TEMPLATES.sha256"
	changelogFile = "../../CHANGELOG.md"
)

const goldenHeader = `# A case of TestGolden (internal/objects/golden_test.go): input is the case, templates is what
# objects.Build makes of it, written by: go test ./internal/objects -run TestGolden -update
`

// restartMessage is what a changed template means, said by TestGolden when one differs.
const restartMessage = `a change to a generated pod template restarts every task of matching services on operator upgrade — ` +
	`if intended, run ` + "`go test ./internal/objects -run TestGolden -update`" + `, and write it in CHANGELOG.md under the release's "Restarts tasks" heading`

// goldenCase is a file of testdata/golden.
type goldenCase struct {
	// Description says what the case covers.
	Description string      `json:"description"`
	Input       goldenInput `json:"input"`
	// Templates is what objects.Build makes of the input: any on reading (only the input is
	// read back), goldenTemplates on writing.
	Templates any `json:"templates,omitempty"`
}

// goldenInput is a service and everything else its pod templates are made of.
type goldenInput struct {
	// Service is the case's service; or, with DeployedStack, none: the stack's services are,
	// as the Stack controller writes them (stack.Child).
	Service       *goldenService `json:"service,omitempty"`
	DeployedStack *goldenStack   `json:"deployedStack,omitempty"`
	// Stack, SecretKeys, ConfigKeys, JobIteration, Nodes and NodeLabels are Inputs' fields of
	// the same names.
	Stack      string            `json:"stack,omitempty"`
	SecretKeys map[string]string `json:"secretKeys,omitempty"`
	// TemplatedSecrets, TemplatedConfigs and SlotTemplates are Inputs' fields of the same names.
	TemplatedSecrets map[string]bool     `json:"templatedSecrets,omitempty"`
	TemplatedConfigs map[string]bool     `json:"templatedConfigs,omitempty"`
	SlotTemplates    map[string]bool     `json:"slotTemplates,omitempty"`
	ConfigKeys       map[string]string   `json:"configKeys,omitempty"`
	JobIteration     int64               `json:"jobIteration,omitempty"`
	Nodes            []string            `json:"nodes,omitempty"`
	NodeLabels       []map[string]string `json:"nodeLabels,omitempty"`
	// ImageHealthcheck is the HEALTHCHECK of the image's config.
	ImageHealthcheck *swarmv1.Healthcheck `json:"imageHealthcheck,omitempty"`
	// ExistingClaims are the claims the Service controller sees (translate.Claims: name to the
	// service whose slots it holds, "" for none), which it builds with
	// (translate.WithExistingClaims): an upgrade's view of a service whose claim exists.
	ExistingClaims translate.Claims `json:"existingClaims,omitempty"`
	// Options are the operator's options (its flags) the templates depend on.
	Options goldenOptions `json:"options,omitzero"`
}

// goldenService is the part of a Service that objects.Build reads.
type goldenService struct {
	Name      string              `json:"name"`
	Namespace string              `json:"namespace"`
	Spec      swarmv1.ServiceSpec `json:"spec"`
}

// goldenStack is the part of a Stack that stack.Child reads.
type goldenStack struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Spec      swarmv1.StackSpec `json:"spec"`
}

// goldenOptions are the fields of translate.Options that reach a pod template
// (TestGoldenCoversInputs keeps the list whole).
type goldenOptions struct {
	ClusterDNS         string            `json:"clusterDNS,omitempty"`
	ClusterDomain      string            `json:"clusterDomain,omitempty"`
	LatestPullPolicy   corev1.PullPolicy `json:"latestPullPolicy,omitempty"`
	NodeFailureTimeout *metav1.Duration  `json:"nodeFailureTimeout,omitempty"`
	AllowBindMounts    bool              `json:"allowBindMounts,omitempty"`
	AllowHostNetwork   bool              `json:"allowHostNetwork,omitempty"`
	FilesImage         string            `json:"filesImage,omitempty"`
}

// goldenTemplates are the pod templates of a service's workload.
type goldenTemplates struct {
	// Kind is the workload's: Deployment, StatefulSet, DaemonSet or Job.
	Kind string `json:"kind"`
	// TemplateHash is the label every task carries (swarm.kubeswarm.io/template-hash).
	TemplateHash string `json:"templateHash"`
	// Workloads are the objects that hold the templates: one, or a Job per node for global-job.
	Workloads []goldenWorkload `json:"workloads"`
}

type goldenWorkload struct {
	Name     string                                      `json:"name"`
	Template *corev1ac.PodTemplateSpecApplyConfiguration `json:"template"`
}

// services are the case's services, as the API holds them.
func (in goldenInput) services() ([]*swarmv1.Service, error) {
	switch {
	case (in.Service == nil) == (in.DeployedStack == nil):
		return nil, errors.New("input needs a service or a deployedStack, not both")
	case in.Service != nil:
		return []*swarmv1.Service{{ObjectMeta: metav1.ObjectMeta{Name: in.Service.Name, Namespace: in.Service.Namespace, UID: goldenUID},
			Spec: in.Service.Spec}}, nil
	}
	st := &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: in.DeployedStack.Name, Namespace: in.DeployedStack.Namespace}, Spec: in.DeployedStack.Spec}
	if err := stack.Validate(st); err != nil {
		return nil, err
	}
	var out []*swarmv1.Service
	for _, s := range st.Spec.Services {
		svc := stack.Child(st, s)
		svc.UID = goldenUID
		out = append(out, svc)
	}
	return out, nil
}

// goldenUID is every case's Service's UID ({{.Service.ID}}).
const goldenUID = "uid-golden"

func (in goldenInput) build(svc *swarmv1.Service) (*Objects, error) {
	o := in.Options
	opts := translate.Options{ClusterDNS: o.ClusterDNS, ClusterDomain: o.ClusterDomain, LatestPullPolicy: o.LatestPullPolicy,
		AllowBindMounts: o.AllowBindMounts, AllowHostNetwork: o.AllowHostNetwork, FilesImage: o.FilesImage}
	if o.NodeFailureTimeout != nil {
		opts.NodeFailureTimeout = o.NodeFailureTimeout.Duration
	}
	inputs := Inputs{Stack: in.Stack, SecretKeys: in.SecretKeys, ConfigKeys: in.ConfigKeys,
		TemplatedSecrets: in.TemplatedSecrets, TemplatedConfigs: in.TemplatedConfigs, SlotTemplates: in.SlotTemplates,
		JobIteration: in.JobIteration, Nodes: in.Nodes, NodeLabels: in.NodeLabels, ImageHealthcheck: in.ImageHealthcheck}
	if in.DeployedStack != nil {
		inputs.Stack = svc.Labels[translate.LabelStack] // as the Service controller reads it
	}
	if len(in.ExistingClaims) > 0 {
		var err error
		if svc, err = translate.WithExistingClaims(svc, in.ExistingClaims); err != nil {
			return nil, err
		}
	}
	return Build(svc, inputs, opts)
}

func templatesOf(o *Objects) goldenTemplates {
	out := goldenTemplates{Kind: o.WorkloadKind(), TemplateHash: o.TemplateHash}
	switch {
	case o.Deployment != nil:
		out.Workloads = []goldenWorkload{{Name: *o.Deployment.Name, Template: o.Deployment.Spec.Template}}
	case o.DaemonSet != nil:
		out.Workloads = []goldenWorkload{{Name: *o.DaemonSet.Name, Template: o.DaemonSet.Spec.Template}}
	case o.StatefulSet != nil:
		out.Workloads = []goldenWorkload{{Name: *o.StatefulSet.Name, Template: o.StatefulSet.Spec.Template}}
	default:
		for _, j := range o.Jobs {
			out.Workloads = append(out.Workloads, goldenWorkload{Name: *j.Name, Template: j.Spec.Template})
		}
	}
	return out
}

// readGolden reads the cases, by file name.
func readGolden(t *testing.T) map[string]goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in %s (%v)", goldenDir, err)
	}
	out := map[string]goldenCase{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var c goldenCase
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		out[filepath.Base(p)] = c
	}
	return out
}

// render is a case's file: the input as read, and the templates Build makes of it now.
func render(c goldenCase) ([]byte, error) {
	services, err := c.Input.services()
	if err != nil {
		return nil, err
	}
	byService := map[string]goldenTemplates{}
	for _, svc := range services {
		objs, err := c.Input.build(svc)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", svc.Name, err)
		}
		byService[svc.Name] = templatesOf(objs)
	}
	if c.Input.Service != nil {
		c.Templates = byService[c.Input.Service.Name]
	} else {
		c.Templates = byService // a stack's: by service
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append([]byte(goldenHeader), data...), nil
}

// TestGolden compares the pod templates objects.Build makes of each case of the corpus with the
// ones recorded in its file.
func TestGolden(t *testing.T) {
	cases := readGolden(t)
	for _, name := range sortedKeys(cases) {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			path := filepath.Join(goldenDir, name)
			got, err := render(cases[name])
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(want, got) {
				return
			}
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("rewrote %s", path)
				return
			}
			t.Errorf("%s is not what objects.Build makes now (-want +got):\n%s\n%s", path,
				cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")), restartMessage)
		})
	}
	if *updateGolden || *releaseGolden {
		if err := recordTemplates(t, *releaseGolden); err != nil {
			t.Fatal(err)
		}
	}
}

// templateHashes hashes each case's templates as its file holds them: the sha256 of their JSON
// form, so that the hash depends on the templates only, not on the file's layout.
func templateHashes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, c := range readGolden(t) {
		if c.Templates == nil {
			t.Fatalf("%s has no templates: run go test ./internal/objects -run TestGolden -update", name)
		}
		data, err := json.Marshal(c.Templates)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out[name] = hex.EncodeToString(sum[:])
	}
	return out
}

// readTemplates reads TEMPLATES.sha256: "<sha256>  <case file>" lines, # comments.
func readTemplates() (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(goldenDir, templatesFile))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s:%d: not \"<sha256>  <case>\": %q", templatesFile, i+1, line)
		}
		out[name] = sum
	}
	return out, nil
}

const templatesHeader = `# The pod templates of the last release, as a sha256 per golden case (of its templates section).
# TestGoldenChangelog requires CHANGELOG.md's Unreleased "Restarts tasks" to say what restarts
# when a case's templates differ from these. TestGolden -update adds new cases and never changes
# a line; TestGolden -release, run when a release is cut, records every case anew.
`

// recordTemplates adds the cases TEMPLATES.sha256 does not list yet or, when release, records
// every case's hash anew (refused unless the release just cut says what restarts).
func recordTemplates(t *testing.T, release bool) error {
	t.Helper()
	current := templateHashes(t)
	recorded, err := readTemplates()
	if errors.Is(err, os.ErrNotExist) {
		recorded, err = map[string]string{}, nil
	}
	if err != nil {
		return err
	}
	if release {
		notes, err := os.ReadFile(changelogFile)
		if err != nil {
			return err
		}
		if err := releaseVerdict(recorded, current, string(notes)); err != nil {
			return err
		}
		recorded = map[string]string{}
	}
	for name, sum := range current {
		if _, ok := recorded[name]; !ok {
			recorded[name] = sum
		}
	}
	var b strings.Builder
	b.WriteString(templatesHeader)
	for _, name := range sortedKeys(recorded) {
		fmt.Fprintf(&b, "%s  %s\n", recorded[name], name)
	}
	return os.WriteFile(filepath.Join(goldenDir, templatesFile), []byte(b.String()), 0o644)
}

// TestGoldenChangelog is the guard -update cannot pass alone: when a case's templates differ
// from the last release's (TEMPLATES.sha256), CHANGELOG.md's Unreleased section must say under
// "Restarts tasks" which tasks restart, not "Nothing.".
func TestGoldenChangelog(t *testing.T) {
	current := templateHashes(t)
	recorded, err := readTemplates()
	if err != nil {
		t.Fatalf("reading the released templates: %v (run go test ./internal/objects -run TestGolden -update)", err)
	}
	notes, err := os.ReadFile(changelogFile)
	if err != nil {
		t.Fatalf("reading the changelog: %v", err)
	}
	if err := changelogVerdict(recorded, current, string(notes)); err != nil {
		t.Error(err)
	}
}

// changed lists the cases whose templates differ from the recorded ones.
func changed(recorded, current map[string]string) []string {
	var out []string
	for _, name := range sortedKeys(current) {
		if sum, ok := recorded[name]; ok && sum != current[name] {
			out = append(out, name)
		}
	}
	return out
}

// changelogVerdict is TestGoldenChangelog's judgement of the recorded and current hashes of the
// cases and the changelog's text.
func changelogVerdict(recorded, current map[string]string, changelog string) error {
	var errs []error
	for _, name := range sortedKeys(recorded) {
		if _, ok := current[name]; !ok {
			errs = append(errs, fmt.Errorf("%s lists %s, which is no golden case: remove its line when the case was removed on purpose", templatesFile, name))
		}
	}
	for _, name := range sortedKeys(current) {
		if _, ok := recorded[name]; !ok {
			errs = append(errs, fmt.Errorf("golden case %s is not in %s: run go test ./internal/objects -run TestGolden -update", name, templatesFile))
		}
	}
	restarts, err := restartsTasks(changelog, 0)
	if err != nil {
		errs = append(errs, err)
	} else if diff := changed(recorded, current); len(diff) > 0 && restarts == "" {
		errs = append(errs, fmt.Errorf("the pod templates of %s differ from the last release's (%s): they restart every task of matching services "+
			"on operator upgrade, and CHANGELOG.md's Unreleased \"Restarts tasks\" says Nothing. If intended, write there which services' tasks restart, and why",
			strings.Join(diff, ", "), templatesFile))
	}
	return errors.Join(errs...)
}

// releaseVerdict allows recording the current templates as released: the changelog has a new
// Unreleased section that restarts nothing, and, when templates changed since the last record,
// the release just cut (the section after Unreleased) says what restarts.
func releaseVerdict(recorded, current map[string]string, changelog string) error {
	unreleased, err := restartsTasks(changelog, 0)
	if err != nil {
		return err
	}
	if unreleased != "" {
		return fmt.Errorf("-release records the templates of a release: cut it first (CHANGELOG.md's Unreleased section becomes the release's, and a new Unreleased says \"Restarts tasks\" Nothing.)")
	}
	if diff := changed(recorded, current); len(diff) > 0 {
		released, err := restartsTasks(changelog, 1)
		if err != nil {
			return fmt.Errorf("the templates of %s changed since the last release: %w", strings.Join(diff, ", "), err)
		}
		if released == "" {
			return fmt.Errorf("the templates of %s changed since the last release, and the release just cut says under \"Restarts tasks\" Nothing", strings.Join(diff, ", "))
		}
	}
	return nil
}

// restartsTasks is the text under "### Restarts tasks" in the changelog's n-th release section
// ("## " heading; 0 is Unreleased), "" when it says "Nothing.".
func restartsTasks(changelog string, n int) (string, error) {
	var sections [][]string
	for _, line := range strings.Split(changelog, "\n") {
		if strings.HasPrefix(line, "## ") {
			sections = append(sections, nil)
		}
		if len(sections) > 0 {
			sections[len(sections)-1] = append(sections[len(sections)-1], line)
		}
	}
	if n == 0 && (len(sections) == 0 || !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(sections[0][0], "## ")), "Unreleased")) {
		return "", errors.New(`CHANGELOG.md must start with a "## Unreleased" section`)
	}
	if n >= len(sections) {
		return "", fmt.Errorf("CHANGELOG.md has no release section %d", n)
	}
	section := sections[n]
	for i, line := range section {
		if strings.TrimSpace(line) != "### Restarts tasks" {
			continue
		}
		var body []string
		for _, l := range section[i+1:] {
			if strings.HasPrefix(l, "#") {
				break
			}
			body = append(body, l)
		}
		text := strings.TrimSpace(strings.Join(body, "\n"))
		switch text {
		case "":
			return "", fmt.Errorf("%s: \"### Restarts tasks\" is empty: say Nothing. or what restarts", section[0])
		case "Nothing.":
			return "", nil
		}
		return text, nil
	}
	return "", fmt.Errorf("%s has no \"### Restarts tasks\" subsection", section[0])
}

func TestChangelogVerdict(t *testing.T) {
	const nothing = "# Changelog\n\n## Unreleased\n\n### Restarts tasks\n\nNothing.\n\n## v0.1.0\n\n### Restarts tasks\n\nEvery service with a healthcheck.\n"
	const some = "# Changelog\n\n## Unreleased\n\n### Restarts tasks\n\n- Services with owned secrets: the init container runs as root.\n\n### Fixed\n\nx\n"
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	cases := []struct {
		name              string
		recorded, current map[string]string
		changelog         string
		want              string // in the error; "" for none
	}{
		{name: "same templates, Nothing", recorded: map[string]string{"x.yaml": a}, current: map[string]string{"x.yaml": a}, changelog: nothing},
		{name: "changed templates, Nothing", recorded: map[string]string{"x.yaml": a}, current: map[string]string{"x.yaml": b}, changelog: nothing,
			want: "the pod templates of x.yaml differ from the last release's"},
		{name: "changed templates, said", recorded: map[string]string{"x.yaml": a}, current: map[string]string{"x.yaml": b}, changelog: some},
		{name: "new case", recorded: map[string]string{}, current: map[string]string{"x.yaml": a}, changelog: nothing, want: "is not in TEMPLATES.sha256"},
		{name: "removed case", recorded: map[string]string{"x.yaml": a}, current: map[string]string{}, changelog: nothing, want: "which is no golden case"},
		{name: "no Unreleased", recorded: map[string]string{}, current: map[string]string{}, changelog: "# Changelog\n\n## v0.1.0\n", want: `must start with a "## Unreleased"`},
		{name: "no Restarts tasks", recorded: map[string]string{}, current: map[string]string{}, changelog: "## Unreleased\n\n### Fixed\n\nx\n", want: `no "### Restarts tasks"`},
		{name: "empty Restarts tasks", recorded: map[string]string{}, current: map[string]string{}, changelog: "## Unreleased\n\n### Restarts tasks\n\n### Fixed\n", want: "is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := changelogVerdict(tc.recorded, tc.current, tc.changelog)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("changelogVerdict = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("release", func(t *testing.T) {
		changedHashes := []map[string]string{{"x.yaml": a}, {"x.yaml": b}}
		if err := releaseVerdict(changedHashes[0], changedHashes[1], nothing); err != nil {
			t.Errorf("a release that says what restarts: %v", err)
		}
		if err := releaseVerdict(changedHashes[0], changedHashes[1], some); err == nil {
			t.Errorf("-release with a non-empty Unreleased section was allowed")
		}
		swapped := "## Unreleased\n\n### Restarts tasks\n\nNothing.\n\n## v0.1.0\n\n### Restarts tasks\n\nNothing.\n"
		if err := releaseVerdict(changedHashes[0], changedHashes[1], swapped); err == nil {
			t.Errorf("-release of changed templates under a release that restarts Nothing was allowed")
		}
	})
}

// TestGoldenCoversInputs keeps the corpus as wide as what a template is made of: every field of
// the ServiceSpec (to its leaves) is set in some case, and every field of Inputs and
// translate.Options is a golden input or, for a reason given, none.
func TestGoldenCoversInputs(t *testing.T) {
	covered := map[string]bool{}
	for name, c := range readGolden(t) {
		services, err := c.Input.services()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, svc := range services {
			setPaths(reflect.ValueOf(svc.Spec), "spec", covered)
		}
	}
	var missing []string
	for _, p := range fieldPaths(reflect.TypeFor[swarmv1.ServiceSpec](), "spec") {
		if !covered[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no golden case sets %s: add one to %s and run -update", strings.Join(missing, ", "), goldenDir)
	}

	golden := map[string]bool{}
	for _, ty := range []reflect.Type{reflect.TypeFor[goldenInput](), reflect.TypeFor[goldenOptions]()} {
		for f := range ty.Fields() {
			golden[f.Name] = true
		}
	}
	// Fields that are no golden input, and why.
	notGolden := map[string]string{
		"UpdateState":        "the workload's rollout, not its template",
		"ToleratedFailures":  "the workload's rollout, not its template",
		"NodePortRange":      "the Kubernetes Service",
		"IngressServiceType": "the Kubernetes Service",
		"Running":            "keeps a running template as it is (TestFilesImageKept)",
	}
	for _, ty := range []reflect.Type{reflect.TypeFor[Inputs](), reflect.TypeFor[translate.Options]()} {
		for f := range ty.Fields() {
			if _, ok := notGolden[f.Name]; !golden[f.Name] && !ok {
				t.Errorf("%s.%s is neither a golden input nor known to be none: add it to goldenInput or goldenOptions, and cases that set it", ty.Name(), f.Name)
			}
		}
	}
}

// fieldPaths are the JSON paths of the leaves of t: the fields of swarmv1's structs, through
// pointers, slices and maps; other types (quantities, durations, strings) are leaves.
func fieldPaths(t reflect.Type, prefix string) []string {
	t = elem(t)
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[swarmv1.ServiceSpec]().PkgPath() {
		return []string{prefix}
	}
	var out []string
	for f := range t.Fields() {
		out = append(out, fieldPaths(f.Type, prefix+"."+jsonName(f))...)
	}
	return out
}

func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// setPaths marks the leaves that v sets (not zero) in covered.
func setPaths(v reflect.Value, prefix string, covered map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setPaths(v.Elem(), prefix, covered)
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			setPaths(v.Index(i), prefix, covered)
		}
		return
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Struct {
			break
		}
		for _, k := range v.MapKeys() {
			setPaths(v.MapIndex(k), prefix, covered)
		}
		return
	case reflect.Struct:
		if v.Type().PkgPath() != reflect.TypeFor[swarmv1.ServiceSpec]().PkgPath() {
			break
		}
		for i, f := range slices.Collect(v.Type().Fields()) {
			setPaths(v.Field(i), prefix+"."+jsonName(f), covered)
		}
		return
	}
	if !v.IsZero() && !(v.Kind() == reflect.Map && v.Len() == 0) {
		covered[prefix] = true
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
