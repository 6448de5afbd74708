package files

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    Item
		wantErr string
	}{
		{arg: "s0:999:999:0400:secrets/db_pass", want: Item{From: "s0", UID: 999, GID: 999, Mode: 0o400, To: "secrets/db_pass"}},
		{arg: "c1:0:33:0440:file-1", want: Item{From: "c1", GID: 33, Mode: 0o440, To: "file-1"}},
		{arg: "s0:1:2:0444:secrets/with:colon", want: Item{From: "s0", UID: 1, GID: 2, Mode: 0o444, To: "secrets/with:colon"}},
		{arg: "s0:999:999:0400", wantErr: "want FROM:UID:GID:MODE:TO"},
		{arg: "s0:x:999:0400:a", wantErr: "must be numbers"},
		{arg: "s0:1:1:0999:a", wantErr: "octal"},
		{arg: "s0:1:1:01777:a", wantErr: "at most 0777"},
		{arg: "s0:-1:1:0400:a", wantErr: "must be numbers"},
		{arg: "s0:1:1:0400:../etc/passwd", wantErr: "clean relative path"},
		{arg: "s0:1:1:0400:/etc/passwd", wantErr: "clean relative path"},
		{arg: "s0:1:1:0400:a/../../b", wantErr: "clean relative path"},
		{arg: ":1:1:0400:a", wantErr: "clean relative path"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := Parse(tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, %v; want an error with %q", tc.arg, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if got.String() != tc.arg {
				t.Errorf("String() = %q, want %q", got.String(), tc.arg)
			}
		})
	}
}

// TestInstall copies into a directory as the init container does, twice (a second run replaces
// what the first wrote, even a file its owner may not write). Other owners need root.
func TestInstall(t *testing.T) {
	uid, gid := int64(os.Getuid()), int64(os.Getgid())
	if uid == 0 {
		uid, gid = 999, 998
	}
	from, to := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(from, "s0"), []byte("s3cr3t"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(from, "c1"), []byte("listen 80\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	items := []Item{
		{From: "s0", UID: uid, GID: gid, Mode: 0o400, To: "secrets/db_pass"},
		{From: "c1", UID: uid, GID: gid, Mode: 0o640, To: "config-1"},
	}
	for run := 1; run <= 2; run++ {
		if code := Main(append([]string{from, to}, items[0].String(), items[1].String()), os.Stderr); code != 0 {
			t.Fatalf("run %d: exit %d", run, code)
		}
	}
	for _, tc := range []struct {
		path, content string
		mode          fs.FileMode
	}{
		{"secrets/db_pass", "s3cr3t", 0o400},
		{"config-1", "listen 80\n", 0o640},
	} {
		p := filepath.Join(to, tc.path)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if string(b) != tc.content || fi.Mode().Perm() != tc.mode || int64(st.Uid) != uid || int64(st.Gid) != gid {
			t.Errorf("%s: %q %04o %d:%d, want %q %04o %d:%d", tc.path, b, fi.Mode().Perm(), st.Uid, st.Gid, tc.content, tc.mode, uid, gid)
		}
	}
	if code := Main([]string{from, to, "missing:1:1:0400:x"}, &strings.Builder{}); code != 1 {
		t.Errorf("a missing source: exit %d, want 1", code)
	}
	if code := Main([]string{from}, &strings.Builder{}); code != 2 {
		t.Errorf("no target directory: exit %d, want 2", code)
	}
}
