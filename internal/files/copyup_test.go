package files

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCopyUp: moby's decisions (daemon/create_unix.go populateVolume, copyExistingContents): an
// empty volume is filled with the image's directory, with its modes and links; a volume holding
// anything, a missing directory, and a file instead of a directory are left alone.
func TestCopyUp(t *testing.T) {
	image := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "html")
		must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o750))
		must(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello"), 0o640))
		must(t, os.WriteFile(filepath.Join(dir, "sub", "x"), []byte("x"), 0o600))
		must(t, os.Symlink("index.html", filepath.Join(dir, "link")))
		must(t, os.Chmod(dir, 0o751))
		return dir
	}
	tests := []struct {
		name       string
		from       func(t *testing.T) string
		volume     map[string]string // files already in the volume
		wantCopied bool
		want       map[string]string // path -> mode and content (or link target)
	}{
		{name: "an empty volume is filled", from: image, wantCopied: true, want: map[string]string{
			".": "drwxr-x--x", "index.html": "-rw-r----- hello", "link": "Lrwxrwxrwx -> index.html",
			"sub": "drwxr-x---", "sub/x": "-rw------- x",
		}},
		{name: "a volume with data is kept", from: image, volume: map[string]string{"db": "rows"},
			want: map[string]string{".": "drwxr-xr-x", "db": "-rw-r--r-- rows"}},
		{name: "no directory in the image", from: func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") },
			want: map[string]string{".": "drwxr-xr-x"}},
		{name: "a file in the image is no directory", from: func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "f")
			must(t, os.WriteFile(f, []byte("f"), 0o644))
			return f
		}, want: map[string]string{".": "drwxr-xr-x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			must(t, os.Chmod(vol, 0o755))
			for p, c := range tt.volume {
				must(t, os.WriteFile(filepath.Join(vol, p), []byte(c), 0o644))
			}
			copied, err := CopyUp(tt.from(t), vol)
			if err != nil {
				t.Fatal(err)
			}
			if copied != tt.wantCopied {
				t.Errorf("copied %v, want %v", copied, tt.wantCopied)
			}
			if diff := cmp.Diff(tt.want, tree(t, vol)); diff != "" {
				t.Errorf("volume (-want +got):\n%s", diff)
			}
		})
	}
}

// tree describes each entry under dir: its mode, and its content or link target.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b)
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseCopyItem(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/share/nginx/html=/kubeswarm/volumes/mount-0": "",
		"/a=b=/kubeswarm/volumes/mount-1":                  "",
		"relative=/v":                                      `item "relative=/v": both paths must be absolute`,
		"/no-separator":                                    `item "/no-separator": want IMAGEDIR=VOLUME`,
	} {
		it, err := ParseCopyItem(in)
		got := ""
		if err != nil {
			got = err.Error()
		} else if it.String() != in {
			got = "round trip gave " + it.String()
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestCopyUpKeepsOwners: the copy belongs to the image file's owner (as root, which the init
// container is).
func TestCopyUpKeepsOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	from := filepath.Join(t.TempDir(), "data")
	must(t, os.Mkdir(from, 0o700))
	must(t, os.WriteFile(filepath.Join(from, "f"), []byte("f"), 0o600))
	must(t, os.Lchown(filepath.Join(from, "f"), 999, 998))
	must(t, os.Lchown(from, 101, 102))
	vol := t.TempDir()
	if _, err := CopyUp(from, vol); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]uint32{}
	for _, p := range []string{".", "f"} {
		info, err := os.Lstat(filepath.Join(vol, p))
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		got[p] = [2]uint32{st.Uid, st.Gid}
	}
	if diff := cmp.Diff(map[string][2]uint32{".": {101, 102}, "f": {999, 998}}, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
}
