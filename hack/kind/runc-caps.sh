#!/bin/sh
# runc for the kind tier's private dockerd (--default-runtime): drops from a container's
# capabilities those this machine's bounding set does not have (here CAP_SYS_RESOURCE), then runs
# runc. Docker 20.10 gives a --privileged container every capability the kernel knows, and runc
# fails with "unable to apply caps: operation not permitted" when one is outside the bounding set;
# kind always runs its nodes --privileged.
drop=$(cat "$(dirname "$0")/drop-caps" 2>/dev/null)  # JSON list, written by hack/kind/dockerd.sh
strip() { # strip FILE JQ-PATH-TO-CAPABILITIES
  [ -n "$drop" ] && [ -f "$1" ] || return 0
  jq --argjson d "$drop" "$2 |= (if . == null then . else with_entries(.value |= (. // [] | map(select(. as \$c | \$d | index(\$c) | not)))) end)" "$1" >"$1.ksk" && mv "$1.ksk" "$1"
}
prev=
for a in "$@"; do
  case $prev in
    --bundle|-b) strip "$a/config.json" .process.capabilities ;;
    --process|-p) strip "$a" .capabilities ;;
  esac
  prev=$a
done
exec runc "$@"
