#!/usr/bin/env bash
# Times `kubectl swarm stack deploy --detach=false` of a 50-service compose file (2 replicas
# each) on the tests' local cluster, until every service has converged, and prints it.
# BENCH_STACK_SERVICES changes the number. Run it under the kwok lock (make bench-stack takes it).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=${MANAGER_BIN:-$PWD/bin/manager} KUBECTL_SWARM_BIN=${KUBECTL_SWARM_BIN:-$PWD/bin/kubectl-swarm} \
  go test -tags e2e ./test/e2e/ -run '^$' -bench BenchmarkStackDeploy -benchtime 1x -timeout 30m \
  | grep -E 'stack_services=|Benchmark|ok|FAIL|\.go:'
