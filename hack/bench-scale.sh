#!/usr/bin/env bash
# Scale and cost on a cluster of its own with 100 simulated nodes (one kwok process drives them
# all): 1,000 Services × 3 tasks created through the API, timed until every one is Ready,
# against the same Deployments and Kubernetes Services applied without the operator (the floor,
# in the same run); the operator's writes per Service, its writes while the Services sit
# unchanged for 60 s, and its peak RSS; then the operator's writes in the Services' namespace
# by verb, resource and response code, from the apiserver's audit log. Prints figures, never a
# verdict.
#
# BENCH_BASELINE_BIN=path/to/an/older/manager runs the whole benchmark with it first, on the
# same cluster, for a before/after pair in one run.
#
# The cluster (kubeswarm-bench, ports of its own) is made, used and deleted under the kwok lock
# (/tmp/ksw-kwok.lock: the machine's CPUs are shared with the tests' cluster). BENCH_KEEP=1
# keeps it. BENCH_SERVICES, BENCH_REPLICAS, BENCH_IDLE and KUBESWARM_NODES change the numbers.
# A cluster kept from an earlier run is reused, but compare figures from fresh ones: on a cluster
# reused for a few runs, the operators before and after a change alike met many more
# optimistic-lock conflicts (pods, status) than on a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${KSW_KWOK_LOCKED:-}" ]]; then
  exec env KSW_KWOK_LOCKED=1 flock /tmp/ksw-kwok.lock "$0" "$@"
fi
export KUBESWARM_CLUSTER=${BENCH_CLUSTER:-kubeswarm-bench} KUBESWARM_NODES=${KUBESWARM_NODES:-100}
# The operator runs as config/manager deploys it: Go's soft memory limit is its memory request
# (48Mi there, GOMEMLIMIT=48MiB). OPERATOR_GOMEMLIMIT= (empty) runs it with Go's defaults.
request=$(awk '/requests:/ { r = 1 } r && /memory:/ { print $2; exit }' config/manager/manager.yaml)
export OPERATOR_GOMEMLIMIT=${OPERATOR_GOMEMLIMIT-${request/%i/iB}}
export KUBECONFIG=${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm/$KUBESWARM_CLUSTER.kubeconfig
mkdir -p "$(dirname "$KUBECONFIG")"
[[ -n "${BENCH_KEEP:-}" ]] || trap 'hack/local-cluster.sh down' EXIT
# Every write is audited, to count the operator's by resource.
KUBESWARM_AUDIT_POLICY=$PWD/hack/kwok/audit-writes.yaml KUBESWARM_UP_TIMEOUT=300 hack/local-cluster.sh up
make --no-print-directory install KUBECONFIG="$(hack/local-cluster.sh kubeconfig)" >/dev/null
# The apiserver rotates its audit log at 100 MB: every file counts, each run by its start.
LOGS=${KWOK_WORKDIR:-$HOME/.kwok}/clusters/$KUBESWARM_CLUSTER/logs

for bin in ${BENCH_BASELINE_BIN:-} "${MANAGER_BIN:-$PWD/bin/manager}"; do
  echo "== operator $bin"
  since=$(date -u +%FT%T.%NZ)
  KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=$bin \
    go test -tags e2e ./test/e2e/ -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 120m \
    | grep -E 'floor|kubeswarm|services=| of |idle reconciles|heap profile|Benchmark|ok|FAIL|\.go:'
  echo "the operator's writes in the Services' namespace (audit log: count, verb, resource, code):"
  # client-go's user agent starts with the binary's name.
  cat "$LOGS"/audit*.log \
    | jq -r --arg since "$since" --arg ua "$(basename "$bin")/" 'select(.requestReceivedTimestamp >= $since and ((.userAgent // "") | startswith($ua)))
      | select((.objectRef.namespace // "") | startswith("scale-swarm-"))
      | "\(.verb) \(.objectRef.resource)\(if .objectRef.subresource then "/" + .objectRef.subresource else "" end) \(.responseStatus.code)"' \
    | sort | uniq -c | sort -rn
done
