#!/usr/bin/env bash
# The docker CLI against a real Swarm and against kubeswarm (test/parity): brings up the reference
# Swarm (hack/swarm-reference.sh) and the tests' kwok cluster (KUBESWARM_CLUSTER, KUBECONFIG as
# the Makefile's TEST_ENV sets them), installs the CRDs, runs the parity test (it starts
# bin/manager and kubectl swarm docker-api itself), then takes the reference Swarm down again and
# checks that the host is as it was. With KEEP_CLUSTER=1 the Swarm stays up (no host check).
# Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
ARTIFACTS=test/parity/artifacts
mkdir -p "$ARTIFACTS"
log() { printf '[parity] %s\n' "$*" >&2; }

state_dir=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/swarm-reference
check_host=
if [[ ! -f "$state_dir/up" && -z "${KEEP_CLUSTER:-}" ]]; then
  check_host=1
  hack/real-cluster.sh host-state >"$ARTIFACTS/host-before.txt"
fi

status=0
hack/swarm-reference.sh up >/dev/null || status=$?
if [[ $status == 0 ]]; then
  hack/local-cluster.sh up && make --no-print-directory install KUBECONFIG="$(hack/local-cluster.sh kubeconfig)" >/dev/null || status=$?
fi
if [[ $status == 0 ]]; then
  REFERENCE_DOCKER_HOST="$(hack/swarm-reference.sh env | sed 's/^export DOCKER_HOST=//')" MANAGER_BIN=$PWD/bin/manager \
    KUBECONFIG="$(hack/local-cluster.sh kubeconfig)" go test -tags parity ./test/parity/... -count=1 -timeout 15m -v "$@" || status=$?
fi
if [[ -n "$check_host" ]]; then
  hack/swarm-reference.sh down >/dev/null || status=$?
  hack/real-cluster.sh host-state >"$ARTIFACTS/host-after.txt"
  if diff -u "$ARTIFACTS/host-before.txt" "$ARTIFACTS/host-after.txt" >"$ARTIFACTS/host-diff.txt"; then
    log "host left as found after the reference Swarm"
  else
    log "the host differs after the reference Swarm went down:"; cat "$ARTIFACTS/host-diff.txt" >&2
    status=1
  fi
fi
exit $status
