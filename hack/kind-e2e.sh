#!/usr/bin/env bash
# For machines with a Docker engine (Debian's docker.io 20.10 is enough): the e2e tests on a kind
# cluster (manager1 as control plane, worker1, worker2) with the operator deployed in-cluster
# from its image (config/default), instead of the kwok bench.
#
# No kind binary and no registry: the cluster is created through kind's Go package
# (hack/kind/main.go); the node image is built offline (hack/kind/node-image.sh) from Debian's
# packages and the binaries the project builds (hack/k8s-binaries.sh, plus kubeadm); every image
# in the nodes (control plane, kube-proxy, CoreDNS, pause, test images, the operator) is written
# by go-containerregistry and imported into the nodes' containerd.
#
# The Docker engine is a private one (hack/kind/dockerd.sh): network namespace ksk-docker, state
# under $KIND_DIR, so the host's firewall, bridges and sysctls are not touched; the tests run in
# that namespace too (the API server is published on its 127.0.0.1). Needs root.
#
#   hack/kind-e2e.sh [all|up|test|down]    all (default): up, test, then down whatever happened
#
# Environment: KIND_CLUSTER (default kubeswarm-e2e), KIND_DIR (engine state, default
# /tmp/ksk-kind), KUBESWARM_CACHE (default ~/.cache/kubeswarm: root file system, kubeadm,
# images), IMG (operator image name, default kubeswarm/manager:dev), E2E_TAGS (build tags, default
# e2e; e2e,realnodes adds the real-node checks), E2E_RUN (go test -run), E2E_SKIP (go test -skip).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAME=${KIND_CLUSTER:-kubeswarm-e2e}
export KIND_DIR=${KIND_DIR:-/tmp/ksk-kind}
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_TAG=${ETCD_TAG:-3.6.16-0}
IMG=${IMG:-kubeswarm/manager:dev}
K=$CACHE/kind
# Images the e2e tests name (the kwok tier runs no containers), answered by the web test image as
# the real-node tier does for nginx, wordpress and mysql. (nginx:fail stays missing on purpose.)
STANDINS=(docker.io/library/busybox:latest docker.io/library/redis:latest docker.io/library/redis:3.0.6
  docker.io/library/redis:3.0.7 docker.io/library/nginx:1.26 docker.io/library/nginx:1.27
  docker.io/library/wordpress:6 $(for i in 0 1 2 3 4 5; do echo docker.io/library/nginx:v$i; done))
NODE_IMAGE=kubeswarm.test/kind-node:$K8S_VERSION
KUBECONFIG_FILE=$KIND_DIR/kubeconfig
export DOCKER_HOST=unix://$KIND_DIR/docker/docker.sock

log() { printf '[kind-e2e] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
in_ns() { ip netns exec ksk-docker "$@"; }
kc() { in_ns "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

need() {
  [[ $EUID -eq 0 ]] || die "run as root (a Docker engine of its own, a network namespace)"
  local p=()
  command -v dockerd >/dev/null || p+=(docker.io)
  command -v debootstrap >/dev/null || p+=(debootstrap)
  command -v jq >/dev/null || p+=(jq)
  command -v capsh >/dev/null || p+=(libcap2-bin)
  if [[ ${#p[@]} -gt 0 ]]; then
    log "installing ${p[*]} (Debian's packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${p[@]}" >&2
  fi
  command -v docker >/dev/null || die "no docker CLI"
  BIN=$(hack/k8s-binaries.sh)
}

# tools: crictl and CoreDNS as the real-node cluster builds them, and kubeadm, which
# hack/k8s-binaries.sh does not build, from the same k8s.io/kubernetes module.
build_tools() {
  TOOLS=$(hack/real-cluster.sh tools)
  KUBEADM="$CACHE/bin/kind-kubeadm-$K8S_VERSION/kubeadm"
  if [[ ! -x $KUBEADM ]]; then
    local src="$CACHE/src/kubernetes-$K8S_VERSION" dir="$K/kubeadm-src" t0
    [[ -f $src/go.mod ]] || die "$src/go.mod missing (hack/k8s-binaries.sh makes it)"
    t0=$(now); log "building kubeadm $K8S_VERSION"
    rm -rf "$dir" && mkdir -p "$dir" "$(dirname "$KUBEADM")" && cp "$src/go.mod" "$src/go.sum" "$dir/"
    printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubeadm"\n' >"$dir/tools.go"
    local v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$KUBEADM" \
      -ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
      k8s.io/kubernetes/cmd/kubeadm)
    log "kubeadm built in $(since "$t0")"
  fi
  mkdir -p "$K"
  go build -o "$K/kindtool" ./hack/kind
}

# images: the test images (test/images/build), then the archive the node image preloads.
build_images() {
  go run ./test/images/build -o "$CACHE/images" --coredns "$TOOLS/coredns" >/dev/null
  local rootfs="$K/rootfs-bookworm"
  if [[ ! -x $rootfs/usr/bin/containerd ]]; then
    local t0; t0=$(now); log "debootstrap bookworm into $rootfs (Debian's packages)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
      --include=systemd,systemd-sysv,dbus,containerd,runc,iptables,nftables,conntrack,socat,ethtool,iproute2,containernetworking-plugins,ca-certificates,procps,kmod,mount,util-linux,libseccomp2,pigz,jq,curl \
      bookworm "$rootfs" http://deb.debian.org/debian >"$K/debootstrap.log" 2>&1 ||
      { tail -20 "$K/debootstrap.log" >&2; die "debootstrap failed"; }
    log "root file system in $(since "$t0")"
    rm -f "$K/base.tar"
  fi
  # kube-proxy's base: the same Debian, without what only a node needs
  [[ -f $K/base.tar ]] || tar -C "$rootfs" --exclude=./usr/share/doc --exclude=./usr/share/man \
    --exclude=./usr/share/locale --exclude=./usr/share/info --exclude='./usr/bin/containerd*' \
    --exclude=./usr/bin/ctr --exclude=./usr/sbin/runc --exclude=./var/cache/apt \
    --exclude=./var/lib/apt/lists -cf "$K/base.tar" .
  "$K/kindtool" images -o "$K/images.tar" --k8s-bin "$BIN" --version "$K8S_VERSION" \
    --etcd-tag "$ETCD_TAG" --base-tar "$K/base.tar" --test-images "$CACHE/images/images.tar" \
    $(for s in "${STANDINS[@]}"; do printf ' --standin %s' "$s"; done) >/dev/null
}

cmd_up() {
  local t0; t0=$(now)
  need
  build_tools
  build_images
  [[ -d /lib/modules ]] || touch "$KIND_DIR.lib-modules-made" # kind mounts it; docker makes it
  hack/kind/dockerd.sh start
  if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    local t1; t1=$(now)
    hack/kind/node-image.sh "$K/rootfs-bookworm" "$(go list -m -f '{{.Dir}}' sigs.k8s.io/kind)" "$BIN" \
      "$KUBEADM" "$TOOLS/crictl" "$K/images.tar" "$NODE_IMAGE" >"$KIND_DIR/node-image.log" 2>&1 ||
      { tail -20 "$KIND_DIR/node-image.log" >&2; die "node image failed"; }
    log "node image $NODE_IMAGE in $(since "$t1")"
  fi
  if ! docker ps --format '{{.Names}}' | grep -qx "$NAME-control-plane"; then
    "$K/kindtool" create --name "$NAME" --image "$NODE_IMAGE" --config hack/kind/cluster.yaml \
      --kubeconfig "$KUBECONFIG_FILE" --wait 3m
  fi
  # the operator's image: what the Dockerfile builds, without its registry images
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$K/manager" ./cmd/manager
  "$K/kindtool" manager -o "$K/manager.tar" --binary "$K/manager" --ref "$IMG" >/dev/null
  "$K/kindtool" load --name "$NAME" --archive "$K/manager.tar"
  local kustomize=${KUSTOMIZE:-$(ls bin/kustomize-* 2>/dev/null | head -1)}
  [[ -x $kustomize ]] || die "no kustomize (make kind-e2e builds it; or KUSTOMIZE=PATH)"
  # the Gateway API's CRDs before the operator, which decides at start what routes it makes
  if ! kc get crd httproutes.gateway.networking.k8s.io >/dev/null 2>&1; then
    local crds=() f
    while read -r f; do crds+=(-f "$f"); done < <(hack/gateway-api-crds.sh)
    kc apply --server-side "${crds[@]}" >/dev/null
  fi
  "$kustomize" build config/default | sed "s#image: controller:latest#image: $IMG#" |
    kc apply --server-side --force-conflicts -f - >/dev/null
  # images are kind-loaded: the operator reaches no registry to read their HEALTHCHECK from
  kc -n kubeswarm-system patch deployment kubeswarm-controller-manager --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--node-port-range=1-32767"},
         {"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--latest-pull-policy=IfNotPresent"},
         {"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--image-healthchecks=false"}]' >/dev/null
  kc -n kubeswarm-system rollout status deployment/kubeswarm-controller-manager --timeout=180s >&2
  # the tests run in the engine's namespace: reach each node's pods as the host reaches them on
  # the real-node tier (a route to each pod /24 through its node)
  kc get nodes -o jsonpath='{range .items[*]}{.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
    while read -r cidr ip; do [[ -n $cidr && -n $ip ]] && in_ns ip route replace "$cidr" via "$ip"; done
  kc get nodes -o wide >&2
  log "up in $(since "$t0") (kubeconfig $KUBECONFIG_FILE, in network namespace ksk-docker)"
}

cmd_test() {
  need
  go build -o "$K/kubectl-swarm" ./cmd/kubectl-swarm
  go test -c -tags "${E2E_TAGS:-e2e}" -o "$K/e2e.test" ./test/e2e
  (cd test/e2e && in_ns env KUBECONFIG="$KUBECONFIG_FILE" E2E_OPERATOR=external \
    KUBECTL_SWARM_BIN="$K/kubectl-swarm" PATH="$BIN:$PATH" \
    "$K/e2e.test" -test.v -test.count=1 -test.timeout 30m ${E2E_RUN:+-test.run "$E2E_RUN"} ${E2E_SKIP:+-test.skip "$E2E_SKIP"})
}

cmd_down() {
  if [[ -S $KIND_DIR/docker/docker.sock ]] && docker version >/dev/null 2>&1; then
    [[ -x $K/kindtool ]] && "$K/kindtool" delete --name "$NAME" || true
  fi
  hack/kind/dockerd.sh stop
  if [[ -f $KIND_DIR.lib-modules-made ]]; then
    rmdir /lib/modules 2>/dev/null || true
    rm -f "$KIND_DIR.lib-modules-made"
  fi
  rm -f "$KUBECONFIG_FILE"
}

case ${1:-all} in
  up) cmd_up ;;
  test) cmd_test ;;
  down) cmd_down ;;
  all)
    trap cmd_down EXIT
    cmd_up
    cmd_test ;;
  *) echo "usage: $0 [all|up|test|down]" >&2; exit 2 ;;
esac
