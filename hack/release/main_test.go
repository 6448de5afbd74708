package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/kubeswarm/kubeswarm/internal/install"
)

// testEpoch is the commit time of the tests' releases.
var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// recordedBuild is what a test compares of a build: which program, where, stamped how.
type recordedBuild struct {
	Package  string
	Platform string
	Stamp    map[string]string
}

// fakeBuilder stands in for go build: it writes a small file naming what it was asked for, so
// the tests need no compiler, and records the builds.
type fakeBuilder struct {
	builds []recordedBuild
}

func (f *fakeBuilder) build(_ context.Context, b goBuild) error {
	f.builds = append(f.builds, recordedBuild{Package: b.Package, Platform: b.Platform.String(), Stamp: b.Stamp})
	if err := os.MkdirAll(filepath.Dir(b.Out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(b.Out, []byte("binary of "+b.Package+" for "+b.Platform.String()+" with "+b.ldflags()), 0o755)
}

// fakeCACertificates writes a ca-certificates package tree with three certificates (one without
// a trailing newline, out of order) and a file that is not one.
func fakeCACertificates(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, caCerts)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"Zeta_Root.crt":  "-----BEGIN CERTIFICATE-----\nzeta\n-----END CERTIFICATE-----\n",
		"Alpha_Root.crt": "-----BEGIN CERTIFICATE-----\nalpha\n-----END CERTIFICATE-----",
		"Mid_Root.crt":   "-----BEGIN CERTIFICATE-----\nmid\n-----END CERTIFICATE-----\n",
		"README":         "not a certificate\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fakeCABundle is what fakeCACertificates' package makes: sorted, each ending in a newline.
const fakeCABundle = "-----BEGIN CERTIFICATE-----\nalpha\n-----END CERTIFICATE-----\n" +
	"-----BEGIN CERTIFICATE-----\nmid\n-----END CERTIFICATE-----\n" +
	"-----BEGIN CERTIFICATE-----\nzeta\n-----END CERTIFICATE-----\n"

// fakeRoot is a module root with the docs an archive carries.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{"README.md": "# kubeswarm\n", "LICENSE": "Apache License\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func platforms(t *testing.T, s string) []v1.Platform {
	t.Helper()
	ps, err := parsePlatforms(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// testRelease is a release of v1.2.3 into out from fake binaries, the manifests `kubectl swarm
// init` embeds (the same kustomize build of config/default) and a fake CA package.
func testRelease(t *testing.T, out string) (*release, *fakeBuilder) {
	t.Helper()
	fb := &fakeBuilder{}
	var stderr bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("release's output:\n%s", stderr.String())
		}
	})
	return &release{
		opts: options{
			Version:         "v1.2.3",
			Out:             out,
			Platforms:       platforms(t, "linux/amd64,linux/arm64"),
			PluginPlatforms: platforms(t, "linux/amd64,darwin/arm64,windows/amd64"),
			Manifests:       filepath.Join("..", "..", "internal", "cli", "manifests", "kubeswarm.yaml"),
			CACertificates:  fakeCACertificates(t),
			CAVersion:       "20250419~deb12u2",
			ReleaseURL:      "https://downloads.example/kubeswarm/v1.2.3",
			Revision:        "0123456789abcdef0123456789abcdef01234567",
			Epoch:           testEpoch,
			PushTimeout:     time.Minute,
			Root:            fakeRoot(t),
		},
		build:  fb.build,
		stdout: io.Discard,
		stderr: &stderr,
	}, fb
}

// installImage is the operator image out/install.yaml installs.
func installImage(t *testing.T, out string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, installName))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Objects(b, install.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return install.OperatorImage(objs)
}

// dirFiles maps every file under dir to its contents.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestReleaseWithoutRegistry(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	r, fb := testRelease(t, out)
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	wantFiles := []string{
		"chart",
		checksumsName,
		"image",
		installName,
		"kubectl-swarm_v1.2.3_darwin_arm64.tar.gz",
		"kubectl-swarm_v1.2.3_linux_amd64.tar.gz",
		"kubectl-swarm_v1.2.3_windows_amd64.zip",
		"kubeswarm-1.2.3.tgz",
		krewManifestName,
	}
	if diff := cmp.Diff(wantFiles, res.Files); diff != "" {
		t.Errorf("release files (-want +got):\n%s", diff)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(out, "image"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != res.Digest {
		t.Fatalf("the layout's index.json lists %+v, want the image index %s alone", im.Manifests, res.Digest)
	}
	if got, want := im.Manifests[0].Annotations[refNameAnnotation], "v1.2.3"; got != want {
		t.Errorf("the layout names the index %q, want %q", got, want)
	}
	wantImage := "kubeswarm/manager:v1.2.3@" + res.Digest.String()
	if res.Image != wantImage {
		t.Errorf("pinned image %q, want %q", res.Image, wantImage)
	}
	if got := installImage(t, out); got != wantImage {
		t.Errorf("install.yaml installs %q, want %q", got, wantImage)
	}

	// The manager is stamped with the version; kubectl-swarm also with the image, so that
	// a released `kubectl swarm init` installs this very image; convert needs no image.
	v := map[string]string{"Version": "v1.2.3"}
	vi := map[string]string{"Version": "v1.2.3", "Image": wantImage}
	wantBuilds := []recordedBuild{
		{"./cmd/manager", "linux/amd64", v},
		{"./cmd/manager", "linux/arm64", v},
		{"./cmd/kubectl-swarm", "linux/amd64", vi},
		{"./cmd/kubectl-swarm-convert", "linux/amd64", v},
		{"./cmd/kubectl-swarm", "darwin/arm64", vi},
		{"./cmd/kubectl-swarm-convert", "darwin/arm64", v},
		{"./cmd/kubectl-swarm", "windows/amd64", vi},
		{"./cmd/kubectl-swarm-convert", "windows/amd64", v},
	}
	if diff := cmp.Diff(wantBuilds, fb.builds); diff != "" {
		t.Errorf("builds (-want +got):\n%s", diff)
	}

	// checksums.txt is sha256sum's output over every file beside it.
	var want strings.Builder
	for _, f := range res.Files {
		if f == checksumsName || f == "image" || f == "chart" {
			continue
		}
		sum, err := sha256File(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(sum + "  " + f + "\n")
	}
	got, err := os.ReadFile(filepath.Join(out, checksumsName))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("checksums.txt (-want +got):\n%s", diff)
	}

	// Nothing but the release is left in out: no staging directory.
	des, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if diff := cmp.Diff(wantFiles, names); diff != "" {
		t.Errorf("out's entries (-want +got):\n%s", diff)
	}
}

func TestReleaseReproducible(t *testing.T) {
	// Two releases of the same inputs, into different directories, are the same bytes: every
	// file, the image layout's blobs included.
	dir := t.TempDir()
	root, ca := fakeRoot(t), fakeCACertificates(t)
	var files []map[string]string
	for _, out := range []string{"first", "second"} {
		r, _ := testRelease(t, filepath.Join(dir, out))
		r.opts.Root, r.opts.CACertificates = root, ca
		if _, err := r.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		files = append(files, dirFiles(t, filepath.Join(dir, out)))
	}
	if len(files[0]) < 10 {
		t.Fatalf("only %d files in a release: %v", len(files[0]), files[0])
	}
	if diff := cmp.Diff(files[0], files[1]); diff != "" {
		t.Errorf("two releases of the same inputs differ (-first +second):\n%s", diff)
	}
}

func TestReleaseReplacesEarlier(t *testing.T) {
	// A release replaces an earlier one's files in out and leaves anything else there alone.
	out := t.TempDir()
	earlier := map[string]string{
		"kubectl-swarm_v1.2.2_linux_amd64.tar.gz": "earlier archive",
		installName:        "earlier install.yaml",
		"image/index.json": "{}",
		"notes.txt":        "the user's own",
	}
	for name, data := range earlier {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := testRelease(t, out)
	r.opts.PluginPlatforms = platforms(t, "linux/amd64")
	if _, err := r.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	want := []string{"chart", checksumsName, "image", installName, "kubectl-swarm_v1.2.3_linux_amd64.tar.gz", "kubeswarm-1.2.3.tgz", "notes.txt", krewManifestName}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("out's entries (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(b) != "the user's own" {
		t.Errorf("notes.txt is now %q", b)
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "complete", args: []string{"-version", "v0.3.0", "-ca-certificates", "/ca", "-ca-version", "1"}},
		{name: "prerelease", args: []string{"-version", "v0.3.0-rc.1", "-ca-certificates", "/ca", "-ca-version", "1"}},
		{name: "no version", args: []string{"-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: "-version is required"},
		{name: "version without v", args: []string{"-version", "0.3.0", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: `-version "0.3.0": want a semantic version with its v`},
		{name: "version not semantic", args: []string{"-version", "vlatest", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: `-version "vlatest"`},
		{name: "registry with a scheme", args: []string{"-version", "v0.3.0", "-registry", "http://localhost:5000/k", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: "without a scheme"},
		{name: "image for windows", args: []string{"-version", "v0.3.0", "-platforms", "linux/amd64,windows/amd64", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: "-platforms windows/amd64: the operator image is for linux only"},
		{name: "platform twice", args: []string{"-version", "v0.3.0", "-plugin-platforms", "linux/amd64,linux/amd64", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: `platform "linux/amd64" given twice`},
		{name: "platform without arch", args: []string{"-version", "v0.3.0", "-plugin-platforms", "linux", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: "want OS/ARCH"},
		{name: "no CA package", args: []string{"-version", "v0.3.0"}, wantErr: "-ca-certificates and -ca-version are required"},
		{name: "epoch not a number", args: []string{"-version", "v0.3.0", "-source-date-epoch", "yesterday", "-ca-certificates", "/ca", "-ca-version", "1"}, wantErr: "-source-date-epoch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", "")
			_, err := parseFlags(tc.args)
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

func TestParseFlagsDefaults(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767323045")
	o, err := parseFlags([]string{"-version", "v0.3.0", "-ca-certificates", "/ca", "-ca-version", "1"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"platforms":        len(o.Platforms),
		"plugin platforms": len(o.PluginPlatforms),
		"release url":      o.ReleaseURL,
		"epoch":            o.Epoch.Format(time.RFC3339),
		"out":              o.Out,
	}
	want := map[string]any{
		"platforms":        2,
		"plugin platforms": 6,
		"release url":      "https://github.com/kubeswarm/kubeswarm/releases/download/v0.3.0",
		"epoch":            "2026-01-02T03:04:05Z",
		"out":              "dist",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}
