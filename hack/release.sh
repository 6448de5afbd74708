#!/usr/bin/env bash
# The release build's shell side: what hack/release (Go) needs from the system.
#
#   hack/release.sh build FLAGS…   `make release`: fetches Debian's ca-certificates package (once
#                                  per version, into the cache) and runs hack/release with FLAGS.
#   hack/release.sh test           `make test-release`: builds the release for linux on this
#                                  machine's architecture twice with no registry and fails unless
#                                  both are byte-identical; runs hack/release's Go tests; installs
#                                  the plugin archive with krew and runs it.
#
# Environment: KUSTOMIZE (the kustomize binary), KREW and HELM (the krew and helm binaries, for test),
# KUBESWARM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm), CA_CERTIFICATES_VERSION
# (the ca-certificates version to use; default apt's candidate, else the newest cached one).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE=${KUBESWARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm}/release
KUSTOMIZE=${KUSTOMIZE:-kustomize}

log() { printf '[release] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# candidate prints apt's candidate version of ca-certificates, nothing when apt knows none.
candidate() {
  apt-cache policy ca-certificates 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }' || true
}

# cached VERSION succeeds when that package is in the cache.
cached() { [[ -d $CACHE/ca-certificates_$1/root/usr/share/ca-certificates/mozilla ]]; }

# fetch VERSION downloads the package with apt-get download and extracts it into the cache.
fetch() {
  local tmp
  log "fetching ca-certificates $1 (apt-get download)"
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.ca-certificates.XXXXXX")
  if ! (cd "$tmp" && apt-get download "ca-certificates=$1" >&2) ||
    ! dpkg-deb -x "$tmp"/ca-certificates_*.deb "$tmp/root"; then
    rm -rf "$tmp"
    return 1
  fi
  # Moved into place whole: an interrupted fetch leaves nothing that looks complete.
  rm -rf "$CACHE/ca-certificates_$1"
  mv "$tmp" "$CACHE/ca-certificates_$1"
}

# ca_certificates sets CA_DIR to Debian's ca-certificates package extracted (dpkg-deb -x) and
# CA_VERSION to its version: apt's candidate (CA_CERTIFICATES_VERSION when set), fetched once per
# version and kept in the cache, so a later build needs no network. Without a network or apt, the
# newest package in the cache.
ca_certificates() {
  local version=${CA_CERTIFICATES_VERSION:-}
  if [[ -n $version ]]; then
    cached "$version" || fetch "$version" || die "apt-get download ca-certificates=$version failed (see above)"
  else
    version=$(candidate)
    if [[ -z $version ]] || ! { cached "$version" || fetch "$version"; }; then
      # apt's lists are missing, or behind the mirror (which keeps only the newest package): as
      # root, refresh them once.
      if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "refreshing apt's package lists (apt-get update)"
        apt-get update -qq >&2 || true
        version=$(candidate)
      fi
      if [[ -z $version ]] || ! { cached "$version" || fetch "$version"; }; then
        version=$(find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'ca-certificates_*' -printf '%f\n' 2>/dev/null |
          sed 's/^ca-certificates_//' | sort -V | tail -n 1)
        if [[ -z $version ]] || ! cached "$version"; then
          die "no ca-certificates package: run apt-get update (Debian), or set CA_CERTIFICATES_VERSION"
        fi
        log "using the newest ca-certificates in the cache, $version"
      fi
    fi
  fi
  CA_VERSION=$version
  CA_DIR=$CACHE/ca-certificates_$version/root
}

# release runs hack/release with the package found by ca_certificates.
release() {
  go run ./hack/release -kustomize "$KUSTOMIZE" -ca-certificates "$CA_DIR" -ca-version "$CA_VERSION" "$@"
}

cmd_build() {
  ca_certificates
  release "$@"
}

cmd_test() {
  : "${KREW:?KREW: the krew binary (make test-release builds it)}" "${HELM:?HELM: the helm binary (make test-release builds it)}"
  ca_certificates
  local tmp version=v0.0.0-test arch
  arch=$(go env GOARCH)
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand $tmp now: it is local
  trap "rm -rf '$tmp'" EXIT
  for run in first second; do
    log "building the release for linux/$arch ($run build)"
    release -version "$version" -out "$tmp/$run" -platforms "linux/$arch" -plugin-platforms "linux/$arch"
  done

  log "checking that both builds are byte-identical"
  diff -r "$tmp/first" "$tmp/second" || die "two builds of the same commit differ"
  local digest
  digest=$(grep -o 'sha256:[0-9a-f]\{64\}' "$tmp/first/image/index.json" | head -n 1)
  grep -q "image: kubeswarm/manager:$version@$digest" "$tmp/first/install.yaml" ||
    die "install.yaml does not name the image index $digest"
  log "same image index in both builds: $digest"
  sed 's/^/[release]   /' "$tmp/first/checksums.txt" >&2

  log "helm lint --strict of the packaged chart"
  "$HELM" lint --strict "$tmp/first/kubeswarm-${version#v}.tgz" >&2 || die "the packaged chart does not lint"

  log "go test ./hack/release/..."
  go test ./hack/release/...

  log "installing the plugin with krew"
  local archive=$tmp/first/kubectl-swarm_${version}_linux_${arch}.tar.gz
  KREW_ROOT=$tmp/krew "$KREW" install --manifest="$tmp/first/swarm.yaml" --archive="$archive" </dev/null
  local got
  got=$("$tmp/krew/bin/kubectl-swarm" version --client)
  grep -qx " Version: *$version" <<<"$got" || die "the krew-installed kubectl-swarm says '$got', want version $version"
  [[ -x $tmp/krew/store/swarm/$version/kubectl-swarm-convert ]] || die "krew did not install kubectl-swarm-convert"
  log "krew installed kubectl-swarm $version"
}

main() {
  case ${1:-} in
    build) shift; cmd_build "$@" ;;
    test) shift; cmd_test "$@" ;;
    *) die "usage: $0 build FLAGS… | test" ;;
  esac
}

# On one line: bash reads no further, so editing this file during a run cannot change the run.
main "$@"; exit
