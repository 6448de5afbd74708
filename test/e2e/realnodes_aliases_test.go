//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/dockerapi"
)

// createNetwork makes the swarm network name in ns as the Engine API's network create does (a
// ConfigMap holding the create request).
func createNetwork(t *testing.T, ns, name string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "network-" + name, Namespace: ns,
		Labels: map[string]string{dockerapi.LabelDockerObject: "network"}, Annotations: map[string]string{dockerapi.AnnotationDockerName: name}},
		Data: map[string]string{"network.json": `{"Name":"` + name + `","Driver":"overlay"}`}}
	if err := k8sClient.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
}

// TestRealStandaloneAliases: the network aliases of services made with `service create` (outside
// any stack) resolve for a client task on their network, as Swarm's DNS answers them: web's
// (dnsrr) with web's tasks' addresses, db's (vip) with db's virtual IP, and each reaches its
// service. An alias that is no DNS name is refused before anything is written; an alias
// removed with its network (`service update --network-rm`) no longer resolves.
func TestRealStandaloneAliases(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	ips := nodeIPs(t)
	createNetwork(t, ns, "n1")
	mustSwarm(t, ns, "service", "create", "--detach", "--name", "web", "--replicas", "2", "--endpoint-mode", "dnsrr",
		"--network", "name=n1,alias=cache", "-e", "VERSION=web", "kubeswarm.test/web:1")
	mustSwarm(t, ns, "service", "create", "--detach", "--name", "db", "-p", "8172:80",
		"--network", "name=n1,alias=store", "-e", "VERSION=db", "kubeswarm.test/web:1")
	mustSwarm(t, ns, "service", "create", "--detach", "--name", "client", "-p", "8171:80",
		"--network", "n1", "-e", "VERSION=client", "kubeswarm.test/web:1")
	waitRunning(t, 120*time.Second, ns, "web", 2)
	waitRunning(t, 120*time.Second, ns, "db", 1)
	waitRunning(t, 120*time.Second, ns, "client", 1)
	clientURL := "http://" + net.JoinHostPort(ips["worker1"], "8171")

	// The alias answers as the name does: web's tasks (dnsrr), db's virtual IP (vip).
	eventually(t, 60*time.Second, "cache resolves to web's tasks", func() error {
		body, err := get(clientURL + "/resolve?name=cache")
		if err != nil {
			return err
		}
		return sameAddresses(strings.Fields(body), taskIPs(t, ns, "web"))
	})
	kube := &corev1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, kube); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "store resolves to db's virtual IP", func() error {
		body, err := get(clientURL + "/resolve?name=store")
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(body); got != kube.Spec.ClusterIP {
			return fmt.Errorf("store resolves to %q, want db's virtual IP %s", got, kube.Spec.ClusterIP)
		}
		return nil
	})
	for alias, want := range map[string]string{"cache": "web", "store": "db"} {
		eventually(t, 60*time.Second, "the client reaches "+want+" as "+alias, func() error {
			body, err := get(clientURL + "/fetch?url=" + url.QueryEscape("http://"+alias+"/"))
			if err != nil {
				return err
			}
			if v := parseAnswer(body).Version; v != want {
				return fmt.Errorf("%s answered version %q, want %s: %q", alias, v, want, body)
			}
			return nil
		})
	}

	// An alias that cannot be a DNS name is refused before the service is written.
	if _, errOut, err := swarm(t, ns, "service", "create", "--detach", "--name", "dotted", "--network", "name=n1,alias=my.cache", "kubeswarm.test/web:1"); err == nil ||
		!strings.Contains(errOut, `networks[0].aliases[0]: "my.cache" cannot name the service in DNS`) {
		t.Fatalf("an alias with a dot: err %v, stderr %q; want it refused, naming the field", err, errOut)
	}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dotted"}, &corev1.Service{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused service was written: %v", err)
	}

	// web leaves n1: its alias there goes, and no longer resolves.
	mustSwarm(t, ns, "service", "update", "--detach", "--network-rm", "n1", "web")
	eventually(t, 90*time.Second, "cache no longer resolves once web left n1", func() error {
		body, err := get(clientURL + "/resolve?name=cache")
		if err == nil {
			return fmt.Errorf("cache resolves to %q, want a failed lookup", body)
		}
		if !strings.Contains(err.Error(), "looking up cache") {
			return fmt.Errorf("want a failed lookup: %w", err)
		}
		return nil
	})
	// db's alias is still there.
	if body, err := get(clientURL + "/resolve?name=store"); err != nil || strings.TrimSpace(body) != kube.Spec.ClusterIP {
		t.Errorf("store resolves to %q (%v), want %s", body, err, kube.Spec.ClusterIP)
	}
}
