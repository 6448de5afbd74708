package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is what a test compares of a file in an image or an archive.
type file struct {
	Mode     int64
	Dir      bool
	UID, GID int
	Data     string
}

// imageFiles flattens img's layers into a map of path to file, checking that every member
// carries the epoch.
func imageFiles(t *testing.T, img v1.Image, epoch time.Time) map[string]file {
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
		if !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s is stamped %v, want the epoch %v", hdr.Name, hdr.ModTime, epoch)
		}
		files[hdr.Name] = file{Mode: hdr.Mode, Dir: hdr.Typeflag == tar.TypeDir, UID: hdr.Uid, GID: hdr.Gid, Data: string(b)}
	}
}

func testImageInputs(t *testing.T) imageInputs {
	t.Helper()
	dir := t.TempDir()
	in := imageInputs{
		Version:   "v1.2.3",
		Revision:  "0123abc",
		Epoch:     testEpoch,
		CABundle:  []byte(fakeCABundle),
		CAVersion: "20250419~deb12u2",
	}
	for _, p := range platforms(t, "linux/amd64,linux/arm64") {
		path := filepath.Join(dir, platformDir(p))
		if err := os.WriteFile(path, []byte("manager for "+p.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		in.Managers = append(in.Managers, platformBinary{Platform: p, File: path})
	}
	return in
}

func TestImage(t *testing.T) {
	in := testImageInputs(t)
	idx, err := buildIndex(in)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := idx.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", mt, types.OCIImageIndex)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantAnnotations := map[string]string{
		"org.opencontainers.image.title":       "kubeswarm manager",
		"org.opencontainers.image.description": "The kubeswarm operator: Docker Swarm's experience on Kubernetes",
		"org.opencontainers.image.version":     "v1.2.3",
		"org.opencontainers.image.revision":    "0123abc",
		"org.opencontainers.image.source":      "https://github.com/kubeswarm/kubeswarm",
		"org.opencontainers.image.created":     "2026-01-02T03:04:05Z",
		"io.kubeswarm.ca-certificates.version": "20250419~deb12u2",
	}
	if diff := cmp.Diff(wantAnnotations, im.Annotations); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}
	var gotPlatforms []string
	for _, d := range im.Manifests {
		gotPlatforms = append(gotPlatforms, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, gotPlatforms); diff != "" {
		t.Fatalf("index platforms (-want +got):\n%s", diff)
	}

	base := map[string]file{
		"etc":               {Mode: 0o755, Dir: true},
		"etc/group":         {Mode: 0o644, Data: "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"},
		"etc/nsswitch.conf": {Mode: 0o644, Data: "hosts: files dns\n"},
		"etc/passwd": {Mode: 0o644, Data: "root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
		"etc/ssl":                           {Mode: 0o755, Dir: true},
		"etc/ssl/certs":                     {Mode: 0o755, Dir: true},
		"etc/ssl/certs/ca-certificates.crt": {Mode: 0o644, Data: fakeCABundle},
		"home":                              {Mode: 0o755, Dir: true},
		"home/nonroot":                      {Mode: 0o700, Dir: true, UID: 65532, GID: 65532},
		"tmp":                               {Mode: 0o1777, Dir: true},
	}
	for _, d := range im.Manifests {
		t.Run(d.Platform.String(), func(t *testing.T) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			wantCfg := v1.Config{
				User:       "65532:65532",
				Entrypoint: []string{"/manager"},
				Env:        []string{"PATH=/", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
				WorkingDir: "/",
				Labels:     wantAnnotations,
			}
			if diff := cmp.Diff(wantCfg, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if got := (v1.Platform{OS: cf.OS, Architecture: cf.Architecture}); got.String() != d.Platform.String() {
				t.Errorf("config platform %s, index says %s", got, d.Platform)
			}
			if !cf.Created.Equal(testEpoch) {
				t.Errorf("created %v, want the epoch %v", cf.Created, testEpoch)
			}
			want := map[string]file{"manager": {Mode: 0o755, Data: "manager for " + d.Platform.String()}}
			for k, v := range base {
				want[k] = v
			}
			if diff := cmp.Diff(want, imageFiles(t, img, testEpoch)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImageDigest(t *testing.T) {
	// The index digest is a function of the inputs: the same inputs give the same digest, and
	// each input that changes the image changes it.
	digest := func(in imageInputs) v1.Hash {
		t.Helper()
		idx, err := buildIndex(in)
		if err != nil {
			t.Fatal(err)
		}
		h, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := testImageInputs(t)
	first := digest(base)
	otherBinary := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(otherBinary, []byte("another manager"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*imageInputs)
		same   bool
	}{
		{name: "same inputs again", change: func(*imageInputs) {}, same: true},
		{name: "same inputs, binaries copied elsewhere", same: true, change: func(in *imageInputs) {
			dir := t.TempDir()
			for i, m := range in.Managers {
				b, err := os.ReadFile(m.File)
				if err != nil {
					t.Fatal(err)
				}
				in.Managers[i].File = filepath.Join(dir, filepath.Base(m.File))
				if err := os.WriteFile(in.Managers[i].File, b, 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "another binary", change: func(in *imageInputs) { in.Managers[1].File = otherBinary }},
		{name: "another epoch", change: func(in *imageInputs) { in.Epoch = in.Epoch.Add(time.Second) }},
		{name: "another CA bundle", change: func(in *imageInputs) { in.CABundle = append(in.CABundle, '\n') }},
		{name: "another version", change: func(in *imageInputs) { in.Version = "v1.2.4" }},
		{name: "another revision", change: func(in *imageInputs) { in.Revision = "4567def" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := testImageInputs(t)
			in.Managers = append([]platformBinary(nil), base.Managers...)
			tc.change(&in)
			if got := digest(in); (got == first) != tc.same {
				t.Errorf("digest %s against %s: same = %v, want %v", got, first, got == first, tc.same)
			}
		})
	}
}

func TestCABundle(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		want    string
		wantErr string
	}{
		{
			name:  "sorted by name, each ending in a newline, only .crt",
			files: map[string]string{"b.crt": "B", "a.crt": "A\n", "C.crt": "C", "z.pem": "not taken", "notes": "no"},
			want:  "C\nA\nB\n",
		},
		{name: "no certificate", files: map[string]string{"README": "no"}, wantErr: "no .crt file"},
		{name: "no package", wantErr: "reading the ca-certificates package"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.files != nil {
				dir := filepath.Join(root, caCerts)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, data := range tc.files {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := caBundleFrom(root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("bundle (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	cases := map[string]bool{
		"localhost:5000/kubeswarm":   true,
		"127.0.0.1:41234":            true,
		"127.1.2.3/k":                true,
		"[::1]:5000/k":               true,
		"registry.example/kubeswarm": false,
		"10.0.0.5:5000/k":            false,
		"ghcr.io/kubeswarm":          false,
	}
	for registry, want := range cases {
		if got := loopback(registry); got != want {
			t.Errorf("loopback(%q) = %v, want %v", registry, got, want)
		}
	}
}
