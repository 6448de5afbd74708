// Command kind runs the kind tier of the e2e tests without a kind binary and without a registry:
// it creates and deletes the cluster through kind's Go package (sigs.k8s.io/kind/pkg/cluster),
// and writes the images the cluster needs with go-containerregistry from binaries the project
// builds itself (hack/k8s-binaries.sh, test/images/build).
//
//	go run ./hack/kind images -o FILE --k8s-bin DIR --version V --etcd-tag T --base-tar TAR --test-images TAR
//	go run ./hack/kind manager -o FILE --binary PATH --ref REF
//	go run ./hack/kind create --name N --image REF --config FILE --kubeconfig FILE [--wait 5m]
//	go run ./hack/kind load --name N --archive FILE
//	go run ./hack/kind delete --name N
//
// hack/kind-e2e.sh drives it; the Docker engine is the one DOCKER_HOST names.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	"sigs.k8s.io/kind/pkg/exec"
)

// epoch stamps every layer and config, so the same binaries give the same image IDs.
var epoch = time.Unix(0, 0).UTC()

const path = "PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kind images|manager|create|load|delete [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "images":
		err = images(args)
	case "manager":
		err = manager(args)
	case "create":
		err = create(args)
	case "load":
		err = load(args)
	case "delete":
		err = deleteCluster(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kind:", err)
		os.Exit(1)
	}
}

// images writes the docker archive the node image preloads: the control-plane images under the
// registry.k8s.io names kubeadm asks for, kube-proxy on a Debian base (it runs iptables), and the
// project's test images, with the pause and CoreDNS images also under kubeadm's names.
func images(args []string) error {
	fs := flag.NewFlagSet("images", flag.ExitOnError)
	out := fs.String("o", "", "archive to write")
	bin := fs.String("k8s-bin", "", "directory with kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd")
	version := fs.String("version", "", "Kubernetes version, the tag of the control-plane images")
	etcdTag := fs.String("etcd-tag", "", "tag of registry.k8s.io/etcd")
	baseTar := fs.String("base-tar", "", "tar of a Debian root file system, kube-proxy's base")
	testImages := fs.String("test-images", "", "docker archive of test/images/build")
	pauseRef := fs.String("pause", "registry.k8s.io/pause:3.10.2", "name of the pause image")
	corednsRef := fs.String("coredns", "registry.k8s.io/coredns/coredns:v1.15.0", "name of the CoreDNS image")
	var standins multiFlag
	fs.Var(&standins, "standin", "another name for kubeswarm.test/web:1 (repeatable): the images the e2e tests name, which no registry serves here")
	_ = fs.Parse(args)
	if *out == "" || *bin == "" || *version == "" || *etcdTag == "" || *baseTar == "" || *testImages == "" {
		return fmt.Errorf("images: -o, --k8s-bin, --version, --etcd-tag, --base-tar and --test-images are required")
	}
	refs := map[name.Reference]v1.Image{}
	add := func(ref string, img v1.Image) error {
		tag, err := name.NewTag(ref)
		if err != nil {
			return err
		}
		refs[tag] = img
		return nil
	}
	base, err := layerFromEntries([]entry{
		{Name: "etc/", Mode: 0o755, Dir: true},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/nonexistent\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnobody:x:65534:\n")},
		{Name: "tmp/", Mode: 0o1777, Dir: true},
		{Name: "var/", Mode: 0o755, Dir: true},
		{Name: "usr/", Mode: 0o755, Dir: true},
		{Name: "usr/local/", Mode: 0o755, Dir: true},
		{Name: "usr/local/bin/", Mode: 0o755, Dir: true},
	})
	if err != nil {
		return err
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		img, err := binaryImage(base, *bin+"/"+b, b)
		if err != nil {
			return err
		}
		if err := add("registry.k8s.io/"+b+":"+*version, img); err != nil {
			return err
		}
	}
	etcd, err := binaryImage(base, *bin+"/etcd", "etcd")
	if err != nil {
		return err
	}
	if err := add("registry.k8s.io/etcd:"+*etcdTag, etcd); err != nil {
		return err
	}
	debian, err := tarball.LayerFromFile(*baseTar)
	if err != nil {
		return fmt.Errorf("base layer: %w", err)
	}
	proxy, err := binaryImage(debian, *bin+"/kube-proxy", "kube-proxy")
	if err != nil {
		return err
	}
	if err := add("registry.k8s.io/kube-proxy:"+*version, proxy); err != nil {
		return err
	}
	// the test images, and pause and CoreDNS again under the names kubeadm and containerd use
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(*testImages) })
	if err != nil {
		return fmt.Errorf("reading %s: %w", *testImages, err)
	}
	alias := map[string][]string{
		"kubeswarm.test/pause:1":        {*pauseRef},
		"kubeswarm.test/coredns:1.15.0": {*corednsRef},
		"kubeswarm.test/web:1":          standins,
	}
	for _, desc := range manifest {
		for _, t := range desc.RepoTags {
			tag, err := name.NewTag(t)
			if err != nil {
				return err
			}
			img, err := tarball.ImageFromPath(*testImages, &tag)
			if err != nil {
				return fmt.Errorf("%s from %s: %w", t, *testImages, err)
			}
			if err := add(t, img); err != nil {
				return err
			}
			for _, a := range alias[t] {
				if err := add(a, img); err != nil {
					return err
				}
			}
		}
	}
	for a := range alias {
		if !has(refs, a) {
			return fmt.Errorf("%s has no %s (build it with --coredns)", *testImages, a)
		}
	}
	return writeArchive(*out, refs)
}

// defaultCluster is the cluster's name when --name is not given (hack/kind-e2e.sh gives it).
const defaultCluster = "kubeswarm-e2e"

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// has tells whether refs holds an image named ref.
func has(refs map[name.Reference]v1.Image, ref string) bool {
	for r := range refs {
		if r.Name() == ref || r.String() == ref {
			return true
		}
	}
	return false
}

// manager writes the operator's image (what the Dockerfile builds, without its registry images):
// the static manager binary on an empty base, run as 65532.
func manager(args []string) error {
	fs := flag.NewFlagSet("manager", flag.ExitOnError)
	out := fs.String("o", "", "archive to write")
	binary := fs.String("binary", "", "the static manager binary")
	ref := fs.String("ref", "", "image name")
	_ = fs.Parse(args)
	if *out == "" || *binary == "" || *ref == "" {
		return fmt.Errorf("manager: -o, --binary and --ref are required")
	}
	b, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	layer, err := layerFromEntries([]entry{
		{Name: "tmp/", Mode: 0o1777, Dir: true},
		{Name: "manager", Mode: 0o755, Data: b},
	})
	if err != nil {
		return err
	}
	img, err := configured(v1.Config{Entrypoint: []string{"/manager"}, Env: []string{path}, User: "65532:65532", WorkingDir: "/"})
	if err != nil {
		return err
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return err
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return err
	}
	return writeArchive(*out, map[name.Reference]v1.Image{tag: img})
}

func writeArchive(out string, refs map[name.Reference]v1.Image) error {
	start := time.Now()
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	for r := range refs {
		fmt.Println(r.Name())
	}
	fmt.Fprintf(os.Stderr, "kind: wrote %d images to %s in %.1fs\n", len(refs), out, time.Since(start).Seconds())
	return nil
}

func configured(cfg v1.Config) (v1.Image, error) {
	return mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
}

// binaryImage is base plus one program at /usr/local/bin/NAME, found on PATH by its name (the
// static pods kubeadm writes run "kube-apiserver ...", "etcd ...").
func binaryImage(base v1.Layer, file, prog string) (v1.Image, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	layer, err := layerFromEntries([]entry{{Name: "usr/local/bin/" + prog, Mode: 0o755, Data: b}})
	if err != nil {
		return nil, err
	}
	img, err := configured(v1.Config{Env: []string{path}, Entrypoint: []string{"/usr/local/bin/" + prog}, WorkingDir: "/"})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, base, layer)
}

type entry struct {
	Name string
	Mode int64
	Dir  bool
	Data []byte
}

func layerFromEntries(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, ModTime: epoch, Size: int64(len(e.Data)), Typeflag: tar.TypeReg}
		if e.Dir {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

func provider() *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
}

func create(args []string) error {
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	clusterName := fs.String("name", defaultCluster, "cluster name")
	image := fs.String("image", "", "node image")
	config := fs.String("config", "", "kind cluster config file")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig to write")
	wait := fs.Duration("wait", 5*time.Minute, "wait for the control plane to be ready")
	retain := fs.Bool("retain", false, "keep the nodes when creation fails (to look at them)")
	_ = fs.Parse(args)
	raw, err := os.ReadFile(*config)
	if err != nil {
		return err
	}
	p := provider()
	start := time.Now()
	if err := p.Create(*clusterName,
		cluster.CreateWithNodeImage(*image),
		cluster.CreateWithRawConfig(raw),
		cluster.CreateWithWaitForReady(*wait),
		cluster.CreateWithKubeconfigPath(*kubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
		cluster.CreateWithRetain(*retain),
	); err != nil {
		// the output of the command that failed (kubeadm's, say) is the useful part
		var run *exec.RunError
		if errors.As(err, &run) {
			fmt.Fprintf(os.Stderr, "%s\n", run.Output)
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "kind: cluster %s created in %.1fs\n", *clusterName, time.Since(start).Seconds())
	return nil
}

// load imports a docker archive into every node's containerd (kind load image-archive).
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	clusterName := fs.String("name", defaultCluster, "cluster name")
	archive := fs.String("archive", "", "docker archive")
	_ = fs.Parse(args)
	nodes, err := provider().ListInternalNodes(*clusterName)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		f, err := os.Open(*archive)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("loading %s into %s: %w", *archive, n, err)
		}
	}
	return nil
}

func deleteCluster(args []string) error {
	fs := flag.NewFlagSet("delete", flag.ExitOnError)
	clusterName := fs.String("name", defaultCluster, "cluster name")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig to remove the cluster from")
	_ = fs.Parse(args)
	return provider().Delete(*clusterName, *kubeconfig)
}
