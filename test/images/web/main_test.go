package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMain lets the process tests run this test binary as the web program itself, so they check
// signals and exit codes without building the image binary.
func TestMain(m *testing.M) {
	if os.Getenv("WEB_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// startWeb runs the program as a child process with env added to the test's environment.
func startWeb(t *testing.T, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// GORACE: under -race a process otherwise sleeps a second at exit, which the exit-time check
	// would blame on the program.
	cmd.Env = append(append(os.Environ(), "WEB_TEST_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &out
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		t.Fatalf("waiting: %v", err)
	}
	return 0
}

// TestStopsOnSIGTERM: as PID 1 the program only stops on SIGTERM because it handles it; it must
// exit at once and cleanly, not wait out a grace period.
func TestStopsOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			port := freePort(t)
			cmd, out := startWeb(t, "PORT="+port, "UNHEALTHY=", "CRASH=")
			url := "http://127.0.0.1:" + port + "/healthz"
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get(url)
				if err == nil {
					_ = resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not serving on %s: %v\n%s", port, err, out)
				}
				time.Sleep(20 * time.Millisecond)
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := exitCode(t, cmd.Wait())
			if took := time.Since(start); took > time.Second {
				t.Errorf("exit took %v, want under 1s", took)
			}
			if code != 0 {
				t.Errorf("exit code %d, want 0\n%s", code, out)
			}
		})
	}
}

func TestCrash(t *testing.T) {
	cmd, out := startWeb(t, "CRASH=1", "VERSION=crash", "PORT="+freePort(t))
	if code := exitCode(t, cmd.Wait()); code != crashExitCode {
		t.Errorf("exit code %d, want %d\n%s", code, crashExitCode, out)
	}
	if !strings.Contains(out.String(), "CRASH=1") {
		t.Errorf("output %q does not say why it exits", out)
	}
}

func TestCLI(t *testing.T) {
	srv := startServer(t, testConfig(t, roleWeb))
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Code   int
		Stdout string
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want result
		// wantStderr is a substring of the error output.
		wantStderr string
	}{
		{name: "get", args: []string{"get", srv.URL + "/"}, want: result{0, "host=task-1 node=node-a version=7 role=web\n"}},
		{name: "get non-2xx", args: []string{"get", srv.URL + "/nope"}, want: result{1, "404 page not found\n"}, wantStderr: "status 404"},
		{name: "healthcheck", args: []string{"healthcheck"}, env: map[string]string{"PORT": port}, want: result{0, "ok\n"}},
		{name: "lookup", args: []string{"lookup", "127.0.0.1", "::1"}, want: result{0, "127.0.0.1: 127.0.0.1\n::1: ::1\n"}},
		{name: "lookup failure", args: []string{"lookup", "127.0.0.1", "no-such-host.invalid"}, want: result{1, "127.0.0.1: 127.0.0.1\n"}, wantStderr: "looking up no-such-host.invalid"},
		{name: "usage", args: []string{"get"}, want: result{2, ""}, wantStderr: "usage:"},
		{name: "bad role", args: []string{"healthcheck"}, env: map[string]string{"ROLE": "x"}, want: result{2, ""}, wantStderr: "unknown ROLE"},
		{name: "crash spares the CLI", args: []string{"get", srv.URL + "/healthz"}, env: map[string]string{"CRASH": "1"}, want: result{0, "ok\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if diff := cmp.Diff(tc.want, result{code, stdout.String()}); diff != "" {
				t.Errorf("web %v (-want +got):\n%s\nstderr: %s", tc.args, diff, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}
