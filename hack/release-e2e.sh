#!/usr/bin/env bash
# The release as a user installs it, on the real-node cluster (test/release): `make release` for
# linux/amd64 pushes the operator image to the cluster's own registry and writes the release
# into a temporary dist; `kubectl swarm leave --force --crds` clears what the real-node tests
# installed; then test/release installs the release by each path (init from the extracted
# archive, install.yaml, helm) and checks the operator from the pulled image and the seed's
# nginx on every node. hack/e2e-real.sh runs it after its tests, whose operator has stopped.
#
# Environment: KUBECONFIG and KUBESWARM_REGISTRY (the real-node cluster's), HELM and KUSTOMIZE
# (the pinned tools), RELEASE_E2E_VERSION (default v0.0.0-e2e). Extra arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${KUBECONFIG:?}" "${KUBESWARM_REGISTRY:?}" "${HELM:?}" "${KUSTOMIZE:?}"
VERSION=${RELEASE_E2E_VERSION:-v0.0.0-e2e}
DIST=$(mktemp -d "${TMPDIR:-/tmp}/kubeswarm-release-e2e.XXXXXX")
trap 'rm -rf "$DIST"' EXIT
log() { printf '[release-e2e] %s\n' "$*" >&2; }

t0=$(date +%s)
ARCH=$(go env GOARCH)
make --no-print-directory release VERSION="$VERSION" REGISTRY="$KUBESWARM_REGISTRY/kubeswarm" \
  PLATFORMS="linux/$ARCH" PLUGIN_PLATFORMS="linux/$ARCH" INSECURE=1 DIST="$DIST" KUSTOMIZE="$KUSTOMIZE" >&2
log "release $VERSION built and pushed to $KUBESWARM_REGISTRY/kubeswarm in $(($(date +%s) - t0))s"

# The real-node tier installed the CRDs with make install and left its objects: start clean.
if ! out=$(bin/kubectl-swarm leave --force --crds 2>&1); then
  grep -q 'not part of a swarm' <<<"$out" || { log "leave: $out"; exit 1; }
fi

KUBESWARM_DIST=$DIST KUBESWARM_VERSION=$VERSION KUBESWARM_ARCH=$ARCH KUBECTL="$(hack/k8s-binaries.sh)/kubectl" HELM=$HELM \
  go test -tags release ./test/release/ -count=1 -timeout 30m -v "$@"
