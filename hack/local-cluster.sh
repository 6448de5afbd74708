#!/usr/bin/env bash
# A local Kubernetes cluster for tests and demos, without Docker: a real control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler run as local processes by
# `kwokctl --runtime binary`) with nodes simulated by kwok. All binaries come from
# hack/k8s-binaries.sh; nothing is downloaded.
#
# Each node is driven by its own kwok process (`kwok --manage-single-node=NAME`), which renews
# the node's Lease and plays the node's and its pods' lifecycle (hack/kwok/stage-*.yaml).
# Stopping that process is like cutting the node's power: after ~20s the node goes NotReady and
# its pods stop being updated. kwokctl's own kwok-controller is disabled (hack/kwok/kwokctl.yaml).
# Claims are bound by hack/kwok/volumes, started with the cluster: volumes that exist only as API
# objects, so that the cluster writes nothing on the host outside its workdir.
#
# With KUBESWARM_REAL=1 (make cluster-up REAL=1) the nodes are real instead: see
# hack/real-cluster.sh, which this script hands every command of such a cluster.
#
# For many nodes (benchmarks: KUBESWARM_NODES=100) one kwok process manages them all, as kwok is
# meant to be used (`kwok --manage-nodes-with-annotation-selector`): a process per node would
# cost a hundred processes. stop-node and start-node need the per-node processes of the default.
#
# Usage: hack/local-cluster.sh COMMAND
#   up                    create the cluster and nodes manager1 (control-plane role and taint),
#                         worker1, worker2 (with KUBESWARM_NODES=N: worker1 … worker<N-1>); wait
#                         until all nodes are Ready. A no-op when it is
#                         up; restarts missing node processes and a dead control plane (and
#                         recreates the cluster if that fails). When creating, adds context
#                         kwok-NAME to ${KUBECONFIG:-~/.kube/config} and makes it current.
#   down                  delete the cluster and stop its node processes
#   kubeconfig            print the path of a standalone kubeconfig file for the cluster
#   status                nodes, and whether each node's process is running
#   stop-node NAME [--wait]   stop NAME's process (--wait: until the node is NotReady)
#   start-node NAME [--wait]  start it again (--wait: until the node is Ready). Restarted within
#                         the lease duration (10s) of a stop, it takes over when the lease expires.
#   add-node NAME [--role manager|worker]   add a node (default worker) and wait until Ready
#   remove-node NAME      stop NAME's process and delete the node (its pods are garbage
#                         collected by kube-controller-manager ~40s later, as in a real cluster)
#
# Environment: KUBESWARM_CLUSTER (cluster name, default kubeswarm), KWOK_WORKDIR (default
# ~/.kwok; the cluster lives in $KWOK_WORKDIR/clusters/NAME), KUBECONFIG,
# KUBESWARM_NODE_LEASE_SECONDS (node lease duration, default 10: renewed every 2.5s),
# KUBESWARM_UP_TIMEOUT (seconds to wait for Ready nodes, default 120), KUBESWARM_NODES (the
# number of nodes `up` makes, default 3; more than 3 are driven by one shared kwok process),
# KUBESWARM_AUDIT_POLICY (an audit policy file for a new cluster: the log is
# $KWOK_WORKDIR/clusters/NAME/logs/audit.log).
set -euo pipefail
# The cluster's processes outlive this script: they must not keep the files it was given open
# (a caller's `flock FILE hack/…` lock would be held for as long as the cluster runs).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [[ $fd =~ ^[0-9]+$ && $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-"; fi
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${KUBESWARM_CLUSTER:-kubeswarm}
# A cluster whose nodes are real (KUBESWARM_REAL=1 when it is made, then found by its state
# directory) is run by hack/real-cluster.sh, which takes the same commands.
if [[ ${KUBESWARM_REAL:-} == 1 || -d "${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/real/$NAME" ]]; then
  exec "$ROOT/hack/real-cluster.sh" "$@"
fi
CONTEXT="kwok-$NAME"
export KWOK_WORKDIR=${KWOK_WORKDIR:-$HOME/.kwok}
WORKDIR="$KWOK_WORKDIR/clusters/$NAME"
CLUSTER_KUBECONFIG="$WORKDIR/kubeconfig.yaml"   # written by kwokctl
STANDALONE_KUBECONFIG="$WORKDIR/kubeswarm-kubeconfig.yaml"
NODES_DIR="$WORKDIR/kubeswarm-nodes"            # per-node pid files and logs
USER_KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config}
USER_KUBECONFIG=${USER_KUBECONFIG%%:*}           # first file of a KUBECONFIG list
LEASE_SECONDS=${KUBESWARM_NODE_LEASE_SECONDS:-10}
UP_TIMEOUT=${KUBESWARM_UP_TIMEOUT:-120}
STAGES=("$ROOT/hack/kwok/stage-node.yaml" "$ROOT/hack/kwok/stage-pod.yaml")
# The number of nodes a cluster was made with is kept with it, for the commands after `up`.
NODE_COUNT=${KUBESWARM_NODES:-$(cat "$WORKDIR/kubeswarm-node-count" 2>/dev/null || echo 3)}
[[ "$NODE_COUNT" =~ ^[0-9]+$ && "$NODE_COUNT" -ge 1 && "$NODE_COUNT" -le 250 ]] || { echo "KUBESWARM_NODES must be 1-250" >&2; exit 2; }
DEFAULT_NODES=(manager1:manager)
for ((i = 1; i < NODE_COUNT; i++)); do DEFAULT_NODES+=("worker$i:worker"); done
# SHARED: one kwok process manages every node (more than the default three).
SHARED=$(( NODE_COUNT > 3 ))

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

BIN=
need_bin() {
  [[ -n "$BIN" ]] && return
  BIN=$("$ROOT/hack/k8s-binaries.sh")
  # kwokctl runs kubectl from PATH (or downloads it): make it find ours.
  export PATH="$BIN:$PATH" KWOK_KUBECTL_BINARY="$BIN/kubectl"
  KUBE_VERSION=${BIN##*/k8s-}; KUBE_VERSION=${KUBE_VERSION%%_*}
  export KWOK_KUBE_VERSION="$KUBE_VERSION"
}

kc() { "$BIN/kubectl" --kubeconfig "$CLUSTER_KUBECONFIG" --request-timeout=10s "$@"; }
kwokctl() { "$BIN/kwokctl" -v=warn --name "$NAME" "$@"; }

cluster_exists() { [[ -f "$WORKDIR/kwok.yaml" ]]; }

# control_plane_healthy: every kwokctl component process runs and the apiserver says ok.
control_plane_healthy() {
  [[ -f "$CLUSTER_KUBECONFIG" ]] || return 1
  local comps
  comps=$(kwokctl get components -o wide 2>/dev/null) || return 1
  [[ -n "$comps" ]] || return 1
  if awk 'NR > 1 && $2 != "Ready" { bad = 1 } END { exit !bad }' <<<"$comps"; then return 1; fi
  [[ "$(kc get --raw /healthz 2>/dev/null)" == ok ]]
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local timeout=$1 what=$2 start; shift 2
  start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) - start < timeout )) || die "timed out after ${timeout}s waiting for $what"
    sleep 0.5
  done
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n "$st" && "$st" != Z ]]
}

# clean_stale_component_pids: kwokctl considers a component running when the pid in its pid
# file exists; after a reboot that pid may belong to another process (or to a zombie). Remove
# such pid files so that `kwokctl start cluster` starts those components again.
clean_stale_component_pids() {
  local f pid comp argv0
  for f in "$WORKDIR"/pids/*.pid; do
    [[ -e "$f" ]] || continue
    pid=$(<"$f"); comp=$(basename "$f" .pid)
    argv0=$({ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | head -n1) || argv0=
    if ! pid_alive "$pid" || [[ "$argv0" != */"$comp" ]]; then
      rm -f "$f"
    fi
  done
}

create_cluster() {
  # A cluster of many nodes is for benchmarks of many Services: the apiserver's default Service
  # range (a /24) holds 254.
  local SCALE_ARGS=()
  (( SHARED )) && SCALE_ARGS=(--extra-args kube-apiserver=service-cluster-ip-range=10.96.0.0/16)
  log "creating cluster $NAME (kwokctl --runtime binary, workdir $WORKDIR)"
  kwokctl create cluster --runtime binary \
    --config "$ROOT/hack/kwok/kwokctl.yaml" \
    --etcd-binary "$BIN/etcd" \
    --kube-apiserver-binary "$BIN/kube-apiserver" \
    --kube-controller-manager-binary "$BIN/kube-controller-manager" \
    --kube-scheduler-binary "$BIN/kube-scheduler" \
    --kwok-controller-binary "$BIN/kwok" \
    --kubeconfig "$USER_KUBECONFIG" \
    ${KUBESWARM_AUDIT_POLICY:+--kube-audit-policy "$KUBESWARM_AUDIT_POLICY"} \
    "${SCALE_ARGS[@]}" \
    --quiet-pull --wait 2m >&2
  config_hash > "$WORKDIR/kubeswarm-config.sha"
}

# config_hash identifies the control-plane configuration a cluster was made with (the kwokctl
# config and the binaries): a cluster made with another is made anew by `up`.
config_hash() { cat "$ROOT/hack/kwok/kwokctl.yaml" <(echo "$BIN") | sha256sum | cut -d' ' -f1; }

delete_cluster() {
  stop_all_node_processes
  kill_pids $(volumes_pids)
  if cluster_exists || [[ -d "$WORKDIR" ]]; then
    log "deleting cluster $NAME"
    kwokctl delete cluster --kubeconfig "$USER_KUBECONFIG" >&2 || true
    rm -rf "$WORKDIR"
  else
    log "no cluster $NAME"
  fi
}

write_standalone_kubeconfig() {
  local tmp="$STANDALONE_KUBECONFIG.tmp"
  kwokctl get kubeconfig >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$STANDALONE_KUBECONFIG"
}

# --- per-node kwok processes -----------------------------------------------------------------

# cluster_pids BINARY [GREP-ARGS...]: pids of this cluster's processes (found by command line,
# which names the cluster's kubeconfig, so a lost pid file does not leave a stray process
# behind) run from a file named BINARY and, with GREP-ARGS, whose arguments (one a line) match
# `grep GREP-ARGS`.
cluster_pids() {
  local bin=$1 f args pid
  shift
  for f in $(grep -lsaF -- "--kubeconfig=$CLUSTER_KUBECONFIG" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    args=$({ tr '\0' '\n' <"$f"; } 2>/dev/null) || continue
    [[ "${args%%$'\n'*}" == */"$bin" ]] || continue
    (( $# == 0 )) || grep -q "$@" <<<"$args" || continue
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ "$pid" != "$$" && "$pid" != "$BASHPID" ]] && echo "$pid"
  done
  return 0
}

# node_pids NAME: pids of kwok processes managing node NAME; "*": the one managing every node;
# "": all of them.
node_pids() {
  case $1 in
    "") cluster_pids kwok -e '^--manage-single-node=' -e '^--manage-nodes-with-annotation-selector=' ;;
    "*") cluster_pids kwok -e '^--manage-nodes-with-annotation-selector=' ;;
    *) cluster_pids kwok -xF -e "--manage-single-node=$1" ;;
  esac
}

node_alive() { [[ -n "$(node_pids "$1")" ]]; }

# --- the cluster's volume provisioner ----------------------------------------------------------

# volumes_pids: the cluster's hack/kwok/volumes process.
volumes_pids() { cluster_pids kwok-volumes; }

# start_volumes: the claims' provisioner (hack/kwok/volumes): volumes as API objects only, so
# that nothing is written on the host (the nodes, simulated, mount nothing).
start_volumes() {
  [[ -z "$(volumes_pids)" ]] || return 0
  mkdir -p "$NODES_DIR"
  (cd "$ROOT" && go build -o "$WORKDIR/kwok-volumes" ./hack/kwok/volumes) || die "cannot build hack/kwok/volumes"
  printf '\n--- %s starting the volume provisioner\n' "$(date -u +%FT%TZ)" >>"$NODES_DIR/volumes.log"
  setsid nohup "$WORKDIR/kwok-volumes" --kubeconfig="$CLUSTER_KUBECONFIG" >>"$NODES_DIR/volumes.log" 2>&1 </dev/null &
  log "volumes: provisioner started (pid $!, log $NODES_DIR/volumes.log)"
}

# start_shared_process: one kwok process for every node of the cluster (SHARED); the nodes carry
# their InternalIP from creation (create_nodes), so kwok needs no --node-ip.
start_shared_process() {
  local pid
  if node_alive "*"; then return 0; fi
  mkdir -p "$NODES_DIR"
  local args=(
    --kubeconfig="$CLUSTER_KUBECONFIG"
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
    --node-lease-duration-seconds="$LEASE_SECONDS"
  )
  local s; for s in "${STAGES[@]}"; do args+=(--config="$s"); done
  printf '\n--- %s starting kwok for every node\n' "$(date -u +%FT%TZ)" >>"$NODES_DIR/all.log"
  setsid nohup "$BIN/kwok" "${args[@]}" >>"$NODES_DIR/all.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$NODES_DIR/all.pid"
  log "every node: one kwok process started (pid $pid, log $NODES_DIR/all.log)"
}

kill_pids() {
  local pids=("$@") pid alive
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
    (( alive )) || return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

start_node_process() {
  local name=$1 cidr octet ip pid
  if node_alive "$name"; then return 0; fi
  cidr=$(kc get node "$name" -o jsonpath='{.spec.podCIDR}')
  [[ -n "$cidr" ]] || die "node $name has no spec.podCIDR"
  octet=$(cut -d. -f3 <<<"$cidr")
  ip="172.18.0.$((octet + 1))"
  mkdir -p "$NODES_DIR"
  local args=(
    --kubeconfig="$CLUSTER_KUBECONFIG"
    --manage-single-node="$name"
    --node-name="$name" --node-ip="$ip" --cidr="$cidr"
    --node-lease-duration-seconds="$LEASE_SECONDS"
  )
  local s; for s in "${STAGES[@]}"; do args+=(--config="$s"); done
  printf '\n--- %s starting kwok for node %s\n' "$(date -u +%FT%TZ)" "$name" >>"$NODES_DIR/$name.log"
  # setsid + nohup: the process outlives this script and its session.
  setsid nohup "$BIN/kwok" "${args[@]}" >>"$NODES_DIR/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$NODES_DIR/$name.pid"
  log "node $name: kwok process started (pid $pid, ip $ip, pods $cidr, log $NODES_DIR/$name.log)"
}

stop_node_process() {
  local name=$1 pids
  mapfile -t pids < <(node_pids "$name")
  if [[ ${#pids[@]} -eq 0 ]]; then
    log "node $name: no kwok process running"
  else
    kill_pids "${pids[@]}"
    log "node $name: kwok process stopped (pid ${pids[*]})"
  fi
  rm -f "$NODES_DIR/$name.pid"
}

stop_all_node_processes() {
  local pids
  mapfile -t pids < <(node_pids "")
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill_pids "${pids[@]}"
    log "stopped node processes (pid ${pids[*]})"
  fi
  rm -f "$NODES_DIR"/*.pid 2>/dev/null || true
}

# --- nodes -----------------------------------------------------------------------------------

# next_pod_cidr: 10.244.N.0/24 with the smallest N >= 1 not used by a node.
next_pod_cidr() {
  local used n
  used=$(kc get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}' | cut -d. -f3)
  for n in $(seq 1 250); do
    grep -qx "$n" <<<"$used" || { echo "10.244.$n.0/24"; return; }
  done
  die "no free pod CIDR"
}

# node_yaml NAME ROLE CIDR: the Node object of a simulated node (with its InternalIP when one
# kwok process drives every node: it cannot be told each node's IP).
node_yaml() {
  local name=$1 role=$2 cidr=$3 role_label="" taints="" addresses=""
  if [[ "$role" == manager ]]; then
    role_label='    node-role.kubernetes.io/control-plane: ""'
    taints='  taints:
  - key: node-role.kubernetes.io/control-plane
    effect: NoSchedule'
  fi
  if (( SHARED )); then
    addresses="  addresses:
  - {type: InternalIP, address: 172.18.0.$(( $(cut -d. -f3 <<<"$cidr") + 1 ))}"
  fi
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    beta.kubernetes.io/arch: amd64
    type: kwok
$role_label
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
spec:
  podCIDR: $cidr
  podCIDRs: [$cidr]
$taints
status:
$addresses
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: $KUBE_VERSION
    kubeProxyVersion: $KUBE_VERSION
    containerRuntimeVersion: kwok://v0.8.0
    kernelVersion: kwok
    osImage: kwok
    bootID: ""
    machineID: ""
    systemUUID: ""
EOF
}

create_node() {
  local name=$1 role=$2
  log "creating node $name (role $role)"
  node_yaml "$name" "$role" "$(next_pod_cidr)" | kc create -f - >/dev/null
}

# create_nodes NAME:ROLE...: the missing ones of these nodes, in one request set (many nodes).
create_nodes() {
  local existing free n name yaml="" count=0
  existing=$(all_node_names)
  mapfile -t free < <(comm -23 <(seq 1 250 | sort) <(kc get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR}{"\n"}{end}' | cut -d. -f3 | sort) | sort -n)
  for n in "$@"; do
    name=${n%%:*}
    grep -qxF "$name" <<<"$existing" && continue
    yaml+=$(node_yaml "$name" "${n##*:}" "10.244.${free[count]}.0/24")$'\n'
    count=$((count + 1))
  done
  (( count > 0 )) || return 0
  log "creating $count nodes"
  kc create -f - >/dev/null <<<"$yaml"
}

node_exists() { kc get node "$1" >/dev/null 2>&1; }

node_ready_status() { # prints True / False / Unknown
  kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null
}
nodes_ready() { # one request for all of them (a hundred nodes)
  local n ready
  ready=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}') || return 1
  for n in "$@"; do grep -qxF "$n=True" <<<"$ready" || return 1; done
}
node_not_ready() { local s; s=$(node_ready_status "$1"); [[ -n "$s" && "$s" != True ]]; }

all_node_names() { kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }

# --- commands --------------------------------------------------------------------------------

cmd_up() {
  local t0 t1 action="" names n
  t0=$(now)
  need_bin
  if cluster_exists && [[ "$(cat "$WORKDIR/kubeswarm-config.sha" 2>/dev/null)" != "$(config_hash)" ]]; then
    log "cluster $NAME was made with another configuration (hack/kwok/kwokctl.yaml or binaries): recreating it"
    delete_cluster
  fi
  if cluster_exists && control_plane_healthy; then
    action=reused
  elif cluster_exists; then
    log "cluster $NAME exists but its control plane is not healthy: restarting it"
    clean_stale_component_pids
    timeout 90 "$BIN/kwokctl" -v=warn --name "$NAME" start cluster >&2 || true
    for _ in $(seq 60); do control_plane_healthy && break; sleep 0.5; done
    if control_plane_healthy; then
      action=restarted
    else
      log "restart failed: recreating cluster $NAME"
      delete_cluster
    fi
  elif [[ -d "$WORKDIR" ]]; then
    log "removing incomplete cluster workdir $WORKDIR"
    delete_cluster
  fi
  if [[ -z "$action" ]]; then
    create_cluster
    action=created
  fi
  [[ "$action" == reused ]] || wait_for 60 "the apiserver" control_plane_healthy
  if [[ "$action" != reused || ! -s "$STANDALONE_KUBECONFIG" || "$STANDALONE_KUBECONFIG" -ot "$CLUSTER_KUBECONFIG" ]]; then
    write_standalone_kubeconfig
  fi
  t1=$(now)
  [[ "$action" == reused ]] || log "control plane $action in $(since "$t0")"

  echo "$NODE_COUNT" >"$WORKDIR/kubeswarm-node-count"
  if (( SHARED )); then
    create_nodes "${DEFAULT_NODES[@]}"
    start_shared_process
    mapfile -t names < <(all_node_names)
  else
    for n in "${DEFAULT_NODES[@]}"; do
      node_exists "${n%%:*}" || create_node "${n%%:*}" "${n##*:}"
    done
    mapfile -t names < <(all_node_names)
    for n in "${names[@]}"; do start_node_process "$n"; done
  fi
  wait_for "$UP_TIMEOUT" "${#names[@]} nodes to be Ready" nodes_ready "${names[@]}"
  wait_for 60 "the default ServiceAccount" kc -n default get serviceaccount default -o name
  kc apply -f "$ROOT/hack/kwok/storageclass.yaml" >/dev/null
  start_volumes
  if [[ "$action" == reused ]]; then
    log "cluster $NAME is up (${#names[@]} nodes Ready; checked in $(since "$t0"))"
  else
    log "${#names[@]} nodes Ready in $(since "$t1"); cluster $NAME up in $(since "$t0") (context $CONTEXT)"
  fi
}

cmd_down() {
  local t0; t0=$(now)
  need_bin
  delete_cluster
  log "down in $(since "$t0")"
}

cmd_kubeconfig() {
  cluster_exists || die "cluster $NAME does not exist: run hack/local-cluster.sh up"
  if [[ ! -s "$STANDALONE_KUBECONFIG" || "$STANDALONE_KUBECONFIG" -ot "$CLUSTER_KUBECONFIG" ]]; then
    need_bin
    write_standalone_kubeconfig
  fi
  echo "$STANDALONE_KUBECONFIG"
}

cmd_status() {
  need_bin
  cluster_exists || { log "cluster $NAME does not exist"; return 1; }
  echo "control plane ($WORKDIR):"
  kwokctl get components -o wide | sed 's/^/  /'
  echo "nodes:"
  kc get nodes -o wide | sed 's/^/  /' || true
  echo "node processes:"
  local n pids
  for n in $(all_node_names 2>/dev/null); do
    pids=$(node_pids "$n" | tr '\n' ' ')
    if [[ -n "$pids" ]]; then
      printf '  %-12s running (pid %s)\n' "$n" "${pids% }"
    else
      printf '  %-12s stopped\n' "$n"
    fi
  done
}

require_node_arg() {
  [[ -n "${1:-}" ]] || die "missing node name"
  (( ! SHARED )) || die "one kwok process drives every node of a cluster of $NODE_COUNT nodes: a node cannot be stopped, started or added alone"
  need_bin
  cluster_exists || die "cluster $NAME does not exist: run hack/local-cluster.sh up"
}

cmd_stop_node() {
  local name=${1:-} wait=${2:-}
  require_node_arg "$name"
  node_exists "$name" || die "no node $name"
  stop_node_process "$name"
  if [[ "$wait" == --wait ]]; then
    local t0; t0=$(now)
    wait_for 120 "node $name to be NotReady" node_not_ready "$name"
    log "node $name NotReady after $(since "$t0")"
  fi
}

cmd_start_node() {
  local name=${1:-} wait=${2:-}
  require_node_arg "$name"
  node_exists "$name" || die "no node $name"
  start_node_process "$name"
  if [[ "$wait" == --wait ]]; then
    local t0; t0=$(now)
    wait_for 120 "node $name to be Ready" nodes_ready "$name"
    log "node $name Ready after $(since "$t0")"
  fi
}

cmd_add_node() {
  local name=${1:-} role=worker t0
  [[ $# -gt 0 ]] && shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --role) role=${2:-}; shift 2 || die "--role needs a value" ;;
      --role=*) role=${1#--role=}; shift ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [[ "$role" == manager || "$role" == worker ]] || die "--role must be manager or worker"
  require_node_arg "$name"
  t0=$(now)
  node_exists "$name" || create_node "$name" "$role"
  start_node_process "$name"
  wait_for 120 "node $name to be Ready" nodes_ready "$name"
  log "node $name Ready in $(since "$t0")"
}

cmd_remove_node() {
  local name=${1:-}
  require_node_arg "$name"
  stop_node_process "$name"
  if node_exists "$name"; then
    kc delete node "$name" --wait=true >/dev/null
    log "node $name deleted"
  else
    log "no node $name"
  fi
  rm -f "$NODES_DIR/$name.pid"
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    kubeconfig) cmd_kubeconfig ;;
    status) cmd_status ;;
    stop-node) cmd_stop_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    add-node) cmd_add_node "$@" ;;
    remove-node) cmd_remove_node "$@" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
