// Package manifests holds what `kubectl swarm init` installs: `kustomize build config/default`
// (CRDs, RBAC, the operator's Deployment in kubeswarm-system), written by `make cli-manifests`
// and checked by `make verify`.
package manifests

//go:generate make -C ../../.. cli-manifests

import _ "embed"

// KubeSwarm is the output of `kustomize build config/default`.
//
//go:embed kubeswarm.yaml
var KubeSwarm []byte
