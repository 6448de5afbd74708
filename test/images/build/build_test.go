package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeBinaries writes stand-in program files, so the archive tests need no go build.
func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, b := range []string{"web", "pause", "coredns"} {
		p := filepath.Join(dir, b)
		if err := os.WriteFile(p, []byte("binary of "+b), 0o600); err != nil {
			t.Fatal(err)
		}
		bins[b] = p
	}
	return bins
}

// file is what a test compares of a file in an image.
type file struct {
	Mode int64
	Dir  bool
	Data string
}

// readImage reads ref back from the archive, as a consumer of the archive would.
func readImage(t *testing.T, archive, ref string) v1.Image {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", ref, archive, err)
	}
	return img
}

// fileSystem flattens img's layers into a map of path to file.
func fileSystem(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("reading the image's files: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = file{Mode: hdr.Mode, Dir: hdr.Typeflag == tar.TypeDir, Data: string(b)}
	}
}

// baseFiles are the files every image has besides its program.
var baseFiles = map[string]file{
	"etc":               {Mode: 0o755, Dir: true},
	"etc/group":         {Mode: 0o644, Data: "root:x:0:\nnobody:x:65534:\n"},
	"etc/nsswitch.conf": {Mode: 0o644, Data: "hosts: files dns\n"},
	"etc/passwd":        {Mode: 0o644, Data: "root:x:0:0:root:/:/web\nnobody:x:65534:65534:nobody:/:/nonexistent\n"},
	"tmp":               {Mode: 0o1777, Dir: true},
	"var":               {Mode: 0o755, Dir: true},
	"var/lib":           {Mode: 0o755, Dir: true},
	"var/lib/mysql":     {Mode: 0o755, Dir: true},
}

func withFile(path string, f file) map[string]file {
	m := map[string]file{path: f}
	for k, v := range baseFiles {
		m[k] = v
	}
	return m
}

func TestArchive(t *testing.T) {
	images, err := buildImages(imageSpecs(true), fakeBinaries(t))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), archiveName)
	if err := writeArchive(archive, images, time.Now()); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		ref       string
		wantCfg   v1.Config
		wantFiles map[string]file
	}{
		{
			ref: "kubeswarm.test/web:1",
			wantCfg: v1.Config{
				Entrypoint:   []string{"/web"},
				Env:          []string{"PATH=/", "VERSION=1"},
				ExposedPorts: map[string]struct{}{"80/tcp": {}},
				WorkingDir:   "/",
			},
			wantFiles: withFile("web", file{Mode: 0o755, Data: "binary of web"}),
		},
		{
			ref: "docker.io/library/mysql:5.7",
			wantCfg: v1.Config{
				Entrypoint:   []string{"/web"},
				Env:          []string{"PATH=/", "ROLE=mysql", "VERSION=mysql-standin"},
				ExposedPorts: map[string]struct{}{"3306/tcp": {}},
				Volumes:      map[string]struct{}{"/var/lib/mysql": {}},
				WorkingDir:   "/",
			},
			wantFiles: withFile("web", file{Mode: 0o755, Data: "binary of web"}),
		},
		{
			ref:       "kubeswarm.test/pause:1",
			wantCfg:   v1.Config{Entrypoint: []string{"/pause"}, Env: []string{"PATH=/"}, WorkingDir: "/"},
			wantFiles: withFile("pause", file{Mode: 0o755, Data: "binary of pause"}),
		},
		{
			ref:       "kubeswarm.test/coredns:1.15.0",
			wantCfg:   v1.Config{Entrypoint: []string{"/coredns"}, Env: []string{"PATH=/"}, WorkingDir: "/"},
			wantFiles: withFile("coredns", file{Mode: 0o755, Data: "binary of coredns"}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			img := readImage(t, archive, tc.ref)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCfg, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cf.OS != "linux" || cf.Architecture == "" || !cf.Created.Equal(epoch) {
				t.Errorf("os %q, architecture %q, created %v; want linux, this machine's, %v", cf.OS, cf.Architecture, cf.Created, epoch)
			}
			if diff := cmp.Diff(tc.wantFiles, fileSystem(t, img)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}

	var list bytes.Buffer
	if err := listArchive(&list, archive); err != nil {
		t.Fatal(err)
	}
	var gotRefs, wantRefs []string
	for _, line := range strings.Split(strings.TrimSpace(list.String()), "\n") {
		ref, id, _ := strings.Cut(line, " ")
		gotRefs = append(gotRefs, ref)
		cfgName, err := images[ref].ConfigName()
		if err != nil {
			t.Fatalf("listed %q: %v", line, err)
		}
		if id != cfgName.String() {
			t.Errorf("listed %s with ID %s, want %s", ref, id, cfgName)
		}
	}
	for _, spec := range imageSpecs(true) {
		wantRefs = append(wantRefs, spec.Ref)
	}
	sort.Strings(wantRefs)
	if diff := cmp.Diff(wantRefs, gotRefs); diff != "" {
		t.Errorf("images in the archive (-want +got):\n%s", diff)
	}
}

// TestReproducible: the same binaries give the same images, so re-importing an unchanged build
// changes nothing on the nodes.
func TestReproducible(t *testing.T) {
	bins := fakeBinaries(t)
	digests := func() map[string]string {
		images, err := buildImages(imageSpecs(true), bins)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for ref, img := range images {
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			m[ref] = d.String()
		}
		return m
	}
	if diff := cmp.Diff(digests(), digests()); diff != "" {
		t.Errorf("digests of two builds (-first +second):\n%s", diff)
	}
}

func TestImageSpecsWithoutCoreDNS(t *testing.T) {
	for _, spec := range imageSpecs(false) {
		if spec.Binary == "coredns" {
			t.Errorf("%s without --coredns", spec.Ref)
		}
	}
	if _, err := buildImages(imageSpecs(true), map[string]string{"web": "x", "pause": "y"}); err == nil {
		t.Error("building the coredns image without its binary: no error")
	}
}

func TestUpToDate(t *testing.T) {
	const stamp = "coredns=\n"
	built := time.Now().Add(-time.Hour)
	cases := []struct {
		name string
		// setup prepares dir, in which the archive is built at time built.
		setup func(t *testing.T, dir string)
		want  bool
	}{
		{name: "sources older", want: true},
		{
			name:  "no archive",
			setup: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, archiveName)) },
		},
		{
			name:  "no stamp",
			setup: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, stampName)) },
		},
		{
			name:  "other options",
			setup: func(t *testing.T, dir string) { writeAt(t, filepath.Join(dir, stampName), "coredns=/x\n", built) },
		},
		{
			name: "a source edited since",
			setup: func(t *testing.T, dir string) {
				writeAt(t, filepath.Join(dir, "src", "web", "main.go"), "new", time.Now())
			},
		},
		{
			name:  "the extra input replaced since",
			setup: func(t *testing.T, dir string) { writeAt(t, filepath.Join(dir, "coredns"), "new", time.Now()) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			old := built.Add(-time.Hour)
			writeAt(t, filepath.Join(dir, "src", "web", "main.go"), "old", old)
			writeAt(t, filepath.Join(dir, "src", "build", "main.go"), "old", old)
			writeAt(t, filepath.Join(dir, "coredns"), "old", old)
			for _, d := range []string{"src/web", "src/build", "src"} {
				if err := os.Chtimes(filepath.Join(dir, d), old, old); err != nil {
					t.Fatal(err)
				}
			}
			writeAt(t, filepath.Join(dir, archiveName), "archive", built)
			writeAt(t, filepath.Join(dir, stampName), stamp, built)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			got, err := upToDate(filepath.Join(dir, archiveName), filepath.Join(dir, stampName), stamp,
				[]string{filepath.Join(dir, "src"), filepath.Join(dir, "coredns")})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("upToDate = %v, want %v", got, tc.want)
			}
		})
	}
}

func writeAt(t *testing.T, path, content string, at time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestRun builds the real binaries and archive the cluster imports, then checks a second run
// leaves it alone.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test binaries")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), options{OutDir: out}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	archive := filepath.Join(out, archiveName)
	for _, ref := range []string{"kubeswarm.test/web:2", "docker.io/library/wordpress:latest"} {
		files := fileSystem(t, readImage(t, archive, ref))
		web := files["web"]
		if web.Mode != 0o755 || !strings.HasPrefix(web.Data, "\x7fELF") {
			t.Errorf("%s: /web has mode %o and starts %q, want an executable ELF file", ref, web.Mode, web.Data[:min(4, len(web.Data))])
		}
	}
	if got, want := strings.Count(stdout.String(), "\n"), len(imageSpecs(false)); got != want {
		t.Errorf("printed %d lines, want one per image (%d):\n%s", got, want, stdout.String())
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{archiveName, stampName}, names); diff != "" {
		t.Errorf("files left in the output directory (-want +got):\n%s", diff)
	}

	before, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	stderr.Reset()
	if err := run(context.Background(), options{OutDir: out}, &again, &stderr); err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr.String())
	}
	after, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) || !strings.Contains(stderr.String(), "up to date") {
		t.Errorf("second run rebuilt the archive; stderr: %s", stderr.String())
	}
	if diff := cmp.Diff(stdout.String(), again.String()); diff != "" {
		t.Errorf("listing of the second run (-first +second):\n%s", diff)
	}
}
