package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// versionPackage holds the variables the release stamps into the binaries.
const versionPackage = "github.com/kubeswarm/kubeswarm/internal/version"

// goBuild is one binary to build.
type goBuild struct {
	// Package is the main package, relative to the module root (./cmd/manager).
	Package  string
	Platform v1.Platform
	// Stamp maps a variable of internal/version (Version, Image) to its value.
	Stamp map[string]string
	Out   string
}

// builder builds one binary; tests replace `go build` with a stand-in that writes a small file.
type builder func(ctx context.Context, b goBuild) error

// ldflags strips the symbol tables (-s -w: a smaller binary, nothing a release debugs with) and
// stamps the version variables, in a fixed order so the flags, and so the binary, are the same
// every time.
func (b goBuild) ldflags() string {
	flags := []string{"-s", "-w"}
	for _, k := range []string{"Version", "Image"} {
		if v, ok := b.Stamp[k]; ok {
			flags = append(flags, "-X", versionPackage+"."+k+"="+v)
		}
	}
	return strings.Join(flags, " ")
}

// goBuilder runs `go build` in the module at root: static (no cgo), -trimpath and no VCS stamp
// so the binary depends on the sources and the toolchain alone, not on where the tree is or on
// what is uncommitted beside it. GOAMD64/GOARM64 are pinned to their defaults and GOEXPERIMENT
// and GODEBUG emptied, so a builder's environment cannot change what a release runs.
func goBuilder(root string, verbose bool) builder {
	return func(ctx context.Context, b goBuild) error {
		args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", b.ldflags(), "-o", b.Out, b.Package}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(),
			"CGO_ENABLED=0", "GOOS="+b.Platform.OS, "GOARCH="+b.Platform.Architecture,
			"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly",
			// Settings that would change what the binaries do without a change of the sources:
			// experiments and run-time defaults are the toolchain's own.
			"GOEXPERIMENT=", "GODEBUG=")
		if verbose {
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			return wrapBuild(b, cmd.Run())
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return wrapBuild(b, fmt.Errorf("%w\n%s", err, out))
		}
		return nil
	}
}

func wrapBuild(b goBuild, err error) error {
	if err != nil {
		return fmt.Errorf("building %s for %s: %w", b.Package, b.Platform, err)
	}
	return nil
}
