# kubeswarm: Docker Swarm semantics on Kubernetes.
#
# `make demo` brings up the local kwok cluster, installs the CRDs, runs the operator and creates
# the seed's nginx service; `make test` runs every test (unit, envtest, e2e on the local cluster).

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= kubeswarm/manager:dev
GOBIN ?= $(shell go env GOPATH)/bin

LOCALBIN ?= $(CURDIR)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool versions (pinned).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
GOLANGCI_LINT_VERSION ?= v2.6.2
HELM_VERSION ?= v4.3.2
KREW_VERSION ?= v0.4.3
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
KREW ?= $(LOCALBIN)/krew-$(KREW_VERSION)

## The local cluster's binaries (kube-apiserver, etcd, kwok, …), built once into a cache outside
## the repository by hack/k8s-binaries.sh.
K8S_BIN = $(shell hack/k8s-binaries.sh)
## REAL=1: the local cluster's three nodes are real (kubelet, containerd and kube-proxy in network
## namespaces on this machine; hack/real-cluster.sh) instead of kwok's simulated ones.
REAL ?=
ifeq ($(REAL),1)
CLUSTER_NAME ?= kubeswarm-real
export KUBESWARM_REAL := 1
endif
CLUSTER_NAME ?= kubeswarm
export KUBESWARM_CLUSTER := $(CLUSTER_NAME)
## The tests get a cluster of their own, so that the demo's objects (nginx on port 8000) and the
## user's kubeconfig are never in their way: its context goes to a file of its own.
TEST_CLUSTER ?= kubeswarm-test
TEST_ENV = KUBESWARM_CLUSTER=$(TEST_CLUSTER) KUBECONFIG=$${XDG_CACHE_HOME:-$$HOME/.cache}/kubeswarm/$(TEST_CLUSTER).kubeconfig
## The real-node tier's cluster (only one real-node cluster runs at a time).
REAL_TEST_CLUSTER ?= kubeswarm-real-test
REAL_TEST_ENV = KUBESWARM_REAL=1 KUBESWARM_CLUSTER=$(REAL_TEST_CLUSTER) KUBECONFIG=$${XDG_CACHE_HOME:-$$HOME/.cache}/kubeswarm/$(REAL_TEST_CLUSTER).kubeconfig

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: cli-manifests
cli-manifests: manifests $(KUSTOMIZE) ## The manifests `kubectl swarm init` embeds: config/default built into internal/cli/manifests.
	$(KUSTOMIZE) build config/default > internal/cli/manifests/kubeswarm.yaml

.PHONY: verify
verify: manifests generate cli-manifests ## Fail when generated files are not in step with the sources.
	@git diff --exit-code -- api config internal/cli/manifests || { echo "run 'make manifests generate cli-manifests' and commit the result" >&2; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt" >&2; exit 1; }

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml), the e2e build tag included (and the real-node tier's).
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e,realnodes --disable unused ./test/e2e/... # its helpers serve the kwok tier too

.PHONY: vet
vet: ## Run go vet (also over the e2e build tag).
	go vet ./...
	go vet -tags e2e ./test/e2e/...
	go vet -tags e2e,realnodes ./test/e2e/...
	go vet -tags upgrade ./test/upgrade/...
	go vet -tags release ./test/release/...

##@ Test

.PHONY: test
test: verify vet lint test-unit test-release test-chart test-integration test-e2e test-upgrade test-e2e-real test-e2e-kind test-parity ## Run every test: unit, the release build and chart, envtest, e2e on kwok, an operator upgrade, on real nodes (and a release installed there) and on kind, docker CLI parity with a real Swarm.

.PHONY: test-unit
test-unit: $(HELM) $(KUSTOMIZE) ## Unit tests (no cluster; the chart's with the pinned helm and kustomize).
	HELM=$(HELM) KUSTOMIZE=$(KUSTOMIZE) go test ./api/... ./internal/... ./controllers/... ./cmd/... ./hack/...

.PHONY: test-chart
test-chart: $(HELM) $(KUSTOMIZE) ## The Helm chart (hack/release/chart): rendered by the pinned helm, it is install.yaml; helm lint --strict.
	CI=true HELM=$(HELM) KUSTOMIZE=$(KUSTOMIZE) go test -count=1 ./hack/release/chart/... # -count=1: go test's cache does not see the files kustomize reads (config/)

.PHONY: test-integration
test-integration: ## envtest: the controllers against a real kube-apiserver and etcd.
	KUBEBUILDER_ASSETS="$(K8S_BIN)" go test ./test/integration/... -count=1 -timeout 15m

.PHONY: test-e2e
test-e2e: build ## e2e: Swarm scenarios on a local kwok cluster of their own (started if needed).
	$(TEST_ENV) hack/local-cluster.sh up
	$(TEST_ENV) $(MAKE) --no-print-directory install KUBECONFIG="$$($(TEST_ENV) hack/local-cluster.sh kubeconfig)"
	$(TEST_ENV) hack/e2e.sh

## The upgrade test's previous release: until there is a tag, the last release-worthy commit.
PREVIOUS ?= 69938fd5ffe554543185f91c804259f0001882af
UPGRADE_CLUSTER ?= kubeswarm-upgrade

.PHONY: test-upgrade
test-upgrade: build $(KUSTOMIZE) $(HELM) ## Upgrade from PREVIOUS to this tree mid-update (init, install.yaml, helm) on a kwok cluster of its own: no task restarts.
	KUBESWARM_CLUSTER=$(UPGRADE_CLUSTER) KUBECONFIG=$${XDG_CACHE_HOME:-$$HOME/.cache}/kubeswarm/$(UPGRADE_CLUSTER).kubeconfig \
		PREVIOUS=$(PREVIOUS) KUSTOMIZE=$(KUSTOMIZE) HELM=$(HELM) hack/upgrade.sh

.PHONY: test-e2e-real
test-e2e-real: build $(HELM) $(KUSTOMIZE) ## e2e on real nodes (root): the seed's checks with packets, then a release installed by init, install.yaml and helm; the host is checked to be left as found.
	$(REAL_TEST_ENV) HELM=$(HELM) KUSTOMIZE=$(KUSTOMIZE) hack/e2e-real.sh

.PHONY: test-parity
test-parity: build ## The docker CLI against a real Swarm (hack/swarm-reference.sh, root) and against kubeswarm's Engine API on the tests' cluster; fails on an unlisted difference.
	$(TEST_ENV) hack/parity.sh

.PHONY: bench-reconcile
bench-reconcile: build ## Count the operator's writes while 200 unchanged Services sit for 60 s (on the test cluster).
	$(TEST_ENV) hack/local-cluster.sh up
	$(TEST_ENV) $(MAKE) --no-print-directory install KUBECONFIG="$$($(TEST_ENV) hack/local-cluster.sh kubeconfig)"
	$(TEST_ENV) hack/bench-reconcile.sh

.PHONY: bench-rollout
bench-rollout: build ## Time a 100-replica rolling update (parallelism 10) through kubeswarm against a plain Deployment (on the test cluster).
	$(TEST_ENV) flock /tmp/ksw-kwok.lock bash -c 'hack/local-cluster.sh up && $(MAKE) --no-print-directory install KUBECONFIG="$$(hack/local-cluster.sh kubeconfig)" && hack/bench-rollout.sh'

.PHONY: bench-stack
bench-stack: build ## Time `kubectl swarm stack deploy --detach=false` of a 50-service compose file until converged (on the test cluster).
	$(TEST_ENV) flock /tmp/ksw-kwok.lock bash -c 'hack/local-cluster.sh up && $(MAKE) --no-print-directory install KUBECONFIG="$$(hack/local-cluster.sh kubeconfig)" && hack/bench-stack.sh'

.PHONY: bench-convert
bench-convert: build ## `kubectl swarm convert` against kompose on test/compose's files: wall time, peak RSS, binary size (no cluster).
	hack/bench-convert.sh

.PHONY: bench-scale
bench-scale: build ## 1,000 Services × 3 tasks on 100 kwok nodes against plain Deployments: time, writes per Service, idle writes, peak RSS (a cluster of its own).
	hack/bench-scale.sh

##@ Build

.PHONY: build
build: ## Build bin/manager, bin/kubectl-swarm and bin/kubectl-swarm-convert (`kubectl swarm convert` without the clients).
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/kubectl-swarm ./cmd/kubectl-swarm
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/kubectl-swarm-convert ./cmd/kubectl-swarm-convert

.PHONY: run
run: manifests generate ## Run the operator in the foreground against the current kubeconfig context.
	go run ./cmd/manager $(RUN_ARGS)

.PHONY: docker-build
docker-build: ## Build the operator image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Release

## make release VERSION=vX.Y.Z [REGISTRY=host[:port]/path]: the operator image (an OCI index of
## PLATFORMS) pushed to REGISTRY/manager:VERSION with the user's docker credentials, or written to
## dist/image as an OCI layout when REGISTRY is empty; dist/install.yaml pinning it by digest; the
## plugin archives of PLUGIN_PLATFORMS, checksums.txt and the krew manifest swarm.yaml, whose
## archives are downloaded from RELEASE_URL. INSECURE=1 allows plain http to the registry.
VERSION ?=
REGISTRY ?=
PLATFORMS ?= linux/amd64,linux/arm64
PLUGIN_PLATFORMS ?= linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64
RELEASE_URL ?= https://github.com/kubeswarm/kubeswarm/releases/download/$(VERSION)
INSECURE ?=
DIST ?= dist

.PHONY: release
release: $(KUSTOMIZE) ## Build the release into dist/ without a Docker engine (VERSION required; REGISTRY: push the image there).
	@[ -n "$(VERSION)" ] || { echo "usage: make release VERSION=vX.Y.Z [REGISTRY=host[:port]/path]" >&2; exit 2; }
	KUSTOMIZE=$(KUSTOMIZE) hack/release.sh build -version "$(VERSION)" -registry "$(REGISTRY)" -out "$(DIST)" \
		-platforms "$(PLATFORMS)" -plugin-platforms "$(PLUGIN_PLATFORMS)" -release-url "$(RELEASE_URL)" $(if $(filter 1 true yes,$(INSECURE)),-insecure)

.PHONY: test-release
test-release: $(KUSTOMIZE) $(KREW) $(HELM) ## The release for linux on this architecture, built twice: byte-identical; hack/release's tests; the packaged chart lints; the plugin installed with krew runs.
	KUSTOMIZE=$(KUSTOMIZE) KREW=$(KREW) HELM=$(HELM) hack/release.sh test

##@ Local cluster (kwok: a real control plane, simulated nodes; no Docker needed)

.PHONY: k8s-binaries
k8s-binaries: ## Build kube-apiserver, etcd, kwok, … into the cache (once).
	@hack/k8s-binaries.sh >/dev/null

.PHONY: cluster-up
cluster-up: ## Start the local cluster "kubeswarm" (manager1, worker1, worker2; REAL=1: "kubeswarm-real", real nodes, with the CRDs); no-op when up.
	hack/local-cluster.sh up
ifeq ($(REAL),1)
	KUBECONFIG="$$(hack/local-cluster.sh kubeconfig)" $(MAKE) --no-print-directory install
endif

.PHONY: cluster-down
cluster-down: ## Delete the local cluster (and the tests' cluster).
	hack/operator.sh stop >/dev/null 2>&1 || true
	KUBESWARM_CLUSTER=kubeswarm-real hack/operator.sh stop >/dev/null 2>&1 || true
	hack/local-cluster.sh down
	$(TEST_ENV) hack/local-cluster.sh down
	KUBESWARM_REAL=1 KUBESWARM_CLUSTER=kubeswarm-real hack/local-cluster.sh down
	$(REAL_TEST_ENV) hack/local-cluster.sh down

.PHONY: demo
demo: build cluster-up ## Local cluster + CRDs + operator + the seed's `--replicas 3 --publish 8000:80 nginx`.
	KUBECONFIG="$$(hack/local-cluster.sh kubeconfig)" $(MAKE) --no-print-directory install
	hack/demo.sh

##@ Deployment

# The Gateway API's standard-channel CRDs, as the module the operator is built with ships them.
GATEWAY_API_CRDS = $(shell hack/gateway-api-crds.sh)

.PHONY: install
install: manifests $(KUSTOMIZE) ## Install the CRDs into the current cluster (and the Gateway API's where it has none) and wait until they are Established.
	$(KUSTOMIZE) build config/crd | $(K8S_BIN)/kubectl apply --server-side --force-conflicts -f -
	$(KUSTOMIZE) build config/crd | $(K8S_BIN)/kubectl wait --for condition=Established --timeout=60s -f -
	$(K8S_BIN)/kubectl get crd httproutes.gateway.networking.k8s.io >/dev/null 2>&1 || \
		$(K8S_BIN)/kubectl apply --server-side $(addprefix -f ,$(GATEWAY_API_CRDS))

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) ## Remove the CRDs from the current cluster.
	$(KUSTOMIZE) build config/crd | $(K8S_BIN)/kubectl delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy the operator (image $(IMG)) into the current cluster.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(K8S_BIN)/kubectl apply --server-side --force-conflicts -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Remove the operator from the current cluster.
	$(KUSTOMIZE) build config/default | $(K8S_BIN)/kubectl delete --ignore-not-found -f -

.PHONY: test-e2e-kind
# Skipped there: TestRealRegistryAuth serves its registry in the real-node cluster's node network
# namespaces; TestRealImageHealthcheck needs the operator to read a registry, which the kind
# tier's operator (kind-loaded images, --image-healthchecks=false) does not.
test-e2e-kind: $(KUSTOMIZE) ## The real-node checks on a kind cluster (node image built offline, operator in-cluster; root); the host is checked to be left as found.
	hack/host-check.sh run kind env KUSTOMIZE=$(KUSTOMIZE) IMG=$(IMG) E2E_TAGS=e2e,realnodes E2E_SKIP='TestRealNodeFailure|TestRealRoutesThroughTraefik|TestRealRegistryAuth|TestRealImageHealthcheck' hack/kind-e2e.sh

.PHONY: kind-e2e
kind-e2e: $(KUSTOMIZE) ## For machines with Docker (root): the e2e tests on a kind cluster (node image built offline) with the operator in-cluster.
	KUSTOMIZE=$(KUSTOMIZE) IMG=$(IMG) hack/kind-e2e.sh

##@ Tools

$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v4/cmd/helm,$(HELM_VERSION))

$(KREW): | $(LOCALBIN)
	$(call go-install-tool,$(KREW),sigs.k8s.io/krew/cmd/krew,$(KREW_VERSION))

# go-install-tool installs package $2 at version $3 as $1.
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
echo "Installing $(2)@$(3)"; \
GOBIN=$(LOCALBIN) go install $(2)@$(3); \
mv "$(LOCALBIN)/$$(basename "$$(echo $(2) | sed 's#/v[0-9]*$$##')")" $(1); \
}
endef
