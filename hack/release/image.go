package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts.
const (
	// imageRepository is the operator image's repository name, under REGISTRY or alone (a
	// layout's reference, kubeswarm/manager:VERSION@sha256:…, that the user pushes themselves).
	imageRepository = "manager"
	localRepository = "kubeswarm/" + imageRepository
	// nonroot is distroless's user and group: the manifests' runAsNonRoot needs a numeric user.
	nonroot = 65532
	// caBundle is where Debian's update-ca-certificates writes the bundle, and the first place
	// Go's crypto/x509 looks on Linux.
	caBundle = "etc/ssl/certs/ca-certificates.crt"
	// caCerts is where the ca-certificates package keeps Mozilla's roots, one PEM file each.
	caCerts = "usr/share/ca-certificates/mozilla"
	// sourceURL is the org.opencontainers.image.source of every image.
	sourceURL = "https://github.com/kubeswarm/kubeswarm"
	// refNameAnnotation names the index in an OCI layout: tools that read a layout (crane,
	// skopeo, ctr) find the image by it.
	refNameAnnotation = "org.opencontainers.image.ref.name"
	// containerdNameAnnotation is the full name `ctr images import` gives an image from a layout.
	containerdNameAnnotation = "io.containerd.image.name"
	// caVersionLabel records which ca-certificates package the bundle came from: the one input
	// of the image that is not in the commit.
	caVersionLabel = "io.kubeswarm.ca-certificates.version"
)

// imageInputs is everything the operator image is made of: the same inputs give the same
// index digest, byte for byte.
type imageInputs struct {
	Version string
	// Revision is the commit the release is built from.
	Revision string
	// Epoch stamps every file, layer, config and history entry (the commit time).
	Epoch time.Time
	// CABundle is /etc/ssl/certs/ca-certificates.crt; CAVersion is the Debian package's version.
	CABundle  []byte
	CAVersion string
	// Managers maps each platform to its /manager binary, in the index's order.
	Managers []platformBinary
}

// platformBinary is one platform's binary file.
type platformBinary struct {
	Platform v1.Platform
	File     string
}

// entry is one member of a layer's tar.
type entry struct {
	Name string
	Mode int64
	Dir  bool
	UID  int
	Data []byte
}

// annotations are the OCI annotations of the index and the labels of every image config.
func (in imageInputs) annotations() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "kubeswarm manager",
		"org.opencontainers.image.description": "The kubeswarm operator: Docker Swarm's experience on Kubernetes",
		"org.opencontainers.image.version":     in.Version,
		"org.opencontainers.image.revision":    in.Revision,
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.created":     in.Epoch.UTC().Format(time.RFC3339),
		caVersionLabel:                         in.CAVersion,
	}
}

// caBundleFrom concatenates the ca-certificates package's Mozilla roots (the package extracted
// at root) the way update-ca-certificates does: every .crt in byte order, each ending in a
// newline. Reading the package instead of the host's /etc/ssl keeps local additions out and the
// bundle a function of the package version alone.
func caBundleFrom(root string) ([]byte, error) {
	dir := filepath.Join(root, caCerts)
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the ca-certificates package: %w", err)
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), ".crt") {
			names = append(names, de.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("reading the ca-certificates package: no .crt file in %s", dir)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		c, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("reading certificate %s: %w", n, err)
		}
		b.Write(c)
		if len(c) > 0 && c[len(c)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), nil
}

// baseEntries is the file system around /manager, shared by every platform: distroless's
// users (the operator runs as nonroot), the CA bundle for the API server's and registries'
// TLS, /tmp, and nsswitch.conf so Go's resolver reads /etc/hosts before DNS, as glibc would.
func baseEntries(caBundleData []byte) []entry {
	return []entry{
		{Name: "etc/", Mode: 0o755, Dir: true},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Name: "etc/ssl/", Mode: 0o755, Dir: true},
		{Name: "etc/ssl/certs/", Mode: 0o755, Dir: true},
		{Name: caBundle, Mode: 0o644, Data: caBundleData},
		{Name: "home/", Mode: 0o755, Dir: true},
		{Name: "home/nonroot/", Mode: 0o700, Dir: true, UID: nonroot},
		{Name: "tmp/", Mode: 0o1777, Dir: true},
	}
}

// layerFromEntries writes the tar of a layer, entries in name order, every header fixed (epoch,
// owner, mode), so a layer's digest is a function of its contents alone.
func layerFromEntries(entries []entry, epoch time.Time) (v1.Layer, error) {
	entries = append([]entry(nil), entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.Name,
			Mode:     e.Mode,
			ModTime:  epoch,
			Size:     int64(len(e.Data)),
			Uid:      e.UID,
			Gid:      e.UID,
		}
		if e.Dir {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing the tar header of %s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, fmt.Errorf("writing %s to the tar: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the tar: %w", err)
	}
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making a layer: %w", err)
	}
	return layer, nil
}

// buildIndex assembles the operator image for every platform into one OCI image index.
func buildIndex(in imageInputs) (v1.ImageIndex, error) {
	if len(in.Managers) == 0 {
		return nil, fmt.Errorf("building the image index: no platform")
	}
	base, err := layerFromEntries(baseEntries(in.CABundle), in.Epoch)
	if err != nil {
		return nil, fmt.Errorf("building the base layer: %w", err)
	}
	created := v1.Time{Time: in.Epoch}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, m := range in.Managers {
		bin, err := os.ReadFile(m.File)
		if err != nil {
			return nil, fmt.Errorf("reading the manager binary for %s: %w", m.Platform, err)
		}
		program, err := layerFromEntries([]entry{{Name: "manager", Mode: 0o755, Data: bin}}, in.Epoch)
		if err != nil {
			return nil, fmt.Errorf("building the manager layer for %s: %w", m.Platform, err)
		}
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{
			Architecture: m.Platform.Architecture,
			OS:           m.Platform.OS,
			Variant:      m.Platform.Variant,
			Created:      created,
			Config: v1.Config{
				User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
				Entrypoint: []string{"/manager"},
				Env:        []string{"PATH=/", "SSL_CERT_FILE=/" + caBundle},
				WorkingDir: "/",
				Labels:     in.annotations(),
			},
			RootFS: v1.RootFS{Type: "layers"},
		})
		if err != nil {
			return nil, fmt.Errorf("configuring the image for %s: %w", m.Platform, err)
		}
		img, err = mutate.Append(img,
			mutate.Addendum{Layer: base, History: v1.History{Created: created,
				CreatedBy: "hack/release: users, CA certificates (Debian ca-certificates " + in.CAVersion + "), /tmp"}},
			mutate.Addendum{Layer: program, History: v1.History{Created: created, CreatedBy: "hack/release: /manager"}},
		)
		if err != nil {
			return nil, fmt.Errorf("adding the layers for %s: %w", m.Platform, err)
		}
		p := m.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx, ok := mutate.Annotations(idx, in.annotations()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the image index: not an index")
	}
	return idx, nil
}

// writeLayout writes idx as an OCI image layout at dir, its one entry named tag (the version),
// so `crane push DIR REF`, `skopeo copy oci:DIR:TAG …` and `ctr images import` find it.
func writeLayout(dir string, idx v1.ImageIndex, tag string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	err = p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		refNameAnnotation:        tag,
		containerdNameAnnotation: "docker.io/" + localRepository + ":" + tag,
	}))
	if err != nil {
		return fmt.Errorf("writing the image index to the OCI layout: %w", err)
	}
	// layout writes index.json and oci-layout executable (0777 less the umask): they are data.
	for _, f := range []string{"index.json", "oci-layout"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			return fmt.Errorf("writing the OCI layout: %w", err)
		}
	}
	return nil
}

// pushTarget is where the image goes and how.
type pushTarget struct {
	// Registry is host[:port]/path; the image is Registry/manager:Version.
	Registry string
	// Insecure allows plain http (loopback registries are allowed it without asking).
	Insecure bool
	Timeout  time.Duration
	// Extra options (tests shorten the retry backoff).
	Options []remote.Option
}

// imageTag is REGISTRY/manager:VERSION as a reference, insecure for a loopback registry or
// when asked.
func (t pushTarget) imageTag(version string) (name.Tag, error) {
	s := strings.TrimSuffix(t.Registry, "/") + "/" + imageRepository + ":" + version
	var opts []name.Option
	if t.Insecure || loopback(t.Registry) {
		opts = append(opts, name.Insecure)
	}
	tag, err := name.NewTag(s, append(opts, name.StrictValidation)...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("parsing the image reference %q: %w", s, err)
	}
	return tag, nil
}

// loopback reports whether registry's host is this machine: a test registry, served over http.
func loopback(registry string) bool {
	host := registry
	if i := strings.Index(host, "/"); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// push writes idx to the registry as tag with the user's docker credentials (docker's config
// file and credential helpers, as `docker push` would use), and returns the pinned reference,
// REGISTRY/manager@sha256:…. Errors carry the registry's own words.
func push(ctx context.Context, t pushTarget, tag name.Tag, idx v1.ImageIndex) (string, error) {
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("computing the image index digest: %w", err)
	}
	opts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent("kubeswarm-release"),
	}, t.Options...)
	if err := remote.WriteIndex(tag, idx, opts...); err != nil {
		return "", fmt.Errorf("pushing the operator image to %s: %w", tag, err)
	}
	return tag.Context().Digest(digest.String()).String(), nil
}

// imageSize is how big one platform's image is: what a node pulls and what it unpacks.
type imageSize struct {
	Platform     string
	Compressed   int64
	Uncompressed int64
}

// imageSizes measures every platform's image in idx (layers, config and manifest).
func imageSizes(idx v1.ImageIndex) ([]imageSize, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the image index: %w", err)
	}
	var sizes []imageSize
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", desc.Digest, err)
		}
		s := imageSize{Platform: desc.Platform.String(), Compressed: desc.Size}
		if m, err := img.Manifest(); err == nil {
			s.Compressed += m.Config.Size
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, fmt.Errorf("reading the layers of %s: %w", desc.Digest, err)
		}
		for _, l := range layers {
			n, err := l.Size()
			if err != nil {
				return nil, fmt.Errorf("measuring a layer of %s: %w", desc.Digest, err)
			}
			s.Compressed += n
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, fmt.Errorf("reading a layer of %s: %w", desc.Digest, err)
			}
			u, err := io.Copy(io.Discard, rc)
			_ = rc.Close()
			if err != nil {
				return nil, fmt.Errorf("reading a layer of %s: %w", desc.Digest, err)
			}
			s.Uncompressed += u
		}
		sizes = append(sizes, s)
	}
	return sizes, nil
}
