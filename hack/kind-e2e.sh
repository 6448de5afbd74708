#!/usr/bin/env bash
# For machines with Docker: runs the e2e tests against a kind cluster with the operator deployed
# in-cluster from its image (config/default), instead of the kwok bench.
#   hack/kind-e2e.sh IMAGE
# Needs docker and kind on PATH (go install sigs.k8s.io/kind@latest).
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=${1:?usage: $0 IMAGE}
NAME=${KIND_CLUSTER:-kubeswarm-e2e}
command -v kind >/dev/null || { echo "kind is required: go install sigs.k8s.io/kind@latest" >&2; exit 1; }
KUBECTL=$(hack/k8s-binaries.sh)/kubectl
KUSTOMIZE=$(ls bin/kustomize-* | head -1)

if ! kind get clusters | grep -qx "$NAME"; then
  # One control-plane node (the manager) and two workers, like the seed; node ports 1-32767 so
  # that published ports such as 8000 are node ports.
  kind create cluster --name "$NAME" --wait 120s --config - <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer:
      extraArgs:
        service-node-port-range: "1-32767"
- role: worker
- role: worker
KIND
fi
export KUBECONFIG
KUBECONFIG=$(mktemp)
kind get kubeconfig --name "$NAME" > "$KUBECONFIG"
kind load docker-image "$IMG" --name "$NAME"
(cd config/manager && "../../$KUSTOMIZE" edit set image "controller=$IMG")
"$KUSTOMIZE" build config/default | "$KUBECTL" apply --server-side --force-conflicts -f -
"$KUBECTL" -n kubeswarm-system patch deployment kubeswarm-controller-manager --type=json \
  -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--node-port-range=1-32767"}]'
"$KUBECTL" -n kubeswarm-system rollout status deployment/kubeswarm-controller-manager --timeout=180s
E2E_OPERATOR=external go test -tags e2e ./test/e2e/... -count=1 -timeout 30m -v
