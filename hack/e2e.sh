#!/usr/bin/env bash
# Runs the e2e tests (build tag e2e) against the local cluster named by KUBESWARM_CLUSTER; the
# tests start bin/manager themselves. Extra arguments go to `go test` (e.g. -run TestX).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=$PWD/bin/manager \
  exec go test -tags e2e ./test/e2e/... -count=1 -timeout 30m -v "$@"
