// Command web is the one test image program of the real-node cluster. No registry is reachable
// there, so this static binary stands in for nginx, wordpress and mysql in the Swarm tutorial the
// project replays, and for the project's own kubeswarm.test/web images. The image config picks the
// behaviour through environment variables (ROLE, VERSION, PORT, ...) and a pod may override them;
// see config.go.
//
// With no arguments it serves HTTP. The image has no shell, so the checks that a shell would
// otherwise run (exec healthchecks, kubectl exec probes) are sub-commands of the same binary:
//
//	web get URL          print the body of GET URL; exit 1 on error or a non-2xx status
//	web lookup NAME...   print the addresses of each NAME; exit 1 if any lookup fails
//	web healthcheck      web get http://127.0.0.1:$PORT/healthz
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes. crashExitCode is what the CRASH=1 image exits with, distinct from the CLI's 1 so a
// test can tell a deliberate crash from a failed probe.
const (
	exitFailure   = 1
	exitUsage     = 2
	crashExitCode = 3
)

// shutdownGrace bounds how long in-flight requests may delay exit after SIGTERM: Swarm's
// stop_grace_period and the kubelet's grace period are far longer, but the tests expect a task to
// go away at once.
const shutdownGrace = 800 * time.Millisecond

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run dispatches on the sub-command and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "web:", err)
		return exitUsage
	}
	if len(args) == 0 || args[0] == "serve" {
		if cfg.Crash {
			fmt.Fprintf(stderr, "web: CRASH=1, exiting with code %d (version %s)\n", crashExitCode, cfg.Version)
			return crashExitCode
		}
		if err := serve(ctx, cfg, stdout); err != nil {
			fmt.Fprintln(stderr, "web:", err)
			return exitFailure
		}
		return 0
	}
	switch args[0] {
	case "get":
		if len(args) != 2 {
			break
		}
		return cliGet(ctx, args[1], stdout, stderr)
	case "lookup":
		if len(args) < 2 {
			break
		}
		return cliLookup(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		if len(args) != 1 {
			break
		}
		return cliGet(ctx, "http://"+net.JoinHostPort("127.0.0.1", cfg.Port)+"/healthz", stdout, stderr)
	}
	fmt.Fprintln(stderr, "usage: web [serve] | web get URL | web lookup NAME... | web healthcheck")
	return exitUsage
}

// serve answers HTTP on cfg.Port until SIGINT or SIGTERM. The process is PID 1 of its container,
// where the kernel drops signals without a handler, so without this the runtime would wait out the
// whole grace period and then SIGKILL it.
func serve(ctx context.Context, cfg config, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logger := log.New(stdout, "", log.LstdFlags)
	srv := &http.Server{
		Handler:           logRequests(logger, newServer(cfg).handler()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ln, err := net.Listen("tcp", ":"+cfg.Port)
	if err != nil {
		return fmt.Errorf("listening on port %s: %w", cfg.Port, err)
	}
	logger.Printf("listening on :%s host=%s node=%s version=%s role=%s", cfg.Port, cfg.Hostname, cfg.NodeName, cfg.Version, cfg.roleName())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	if cfg.StopDelay > 0 {
		logger.Printf("signal received, stopping in %s (STOP_DELAY)", cfg.StopDelay)
		time.Sleep(cfg.StopDelay)
	}
	logger.Printf("signal received, shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Connections still busy after the grace: drop them rather than outlive it.
		if closeErr := srv.Close(); closeErr != nil {
			return fmt.Errorf("closing server: %w", errors.Join(err, closeErr))
		}
	}
	return nil
}

// logRequests writes one line per request to the container log (docker service logs / kubectl
// logs), leaving out the health checks that would otherwise drown everything else.
func logRequests(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.URL.Path != "/healthz" {
			logger.Printf("%s %s %d from %s", r.Method, r.URL.RequestURI(), rec.status, r.RemoteAddr)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
