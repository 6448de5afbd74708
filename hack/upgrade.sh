#!/usr/bin/env bash
# The upgrade test (make test-upgrade): upgrading the operator restarts no task. A Swarm team
# upgrades its managers without its services restarting; kubeswarm's operator must do as well.
#
#   1. Builds the previous release: until there is a tag, the operator of the commit PREVIOUS
#      (its bin/manager and bin/kubectl-swarm, and its `kustomize build config/default` with the
#      operator image PREVIOUS_IMAGE), checked out with `git worktree add --detach`. The result
#      is cached in $KUBESWARM_CACHE/upgrade/<commit>/, so later runs skip the build.
#   2. Brings up a kwok cluster of its own (KUBESWARM_CLUSTER, default kubeswarm-upgrade) with
#      the Gateway API's CRDs (a prerequisite of the cluster, as `make install` gives it).
#   3. Runs the Go test (test/upgrade, build tag upgrade), which installs the previous release,
#      runs its operator, deploys with its plugin, upgrades to this tree by each path and checks
#      that nothing restarted; see test/upgrade/upgrade_test.go.
#   4. Takes the cluster down, also on failure (KEEP_CLUSTER=1 keeps it).
#
# Expects this tree's bin/manager and bin/kubectl-swarm built (make build), KUSTOMIZE and HELM
# (the Makefile's pinned kustomize and helm, for the helm path). Extra arguments go to `go test`
# (e.g. -v -run 'TestUpgrade/init').
# `hack/upgrade.sh previous` only builds the previous release and prints its directory (for a
# before/after pair elsewhere: BENCH_BASELINE_BIN=$(hack/upgrade.sh previous)/manager).
# Environment: PREVIOUS (a commit of this clone), PREVIOUS_IMAGE, UPGRADE_PATHS (the paths to
# run, e.g. "init helm"; default all: init, install-yaml, helm), KEEP_CLUSTER, KUBESWARM_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PREVIOUS=${PREVIOUS:?PREVIOUS: the commit of the previous release (make test-upgrade sets it)}
PREVIOUS_IMAGE=${PREVIOUS_IMAGE:-kubeswarm/manager:previous}
KUSTOMIZE=${KUSTOMIZE:?KUSTOMIZE: the pinned kustomize binary (make test-upgrade sets it)}
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}
export KUBESWARM_CLUSTER=${KUBESWARM_CLUSTER:-kubeswarm-upgrade}
# The cluster's context goes to a kubeconfig file of its own, never the user's.
export KUBECONFIG=${KUBECONFIG:-$CACHE/$KUBESWARM_CLUSTER.kubeconfig}
ARTIFACTS=test/upgrade/artifacts

log() { printf '[upgrade] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# elapsed START: seconds since START (a $SECONDS value).
elapsed() { echo "$((SECONDS - $1))s"; }

[[ -x $KUSTOMIZE ]] || die "KUSTOMIZE=$KUSTOMIZE is not an executable"

# The commit in full: a short hash names the cache no better than a branch would.
commit=$(git rev-parse --verify --quiet "$PREVIOUS^{commit}") ||
  die "PREVIOUS=$PREVIOUS is not a commit of this clone: the test builds the previous release from history (a shallow clone lacks it: git fetch --unshallow, or clone with history)"
PREV_DIR=$CACHE/upgrade/$commit

# build_previous: the previous release's binaries and manifests into PREV_DIR (once). A subshell,
# so that its checkout goes whatever ends it.
build_previous() (
  if [[ -x $PREV_DIR/manager && -x $PREV_DIR/kubectl-swarm && -s $PREV_DIR/install.yaml &&
    "$(cat "$PREV_DIR/image" 2>/dev/null)" == "$PREVIOUS_IMAGE" ]]; then
    log "previous release $commit: cached in $PREV_DIR"
    exit 0
  fi
  src=$(mktemp -d "$CACHE/upgrade/src.XXXXXX")
  tmp=$(mktemp -d "$CACHE/upgrade/build.XXXXXX")
  # The checkout is a worktree of this clone only while the build runs.
  trap 'cd "$ROOT"; git worktree remove --force "$src" >/dev/null 2>&1 || true; rm -rf "$src" "$tmp"' EXIT
  log "building the previous release $commit (git worktree add --detach $src)"
  git worktree add --quiet --detach "$src" "$commit"
  cd "$src"
  CGO_ENABLED=0 go build -o "$tmp/manager" ./cmd/manager
  CGO_ENABLED=0 go build -o "$tmp/kubectl-swarm" ./cmd/kubectl-swarm
  # As that commit's `make deploy IMG=…` builds it.
  (cd config/manager && "$KUSTOMIZE" edit set image "controller=$PREVIOUS_IMAGE")
  "$KUSTOMIZE" build config/default >"$tmp/install.yaml"
  echo "$PREVIOUS_IMAGE" >"$tmp/image"
  rm -rf "$PREV_DIR"
  mv "$tmp" "$PREV_DIR"
)

status=0
cleanup() {
  local rc=$? t=$SECONDS
  [[ $status != 0 ]] || status=$rc
  if [[ $status != 0 ]]; then
    rm -rf "$ARTIFACTS/cluster-logs"
    cp -r "${KWOK_WORKDIR:-$HOME/.kwok}/clusters/$KUBESWARM_CLUSTER/logs" "$ARTIFACTS/cluster-logs" 2>/dev/null || true
  fi
  if [[ -z ${KEEP_CLUSTER:-} ]]; then
    hack/local-cluster.sh down || status=1
    log "cluster down in $(elapsed "$t")"
  else
    log "KEEP_CLUSTER: cluster $KUBESWARM_CLUSTER left up (KUBECONFIG=$(hack/local-cluster.sh kubeconfig))"
  fi
  log "total $(elapsed 0)"
  exit $status
}

t=$SECONDS
# One build of a commit at a time (two runs would both write PREV_DIR).
mkdir -p "$CACHE/upgrade"
exec 9>"$CACHE/upgrade/$commit.lock"
flock 9
build_previous
exec 9>&-
log "previous release ready in $(elapsed "$t")"
if [[ ${1:-} == previous ]]; then
  echo "$PREV_DIR"
  exit 0
fi
for f in bin/manager bin/kubectl-swarm; do
  [[ -x $f ]] || die "$f is missing: run make build"
done
# Only the test needs helm (`previous` above does not).
HELM=${HELM:?HELM: the pinned helm binary (make test-upgrade sets it)}
[[ -x $HELM ]] || die "HELM=$HELM is not an executable"
[[ $HELM == /* ]] || HELM=$ROOT/$HELM # go test runs in test/upgrade

trap cleanup EXIT
t=$SECONDS
mkdir -p "$(dirname "$KUBECONFIG")" "$ARTIFACTS"
hack/local-cluster.sh up
kubeconfig=$(hack/local-cluster.sh kubeconfig)
K8S_BIN=$(hack/k8s-binaries.sh)
# The Gateway API's CRDs are the cluster's, not kubeswarm's: installed once, here, so that the
# operators make HTTPRoutes (as `make install` gives a cluster that has none).
crds=()
for f in $(hack/gateway-api-crds.sh); do crds+=(-f "$f"); done
"$K8S_BIN/kubectl" --kubeconfig "$kubeconfig" apply --server-side "${crds[@]}" >/dev/null
log "cluster $KUBESWARM_CLUSTER ready in $(elapsed "$t")"

t=$SECONDS
KUBECONFIG=$kubeconfig KUBECTL=$K8S_BIN/kubectl HELM=$HELM \
  PREVIOUS_COMMIT=$commit PREVIOUS_DIR=$PREV_DIR \
  MANAGER_BIN=$ROOT/bin/manager KUBECTL_SWARM_BIN=$ROOT/bin/kubectl-swarm \
  go test -tags upgrade ./test/upgrade/... -count=1 -timeout 20m -v "$@" || status=$?
log "go test in $(elapsed "$t") (status $status)"
