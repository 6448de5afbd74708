package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// epoch stamps every file, layer and config, so the same binaries always give the same image
// digests and containerd sees an unchanged image as the same one.
var epoch = time.Unix(0, 0).UTC()

// imageSpec is one image of the archive: which binary it runs and the config around it.
type imageSpec struct {
	Ref string
	// Binary is the program at /<Binary>, the image's entrypoint: "web", "pause" or "coredns".
	Binary string
	// Env is added to PATH=/, the only PATH that finds the binaries by name (exec healthchecks
	// run "web healthcheck").
	Env     []string
	Ports   []string
	Volumes []string
}

// imageSpecs lists the images the real-node cluster needs: the project's own test images and,
// under the names the Swarm tutorial pulls, stand-ins for the images no registry can serve here.
// The coredns image is only there when a coredns binary is given.
func imageSpecs(withCoreDNS bool) []imageSpec {
	specs := []imageSpec{
		{Ref: "kubeswarm.test/pause:1", Binary: "pause"},
		{Ref: "kubeswarm.test/web:1", Binary: "web", Env: []string{"VERSION=1"}, Ports: []string{"80/tcp"}},
		{Ref: "kubeswarm.test/web:2", Binary: "web", Env: []string{"VERSION=2"}},
		{Ref: "kubeswarm.test/web:unhealthy", Binary: "web", Env: []string{"VERSION=unhealthy", "UNHEALTHY=1"}},
		{Ref: "kubeswarm.test/web:crash", Binary: "web", Env: []string{"CRASH=1"}},
		{Ref: "docker.io/library/nginx:latest", Binary: "web", Env: []string{"VERSION=nginx-standin"}},
		{
			Ref: "docker.io/library/wordpress:latest", Binary: "web",
			Env:   []string{"ROLE=wordpress", "VERSION=wordpress-standin"},
			Ports: []string{"80/tcp"},
		},
		{
			Ref: "docker.io/library/mysql:5.7", Binary: "web",
			Env:     []string{"ROLE=mysql", "VERSION=mysql-standin"},
			Ports:   []string{"3306/tcp"},
			Volumes: []string{"/var/lib/mysql"},
		},
	}
	if withCoreDNS {
		specs = append(specs, imageSpec{Ref: "kubeswarm.test/coredns:1.15.0", Binary: "coredns"})
	}
	return specs
}

// entry is one member of a layer's tar.
type entry struct {
	Name string
	Mode int64
	Dir  bool
	Data []byte
}

// baseEntries is the file system every image shares, in a layer of its own so the archive holds
// it once. /etc/passwd and /etc/group let the runtime resolve user root; /etc/hosts is left out
// because the kubelet mounts its own. /etc/nsswitch.conf makes Go's resolver read the pod's
// /etc/hosts before asking cluster DNS, as glibc would.
func baseEntries() []entry {
	return []entry{
		{Name: "etc/", Mode: 0o755, Dir: true},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnobody:x:65534:\n")},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/:/web\nnobody:x:65534:65534:nobody:/:/nonexistent\n")},
		{Name: "tmp/", Mode: 0o1777, Dir: true},
		{Name: "var/", Mode: 0o755, Dir: true},
		{Name: "var/lib/", Mode: 0o755, Dir: true},
		{Name: "var/lib/mysql/", Mode: 0o755, Dir: true},
	}
}

// layerFromEntries writes the tar of a layer. go-containerregistry's crane.Layer would do but
// gives every file mode 0644 and no directories; the tar is all that is built here by hand, and
// tarball.LayerFromOpener makes it a layer (gzip, digests).
func layerFromEntries(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.Name,
			Mode:    e.Mode,
			ModTime: epoch,
			Size:    int64(len(e.Data)),
			Uname:   "root",
			Gname:   "root",
		}
		hdr.Typeflag = tar.TypeReg
		if e.Dir {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing tar header of %s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, fmt.Errorf("writing %s to the tar: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing tar: %w", err)
	}
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("making a layer: %w", err)
	}
	return layer, nil
}

// binaryLayer holds one program at /<name>, executable by everyone.
func binaryLayer(name, file string) (v1.Layer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the %s binary: %w", name, err)
	}
	return layerFromEntries([]entry{{Name: name, Mode: 0o755, Data: b}})
}

// buildImage assembles spec's image from the shared base layer and its program's layer.
func buildImage(spec imageSpec, base, program v1.Layer) (v1.Image, error) {
	cfg := v1.Config{
		Entrypoint: []string{"/" + spec.Binary},
		Env:        append([]string{"PATH=/"}, spec.Env...),
		WorkingDir: "/",
	}
	if len(spec.Ports) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range spec.Ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if len(spec.Volumes) > 0 {
		cfg.Volumes = map[string]struct{}{}
		for _, v := range spec.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("configuring %s: %w", spec.Ref, err)
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "test/images/build: base files"}},
		mutate.Addendum{Layer: program, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "test/images/build: " + path.Join("/", spec.Binary)}},
	)
	if err != nil {
		return nil, fmt.Errorf("adding layers to %s: %w", spec.Ref, err)
	}
	return img, nil
}

// buildImages builds every spec from binaries, which maps a binary's name to its file.
func buildImages(specs []imageSpec, binaries map[string]string) (map[string]v1.Image, error) {
	base, err := layerFromEntries(baseEntries())
	if err != nil {
		return nil, fmt.Errorf("building the base layer: %w", err)
	}
	programs := map[string]v1.Layer{}
	images := map[string]v1.Image{}
	for _, spec := range specs {
		program, ok := programs[spec.Binary]
		if !ok {
			file, found := binaries[spec.Binary]
			if !found {
				return nil, fmt.Errorf("no %s binary for %s", spec.Binary, spec.Ref)
			}
			if program, err = binaryLayer(spec.Binary, file); err != nil {
				return nil, err
			}
			programs[spec.Binary] = program
		}
		if images[spec.Ref], err = buildImage(spec, base, program); err != nil {
			return nil, err
		}
	}
	return images, nil
}
