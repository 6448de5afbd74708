#!/usr/bin/env bash
# A private Docker engine for the kind tier, isolated from the host: its own network namespace
# (ksk-docker), its own mount namespace (ip netns exec), data-root, exec-root, pidfile and unix
# socket under $KIND_DIR, cgroups under /ksk-docker. The host's iptables, bridges and sysctls
# are not touched (docker's rules and bridges live in the namespace). Left on the host while up:
# the namespace, cgroups /ksk-docker, /opt/containerd (made by dockerd's containerd) and
# /lib/modules (kind mounts it; hack/kind-e2e.sh removes it at down if it made it).
#   hack/kind/dockerd.sh start|stop|env
# Environment: KIND_DIR (default /tmp/ksk-kind).
set -euo pipefail

D=${KIND_DIR:-/tmp/ksk-kind}/docker
NS=ksk-docker
SOCK=$D/docker.sock
log() { printf '[kind-dockerd] %s\n' "$*" >&2; }

inner() { # runs inside `ip netns exec`: /sys was remounted, put the cgroup hierarchies back
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
    mkdir -p /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
  done
  mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
  ip link set lo up
  exec /usr/sbin/dockerd -H "unix://$SOCK" --data-root "$D/data" --exec-root "$D/exec" \
    --pidfile "$D/dockerd.pid" --cgroup-parent /ksk-docker \
    --add-runtime "ksk-runc=$D/runc-caps.sh" --default-runtime ksk-runc \
    --bip 10.251.1.1/24 --default-address-pool base=10.251.16.0/20,size=24 >>"$D/dockerd.log" 2>&1
}

case ${1:-} in
  inner) inner ;;
  start)
    # Already up: a second start would forget which host directories the first one made.
    docker -H "unix://$SOCK" version >/dev/null 2>&1 && { log "dockerd up"; exit 0; }
    command -v dockerd >/dev/null || { log "dockerd is needed (apt-get install docker.io)"; exit 1; }
    mkdir -p "$D"
    # dockerd's own containerd makes /opt/containerd (its "opt" plugin) and /run/containerd (shim
    # sockets), and `ip netns add` makes /run/netns, on the host: stop removes those it made, once empty
    for p in /opt/containerd /run/containerd /run/netns; do [[ -e $p ]] || echo "$p"; done >"$D/host-dirs-made"
    # the capabilities outside this process's bounding set, which runc cannot give (runc-caps.sh)
    bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
    last=$(cat /proc/sys/kernel/cap_last_cap)
    drop=$(for i in $(seq 0 "$last"); do (( bnd >> i & 1 )) || capsh --decode=$(printf '%x' $((1 << i))) | sed 's/.*=//'; done \
      | tr a-z A-Z | jq -R . | jq -sc .)
    echo "$drop" >"$D/drop-caps"
    install -m 0755 "$(dirname "$0")/runc-caps.sh" "$D/runc-caps.sh"
    ip netns list | grep -qw "^$NS" || ip netns add $NS
    setsid nohup ip netns exec $NS "$0" inner </dev/null >>"$D/launch.log" 2>&1 &
    for _ in $(seq 1 100); do
      docker -H "unix://$SOCK" version >/dev/null 2>&1 && { log "dockerd up (pid $(cat "$D/dockerd.pid"))"; exit 0; }
      sleep 0.2
    done
    log "dockerd did not come up"; tail -30 "$D/dockerd.log" >&2; exit 1 ;;
  stop)
    P=$(cat "$D/dockerd.pid" 2>/dev/null || true)
    if [[ -n "$P" ]] && kill -0 "$P" 2>/dev/null && [[ $(cat /proc/$P/comm) == dockerd ]]; then
      kill -TERM "$P"
      for _ in $(seq 1 60); do kill -0 "$P" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$P" 2>/dev/null && kill -KILL "$P"
    fi
    ip netns del $NS 2>/dev/null || true
    # cgroups docker made under /ksk-docker (empty once its containers are gone)
    for h in /sys/fs/cgroup/*/; do
      [[ -d $h/ksk-docker ]] && find "$h/ksk-docker" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    if [[ -f $D/host-dirs-made ]]; then
      xargs -r "$(dirname "$0")/../host-check.sh" tidy <"$D/host-dirs-made"
      rm -f "$D/host-dirs-made"
    fi
    rm -rf "$D/data" "$D/exec" "$D/dockerd.pid" ;;
  env) echo "export DOCKER_HOST=unix://$SOCK" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
