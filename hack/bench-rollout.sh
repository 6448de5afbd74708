#!/usr/bin/env bash
# Measures a rolling update through kubeswarm against a hand-written Deployment with the same
# strategy (30 replicas, parallelism 5) on the local cluster, and prints both and the ratio.
# BENCH_ROUNDS changes the number of rounds (3).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFIG=$(hack/local-cluster.sh kubeconfig) MANAGER_BIN=$PWD/bin/manager \
  go test -tags e2e ./test/e2e/ -run '^$' -bench BenchmarkRollout -benchtime 1x -timeout 30m \
  | grep -E 'round|ratio=|Benchmark|ok|FAIL'
