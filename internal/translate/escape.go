package translate

import "strings"

// Swarm hands a task's env values, entrypoint and command to the container as written (moby
// daemon/cluster/executor/container/container.go copies them into the container config); only
// the templates of env values are expanded (swarmkit template/expand.go). Kubernetes expands
// `$(VAR)` in a container's env values, command and args to earlier variables of the container,
// and turns `$$` into `$` (k8s.io/kubernetes third_party/forked/golang/expansion), and the
// kubelet does the same to an exec probe's command (pkg/kubelet/prober/prober.go). So every
// `$` a user wrote is doubled: Kubernetes turns each `$$` back into the `$` written, and nothing
// the user wrote is taken for a reference. A Service's spec holds docker's words, so a Service
// applied with kubectl is escaped the same way: its author writes `$(A)` to mean the six bytes
// `$(A)`, as for docker.

// EscapeReferences escapes s so that Kubernetes' expansion gives s back unchanged.
func EscapeReferences(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

// EscapeAll escapes each of args (nil stays nil).
func EscapeAll(args []string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = EscapeReferences(a)
	}
	return out
}
