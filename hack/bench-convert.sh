#!/usr/bin/env bash
# `kubectl swarm convert` against kompose on the same compose files (test/compose/*, one process
# a file, each in its file's directory), measured side by side in one run: the tools alternate
# over BENCH_ROUNDS (5) rounds. Prints each tool's median wall time for the whole corpus, its
# largest peak RSS (GNU time's %M) and its binary's size. Figures only. The tools:
# kubectl-swarm-convert (what kubectl runs for `kubectl swarm convert`), `kubectl-swarm convert`
# (the same command in the whole plugin) and kompose.
#
# kompose: $KOMPOSE, else `go install github.com/kubernetes/kompose@$KOMPOSE_VERSION` (v1.38.0)
# into the cache (~/.cache/kubeswarm/kompose-VERSION), else built offline from the local module
# cache when the proxy refuses the install; without it only kubectl-swarm is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SWARM=${KUBECTL_SWARM_BIN:-$ROOT/bin/kubectl-swarm}
CONVERT=${KUBECTL_SWARM_CONVERT_BIN:-$ROOT/bin/kubectl-swarm-convert}
ROUNDS=${BENCH_ROUNDS:-5}
KOMPOSE_VERSION=${KOMPOSE_VERSION:-v1.38.0}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kubeswarm/kompose-$KOMPOSE_VERSION
# build_kompose_from_module_cache: `go install` asks the module proxy for kompose's version list
# (its deprecation notice), which a proxy may refuse while the module itself is in the local
# module cache; then kompose is built from that copy, offline.
build_kompose_from_module_cache() {
  local dir src
  dir=$(go env GOMODCACHE)/github.com/kubernetes/kompose@$KOMPOSE_VERSION
  [[ -f $dir/go.mod ]] || return 1
  src=$(mktemp -d)
  cp -r "$dir/." "$src" && chmod -R u+w "$src" \
    && (cd "$src" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$CACHE/kompose" .) >&2
  local rc=$?
  rm -rf "$src"
  return $rc
}
if [[ -z "${KOMPOSE:-}" ]]; then
  KOMPOSE=$CACHE/kompose
  if [[ ! -x $KOMPOSE ]] && ! GOBIN=$CACHE go install "github.com/kubernetes/kompose@$KOMPOSE_VERSION" >&2 \
    && ! build_kompose_from_module_cache; then
    echo "kompose $KOMPOSE_VERSION could not be installed (set KOMPOSE=path/to/kompose): measuring kubectl-swarm alone" >&2
    KOMPOSE=
  fi
fi
# The corpus's files that need a variable from the environment get one.
export DB_PASSWORD_FROM_ENV=bench API_TOKEN=bench
mapfile -t FILES < <(ls test/compose/*/docker-compose.yml)
TIMES=$(mktemp -d); trap 'rm -rf "$TIMES"' EXIT

# run TOOL ROUND: every file once through TOOL; appends "wall_seconds peak_kib" per file. The
# wall time is read from bash's microsecond clock around the run (GNU time's %e counts in
# hundredths, too coarse for runs of 20 ms); GNU time reads the peak RSS. Both add the same
# small cost to every tool.
run() {
  local tool=$1 f dir t0 rss
  local -a cmd
  case $tool in
    convert) cmd=("$CONVERT" -c docker-compose.yml) ;;
    swarm) cmd=("$SWARM" convert -c docker-compose.yml) ;;
    kompose) cmd=("$KOMPOSE" convert -f docker-compose.yml --stdout) ;;
  esac
  for f in "${FILES[@]}"; do
    dir=$(dirname "$f")
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$TIMES/rss" env -C "$dir" "${cmd[@]}" >/dev/null 2>&1 || true
    rss=$(grep -v '^Command' "$TIMES/rss")
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$rss" 'BEGIN { printf "%.6f %s\n", b - a, m }' >>"$TIMES/$tool.$2"
  done
}
for ((r = 1; r <= ROUNDS; r++)); do
  run convert "$r"
  run swarm "$r"
  [[ -z "$KOMPOSE" ]] || run kompose "$r"
done

report() { # report NAME BINARY KEY
  local per_round peak
  per_round=$(for f in "$TIMES/$3".*; do awk '{ s += $1 } END { printf "%.3f\n", s }' "$f"; done | sort -n)
  peak=$(cat "$TIMES/$3".* | awk '$2 > m { m = $2 } END { printf "%.1f", m / 1024 }')
  printf '%-22s files=%d rounds=%d corpus_wall_median=%ss (min %ss, max %ss) peak_rss=%sMiB binary=%sMB\n' "$1" "${#FILES[@]}" "$ROUNDS" \
    "$(sed -n "$(( (ROUNDS + 1) / 2 ))p" <<<"$per_round")" "$(head -1 <<<"$per_round")" "$(tail -1 <<<"$per_round")" \
    "$peak" "$(awk -v b="$(stat -c %s "$2")" 'BEGIN { printf "%.1f", b / 1e6 }')"
}
report kubectl-swarm-convert "$CONVERT" convert
report "kubectl-swarm convert" "$SWARM" swarm
[[ -z "$KOMPOSE" ]] || report kompose "$KOMPOSE" kompose
