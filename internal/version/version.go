// Package version is kubeswarm's release as the binaries know it: the version stamped into
// manager, kubectl-swarm and kubectl-swarm-convert, and, in a released kubectl-swarm, the operator
// image (by digest) that `kubectl swarm init` installs. The release build sets both:
//
//	go build -ldflags "-X github.com/kubeswarm/kubeswarm/internal/version.Version=v0.3.0 \
//	  -X github.com/kubeswarm/kubeswarm/internal/version.Image=registry.example/kubeswarm/manager@sha256:…"
package version

import (
	"fmt"
	"runtime/debug"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// Set at build time (see the package comment); empty in a development build.
var (
	// Version is the release, a semantic version with its "v" (v0.3.0).
	Version = ""
	// Image is the operator image of this release, by digest; only kubectl-swarm carries it.
	Image = ""
)

// DevImage is the operator image of the development manifests (config/manager): no registry
// has it; a development build installs it only where it was loaded by hand (kind load, ctr
// import), as `make kind-e2e` does.
const DevImage = "kubeswarm/manager:dev"

// Label carries the version on every object a release installs (the Deployment, the CRDs, …),
// so that `kubectl swarm version` and `init` read which release a cluster runs.
const Label = "app.kubernetes.io/version"

// Dev is the version a development build reports.
const Dev = "dev"

// String is the version this binary was built as: the stamped one, else the module version `go
// install …@vX` records, else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Dev
}

// Released reports whether v is a release (a semantic version), not a development build.
func Released(v string) bool {
	_, err := utilversion.ParseSemantic(v)
	return err == nil
}

// Compare orders two releases as semantic versions: -1 when a is older than b, 0 when equal, 1
// when newer. Either not a release (a development build) is an error: its age is unknown.
func Compare(a, b string) (int, error) {
	va, err := utilversion.ParseSemantic(a)
	if err != nil {
		return 0, fmt.Errorf("version %q is not a release (vMAJOR.MINOR.PATCH): %w", a, err)
	}
	if _, err := utilversion.ParseSemantic(b); err != nil {
		return 0, fmt.Errorf("version %q is not a release (vMAJOR.MINOR.PATCH): %w", b, err)
	}
	return va.Compare(b)
}
