#!/usr/bin/env bash
# Counts the operator's write requests while 200 unchanged Services sit for 60 s on the local
# cluster (make bench-reconcile: the tests' cluster), and prints it (target: 0). BENCH_SERVICES and BENCH_IDLE change the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=$PWD/bin/manager \
  go test -tags e2e ./test/e2e/ -run '^$' -bench BenchmarkIdleWrites -benchtime 1x -timeout 20m \
  | grep -E 'services=|Benchmark|ok|FAIL'
