// Package objects builds the Kubernetes objects that realise swarm Services and Stacks, as
// server-side apply configurations: a service's Deployment, DaemonSet or Jobs and its Kubernetes
// Service (Build), the claims of named volumes, a stack's NetworkPolicies and network DNS.
//
// What those objects may be, and what the operator says of a spec (the error that makes a
// Service Degraded InvalidSpec, the notes of its Honored condition), is decided in
// internal/translate and internal/stack, which link no client-go package: `kubectl swarm
// convert` runs those rules (translate.Check, stack.Validate) without initialising client-go's
// schemes. This package only builds what they decided.
package objects
