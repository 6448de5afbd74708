#!/usr/bin/env bash
# Measures a rolling update through kubeswarm against a hand-written Deployment with the same
# strategy (100 replicas, parallelism 10) on the local cluster, side by side in one run, and
# prints both and the ratio. BENCH_ROUNDS (3), BENCH_REPLICAS (100) and BENCH_PARALLELISM (10)
# change the numbers. Run it under the kwok lock (make bench-rollout takes it).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=${MANAGER_BIN:-$PWD/bin/manager} \
  go test -tags e2e ./test/e2e/ -run '^$' -bench BenchmarkRollout -benchtime 1x -timeout 30m \
  | grep -E 'round|ratio=|Benchmark|ok|FAIL'
