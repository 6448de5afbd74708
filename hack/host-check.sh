#!/usr/bin/env bash
# Checks that tests which change the host while they run (network namespaces, cgroups, mounts, a
# Docker engine) leave it exactly as they found it: links, routes, namespaces, mounts, cgroups,
# iptables/nft, sysctls and the directories the node runtimes write to (hack/real-cluster.sh
# host-state). The states and their difference go to test/e2e/artifacts/host-NAME-{before,
# after,diff}.txt.
#   hack/host-check.sh before NAME           record the host state
#   hack/host-check.sh after NAME            compare with it; exit 1 when the host differs
#   hack/host-check.sh run NAME COMMAND...   before, COMMAND, after: COMMAND's status, or 1
#   hack/host-check.sh tidy DIR...           remove host directories a test's engines made, once
#                                            nothing is left in them (/run/netns: unmounted too)
set -euo pipefail
cd "$(dirname "$0")/.."

# tidy DIR...: /run/netns is a mount point of its own (made by `ip netns add`); the others go
# with their empty subdirectories, and stay when anything is left in them.
tidy() {
  local d
  for d in "$@"; do
    [[ -d $d ]] || continue
    if [[ $d == /run/netns ]]; then
      [[ -z "$(ls -A /run/netns)" ]] || continue
      umount /run/netns 2>/dev/null || true
      rmdir /run/netns 2>/dev/null || true
    else
      find "$d" -depth -type d -empty -delete 2>/dev/null || true
    fi
  done
}
[[ ${1:-} == tidy ]] && { shift; tidy "$@"; exit 0; }

cmd=${1:-}; name=${2:?usage: $0 before|after NAME | run NAME COMMAND... | tidy DIR...}
out=test/e2e/artifacts/host-$name
mkdir -p "$(dirname "$out")"

before() { hack/real-cluster.sh host-state >"$out-before.txt"; }
after() {
  hack/real-cluster.sh host-state >"$out-after.txt"
  if diff -u "$out-before.txt" "$out-after.txt" >"$out-diff.txt"; then
    printf '[host-check] %s: host left as found (links, routes, netns, mounts, cgroups, iptables/nft, sysctls, directories)\n' "$name" >&2
  else
    printf '[host-check] %s: the host differs afterwards:\n' "$name" >&2
    cat "$out-diff.txt" >&2
    return 1
  fi
}

case $cmd in
  before) before ;;
  after) after ;;
  run)
    shift 2
    before
    status=0
    "$@" || status=$?
    after || status=1
    exit $status ;;
  *) echo "usage: $0 before|after NAME | run NAME COMMAND..." >&2; exit 2 ;;
esac
