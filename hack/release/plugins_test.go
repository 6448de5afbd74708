package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// archiveMember is what a test compares of a member of a plugin archive.
type archiveMember struct {
	Name string
	Mode os.FileMode
	Data string
}

// readArchive lists a plugin archive's members in order, checking each carries the epoch and,
// in a tar, root's ownership.
func readArchive(t *testing.T, path string, epoch time.Time) []archiveMember {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var members []archiveMember
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !f.Modified.Equal(epoch) {
				t.Errorf("%s is stamped %v, want the epoch %v", f.Name, f.Modified, epoch)
			}
			members = append(members, archiveMember{Name: f.Name, Mode: f.Mode(), Data: string(data)})
		}
		return members
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("the gzip header carries a time (%v) or a name (%q)", gz.ModTime, gz.Name)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return members
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epoch) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: time %v, owner %d:%d, type %c; want %v, 0:0, a regular file", hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Typeflag, epoch)
		}
		members = append(members, archiveMember{Name: hdr.Name, Mode: hdr.FileInfo().Mode(), Data: string(data)})
	}
}

func TestPluginArchives(t *testing.T) {
	out := t.TempDir()
	r, _ := testRelease(t, out)
	r.opts.PluginPlatforms = platforms(t, "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64")
	res, err := r.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	image := "kubeswarm/manager:v1.2.3@" + res.Digest.String()
	docs := []archiveMember{
		{Name: "LICENSE", Mode: 0o644, Data: "Apache License\n"},
		{Name: "README.md", Mode: 0o644, Data: "# kubeswarm\n"},
	}
	cases := []struct {
		archive, platform, ext string
	}{
		{"kubectl-swarm_v1.2.3_linux_amd64.tar.gz", "linux/amd64", ""},
		{"kubectl-swarm_v1.2.3_linux_arm64.tar.gz", "linux/arm64", ""},
		{"kubectl-swarm_v1.2.3_darwin_amd64.tar.gz", "darwin/amd64", ""},
		{"kubectl-swarm_v1.2.3_darwin_arm64.tar.gz", "darwin/arm64", ""},
		{"kubectl-swarm_v1.2.3_windows_amd64.zip", "windows/amd64", ".exe"},
		{"kubectl-swarm_v1.2.3_windows_arm64.zip", "windows/arm64", ".exe"},
	}
	for _, tc := range cases {
		t.Run(tc.archive, func(t *testing.T) {
			platform, ext := tc.platform, tc.ext
			want := append(docs[:2:2],
				archiveMember{Name: "kubectl-swarm" + ext, Mode: 0o755,
					Data: "binary of ./cmd/kubectl-swarm for " + platform + " with -s -w -X " + versionPackage + ".Version=v1.2.3 -X " + versionPackage + ".Image=" + image},
				archiveMember{Name: "kubectl-swarm-convert" + ext, Mode: 0o755,
					Data: "binary of ./cmd/kubectl-swarm-convert for " + platform + " with -s -w -X " + versionPackage + ".Version=v1.2.3"},
			)
			// Members in byte order: on Windows kubectl-swarm-convert.exe comes first ('-' < '.').
			sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
			if diff := cmp.Diff(want, readArchive(t, filepath.Join(out, tc.archive), testEpoch)); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArchiveBytes(t *testing.T) {
	// An archive is a function of its members: the same files, listed in another order, read
	// from elsewhere, written at another time, give the same bytes.
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := []archiveFile{
		{Name: "kubectl-swarm", Mode: 0o755, Path: write("a1", "swarm")},
		{Name: "README.md", Mode: 0o644, Path: write("a2", "readme")},
	}
	b := []archiveFile{
		{Name: "README.md", Mode: 0o644, Path: write("b2", "readme")},
		{Name: "kubectl-swarm", Mode: 0o755, Path: write("b1", "swarm")},
	}
	for _, ext := range []string{".tar.gz", ".zip"} {
		t.Run(ext, func(t *testing.T) {
			pa, pb := filepath.Join(dir, "a"+ext), filepath.Join(dir, "b"+ext)
			if err := writeArchive(pa, a, testEpoch); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(dir, "b1"), time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := writeArchive(pb, b, testEpoch); err != nil {
				t.Fatal(err)
			}
			ba, _ := os.ReadFile(pa)
			bb, _ := os.ReadFile(pb)
			if !bytes.Equal(ba, bb) {
				t.Errorf("two archives of the same members differ (%d and %d bytes)", len(ba), len(bb))
			}
			if err := writeArchive(pb, b, testEpoch.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if bb, _ = os.ReadFile(pb); bytes.Equal(ba, bb) {
				t.Errorf("an archive written with another epoch has the same bytes: the epoch is not stamped")
			}
		})
	}
}

func TestPluginFilesWithoutDocs(t *testing.T) {
	// A tree without LICENSE or README.md gives archives of the binaries alone.
	files, err := pluginFiles(platforms(t, "windows/arm64")[0], "/bin", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []archiveFile{
		{Name: "kubectl-swarm.exe", Mode: 0o755, Path: "/bin/kubectl-swarm.exe"},
		{Name: "kubectl-swarm-convert.exe", Mode: 0o755, Path: "/bin/kubectl-swarm-convert.exe"},
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
