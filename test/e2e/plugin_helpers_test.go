//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// The plugin under test: KUBECTL_SWARM_BIN, else bin/kubectl-swarm (make test-e2e builds it),
// else built here once.
var (
	pluginOnce sync.Once
	pluginPath string
	pluginErr  error
)

func pluginBin(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		if p := os.Getenv("KUBECTL_SWARM_BIN"); p != "" {
			pluginPath = p
			return
		}
		if p, _ := filepath.Abs("../../bin/kubectl-swarm"); fileExists(p) {
			pluginPath = p
			return
		}
		dir, err := os.MkdirTemp("", "kubectl-swarm-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginPath = filepath.Join(dir, "kubectl-swarm")
		out, err := exec.Command("go", "build", "-o", pluginPath, "../../cmd/kubectl-swarm").CombinedOutput()
		if err != nil {
			pluginErr = fmt.Errorf("building kubectl-swarm: %w\n%s", err, out)
		}
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginPath
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// swarm runs `kubectl swarm -n ns args…` (ns "" for cluster-wide commands) and returns stdout,
// stderr and the error (an *exec.ExitError for a non-zero exit).
func swarm(t *testing.T, ns string, args ...string) (string, string, error) {
	t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	cmd := exec.Command(pluginBin(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ kubectl swarm %s  (%.1fs)\n%s%s", strings.Join(args, " "), time.Since(start).Seconds(), out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

// mustSwarm is swarm that fails the test on a non-zero exit.
func mustSwarm(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, errOut, err := swarm(t, ns, args...)
	if err != nil {
		t.Fatalf("kubectl swarm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// tableRows splits a docker table into rows of fields; the header is the first row.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func rowOf(rows [][]string, col int, value string) []string {
	for _, r := range rows[1:] {
		if len(r) > col && r[col] == value {
			return r
		}
	}
	return nil
}

func portsOf(s *swarmv1.Service) []int32 {
	var out []int32
	for _, p := range s.Spec.Ports {
		out = append(out, p.Published)
	}
	slices.Sort(out)
	return out
}

// waitObserved waits until the operator has acted on the Service's current spec (and on the
// given rollback request).
func waitObserved(t *testing.T, ns, name string) *swarmv1.Service {
	t.Helper()
	return waitSvc(t, 60*time.Second, ns, name, "observed", func(s *swarmv1.Service) error {
		if s.Status.ObservedGeneration < s.Generation {
			return fmt.Errorf("generation %d observed %d", s.Generation, s.Status.ObservedGeneration)
		}
		if v := s.Annotations[swarmv1.AnnotationRollback]; v != "" && s.Status.LastRollbackRequest != v {
			return fmt.Errorf("rollback %s not acted on yet", v)
		}
		return nil
	})
}
