// Command pause is the pod sandbox process of the real-node test cluster. No registry is
// reachable there, so the project builds its own stand-in for registry.k8s.io/pause: it holds
// the pod's namespaces open and does nothing else.
//
// It runs as PID 1 of the sandbox, where the kernel ignores signals that have no handler, so it
// must catch SIGINT and SIGTERM itself or the runtime could only stop it with SIGKILL. As PID 1
// it also inherits orphaned processes (with a shared PID namespace) and reaps them on SIGCHLD so
// they do not pile up as zombies.
package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every child that has exited. Signals coalesce, so one SIGCHLD may stand for
// several children: loop until none is left.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
