#!/usr/bin/env bash
# A local Kubernetes cluster whose three nodes are real: manager1, worker1 and worker2 each run
# their own containerd, kubelet and kube-proxy in a network namespace of their own on this
# machine, so pods are real containers and packets really flow (NodePort routing mesh, host
# ports, cluster DNS, volumes). The same node names, labels and taints as the kwok cluster
# (hack/local-cluster.sh), which hands its commands here when KUBESWARM_REAL=1 or when the
# cluster it names is a real one.
#
# Usage: hack/real-cluster.sh COMMAND
#   up                        create the cluster (no-op when it is up and healthy): fabric,
#                             control plane, three nodes, CoreDNS, the test images; adds context
#                             NAME to ${KUBECONFIG:-~/.kube/config} and makes it current
#   down                      remove everything `up` made and put the host back as it was
#   kubeconfig                print the path of the cluster's kubeconfig file
#   status                    nodes and the processes of each
#   stop-node NAME [--wait]   the machine goes off: its network is unplugged and every process of
#                             it (kubelet, kube-proxy, containerd, containers) is killed
#                             (--wait: until the node is NotReady)
#   start-node NAME [--wait]  the machine comes back (--wait: until the node is Ready)
#   registry                  print the HOST:PORT of the cluster's registry
#   tools                     build crictl and CoreDNS (once) and print their directory
#   host-state                print the host state `down` must restore (links, routes, netns,
#                             mounts, cgroups, iptables/nft, sysctls, directories); a test
#                             compares it before `up` and after `down`
#   deps                      install the Debian packages the nodes need (containerd, runc, CNI
#                             plugins, conntrack, iptables) and build crictl and CoreDNS
#
# What it changes on the host while up: network namespaces ksw-fabric, ksw-ctl, ksw-<node> and
# the pods' cni-* namespaces (under /run/netns); a veth ksw0 (10.247.0.1/24) with routes to the
# pods' /24s; cgroups /ksw-<node> in every hierarchy; mounts below the state directory;
# /run/containerd (shim sockets), /var/lib/cni, /var/lib/kubelet/device-plugins,
# /var/log/{pods,containers}, /tmp/hostpath_pv.
# The kubelet rewrites kernel.panic, kernel.panic_on_oops and vm.overcommit_memory when it
# starts: the saved values are put back after each start and at `down`. Only one real cluster
# runs at a time (the namespaces and address ranges are fixed).
#
# Images: the project's test images (test/images) are imported into every node and served by the
# cluster's registry at 10.247.0.10:5000, the nodes' mirror for docker.io and kubeswarm.test.
#
# Addresses: nodes 10.247.0.0/24 (control plane .10, nodes .11-.13), pods 10.248.N.0/24 per
# node, Services 10.249.0.0/16 (cluster DNS 10.249.0.10). `up` refuses to start when the host
# already routes any of them.
#
# Environment: KUBESWARM_CLUSTER (cluster name, default kubeswarm), KUBESWARM_CACHE (default
# ~/.cache/kubeswarm; state in $KUBESWARM_CACHE/real/NAME), KUBECONFIG.
set -euo pipefail
# The cluster's processes outlive this script: they must not keep the files it was given open
# (a caller's `flock FILE hack/…` lock would be held for as long as the cluster runs).
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [[ $fd =~ ^[0-9]+$ && $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-"; fi
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${KUBESWARM_CLUSTER:-kubeswarm}
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}
REAL_DIR="$CACHE/real"
STATE="$REAL_DIR/$NAME"
PKI="$STATE/pki"
KC="$STATE/kubeconfig"
PIDS="$STATE/pids"
LOGS="$STATE/logs"
USER_KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config}
USER_KUBECONFIG=${USER_KUBECONFIG%%:*}

CRICTL_VERSION=${CRICTL_VERSION:-v1.37.0}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
# Traefik: the Gateway API implementation the routes test runs (test/e2e/realnodes_routes_test.go).
TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.6.12}

NET_PREFIX=ksw
HOST_LINK=ksw0
HOST_IP=10.247.0.1
NODE_NET=10.247.0.0/24
SVC_CIDR=10.249.0.0/16
CLUSTER_CIDR=10.248.0.0/16
DNS_IP=10.249.0.10
NODES=(manager1 worker1 worker2)
declare -A IP=([ctl]=10.247.0.10 [manager1]=10.247.0.11 [worker1]=10.247.0.12 [worker2]=10.247.0.13)
declare -A POD=([manager1]=10.248.1.0/24 [worker1]=10.248.2.0/24 [worker2]=10.248.3.0/24)
declare -A GW=([manager1]=10.248.1.1 [worker1]=10.248.2.1 [worker2]=10.248.3.1)
CGROUP_HIERARCHIES=(cpu cpuacct cpuset memory devices freezer blkio pids hugetlb net_cls net_prio perf_event rdma misc systemd unified)
# Host-global sysctls the kubelet rewrites when it starts.
KUBELET_SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host directories the nodes write to; `down` removes those that did not exist before `up`.
# (The kubelet's device-plugin socket is always /var/lib/kubelet/device-plugins/kubelet.sock.)
HOST_DIRS=(/run/netns /run/containerd /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /tmp/hostpath_pv)

log() { printf '[real-cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local timeout=$1 what=$2 start; shift 2
  start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) - start < timeout )) || { log "timed out after ${timeout}s waiting for $what"; return 1; }
    sleep 0.2
  done
}

# --- binaries and packages --------------------------------------------------------------------

BIN= TOOLS=
need_bin() {
  [[ -n "$BIN" ]] && return
  BIN=$("$ROOT/hack/k8s-binaries.sh")
  TOOLS="$CACHE/bin/real-crictl-${CRICTL_VERSION}_coredns-${COREDNS_VERSION}"
}

kc() { "$BIN/kubectl" --kubeconfig "$KC" --request-timeout=10s "$@"; }

# install_packages: containerd 1.6, runc, the CNI plugins, conntrack, iptables and the tools the
# script uses, from Debian's packages (only those missing).
install_packages() {
  local want=() p
  command -v containerd >/dev/null || want+=(containerd)
  command -v runc >/dev/null || want+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/portmap && -x /usr/lib/cni/host-local ]] || want+=(containernetworking-plugins)
  command -v conntrack >/dev/null || want+=(conntrack)
  command -v iptables >/dev/null || want+=(iptables)
  command -v openssl >/dev/null || want+=(openssl)
  command -v nsenter >/dev/null || want+=(util-linux)
  command -v ip >/dev/null || want+=(iproute2)
  command -v curl >/dev/null || want+=(curl)
  [[ ${#want[@]} -eq 0 ]] && return
  [[ $(id -u) == 0 ]] || die "missing packages ${want[*]}: install them (as root: apt-get install ${want[*]})"
  log "installing ${want[*]} (Debian packages)"
  for p in 1 2; do
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >&2 && return
    sleep 5
  done
  die "apt-get install ${want[*]} failed"
}

# build_traefik: Traefik from its Go module, once. Its go.mod replaces modules (its forks), which
# `go install MODULE@VERSION` refuses, so the module's source is copied out of the module cache
# and built as the main module. v3.6 is the newest whose dependencies the module proxy serves
# whole (v3.7's ACME DNS providers pull modules it refuses, and its nested module
# github.com/traefik/traefik/dynamic/ext is not published).
TRAEFIK="$CACHE/bin/traefik-$TRAEFIK_VERSION/traefik"
build_traefik() {
  [[ -x "$TRAEFIK" ]] && return
  local t0 work src
  t0=$(now)
  log "building Traefik $TRAEFIK_VERSION from its Go module (10 minutes or more the first time)"
  work=$(mktemp -d)
  (cd "$work" && go mod download "github.com/traefik/traefik/v3@$TRAEFIK_VERSION") >&2 || { rm -rf "$work"; return 1; }
  src="$(go env GOMODCACHE)/github.com/traefik/traefik/v3@$TRAEFIK_VERSION"
  cp -r "$src/." "$work/" && chmod -R u+w "$work"
  mkdir -p "$(dirname "$TRAEFIK")"
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$TRAEFIK.tmp" ./cmd/traefik) >&2 ||
    { rm -rf "$work" "$TRAEFIK.tmp"; return 1; }
  mv "$TRAEFIK.tmp" "$TRAEFIK"
  rm -rf "$work"
  log "Traefik built in $(since "$t0")"
}

# build_tools: crictl (to remove pods through the CRI at teardown) and CoreDNS, from their Go
# modules, once.
build_tools() {
  need_bin
  [[ -x "$TOOLS/crictl" && -x "$TOOLS/coredns" ]] && return
  mkdir -p "$TOOLS"
  local t0; t0=$(now)
  log "building crictl $CRICTL_VERSION and CoreDNS $COREDNS_VERSION from their Go modules (a few minutes the first time)"
  GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$TOOLS" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$TOOLS" go install -trimpath -ldflags "-s -w" \
    "github.com/coredns/coredns@$COREDNS_VERSION" >&2
  log "tools built in $(since "$t0")"
}

# images: the project's test images (test/images) as one archive, imported into every node.
IMAGES="$CACHE/images/images.tar"
REGISTRY_BIN="$CACHE/images/registry"
build_images() {
  build_traefik
  (cd "$ROOT" && go run ./test/images/build -o "$CACHE/images" --coredns "$TOOLS/coredns" --traefik "$TRAEFIK" >&2 &&
    CGO_ENABLED=0 go build -o "$REGISTRY_BIN" ./test/images/registry)
}

# The cluster's registry (test/images/registry) in the control plane's namespace, the nodes'
# mirror for docker.io and kubeswarm.test: images pull as from Docker Hub, and a test can push
# a new image under a running tag. Under its own address (plain HTTP, as the plugin speaks to a
# registry on a private address) it is what the plugin pins digests from. The test images are pushed to it at start.
REGISTRY_PORT=5000
registry_up() {
  local c; c=$(ns ctl)
  start registry "$c" "" -- "$REGISTRY_BIN" serve --address "${IP[ctl]}:$REGISTRY_PORT" --dir "$STATE/registry"
  wait_for 30 "the registry" curl -sf "http://${IP[ctl]}:$REGISTRY_PORT/v2/" || return 1
  "$REGISTRY_BIN" push --registry "${IP[ctl]}:$REGISTRY_PORT" "$IMAGES" >"$LOGS/registry-push.log" 2>&1 ||
    { log "pushing the test images failed: $(tail -3 "$LOGS/registry-push.log")"; return 1; }
}

cmd_deps() { install_packages; build_tools; }

# --- processes ---------------------------------------------------------------------------------

# ours PID: the process runs one of this cluster's commands (its command line names the state
# directory), so a pid file never makes us signal a process that reused the number.
ours() { grep -qaF -- "$STATE/" "/proc/$1/cmdline" 2>/dev/null; }

# start NAME NETNS [HOSTNAME] -- CMD...: run CMD detached in NETNS (network namespace only: the
# mount namespace stays the host's, so the kubelet's volume mounts are visible to containerd),
# with HOSTNAME in a UTS namespace of its own when given.
start() {
  local name=$1 ns=$2 host=$3; shift 4
  mkdir -p "$PIDS" "$LOGS"
  printf '\n--- %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  if [[ -n "$host" ]]; then
    setsid nsenter --net="/run/netns/$ns" unshare --uts sh -c 'hostname "$0"; exec "$@"' "$host" "$@" \
      >>"$LOGS/$name.log" 2>&1 </dev/null &
  else
    setsid nsenter --net="/run/netns/$ns" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  fi
  echo $! >"$PIDS/$name.pid"
}

running() { local f="$PIDS/$1.pid"; [[ -f "$f" ]] && ours "$(cat "$f")"; }

# stop NAME [SIGNAL]: signal the process of NAME (TERM by default), then KILL after 5 s.
stop() {
  local f="$PIDS/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if ours "$pid"; then
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do ours "$pid" || break; sleep 0.1; done
    ours "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

# --- host state --------------------------------------------------------------------------------

save_sysctls() {
  [[ -f "$STATE/sysctls" ]] && return
  local s
  for s in "${KUBELET_SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$STATE/sysctls"
}
restore_sysctls() {
  [[ -f "$STATE/sysctls" ]] || return 0
  local k v
  while IFS== read -r k v; do sysctl -qw "$k=$v" || true; done <"$STATE/sysctls"
}

save_host_dirs() {
  [[ -f "$STATE/host-dirs" ]] && return
  local d
  for d in "${HOST_DIRS[@]}"; do [[ -e "$d" ]] && echo "$d"; done >"$STATE/host-dirs"
  if [[ -d /tmp/hostpath_pv ]]; then ls -A /tmp/hostpath_pv >"$STATE/hostpath-entries"; fi
  if [[ -d /run/containerd/s ]]; then ls -A /run/containerd/s >"$STATE/shim-sockets"; fi
  true
}

# remove_shim_sockets: containerd 1.6 puts every shim's socket in /run/containerd/s, whatever
# its state directory; a killed shim leaves its socket behind. Remove those that appeared since
# `up` and that no live process (in any network namespace) has bound.
remove_shim_sockets() {
  [[ -d /run/containerd/s ]] || return 0
  local bound e
  # (Processes come and go while cat reads /proc: some of its reads fail, which is no error here.)
  bound=$({ cat /proc/[0-9]*/net/unix 2>/dev/null || true; } | awk '$8 ~ "^/run/containerd/s/" { print $8 }' | sort -u)
  for e in $(ls -A /run/containerd/s); do
    grep -qxF -- "$e" "$STATE/shim-sockets" 2>/dev/null && continue
    grep -qxF -- "/run/containerd/s/$e" <<<"$bound" && continue
    rm -f "/run/containerd/s/$e"
  done
}
restore_host_dirs() {
  [[ -f "$STATE/host-dirs" ]] || return 0
  local d e
  # Volumes the hostPath provisioner made for this cluster's claims.
  if [[ -d /tmp/hostpath_pv ]]; then
    for e in $(ls -A /tmp/hostpath_pv); do
      grep -qxF -- "$e" "$STATE/hostpath-entries" 2>/dev/null || rm -rf "/tmp/hostpath_pv/$e"
    done
  fi
  rm -f /var/lib/cni/results/ksw-* 2>/dev/null || true
  remove_shim_sockets
  for d in "${HOST_DIRS[@]}"; do
    grep -qxF -- "$d" "$STATE/host-dirs" && continue
    [[ -e "$d" ]] || continue
    case $d in
      # Only the nodes write there: what is left is theirs (log links, the device-plugin socket).
      /var/log/containers | /var/log/pods | /var/lib/kubelet | /tmp/hostpath_pv) rm -rf "$d" ;;
      *) "$ROOT/hack/host-check.sh" tidy "$d"; [[ -e "$d" ]] && log "left $d: not empty" ;;
    esac
  done
}

# cmd_host_state prints what `down` must leave as `up` found it. Counters, addresses of other
# programs' sockets and other values that change by themselves are left out.
cmd_host_state() (
  # A listing may well be empty (no iptables rules on the host): that is not a failure here.
  set +e +o pipefail
  echo "## links"; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
  echo "## addresses"; ip -o addr show | awk '{print $2, $3, $4}' | sort
  echo "## routes"; ip route show table all | sort
  echo "## rules"; ip rule show
  echo "## netns"; ip netns list 2>/dev/null | awk '{print $1}' | sort
  echo "## mounts"; awk '{print $2, $3}' /proc/self/mounts | sort
  echo "## cgroups"; find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sort
  echo "## iptables"
  if command -v iptables-save >/dev/null; then
    iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
    ip6tables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
  fi
  echo "## nft"
  if command -v nft >/dev/null; then nft list ruleset 2>/dev/null | grep -v 'counter packets'; fi
  echo "## sysctls"
  sysctl -a 2>/dev/null | grep -Ev '^(fs\.(dentry-state|file-nr|inode-nr|inode-state|quota\.)|kernel\.(random\.|ns_last_pid|pty\.nr|sched_domain|perf_event_max)|net\.netfilter\.nf_conntrack_count|vm\.(stat|nr_)|fs\.aio-nr|net\.ipv4\.tcp_fastopen_key|kernel\.tainted|dev\.cdrom)' | sort
  echo "## dirs"
  local d
  for d in "${HOST_DIRS[@]}" /etc/cni /opt/cni /var/lib/containerd /opt/containerd /etc/kubernetes; do
    [[ -e "$d" ]] && { echo "$d"; find "$d" -mindepth 1 -maxdepth 2 2>/dev/null | sort; }
  done
  echo "## processes"
  local p
  for p in /proc/[0-9]*; do
    grep -qaF -- "$REAL_DIR/" "$p/cmdline" 2>/dev/null && tr '\0' ' ' 2>/dev/null <"$p/cmdline" && echo
  done
  echo "## end"
)

# --- network -----------------------------------------------------------------------------------

ns() { echo "$NET_PREFIX-$1"; }

# check_addresses: the host must not already route our ranges (another network would be cut).
check_addresses() {
  local r
  for r in 10.247.0.0/16 10.248.0.0/16 10.249.0.0/16; do
    if ip route show table all | awk '{print $1}' | grep -v '^local$' | grep -q "^${r%%.0.0/16}\."; then
      die "the host already routes addresses in $r; kubeswarm's real-node cluster needs that range"
    fi
  done
}

# The fabric: a bridge in a namespace of its own (bridge netfilter off there, so the host's
# iptables never see node traffic), one veth per member, and the host's leg for tests.
fabric_up() {
  local f m n o; f=$(ns fabric)
  ip netns add "$f"
  ip -n "$f" link set lo up
  ip netns exec "$f" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null || true
  ip -n "$f" link add br0 type bridge
  ip -n "$f" link set br0 up
  ip link add "$HOST_LINK" type veth peer name host netns "$f"
  ip -n "$f" link set host master br0 up
  ip addr add "$HOST_IP/24" dev "$HOST_LINK"
  ip link set "$HOST_LINK" up
  for m in ctl "${NODES[@]}"; do
    ip netns add "$(ns "$m")"
    ip -n "$(ns "$m")" link set lo up
    ip link add eth0 netns "$(ns "$m")" type veth peer name "$m" netns "$f"
    ip -n "$f" link set "$m" master br0 up
    ip -n "$(ns "$m")" addr add "${IP[$m]}/24" dev eth0
    ip -n "$(ns "$m")" link set eth0 up
    ip -n "$(ns "$m")" route add default via "$HOST_IP"
  done
  # Each node's pod /24 is reached through that node, from the host, the control plane and the
  # other nodes (static routes: no overlay).
  for n in "${NODES[@]}"; do
    ip route add "${POD[$n]}" via "${IP[$n]}" dev "$HOST_LINK"
    ip -n "$(ns ctl)" route add "${POD[$n]}" via "${IP[$n]}"
    for o in "${NODES[@]}"; do
      [[ $o == "$n" ]] || ip -n "$(ns "$o")" route add "${POD[$n]}" via "${IP[$n]}"
    done
  done
}

fabric_down() {
  local n m
  for n in "${NODES[@]}"; do ip route del "${POD[$n]}" 2>/dev/null || true; done
  ip link del "$HOST_LINK" 2>/dev/null || true
  for m in "${NODES[@]}" ctl fabric; do ip netns del "$(ns "$m")" 2>/dev/null || true; done
}

# --- control plane -----------------------------------------------------------------------------

pki() {
  [[ -f "$PKI/admin.crt" ]] && return
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl genrsa -out ca.key 2048 2>/dev/null
    openssl req -x509 -new -key ca.key -subj /CN=kubeswarm-real-ca -days 365 -out ca.crt
    printf 'subjectAltName=IP:%s,IP:%s,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
      "${IP[ctl]}" "${SVC_CIDR%.0.0/16}.0.1" >apiserver.ext
    openssl genrsa -out apiserver.key 2048 2>/dev/null
    openssl req -new -key apiserver.key -subj /CN=kube-apiserver -out apiserver.csr
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl genrsa -out admin.key 2048 2>/dev/null
    openssl req -new -key admin.key -subj "/O=system:masters/CN=kubeswarm-admin" -out admin.csr
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile client.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  KUBECONFIG="$KC" "$BIN/kubectl" config set-cluster "$NAME" --server "https://${IP[ctl]}:6443" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  KUBECONFIG="$KC" "$BIN/kubectl" config set-credentials "$NAME-admin" --client-certificate "$PKI/admin.crt" \
    --client-key "$PKI/admin.key" --embed-certs >/dev/null
  KUBECONFIG="$KC" "$BIN/kubectl" config set-context "$NAME" --cluster "$NAME" --user "$NAME-admin" >/dev/null
  KUBECONFIG="$KC" "$BIN/kubectl" config use-context "$NAME" >/dev/null
  chmod 600 "$KC"
}

control_plane_up() {
  local c; c=$(ns ctl)
  mkdir -p "$STATE/etcd"
  start etcd "$c" "" -- "$BIN/etcd" --name kubeswarm --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster kubeswarm=http://127.0.0.1:2380 --log-level warn --unsafe-no-fsync
  wait_for 30 etcd nsenter --net="/run/netns/$c" curl -sf http://127.0.0.1:2379/health || return 1
  start kube-apiserver "$c" "" -- "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
    --bind-address 0.0.0.0 --advertise-address "${IP[ctl]}" --secure-port 6443 \
    --service-cluster-ip-range "$SVC_CIDR" --service-node-port-range 1-32767 \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
    --kubelet-preferred-address-types InternalIP --authorization-mode Node,RBAC --allow-privileged=true \
    --profiling=false --v=0
  wait_for 90 "the apiserver" kc get --raw /readyz || return 1
  start kube-controller-manager "$c" "" -- "$BIN/kube-controller-manager" --kubeconfig "$KC" \
    --bind-address 127.0.0.1 --leader-elect=false --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" --cluster-cidr "$CLUSTER_CIDR" --service-cluster-ip-range "$SVC_CIDR" \
    --allocate-node-cidrs=false --node-monitor-period 2s --node-monitor-grace-period 20s \
    --use-service-account-credentials=false --enable-hostpath-provisioner --profiling=false
  start kube-scheduler "$c" "" -- "$BIN/kube-scheduler" --kubeconfig "$KC" --bind-address 127.0.0.1 \
    --leader-elect=false --profiling=false
}

control_plane_healthy() {
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler registry; do running "$c" || return 1; done
  [[ "$(kc get --raw /readyz 2>/dev/null)" == ok ]]
}

# --- nodes -------------------------------------------------------------------------------------

node_dir() { echo "$STATE/nodes/$1"; }

node_config() {
  local n=$1 d; d=$(node_dir "$1")
  mkdir -p "$d/containerd" "$d/cni/net.d" "$d/cni/data" "$d/kubelet" "$d/pod-logs"
  cat >"$d/containerd/config.toml" <<EOF
version = 2
root = "$d/containerd/root"
state = "$d/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "kubeswarm.test/pause:1"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$d/runc"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://${IP[ctl]}:$REGISTRY_PORT"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."kubeswarm.test"]
    endpoint = ["http://${IP[ctl]}:$REGISTRY_PORT"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${IP[ctl]}:$REGISTRY_PORT"]
    endpoint = ["http://${IP[ctl]}:$REGISTRY_PORT"]
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$d/cni/net.d"
    max_conf_num = 1
EOF
  cat >"$d/cni/net.d/10-kubeswarm.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ksw-$n",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$d/cni/data",
              "ranges": [[{"subnet": "${POD[$n]}", "gateway": "${GW[$n]}"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  cat >"$d/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$(ns "$n")
cgroupsPerQOS: true
maxOpenFiles: 20000
address: ${IP[$n]}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
containerRuntimeEndpoint: unix://$d/containerd.sock
imageServiceEndpoint: unix://$d/containerd.sock
resolvConf: /etc/resolv.conf
podLogsDir: $d/pod-logs
failSwapOn: false
protectKernelDefaults: false
nodeStatusUpdateFrequency: 4s
nodeStatusReportFrequency: 20s
nodeLeaseDurationSeconds: 10
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
localStorageCapacityIsolation: true
shutdownGracePeriod: 0s
EOF
  cat >"$d/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $KC}
mode: iptables
hostnameOverride: $n
bindAddress: 0.0.0.0
clusterCIDR: $CLUSTER_CIDR
detectLocalMode: ClusterCIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_NET"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {syncPeriod: 30s, minSyncPeriod: 1s}
EOF
}

# node_object creates the Node before its kubelet registers, so that its pod CIDR, role label
# and taint are there from the start (a kubelet may not set node-role labels itself).
node_object() {
  local n=$1 role_label="" taints=""
  if [[ $n == manager1 ]]; then
    role_label='    node-role.kubernetes.io/control-plane: ""'
    taints='  taints:
  - key: node-role.kubernetes.io/control-plane
    effect: NoSchedule'
  fi
  kc get node "$n" >/dev/null 2>&1 && return
  kc create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels:
    kubernetes.io/hostname: $n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
$role_label
spec:
  podCIDR: ${POD[$n]}
  podCIDRs: [${POD[$n]}]
$taints
EOF
}

# cgroup_create: the kubelet's cgroupRoot, in every v1 hierarchy (and the unified one), so
# that three kubelets share the host's cgroup tree without stepping on each other.
cgroup_create() {
  local n=$1 c root
  for c in "${CGROUP_HIERARCHIES[@]}"; do
    root=/sys/fs/cgroup/$c
    [[ -d $root ]] || continue
    mkdir -p "$root/$(ns "$n")"
    if [[ $c == cpuset ]]; then
      cat "$root/cpuset.cpus" >"$root/$(ns "$n")/cpuset.cpus"
      cat "$root/cpuset.mems" >"$root/$(ns "$n")/cpuset.mems"
    fi
  done
}
cgroup_procs() { # every process in the node's cgroups (containers, shims)
  local c
  for c in pids memory cpu; do
    [[ -d /sys/fs/cgroup/$c/$(ns "$1") ]] || continue
    find "/sys/fs/cgroup/$c/$(ns "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}
cgroup_remove() {
  local n=$1 c
  for c in "${CGROUP_HIERARCHIES[@]}"; do
    [[ -d /sys/fs/cgroup/$c/$(ns "$n") ]] || continue
    find "/sys/fs/cgroup/$c/$(ns "$n")" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

containerd_up() {
  local n=$1 d; d=$(node_dir "$1")
  running "containerd-$n" && return
  start "containerd-$n" "$(ns "$n")" "$n" -- /usr/bin/containerd --config "$d/containerd/config.toml"
  wait_for 30 "containerd on $n" ctr --address "$d/containerd.sock" version
}

node_up() {
  local n=$1 d; d=$(node_dir "$1")
  node_config "$n"
  cgroup_create "$n"
  ip -n "$(ns fabric)" link set "$n" up
  containerd_up "$n" || return 1
  if [[ ! -f "$d/images.imported" || "$d/images.imported" -ot "$IMAGES" ]]; then
    ctr --address "$d/containerd.sock" -n k8s.io images import --no-unpack=false "$IMAGES" >"$LOGS/images-$n.log" 2>&1 ||
      { log "importing images on $n failed: $(tail -3 "$LOGS/images-$n.log")"; return 1; }
    touch "$d/images.imported"
  fi
  running "kubelet-$n" || start "kubelet-$n" "$(ns "$n")" "$n" -- "$BIN/kubelet" --config "$d/kubelet.yaml" \
    --kubeconfig "$KC" --root-dir "$d/kubelet" --cert-dir "$d/kubelet/pki" --hostname-override "$n" \
    --node-ip "${IP[$n]}" --v=1
  running "kube-proxy-$n" || start "kube-proxy-$n" "$(ns "$n")" "" -- "$BIN/kube-proxy" --config "$d/kube-proxy.yaml" --v=1
}

crictl_n() {
  local d; d=$(node_dir "$1"); shift
  "$TOOLS/crictl" --runtime-endpoint "unix://$d/containerd.sock" --image-endpoint "unix://$d/containerd.sock" --timeout 20s "$@"
}

shim_pids() { # containerd shims of node N (their command line names the node's socket)
  local d p; d=$(node_dir "$1")
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "-address $d/containerd.sock " && echo "${p#/proc/}"
  done
  true
}

# node_off: the machine loses power. Its network is unplugged first (nothing more leaves it),
# then every process of it dies at once.
node_off() {
  local n=$1 p
  ip -n "$(ns fabric)" link set "$n" down 2>/dev/null || true
  for p in kubelet kube-proxy containerd; do stop "$p-$n" KILL; done
  for p in $(shim_pids "$n") $(cgroup_procs "$n"); do kill -KILL "$p" 2>/dev/null || true; done
}

# node_down removes a node's pods through the CRI (CNI DEL, pod namespaces, shm and rootfs
# mounts), then its processes, mounts and cgroups.
node_down() {
  local n=$1 d p m; d=$(node_dir "$1")
  stop "kube-proxy-$n" KILL
  stop "kubelet-$n" KILL
  if [[ -e "/run/netns/$(ns "$n")" && -f "$d/containerd/config.toml" ]]; then
    containerd_up "$n" || true
    crictl_n "$n" rmp -af >/dev/null 2>&1 || log "crictl rmp on $n failed"
  fi
  # Pod namespaces this containerd ever made and did not remove (names recorded in its bolt db).
  if [[ -f "$d/containerd/root/io.containerd.metadata.v1.bolt/meta.db" ]]; then
    for m in $(grep -aoE 'cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' "$d/containerd/root/io.containerd.metadata.v1.bolt/meta.db" | sort -u); do
      [[ -e "/run/netns/$m" ]] && ip netns del "$m"
    done
  fi
  stop "containerd-$n"
  for p in $(shim_pids "$n") $(cgroup_procs "$n"); do kill -KILL "$p" 2>/dev/null || true; done
  # Overlay root filesystems, the kubelet's tmpfs volumes, shm: everything mounted below the node.
  for _ in 1 2 3; do
    grep -oF " $d/" /proc/self/mounts >/dev/null || break
    awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  done
  for _ in $(seq 20); do [[ -z "$(cgroup_procs "$n")" ]] && break; sleep 0.2; done
  cgroup_remove "$n"
}

nodes_ready() {
  local n s
  for n in "$@"; do
    s=$(kc get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) || return 1
    [[ $s == True ]] || return 1
  done
}
node_not_ready() { local s; s=$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null); [[ -n "$s" && "$s" != True ]]; }

# --- cluster add-ons ---------------------------------------------------------------------------

addons() {
  kc apply -f "$ROOT/hack/real/storageclass.yaml" >/dev/null
  sed "s/@DNS_IP@/$DNS_IP/; s#@IMAGE@#kubeswarm.test/coredns:${COREDNS_VERSION#v}#" "$ROOT/hack/real/coredns.yaml" | kc apply -f - >/dev/null
  wait_for 60 "the default ServiceAccount" kc -n default get serviceaccount default
  wait_for 120 "CoreDNS" kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=2s
}

# user_context adds the cluster to the user's kubeconfig as context NAME and makes it current;
# drop_user_context removes it again.
user_context() {
  [[ -e "$USER_KUBECONFIG" ]] || touch "$STATE/user-kubeconfig-made"
  mkdir -p "$(dirname "$USER_KUBECONFIG")"
  KUBECONFIG="$USER_KUBECONFIG:$KC" "$BIN/kubectl" config view --flatten >"$STATE/merged.kubeconfig"
  mv "$STATE/merged.kubeconfig" "$USER_KUBECONFIG"
  chmod 600 "$USER_KUBECONFIG"
  KUBECONFIG="$USER_KUBECONFIG" "$BIN/kubectl" config use-context "$NAME" >/dev/null
}
drop_user_context() {
  [[ -f "$USER_KUBECONFIG" ]] || return 0
  local k=(env KUBECONFIG="$USER_KUBECONFIG" "$BIN/kubectl" config)
  "${k[@]}" get-contexts "$NAME" >/dev/null 2>&1 || return 0
  "${k[@]}" delete-context "$NAME" >/dev/null 2>&1 || true
  "${k[@]}" delete-cluster "$NAME" >/dev/null 2>&1 || true
  "${k[@]}" delete-user "$NAME-admin" >/dev/null 2>&1 || true
  [[ "$("${k[@]}" current-context 2>/dev/null)" == "$NAME" ]] && "${k[@]}" unset current-context >/dev/null 2>&1
  # A kubeconfig file `up` made, with nothing else in it now, goes too.
  if [[ -f "$STATE/user-kubeconfig-made" && -z "$("${k[@]}" get-contexts -o name 2>/dev/null)" ]]; then
    rm -f "$USER_KUBECONFIG"
  fi
  true
}

# --- commands ----------------------------------------------------------------------------------

other_real_cluster() { # the name of another real cluster that is up, if any
  local d
  for d in "$REAL_DIR"/*/; do
    [[ -d "$d" && "${d%/}" != "$STATE" && -f "$d/up" ]] && basename "$d"
  done
  true
}

cluster_up_healthy() {
  [[ -f "$STATE/ready" ]] && control_plane_healthy || return 1
  local n
  for n in "${NODES[@]}"; do running "kubelet-$n" && running "containerd-$n" && running "kube-proxy-$n" || return 1; done
}

cmd_up() {
  local t0 t1 n other pids=() p failed=; t0=$(now)
  other=$(other_real_cluster)
  [[ -z "$other" ]] || die "the real-node cluster $other is up (only one at a time): KUBESWARM_CLUSTER=$other hack/real-cluster.sh down"
  [[ $(id -u) == 0 ]] || die "the real-node cluster needs root (network namespaces, cgroups, mounts)"
  install_packages
  build_tools
  if cluster_up_healthy; then
    log "cluster $NAME is up (real nodes ${NODES[*]})"
    return
  fi
  [[ -d "$STATE" ]] && { log "cluster $NAME is not healthy: making it anew"; cmd_down; }
  check_addresses
  build_images
  mkdir -p "$STATE"
  save_host_dirs
  save_sysctls
  touch "$STATE/up"
  pki
  fabric_up
  control_plane_up || die "the control plane did not start (logs in $LOGS)"
  registry_up || die "the registry did not start (logs in $LOGS)"
  t1=$(now)
  for n in "${NODES[@]}"; do node_object "$n"; done
  for n in "${NODES[@]}"; do node_up "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [[ -z "$failed" ]] || die "a node did not start (logs in $LOGS)"
  wait_for 120 "nodes ${NODES[*]} to be Ready" nodes_ready "${NODES[@]}" || die "the nodes did not become Ready (logs in $LOGS)"
  restore_sysctls
  log "nodes ${NODES[*]} Ready in $(since "$t1")"
  addons || die "the cluster add-ons did not start (logs in $LOGS)"
  user_context
  touch "$STATE/ready"
  log "cluster $NAME up in $(since "$t0") (context $NAME, kubeconfig $KC)"
}

cmd_down() {
  local t0 n; t0=$(now)
  if [[ ! -d "$STATE" ]]; then log "no real-node cluster $NAME"; return; fi
  need_bin
  local pids=() p
  for n in "${NODES[@]}"; do node_down "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
  for n in registry kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$n" KILL; done
  fabric_down
  restore_sysctls
  restore_host_dirs
  drop_user_context
  rm -rf "$STATE"
  log "down in $(since "$t0")"
}

cmd_kubeconfig() {
  [[ -f "$KC" ]] || die "real-node cluster $NAME does not exist: run make cluster-up REAL=1"
  echo "$KC"
}

cmd_status() {
  need_bin
  [[ -d "$STATE" ]] || { log "real-node cluster $NAME does not exist"; return 1; }
  echo "nodes:"; kc get nodes -o wide | sed 's/^/  /' || true
  echo "processes:"
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler registry \
    $(for n in "${NODES[@]}"; do echo "containerd-$n kubelet-$n kube-proxy-$n"; done); do
    if running "$c"; then printf '  %-26s running (pid %s)\n' "$c" "$(cat "$PIDS/$c.pid")"; else printf '  %-26s stopped\n' "$c"; fi
  done
}

require_node() {
  local n=${1:-}
  [[ -n "$n" ]] || die "missing node name"
  [[ -n "${IP[$n]:-}" && "$n" != ctl ]] || die "no node $n (real nodes: ${NODES[*]})"
  [[ -d "$STATE" ]] || die "real-node cluster $NAME does not exist: run make cluster-up REAL=1"
  need_bin
}

cmd_stop_node() {
  local n=${1:-} wait=${2:-} t0
  require_node "$n"
  node_off "$n"
  log "node $n is off (network unplugged, processes killed)"
  if [[ $wait == --wait ]]; then
    t0=$(now)
    wait_for 120 "node $n to be NotReady" node_not_ready "$n" || exit 1
    log "node $n NotReady after $(since "$t0")"
  fi
}

cmd_start_node() {
  local n=${1:-} wait=${2:-} t0
  require_node "$n"
  save_sysctls
  t0=$(now)
  node_up "$n" || die "node $n did not start (logs in $LOGS)"
  if [[ $wait == --wait ]]; then
    wait_for 120 "node $n to be Ready" nodes_ready "$n" || exit 1
    log "node $n Ready after $(since "$t0")"
  fi
  # The kubelet rewrites them as it starts; give it the time to, then put them back.
  sleep 2
  restore_sysctls
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
    host-state) cmd_host_state ;;
    registry) echo "${IP[ctl]}:$REGISTRY_PORT" ;;
    tools) build_tools; echo "$TOOLS" ;;
    deps) cmd_deps ;;
    add-node|remove-node) die "$cmd is not available on the real-node cluster (three nodes: ${NODES[*]})" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
