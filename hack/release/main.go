// Command release builds a kubeswarm release without a Docker engine: the operator image for
// every platform as one OCI image index (pushed to a registry, or written as an OCI layout), the
// install manifest with that image pinned by digest, the kubectl-swarm plugin archives for every
// OS and architecture (both binaries stamped with the version, kubectl-swarm with the image),
// their checksums and a krew plugin manifest.
//
//	go run ./hack/release -version vX.Y.Z [-registry host[:port]/path] -kustomize KUSTOMIZE \
//	  -ca-certificates DIR -ca-version VERSION [-out dist] [-platforms …] [-plugin-platforms …]
//
// `make release` runs it through hack/release.sh, which fetches Debian's ca-certificates package.
// The same commit gives the same bytes: every file is stamped with the commit's time, every
// archive is written in name order with fixed owners and modes, and the binaries are built with
// -trimpath. Everything is built in a staging directory inside -out and moved into place only
// once every step succeeded, so nothing names an image digest that was not pushed.
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
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubeswarm/kubeswarm/hack/release/chart"
	"github.com/kubeswarm/kubeswarm/internal/version"
)

// options are the command-line flags.
type options struct {
	Version  string
	Registry string
	Insecure bool
	Out      string
	// Platforms are the operator image's; PluginPlatforms the plugin archives'.
	Platforms       []v1.Platform
	PluginPlatforms []v1.Platform
	Kustomize       string
	// Manifests is a file holding `kustomize build config/default`, read instead of running
	// kustomize.
	Manifests string
	// CACertificates is Debian's ca-certificates package extracted (dpkg-deb -x); CAVersion its
	// version.
	CACertificates string
	CAVersion      string
	ReleaseURL     string
	// Revision and Epoch default to the commit's hash and time.
	Revision    string
	Epoch       time.Time
	PushTimeout time.Duration
	// Root is the module root (found from the working directory).
	Root    string
	Verbose bool
}

const (
	defaultPlatforms       = "linux/amd64,linux/arm64"
	defaultPluginPlatforms = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64"
	defaultReleaseURL      = sourceURL + "/releases/download/"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := fillFromGit(ctx, &o); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	r := &release{opts: o, build: goBuilder(o.Root, o.Verbose), stdout: os.Stdout, stderr: os.Stderr}
	if _, err := r.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags; the module root and the commit facts are filled in later.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.StringVar(&o.Version, "version", "", "the release, vMAJOR.MINOR.PATCH[-PRE] (required)")
	fs.StringVar(&o.Registry, "registry", "", "push the image to REGISTRY/manager:VERSION (host[:port]/path); empty: write it to OUT/image as an OCI layout")
	fs.BoolVar(&o.Insecure, "insecure", false, "allow plain http to the registry (always allowed for a loopback registry)")
	fs.StringVar(&o.Out, "out", "dist", "the directory the release is written to")
	platforms := fs.String("platforms", defaultPlatforms, "the operator image's platforms, comma-separated")
	pluginPlatforms := fs.String("plugin-platforms", defaultPluginPlatforms, "the plugin archives' platforms, comma-separated")
	fs.StringVar(&o.Kustomize, "kustomize", "kustomize", "the kustomize binary, to build config/default")
	fs.StringVar(&o.Manifests, "manifests", "", "a file holding `kustomize build config/default`, read instead of running kustomize")
	fs.StringVar(&o.CACertificates, "ca-certificates", "", "Debian's ca-certificates package extracted with dpkg-deb -x (required)")
	fs.StringVar(&o.CAVersion, "ca-version", "", "that package's version, recorded in the image (required)")
	fs.StringVar(&o.ReleaseURL, "release-url", "", "where the krew manifest downloads the archives from (default "+defaultReleaseURL+"VERSION)")
	fs.StringVar(&o.Revision, "revision", "", "the commit the release is built from (default: git rev-parse HEAD, -dirty when tracked files changed)")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "the time stamped on every file, in seconds since 1970 (default $SOURCE_DATE_EPOCH, else the commit's time)")
	fs.DurationVar(&o.PushTimeout, "push-timeout", 10*time.Minute, "give up a push that takes longer")
	fs.BoolVar(&o.Verbose, "v", false, "show go build's output")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.Platforms, err = parsePlatforms(*platforms); err != nil {
		return o, fmt.Errorf("-platforms: %w", err)
	}
	if o.PluginPlatforms, err = parsePlatforms(*pluginPlatforms); err != nil {
		return o, fmt.Errorf("-plugin-platforms: %w", err)
	}
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return o, fmt.Errorf("-source-date-epoch %q: want seconds since 1970: %w", *epoch, err)
		}
		o.Epoch = time.Unix(sec, 0).UTC()
	}
	if o.ReleaseURL == "" {
		o.ReleaseURL = defaultReleaseURL + o.Version
	}
	o.ReleaseURL = strings.TrimSuffix(o.ReleaseURL, "/")
	return o, o.validate()
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var ps []v1.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := v1.ParsePlatform(f)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("platform %q: want OS/ARCH, e.g. linux/amd64", f)
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("platform %q given twice", f)
		}
		seen[p.String()] = true
		ps = append(ps, *p)
	}
	if len(ps) == 0 {
		return nil, errors.New("no platform")
	}
	return ps, nil
}

// validate checks what can be checked before anything is built.
func (o options) validate() error {
	var errs []error
	if o.Version == "" {
		errs = append(errs, errors.New("-version is required"))
	} else if !strings.HasPrefix(o.Version, "v") || !version.Released(o.Version) {
		errs = append(errs, fmt.Errorf("-version %q: want a semantic version with its v, e.g. v0.3.0", o.Version))
	}
	if strings.Contains(o.Registry, "://") {
		errs = append(errs, fmt.Errorf("-registry %q: want host[:port]/path, without a scheme (-insecure allows http)", o.Registry))
	}
	for _, p := range o.Platforms {
		if p.OS != "linux" {
			errs = append(errs, fmt.Errorf("-platforms %s: the operator image is for linux only", p))
		}
	}
	if o.CACertificates == "" || o.CAVersion == "" {
		errs = append(errs, errors.New("-ca-certificates and -ca-version are required (hack/release.sh fetches Debian's package)"))
	}
	if o.Out == "" {
		errs = append(errs, errors.New("-out is required"))
	}
	return errors.Join(errs...)
}

// fillFromGit finds the module root and, unless given, the commit's hash and time.
func fillFromGit(ctx context.Context, o *options) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("finding the module root: run from inside the kubeswarm module")
	}
	o.Root = filepath.Dir(gomod)
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = o.Root
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("running git %s (or give -revision and -source-date-epoch): %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if o.Revision == "" {
		if o.Revision, err = git("rev-parse", "HEAD"); err != nil {
			return err
		}
		// Untracked files count (go build compiles a new .go file beside the committed ones);
		// ignored ones (bin/, dist/) do not.
		changed, err := git("status", "--porcelain", "--untracked-files=normal")
		if err != nil {
			return err
		}
		if changed != "" {
			// The binaries are built from the tree, not the commit: say so where the image
			// records its source.
			o.Revision += "-dirty"
		}
	}
	if o.Epoch.IsZero() {
		ct, err := git("log", "-1", "--format=%ct", "HEAD")
		if err != nil {
			return err
		}
		sec, err := strconv.ParseInt(ct, 10, 64)
		if err != nil {
			return fmt.Errorf("reading the commit time %q: %w", ct, err)
		}
		o.Epoch = time.Unix(sec, 0).UTC()
	}
	return nil
}

// release is one run.
type release struct {
	opts  options
	build builder
	// pushOptions are added to the push's (tests shorten the retries).
	pushOptions    []remote.Option
	stdout, stderr io.Writer
}

// result is what a run made.
type result struct {
	// Image is the pinned operator image: REGISTRY/manager@sha256:…, or
	// kubeswarm/manager:VERSION@sha256:… for an OCI layout.
	Image  string
	Digest v1.Hash
	// Files are the release's files and directories in -out, by name.
	Files []string
}

// step runs f and reports how long it took.
func (r *release) step(name string, f func() error) error {
	start := time.Now()
	err := f()
	fmt.Fprintf(r.stderr, "release: %-26s %7.1fs\n", name, time.Since(start).Seconds())
	return err
}

// run builds the release into a staging directory inside -out and, when every step succeeded,
// moves it into -out. The steps whose output names the image digest (install.yaml, the chart,
// the plugins, the krew manifest) run only after the image was pushed.
func (r *release) run(ctx context.Context) (res result, err error) {
	start := time.Now()
	if err := os.MkdirAll(r.opts.Out, 0o755); err != nil {
		return res, fmt.Errorf("creating %s: %w", r.opts.Out, err)
	}
	// Inside -out, so that publishing is a rename.
	stage, err := os.MkdirTemp(r.opts.Out, ".stage-")
	if err != nil {
		return res, fmt.Errorf("creating the staging directory: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(stage)) }()
	bin, err := os.MkdirTemp("", "kubeswarm-release-bin-")
	if err != nil {
		return res, fmt.Errorf("creating the build directory: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(bin)) }()

	idx, err := r.image(ctx, bin)
	if err != nil {
		return res, err
	}
	if res.Digest, err = idx.Digest(); err != nil {
		return res, fmt.Errorf("computing the image index digest: %w", err)
	}
	if res.Image, err = r.ship(ctx, idx, stage); err != nil {
		return res, err
	}
	if err := r.step("install.yaml", func() error { return r.install(ctx, stage, res.Image) }); err != nil {
		return res, err
	}
	var archives []krewArchive
	if err := r.step("plugin archives", func() error {
		archives, err = r.plugins(ctx, bin, stage, res.Image)
		return err
	}); err != nil {
		return res, err
	}
	if err := writeKrewManifest(stage, krewManifest(r.opts.Version, r.opts.ReleaseURL, archives)); err != nil {
		return res, err
	}
	if err := writeChecksums(stage); err != nil {
		return res, err
	}
	if res.Files, err = publish(stage, r.opts.Out); err != nil {
		return res, err
	}
	r.summary(res, idx, time.Since(start))
	return res, nil
}

// image builds the manager for every image platform into bin and assembles the image index.
func (r *release) image(ctx context.Context, bin string) (idx v1.ImageIndex, err error) {
	o := r.opts
	in := imageInputs{Version: o.Version, Revision: o.Revision, Epoch: o.Epoch, CAVersion: o.CAVersion}
	if err := r.step("manager binaries", func() error {
		for _, p := range o.Platforms {
			out := filepath.Join(bin, "manager_"+platformDir(p))
			if err := r.build(ctx, goBuild{Package: "./cmd/manager", Platform: p, Stamp: map[string]string{"Version": o.Version}, Out: out}); err != nil {
				return err
			}
			in.Managers = append(in.Managers, platformBinary{Platform: p, File: out})
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err = r.step("image index", func() error {
		if in.CABundle, err = caBundleFrom(o.CACertificates); err != nil {
			return err
		}
		idx, err = buildIndex(in)
		return err
	})
	return idx, err
}

// ship pushes the image index to the registry, or writes it into stage as an OCI layout when
// there is none, and returns the pinned reference the release installs.
func (r *release) ship(ctx context.Context, idx v1.ImageIndex, stage string) (image string, err error) {
	o := r.opts
	if o.Registry == "" {
		err = r.step("OCI layout", func() error {
			digest, err := idx.Digest()
			if err != nil {
				return fmt.Errorf("computing the image index digest: %w", err)
			}
			image = localRepository + ":" + o.Version + "@" + digest.String()
			return writeLayout(filepath.Join(stage, "image"), idx, o.Version)
		})
		return image, err
	}
	target := pushTarget{Registry: o.Registry, Insecure: o.Insecure, Timeout: o.PushTimeout, Options: r.pushOptions}
	tag, err := target.imageTag(o.Version)
	if err != nil {
		return "", err
	}
	err = r.step("push", func() error {
		image, err = push(ctx, target, tag, idx)
		return err
	})
	return image, err
}

// install writes install.yaml, and the chart when there is a chart step, into stage.
func (r *release) install(ctx context.Context, stage, image string) error {
	manifests, err := r.manifests(ctx)
	if err != nil {
		return err
	}
	objs, err := releaseObjects(manifests, image, r.opts.Version)
	if err != nil {
		return err
	}
	if err := writeInstall(stage, objs); err != nil {
		return err
	}
	// The chart from the same objects, so helm installs what install.yaml does; packaged too,
	// as `helm package` lays it out, for `helm install URL` and the checksums.
	dir := filepath.Join(stage, "chart")
	if err := chart.Write(dir, objs, r.opts.Version); err != nil {
		return fmt.Errorf("writing the Helm chart: %w", err)
	}
	return packageChart(dir, filepath.Join(stage, chartArchiveName(r.opts.Version)), r.opts.Epoch)
}

// chartArchiveName is `helm package`'s name for the chart of version: kubeswarm-X.Y.Z.tgz.
func chartArchiveName(version string) string {
	return "kubeswarm-" + strings.TrimPrefix(version, "v") + ".tgz"
}

// packageChart writes dir as a chart archive: its files under kubeswarm/, as `helm package`
// writes them, with the release's fixed times and owners (the same chart, the same bytes).
func packageChart(dir, path string, epoch time.Time) error {
	var files []archiveFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, archiveFile{Name: "kubeswarm/" + filepath.ToSlash(rel), Path: p, Mode: 0o644})
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the chart: %w", err)
	}
	return writeArchive(path, files, epoch)
}

// manifests is config/default built by kustomize, or the -manifests file.
func (r *release) manifests(ctx context.Context) ([]byte, error) {
	if r.opts.Manifests != "" {
		b, err := os.ReadFile(r.opts.Manifests)
		if err != nil {
			return nil, fmt.Errorf("reading the manifests: %w", err)
		}
		return b, nil
	}
	return kustomizeBuild(ctx, r.opts.Kustomize, r.opts.Root)
}

// plugins builds both binaries for every plugin platform and archives them into dir.
func (r *release) plugins(ctx context.Context, bin, dir, image string) ([]krewArchive, error) {
	o := r.opts
	var archives []krewArchive
	for _, p := range o.PluginPlatforms {
		pdir := filepath.Join(bin, platformDir(p))
		builds := []goBuild{
			{Package: "./cmd/kubectl-swarm", Stamp: map[string]string{"Version": o.Version, "Image": image}, Out: filepath.Join(pdir, pluginBinary+exe(p.OS))},
			{Package: "./cmd/kubectl-swarm-convert", Stamp: map[string]string{"Version": o.Version}, Out: filepath.Join(pdir, convertBinary+exe(p.OS))},
		}
		for _, b := range builds {
			b.Platform = p
			if err := r.build(ctx, b); err != nil {
				return nil, err
			}
		}
		files, err := pluginFiles(p, pdir, o.Root)
		if err != nil {
			return nil, err
		}
		name := archiveName(o.Version, p)
		path := filepath.Join(dir, name)
		if err := writeArchive(path, files, o.Epoch); err != nil {
			return nil, err
		}
		sum, err := sha256File(path)
		if err != nil {
			return nil, err
		}
		a := krewArchive{Platform: p, Name: name, Sha256: sum}
		for _, f := range files {
			a.Files = append(a.Files, f.Name)
		}
		archives = append(archives, a)
	}
	return archives, nil
}

func platformDir(p v1.Platform) string {
	return strings.ReplaceAll(p.String(), "/", "_")
}

// owned reports whether name in -out is a release's: what publish replaces. Anything else in
// -out is left alone.
func owned(name string) bool {
	switch name {
	case "image", "chart", installName, checksumsName, krewManifestName:
		return true
	}
	return strings.HasPrefix(name, pluginBinary+"_") || (strings.HasPrefix(name, "kubeswarm-") && strings.HasSuffix(name, ".tgz"))
}

// publish replaces an earlier release's files in out with stage's, and lists them.
func publish(stage, out string) ([]string, error) {
	old, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", out, err)
	}
	for _, de := range old {
		if owned(de.Name()) {
			if err := os.RemoveAll(filepath.Join(out, de.Name())); err != nil {
				return nil, fmt.Errorf("removing the earlier release's %s: %w", de.Name(), err)
			}
		}
	}
	des, err := os.ReadDir(stage)
	if err != nil {
		return nil, fmt.Errorf("listing the staging directory: %w", err)
	}
	var files []string
	for _, de := range des {
		if err := os.Rename(filepath.Join(stage, de.Name()), filepath.Join(out, de.Name())); err != nil {
			return nil, fmt.Errorf("moving %s into %s: %w", de.Name(), out, err)
		}
		files = append(files, de.Name())
	}
	return files, nil
}

// summary prints what was made and how big it is.
func (r *release) summary(res result, idx v1.ImageIndex, took time.Duration) {
	fmt.Fprintf(r.stdout, "image   %s\n", res.Image)
	if sizes, err := imageSizes(idx); err == nil {
		for _, s := range sizes {
			fmt.Fprintf(r.stdout, "        %s: %s compressed, %s unpacked\n", s.Platform, size(s.Compressed), size(s.Uncompressed))
		}
	}
	for _, f := range res.Files {
		path := filepath.Join(r.opts.Out, f)
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			fmt.Fprintf(r.stdout, "%-7s %s (%s)\n", "file", path, size(st.Size()))
		} else {
			fmt.Fprintf(r.stdout, "%-7s %s/\n", "dir", path)
		}
	}
	fmt.Fprintf(r.stderr, "release: %-26s %7.1fs\n", "total", took.Seconds())
}

func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}
