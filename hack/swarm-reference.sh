#!/usr/bin/env bash
# The reference Swarm: a real Docker Swarm of three engines on this machine (manager1, worker1,
# worker2), so that kubeswarm's answers can be checked against Swarm's own (test/parity).
#
# Each node is Debian's dockerd (docker.io, installed when missing) in a network namespace of its
# own (ksr-<node>) and a UTS namespace (its hostname is the node name), with its own data root,
# exec root, pid file and socket under the state directory. The nodes' veths meet on a bridge in
# a namespace of its own (ksr-fabric), so nothing of the reference Swarm is on the host's links,
# routes or firewall: dockerd's iptables rules live in the node namespaces. There is no route out
# of the nodes, so a registry lookup fails at once, and DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
# keeps the tasks from trying one at all. The project's test images (test/images: kubeswarm.test/
# web:1 and the stand-ins docker.io/library/nginx:latest, wordpress:latest, mysql:5.7) are loaded
# on every node. The kernel has no IPVS, so the routing mesh and VIPs do not answer; host-mode
# ports, dnsrr and tasks.<svc> do.
#
# Usage: hack/swarm-reference.sh COMMAND
#   up        start the three engines, swarm init on manager1, join the workers, load the images;
#             a no-op when it is up
#   down      leave the host as it was found: engines stopped (by their recorded pids), namespaces,
#             cgroups and state removed
#   status    the engines and `docker node ls`
#   env       print the `export DOCKER_HOST=…` line of manager1
#
# What it changes on the host while up: network namespaces ksr-fabric, ksr-manager1, ksr-worker1,
# ksr-worker2 (under /run/netns); cgroups /ksr-<node> in every hierarchy; the state directory.
# Mounts are made inside the nodes' own mount namespaces (`ip netns exec`) and end with them.
#
# Addresses (inside the namespaces only): nodes 10.212.0.2-4/24, docker0 10.213.0.1/24, local
# networks from 10.214.0.0/16, swarm networks from 10.215.0.0/16 (away from the real-node
# cluster's 10.247-10.249, the kind probe's 10.251 and kwok's 172.17/172.18).
#
# Environment: KUBESWARM_CACHE (default ~/.cache/kubeswarm; state in
# $KUBESWARM_CACHE/swarm-reference), DOCKER (the docker client, default the first in PATH).
set -euo pipefail


ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}
STATE="$CACHE/swarm-reference"
IMAGES_DIR="$STATE/images"
DOCKER=${DOCKER:-docker}
NODES=(manager1 worker1 worker2)
NET=10.212.0
PREFIX=ksr
CGROUP_CONTROLLERS=(cpu cpuacct cpuset memory devices freezer blkio pids systemd unified)

log() { printf '[swarm-reference] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

ns() { echo "$PREFIX-$1"; }
node_dir() { echo "$STATE/nodes/$1"; }
sock() { echo "$(node_dir "$1")/docker.sock"; }
dk() { local n=$1; shift; "$DOCKER" -H "unix://$(sock "$n")" "$@"; }
pid_of() { cat "$(node_dir "$1")/dockerd.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; }

need_root() { [[ $(id -u) == 0 ]] || die "run as root (network namespaces and dockerd)"; }

install_docker() {
  command -v dockerd >/dev/null && return 0
  log "installing Debian's docker.io"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  # The package starts a dockerd in the host's namespaces where systemd runs; this machine has
  # none, but stop one if it did, so that the host's firewall is not rewritten.
  if command -v systemctl >/dev/null && systemctl is-active -q docker 2>/dev/null; then
    systemctl disable --now docker.socket docker.service >&2 || true
  fi
}

# fabric_up: a bridge in a namespace of its own (bridge netfilter off there), one veth per node.
fabric_up() {
  local f n i=2; f=$(ns fabric)
  ip netns add "$f"
  ip netns exec "$f" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true
  ip -n "$f" link set lo up
  ip -n "$f" link add br0 type bridge
  ip -n "$f" link set br0 up
  for n in "${NODES[@]}"; do
    ip netns add "$(ns "$n")"
    ip -n "$f" link add "v-$n" type veth peer name eth0 netns "$(ns "$n")"
    ip -n "$f" link set "v-$n" master br0 up
    ip -n "$(ns "$n")" addr add "$NET.$i/24" dev eth0
    ip -n "$(ns "$n")" link set lo up
    ip -n "$(ns "$n")" link set eth0 up
    echo "$NET.$i" >"$(node_dir "$n")/ip"
    i=$((i + 1))
  done
}

# node_main runs inside `ip netns exec ksr-NODE unshare --uts`: the hostname, the cgroup
# hierarchies (`ip netns exec` remounts /sys, which hides /sys/fs/cgroup), then dockerd.
node_main() {
  local n=$1 d c; d=$(node_dir "$n")
  hostname "$n"
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
    mkdir -p "/sys/fs/cgroup/$c"
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
  mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
  export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
  exec /usr/sbin/dockerd -H "unix://$d/docker.sock" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    --cgroup-parent "/$(ns "$n")" \
    --bip 10.213.0.1/24 --default-address-pool base=10.214.0.0/16,size=24 \
    >>"$d/dockerd.log" 2>&1
}

build_images() {
  (cd "$ROOT" && go run ./test/images/build -o "$IMAGES_DIR" >&2)
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2 t; shift 2; t=$(now)
  until "$@" >/dev/null 2>&1; do
    awk -v a="$t" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && die "timed out waiting for $what"
    sleep 0.2
  done
}

cmd_up() {
  need_root
  if [[ -f "$STATE/up" ]] && alive manager1 && alive worker1 && alive worker2; then
    log "up (manager1 at unix://$(sock manager1))"
    return 0
  fi
  [[ -e "/run/netns/$(ns fabric)" ]] && { log "a half-made reference Swarm is here; taking it down first"; cmd_down; }
  install_docker
  local t0 n p; t0=$(now)
  build_images
  mkdir -p "$STATE/nodes"
  for n in "${NODES[@]}"; do mkdir -p "$(node_dir "$n")"; done
  # The engines' containerd makes /opt/containerd (its "opt" plugin) and /run/containerd (shim
  # sockets), and `ip netns add` makes /run/netns, on the host: `down` removes those it made, once
  # empty.
  for p in /opt/containerd /run/containerd /run/netns; do [[ -e $p ]] || echo "$p"; done >"$STATE/nodes/host-dirs-made"
  fabric_up
  for n in "${NODES[@]}"; do
    setsid ip netns exec "$(ns "$n")" unshare --uts "$ROOT/hack/swarm-reference.sh" _node "$n" \
      </dev/null >>"$(node_dir "$n")/launch.log" 2>&1 &
  done
  for n in "${NODES[@]}"; do wait_for 60 "dockerd on $n" dk "$n" version; done
  log "3 engines ready after $(since "$t0")"
  local loads=()
  for n in "${NODES[@]}"; do
    dk "$n" load -q -i "$IMAGES_DIR/images.tar" >/dev/null &
    loads+=($!)
  done
  for p in "${loads[@]}"; do wait "$p" || die "loading the test images failed"; done
  dk manager1 swarm init --advertise-addr "$NET.2" --default-addr-pool 10.215.0.0/16 >/dev/null
  local token; token=$(dk manager1 swarm join-token -q worker)
  for n in worker1 worker2; do
    dk "$n" swarm join --advertise-addr "$(cat "$(node_dir "$n")/ip")" --token "$token" "$NET.2:2377" >/dev/null
  done
  wait_for 30 "3 ready nodes" bash -c "[[ \$('$DOCKER' -H unix://$(sock manager1) node ls --format '{{.Status}}' | grep -c Ready) == 3 ]]"
  touch "$STATE/up"
  log "up after $(since "$t0"): $(dk manager1 node ls --format '{{.Hostname}}' | tr '\n' ' ')"
  cmd_env
}

cgroup_remove() {
  local n=$1 c
  for c in "${CGROUP_CONTROLLERS[@]}"; do
    [[ -d /sys/fs/cgroup/$c/$(ns "$n") ]] || continue
    find "/sys/fs/cgroup/$c/$(ns "$n")" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

cmd_down() {
  need_root
  local n p i
  for n in worker2 worker1 manager1; do
    p=$(pid_of "$n")
    if [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    fi
  done
  for n in "${NODES[@]}"; do
    # What is left in a node's namespace (its containerd, shims, tasks) was started by its dockerd.
    if [[ -e "/run/netns/$(ns "$n")" ]]; then
      for p in $(ip netns pids "$(ns "$n")" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      for i in $(seq 1 50); do [[ -z "$(ip netns pids "$(ns "$n")" 2>/dev/null)" ]] && break; sleep 0.1; done
      ip netns del "$(ns "$n")"
    fi
    cgroup_remove "$n"
  done
  [[ -e "/run/netns/$(ns fabric)" ]] && ip netns del "$(ns fabric)"
  if [[ -f "$STATE/nodes/host-dirs-made" ]]; then
    xargs -r "$ROOT/hack/host-check.sh" tidy <"$STATE/nodes/host-dirs-made"
  fi
  # The data roots hold overlay layers, but their mounts lived in the nodes' mount namespaces.
  rm -rf "$STATE/nodes" "$STATE/up"
  log "down"
}

cmd_status() {
  local n
  for n in "${NODES[@]}"; do
    if alive "$n"; then echo "$n: dockerd $(pid_of "$n") at unix://$(sock "$n")"; else echo "$n: not running"; fi
  done
  alive manager1 && dk manager1 node ls
  return 0
}

cmd_env() { echo "export DOCKER_HOST=unix://$(sock manager1)"; }

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    _node) node_main "$@" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
