#!/usr/bin/env bash
# Prints the files of the Gateway API's standard-channel CRDs, one a line, as the module go.mod
# names (sigs.k8s.io/gateway-api) ships them in config/crd/standard. `make install` and
# hack/kind-e2e.sh install them on a cluster that has none, so that the operator makes HTTPRoutes
# there (docs/swarm-on-kubernetes.md, "HTTP routes from Traefik and Caddy labels").
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download sigs.k8s.io/gateway-api
dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)/config/crd/standard
for f in "$dir"/gateway.networking.k8s.io_*.yaml; do
  # The directory also holds a ValidatingAdmissionPolicy guarding upgrades: not a CRD.
  [[ $f == *_vap_* ]] || echo "$f"
done
