#!/usr/bin/env bash
# The real-node tier: brings up the real-node cluster named by KUBESWARM_CLUSTER
# (hack/real-cluster.sh), installs the CRDs, runs the e2e tests built with the realnodes tag
# (the tests start bin/manager themselves), takes the cluster down and checks that the host is
# exactly as it was before (links, routes, namespaces, mounts, cgroups, iptables/nft, sysctls,
# directories). With KEEP_CLUSTER=1 the cluster stays up (and the host check is skipped); a
# cluster that was already up is reused and left up, except under CI (CI=true), where it is
# taken down first. Extra arguments go to `go test`. After the tests, hack/release-e2e.sh installs
# a release built for the cluster's registry (HELM and KUSTOMIZE: the pinned tools).
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBESWARM_REAL=1
ARTIFACTS=test/e2e/artifacts
mkdir -p "$ARTIFACTS"

state_dir=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/real/${KUBESWARM_CLUSTER:-kubeswarm}
was_up=
if [[ -d "$state_dir" && -n "${CI:-}" ]]; then
  # CI starts from nothing: a cluster left by an interrupted run is taken down first.
  hack/real-cluster.sh down
fi
[[ -d "$state_dir" ]] && was_up=1
check_host=
if [[ -z "$was_up" && -z "${KEEP_CLUSTER:-}" ]]; then
  check_host=1
  hack/real-cluster.sh deps
  hack/host-check.sh before real-nodes
fi

status=0
hack/real-cluster.sh up || status=$?
if [[ $status == 0 ]]; then
  KUBECONFIG=$(hack/real-cluster.sh kubeconfig)
  KUBESWARM_REGISTRY=$(hack/real-cluster.sh registry)
  export KUBECONFIG KUBESWARM_REGISTRY
  make --no-print-directory install >/dev/null || status=$?
fi
if [[ $status == 0 ]]; then
  MANAGER_BIN=$PWD/bin/manager go test -tags 'e2e realnodes' ./test/e2e/... -count=1 -timeout 30m -v "$@" || status=$?
fi
# The release as a user installs it (hack/release-e2e.sh), on the same cluster once the tests'
# operator has stopped; a run narrowed by go test flags skips it unless RELEASE_E2E=1.
if [[ $status == 0 && ( $# -eq 0 || -n ${RELEASE_E2E:-} ) ]]; then
  hack/release-e2e.sh || status=$?
fi
[[ $status == 0 ]] || { cp -r "$state_dir/logs" "$ARTIFACTS/real-cluster-logs" 2>/dev/null || true; }

if [[ -z "$was_up" && -z "${KEEP_CLUSTER:-}" ]]; then
  hack/real-cluster.sh down || status=$?
fi
if [[ -n "$check_host" ]]; then
  hack/host-check.sh after real-nodes || status=1
fi
exit $status
