package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// krewPlatforms are the <os, arch> pairs krew runs on (krew v0.4.3's validate-krew-manifest).
var krewPlatforms = [][2]string{
	{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
	{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"},
	{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
}

// validateKrewPlugin is krew v0.4.3's check of a manifest (internal/index/validation and
// cmd/validate-krew-manifest, which a module outside krew cannot import): `krew install` runs the
// same before installing, as `make test-release` shows with the real krew.
func validateKrewPlugin(fileName string, p krewPlugin) error {
	name := strings.TrimSuffix(fileName, ".yaml")
	switch {
	case p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2":
		return fmt.Errorf("apiVersion %q", p.APIVersion)
	case p.Kind != "Plugin":
		return fmt.Errorf("kind %q", p.Kind)
	case !regexp.MustCompile(`^[\w-]+$`).MatchString(name) || p.Name != name:
		return fmt.Errorf("plugin %q in %s", p.Name, fileName)
	case p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n"):
		return fmt.Errorf("short description %q", p.Spec.ShortDescription)
	case len(p.Spec.Platforms) == 0:
		return errors.New("no platform")
	case !strings.HasPrefix(p.Spec.Version, "v"):
		return fmt.Errorf("version %q without its v", p.Spec.Version)
	}
	if _, err := utilversion.ParseSemantic(p.Spec.Version); err != nil {
		return fmt.Errorf("version %q: %w", p.Spec.Version, err)
	}
	for i, pl := range p.Spec.Platforms {
		switch {
		case pl.URI == "":
			return fmt.Errorf("platforms[%d]: no uri", i)
		case !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(pl.Sha256):
			return fmt.Errorf("platforms[%d]: sha256 %q", i, pl.Sha256)
		case pl.Bin == "":
			return fmt.Errorf("platforms[%d]: no bin", i)
		case pl.Files != nil && len(pl.Files) == 0:
			return fmt.Errorf("platforms[%d]: files empty", i)
		case pl.Selector == nil || (pl.Selector.MatchLabels == nil && len(pl.Selector.MatchExpressions) == 0):
			return fmt.Errorf("platforms[%d]: empty selector", i)
		}
		for _, f := range pl.Files {
			if f.From == "" || f.To == "" {
				return fmt.Errorf("platforms[%d]: file %+v", i, f)
			}
		}
		for k := range pl.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				return fmt.Errorf("platforms[%d]: selector key %q", i, k)
			}
		}
	}
	// Every platform selects a pair krew knows, and no pair is selected twice.
	matches := map[[2]string][]int{}
	for i, pl := range p.Spec.Platforms {
		sel, err := metav1.LabelSelectorAsSelector(pl.Selector)
		if err != nil {
			return fmt.Errorf("platforms[%d]: %w", i, err)
		}
		used := false
		for _, env := range krewPlatforms {
			if sel.Matches(labels.Set{"os": env[0], "arch": env[1]}) {
				matches[env] = append(matches[env], i)
				used = true
			}
		}
		if !used {
			return fmt.Errorf("platforms[%d]: selector %v matches no platform", i, pl.Selector)
		}
	}
	for env, m := range matches {
		if len(m) > 1 {
			return fmt.Errorf("platforms %v all select %s/%s", m, env[0], env[1])
		}
	}
	return nil
}

func TestKrewManifest(t *testing.T) {
	out := t.TempDir()
	r, _ := testRelease(t, out)
	if _, err := r.run(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, krewManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		t.Fatalf("reading %s as krew's Plugin: %v", krewManifestName, err)
	}
	if err := validateKrewPlugin(krewManifestName, p); err != nil {
		t.Fatalf("krew's validation: %v", err)
	}
	if p.Spec.Version != "v1.2.3" {
		t.Errorf("version %q, want v1.2.3", p.Spec.Version)
	}

	type platform struct {
		OS, Arch, URI, Bin string
		Files              []string
	}
	var got []platform
	for _, pl := range p.Spec.Platforms {
		archive := path.Base(pl.URI)
		// The sha256 is the archive's: krew refuses an archive whose sum differs.
		sum, err := sha256File(filepath.Join(out, archive))
		if err != nil {
			t.Fatal(err)
		}
		if pl.Sha256 != sum {
			t.Errorf("%s: sha256 %s, the archive's is %s", archive, pl.Sha256, sum)
		}
		// Every file krew copies, the binary it links among them, is in the archive.
		members := map[string]bool{}
		for _, m := range readArchive(t, filepath.Join(out, archive), testEpoch) {
			members[m.Name] = true
		}
		var files []string
		for _, f := range pl.Files {
			if !members[f.From] {
				t.Errorf("%s: files names %q, not in the archive", archive, f.From)
			}
			if f.To != "." {
				t.Errorf("%s: %s is copied to %q, want the plugin's directory", archive, f.From, f.To)
			}
			files = append(files, f.From)
		}
		if !members[pl.Bin] {
			t.Errorf("%s: bin %q is not in the archive", archive, pl.Bin)
		}
		got = append(got, platform{pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"], pl.URI, pl.Bin, files})
	}
	url := "https://downloads.example/kubeswarm/v1.2.3/"
	want := []platform{
		{"linux", "amd64", url + "kubectl-swarm_v1.2.3_linux_amd64.tar.gz", "kubectl-swarm",
			[]string{"kubectl-swarm", "kubectl-swarm-convert", "LICENSE", "README.md"}},
		{"darwin", "arm64", url + "kubectl-swarm_v1.2.3_darwin_arm64.tar.gz", "kubectl-swarm",
			[]string{"kubectl-swarm", "kubectl-swarm-convert", "LICENSE", "README.md"}},
		{"windows", "amd64", url + "kubectl-swarm_v1.2.3_windows_amd64.zip", "kubectl-swarm.exe",
			[]string{"kubectl-swarm.exe", "kubectl-swarm-convert.exe", "LICENSE", "README.md"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

func TestValidateKrewPlugin(t *testing.T) {
	// The ported validation refuses what krew refuses: without that it checks nothing.
	good := func() krewPlugin {
		return krewManifest("v1.2.3", "https://downloads.example", []krewArchive{
			{Platform: platforms(t, "linux/amd64")[0], Name: "a.tar.gz", Sha256: strings.Repeat("ab", 32), Files: []string{"kubectl-swarm"}},
			{Platform: platforms(t, "darwin/arm64")[0], Name: "b.tar.gz", Sha256: strings.Repeat("cd", 32), Files: []string{"kubectl-swarm"}},
		})
	}
	cases := []struct {
		name    string
		file    string
		change  func(*krewPlugin)
		wantErr string
	}{
		{name: "as written", file: "swarm.yaml", change: func(*krewPlugin) {}},
		{name: "file named otherwise", file: "kubeswarm.yaml", change: func(*krewPlugin) {}, wantErr: "plugin"},
		{name: "version without v", file: "swarm.yaml", change: func(p *krewPlugin) { p.Spec.Version = "1.2.3" }, wantErr: "without its v"},
		{name: "sha256 upper case", file: "swarm.yaml", change: func(p *krewPlugin) { p.Spec.Platforms[0].Sha256 = strings.Repeat("AB", 32) }, wantErr: "sha256"},
		{name: "two platforms select linux/amd64", file: "swarm.yaml", change: func(p *krewPlugin) {
			p.Spec.Platforms[1].Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"os": "linux"}}
		}, wantErr: "all select linux/amd64"},
		{name: "selector matches nothing", file: "swarm.yaml", change: func(p *krewPlugin) {
			p.Spec.Platforms[1].Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"os": "plan9"}}
		}, wantErr: "matches no platform"},
		{name: "short description on two lines", file: "swarm.yaml", change: func(p *krewPlugin) { p.Spec.ShortDescription = "a\nb" }, wantErr: "short description"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.change(&p)
			err := validateKrewPlugin(tc.file, p)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}
