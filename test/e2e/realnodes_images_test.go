//go:build e2e && realnodes

package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealStackDeployPinsAndRollsOut: `stack deploy` pins a tag to the digest its registry has
// (as docker's --resolve-image always), so every node runs the same image; after a new push of
// the same tag, deploying the same file again rolls the new image out.
func TestRealStackDeployPinsAndRollsOut(t *testing.T) {
	t.Parallel()
	reg := registryOrSkip(t)
	ns := newNamespace(t)
	ips := nodeIPs(t)
	tag := "web:rolling-" + ns
	pushVersion(t, reg, "web:1", tag, "first")
	file := filepath.Join(t.TempDir(), "stack.yml")
	writeFile(t, file, fmt.Sprintf("services:\n  web:\n    image: %s/%s\n    ports: [\"8106:80\"]\n    deploy: {replicas: 2}\n", reg, tag))

	answers := func(version string) func() error {
		return func() error {
			for node, ip := range ips {
				for range 4 {
					body, err := get("http://" + net.JoinHostPort(ip, "8106") + "/")
					if err != nil {
						return fmt.Errorf("%s: %w", node, err)
					}
					if v := parseAnswer(body).Version; v != version {
						return fmt.Errorf("%s answered version %q, want %s", node, v, version)
					}
				}
			}
			return nil
		}
	}
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "pin")
	eventually(t, 120*time.Second, "every node answers from the first push", answers("first"))
	first := getSvc(t, ns, "pin-web").Spec.Image
	if !strings.HasPrefix(first, reg+"/"+tag+"@sha256:") {
		t.Fatalf("image %q, want %s/%s pinned to a digest", first, reg, tag)
	}

	pushVersion(t, reg, "web:1", tag, "second")
	mustSwarm(t, ns, "stack", "deploy", "-c", file, "pin")
	eventually(t, 120*time.Second, "the same file deployed again rolls out the new push", answers("second"))
	if now := getSvc(t, ns, "pin-web").Spec.Image; now == first || !strings.HasPrefix(now, reg+"/"+tag+"@sha256:") {
		t.Errorf("image %q after the second deploy, want a new digest (first %q)", now, first)
	}
}
