// Package swarmsyntax is the one place that reads docker's syntax and applies Swarm's rules and
// defaults: ports, mounts, byte sizes, CPUs, durations, file modes, constraints, spread
// preferences and which fields each service mode allows. The plugin's flags (internal/cli), the
// compose converter (internal/compose) and the Docker Engine API front door call it, so that one
// input gets one verdict, in the words of the CRD's CEL rules (api/v1alpha1). Where a well-kept
// library already parses the syntax (go-units, go-connections/nat, compose-go), it is called.
package swarmsyntax
