#!/usr/bin/env bash
# Runs a test command that changes the host while it runs (network namespaces, cgroups, mounts,
# a Docker engine) and checks that the host is exactly as it was before once the command is done:
# links, routes, namespaces, mounts, cgroups, iptables/nft, sysctls and the directories the
# node runtimes write to (hack/real-cluster.sh host-state). The states and their difference go
# to test/e2e/artifacts/host-NAME-{before,after,diff}.txt. Exits with the command's status, or 1
# when the host differs.
#   hack/host-check.sh NAME COMMAND [ARG...]
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: $0 NAME COMMAND [ARG...]}; shift
out=test/e2e/artifacts/host-$name
mkdir -p "$(dirname "$out")"
hack/real-cluster.sh host-state >"$out-before.txt"
status=0
"$@" || status=$?
hack/real-cluster.sh host-state >"$out-after.txt"
if diff -u "$out-before.txt" "$out-after.txt" >"$out-diff.txt"; then
  printf '[host-check] %s: host left as found\n' "$name" >&2
else
  printf '[host-check] %s: the host differs afterwards:\n' "$name" >&2
  cat "$out-diff.txt" >&2
  status=1
fi
exit $status
