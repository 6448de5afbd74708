//go:build e2e && !realnodes

package e2e

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestNodePortRangeFound: the operator's probe finds the local cluster's node-port range
// (kube-apiserver --service-node-port-range=1-32767, hack/kwok/kwokctl.yaml), so bin/manager and
// `make run` without --node-port-range publish the seed's 8000 as 8000.
func TestNodePortRangeFound(t *testing.T) {
	got, err := controllers.NodePortRange(t.Context(), k8sClient, metav1.NamespaceDefault)
	if err != nil {
		t.Fatal(err)
	}
	if want := (translate.PortRange{Min: 1, Max: 32767}); got != want {
		t.Errorf("NodePortRange = %s, want the local cluster's %s", got, want)
	}
}

// TestServiceRmFreesPort: `service rm web` followed at once by another service publishing
// web's port works, as in docker, with the cluster's own garbage collector.
func TestServiceRmFreesPort(t *testing.T) {
	ns := newNamespace(t)
	nodePort := func(name string) func() error {
		return func() error {
			k := &corev1.Service{}
			if err := k8sClient.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, k); err != nil {
				return err
			}
			if p := k.Spec.Ports[0].NodePort; p != 8400 {
				return fmt.Errorf("nodePort %d", p)
			}
			return nil
		}
	}
	mustSwarm(t, ns, "service", "create", "-d", "--name", "web", "-p", "8400:80", "nginx")
	eventually(t, 60*time.Second, "web publishes 8400", nodePort("web"))
	mustSwarm(t, ns, "service", "rm", "web")
	start := time.Now()
	mustSwarm(t, ns, "service", "create", "-d", "--name", "api", "-p", "8400:80", "nginx")
	eventually(t, 30*time.Second, "api publishes web's 8400", nodePort("api"))
	t.Logf("api published 8400 %.1fs after service rm web", time.Since(start).Seconds())
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("api took %s to get the port, want it at once (a refused port is retried after 15 s)", took)
	}
}
