// Command build writes the test images of the real-node cluster. No image registry is reachable
// there, so the project builds its images itself and the cluster scripts import them into each
// node's containerd with `ctr -n k8s.io images import images.tar`.
//
//	go run ./test/images/build -o DIR [--coredns PATH] [--traefik PATH] [--force]
//
// It builds the static web and pause binaries (test/images/web, test/images/pause) and writes one
// docker-archive tarball, DIR/images.tar, holding every image of imageSpecs, then prints one line
// per image: its reference and its image ID. A second run with nothing changed returns at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	archiveName = "images.tar"
	// stampName records the options images.tar was built with: an archive built without coredns
	// is not up to date for a run that asks for it, however new it is.
	stampName = "images.tar.stamp"
	// sourceDir holds everything the images are built from, relative to the module root.
	sourceDir = "test/images"
	// traefikRef is the Traefik image (hack/real-cluster.sh builds the binary from its module).
	traefikRef = "kubeswarm.test/traefik:v3"
)

// options are the command-line flags.
type options struct {
	OutDir  string
	CoreDNS string
	Traefik string
	Force   bool
}

func main() {
	var opts options
	flag.StringVar(&opts.OutDir, "o", "", "directory to write "+archiveName+" to (required)")
	flag.StringVar(&opts.CoreDNS, "coredns", "", "coredns binary to add as kubeswarm.test/coredns:1.15.0")
	flag.StringVar(&opts.Traefik, "traefik", "", "traefik binary to add as "+traefikRef+" (the real-node tier's Gateway API implementation)")
	flag.BoolVar(&opts.Force, "force", false, "rebuild even when "+archiveName+" is up to date")
	flag.Parse()
	if opts.OutDir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

// run builds DIR/images.tar unless it is up to date, then lists the images in it.
func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	start := time.Now()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	outDir, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", opts.OutDir, err)
	}
	inputs := []string{filepath.Join(root, sourceDir)}
	if opts.CoreDNS != "" {
		if opts.CoreDNS, err = filepath.Abs(opts.CoreDNS); err != nil {
			return fmt.Errorf("resolving %s: %w", opts.CoreDNS, err)
		}
		inputs = append(inputs, opts.CoreDNS)
	}
	if opts.Traefik != "" {
		if opts.Traefik, err = filepath.Abs(opts.Traefik); err != nil {
			return fmt.Errorf("resolving %s: %w", opts.Traefik, err)
		}
		inputs = append(inputs, opts.Traefik)
	}
	archive := filepath.Join(outDir, archiveName)
	stampFile := filepath.Join(outDir, stampName)
	stamp := fmt.Sprintf("goarch=%s\ncoredns=%s\ntraefik=%s\n", runtime.GOARCH, opts.CoreDNS, opts.Traefik)

	if !opts.Force {
		fresh, err := upToDate(archive, stampFile, stamp, inputs)
		if err != nil {
			return err
		}
		if fresh {
			fmt.Fprintf(stderr, "%s is up to date\n", archive)
			return listArchive(stdout, archive)
		}
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", outDir, err)
	}
	binDir, err := os.MkdirTemp(outDir, ".bin-")
	if err != nil {
		return fmt.Errorf("creating a directory for the binaries: %w", err)
	}
	defer func() { _ = os.RemoveAll(binDir) }()
	binaries, err := goBuild(ctx, root, binDir, stderr, "web", "pause")
	if err != nil {
		return err
	}
	if opts.CoreDNS != "" {
		binaries["coredns"] = opts.CoreDNS
	}
	specs := imageSpecs(opts.CoreDNS != "")
	if opts.Traefik != "" {
		binaries["traefik"] = opts.Traefik
		specs = append(specs, imageSpec{Ref: traefikRef, Binary: "traefik"})
	}
	images, err := buildImages(specs, binaries)
	if err != nil {
		return err
	}
	// The archive takes the time the build started: a source saved while it ran is newer, so the
	// next run rebuilds.
	if err := writeArchive(archive, images, start); err != nil {
		return err
	}
	if err := os.WriteFile(stampFile, []byte(stamp), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", stampFile, err)
	}
	fmt.Fprintf(stderr, "wrote %s in %s\n", archive, time.Since(start).Round(10*time.Millisecond))
	return listArchive(stdout, archive)
}

// moduleRoot asks the go command, as the build below will, which module the working directory
// is in.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("running go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the kubeswarm module: run from its checkout")
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds the named programs under test/images as static linux binaries of this machine's
// architecture (the nodes run here) and returns where each landed.
func goBuild(ctx context.Context, root, dir string, stderr io.Writer, programs ...string) (map[string]string, error) {
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", dir + string(filepath.Separator)}
	for _, p := range programs {
		args = append(args, "./"+sourceDir+"/"+p)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running go %s: %w", strings.Join(args, " "), err)
	}
	binaries := map[string]string{}
	for _, p := range programs {
		binaries[p] = filepath.Join(dir, p)
	}
	return binaries, nil
}

// upToDate reports whether archive exists, was built with the options in stamp, and is newer than
// every file under inputs (directories or files). Modification times are enough here: the inputs
// are a source tree and a downloaded binary, and a wrong "stale" only costs a rebuild.
func upToDate(archive, stampFile, stamp string, inputs []string) (bool, error) {
	fi, err := os.Stat(archive)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", archive, err)
	}
	got, err := os.ReadFile(stampFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", stampFile, err)
	}
	if string(got) != stamp {
		return false, nil
	}
	built := fi.ModTime()
	errNewer := errors.New("newer input")
	for _, in := range inputs {
		err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if !info.ModTime().Before(built) {
				return errNewer
			}
			return nil
		})
		if errors.Is(err, errNewer) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("checking %s: %w", in, err)
		}
	}
	return true, nil
}

// writeArchive writes images into one docker-archive tarball, through a temporary file so an
// interrupted build never leaves a fresh-looking partial archive, and dates it mtime.
func writeArchive(archive string, images map[string]v1.Image, mtime time.Time) error {
	refs := map[name.Reference]v1.Image{}
	for ref, img := range images {
		tag, err := name.NewTag(ref, name.StrictValidation)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", ref, err)
		}
		refs[tag] = img
	}
	tmp := archive + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return fmt.Errorf("dating %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, archive); err != nil {
		return fmt.Errorf("moving %s into place: %w", tmp, err)
	}
	return nil
}

// listArchive prints "REF IMAGE-ID" for each image in the archive, sorted by reference.
func listArchive(w io.Writer, archive string) error {
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil {
		return fmt.Errorf("reading the manifest of %s: %w", archive, err)
	}
	for _, d := range manifest {
		for _, tag := range d.RepoTags {
			fmt.Fprintf(w, "%s %s\n", tag, d.Config)
		}
	}
	return nil
}
