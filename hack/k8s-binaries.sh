#!/usr/bin/env bash
# Builds the local test bench's binaries from Go modules, once, into a versioned cache outside
# the repository:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
#   kubelet, kube-proxy (the real-node cluster)                       (k8s.io/kubernetes)
#   etcd                                                              (go.etcd.io/etcd/server/v3)
#   kwok, kwokctl                                                     (sigs.k8s.io/kwok)
# Later runs find them in the cache and return at once. Prints the bin directory on stdout
# (progress goes to stderr), so callers can do: BIN=$(hack/k8s-binaries.sh).
#
# Environment: KUBESWARM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm),
# K8S_VERSION, ETCD_VERSION, KWOK_VERSION.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}
BIN="$CACHE/bin/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"

log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

want=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy etcd kwok kwokctl)
missing=()
for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN"
export GOFLAGS=-mod=mod CGO_ENABLED=0

# scratch_module DIR: an empty module to require the binaries' modules from.
scratch_module() {
  rm -rf "$1" && mkdir -p "$1"
  (cd "$1" && go mod init kubeswarm.local/scratch >/dev/null 2>&1)
}

build_kubernetes() {
  local dir="$CACHE/src/kubernetes-$K8S_VERSION" staging=${K8S_VERSION/v1./v0.}
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy $K8S_VERSION (several minutes the first time)"
  scratch_module "$dir"
  cd "$dir"
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  # k8s.io/kubernetes points its staging modules at ./staging with replace directives, which do
  # not apply to a dependency; replace each with its published release instead.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>/dev/null | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -n "$gomod" ]] || { log "cannot download k8s.io/kubernetes@$K8S_VERSION go.mod"; exit 1; }
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | sort -u)
  for m in $mods; do go mod edit -replace="$m=$m@$staging"; done
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
GO
  go mod tidy -e >/dev/null 2>&1 || true
  local v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  go build -trimpath -ldflags "$ldflags" -o "$BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
}

build_etcd() {
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  scratch_module "$dir"
  cd "$dir"
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
  log "installing kwok and kwokctl $KWOK_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

start=$SECONDS
for b in "${missing[@]}"; do
  case $b in
    kube-*|kubectl|kubelet) [[ ${done_k8s:-} ]] || { build_kubernetes; done_k8s=1; } ;;
    etcd) build_etcd ;;
    kwok|kwokctl) [[ ${done_kwok:-} ]] || { build_kwok; done_kwok=1; } ;;
  esac
done
for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || { log "missing $b after build"; exit 1; }; done
log "done in $((SECONDS - start))s: $BIN"
echo "$BIN"
