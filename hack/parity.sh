#!/usr/bin/env bash
# The docker CLI against a real Swarm and against kubeswarm (test/parity): brings up the reference
# Swarm (hack/swarm-reference.sh) and the tests' kwok cluster (KUBESWARM_CLUSTER, KUBECONFIG as
# the Makefile's TEST_ENV sets them), installs the CRDs, runs the parity test (it starts
# bin/manager and kubectl swarm docker-api itself), then takes the reference Swarm down again and
# checks that the host is as it was. With KEEP_CLUSTER=1 the Swarm stays up (no host check).
# Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

state_dir=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/swarm-reference
check_host=
if [[ ! -f "$state_dir/up" && -z "${KEEP_CLUSTER:-}" ]]; then
  check_host=1
  hack/host-check.sh before parity
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
  hack/host-check.sh after parity || status=1
fi
exit $status
