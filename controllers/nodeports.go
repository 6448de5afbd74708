package controllers

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// validPortsRE finds the range in the API server's refusal of a node port outside it
// (kubernetes pkg/registry/core/service/portallocator: "provided port is not in the valid
// range. The range of valid ports is 30000-32767").
var validPortsRE = regexp.MustCompile(`The range of valid ports is (\d+-\d+)`)

// NodePortProbeName is the name of the Service that NodePortRange asks to create; the API
// server never stores it.
const NodePortProbeName = "kubeswarm-node-port-probe"

// neverStored is a label value that the API server refuses (a label value starts with a letter
// or digit), so that the probe is never stored.
const neverStored = "-never-stored-"

// NodePortRange finds the cluster's service node-port range (kube-apiserver
// --service-node-port-range), which the API server does not publish, by asking it to create a
// NodePort Service with a node port at each end of the port space. The API server allocates
// ports before it validates the object (apiserver registry/generic/registry/store.go: BeginCreate
// runs before BeforeCreate) and its allocator refuses a port outside the range with a message
// that names the range (pkg/registry/core/service/portallocator: ErrNotInRange). The probe
// carries an invalid label, so a port inside the range ends in a validation error instead, the
// allocation is rolled back, and nothing is stored. A dry run cannot tell: it skips the
// range check.
func NodePortRange(ctx context.Context, c client.Client, namespace string) (translate.PortRange, error) {
	all := translate.PortRange{Min: 1, Max: 65535}
	for _, port := range []int32{all.Min, all.Max} {
		probe := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: NodePortProbeName, Namespace: namespace,
				Labels: map[string]string{"swarm.kubeswarm.io/node-port-probe": neverStored}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
				Ports: []corev1.ServicePort{{Port: 80, NodePort: port}}},
		}
		err := c.Create(ctx, probe)
		if err == nil {
			// An API server that did not validate the label: the port was in the range.
			_ = c.Delete(ctx, probe)
			continue
		}
		if m := validPortsRE.FindStringSubmatch(err.Error()); m != nil {
			return translate.ParsePortRange(m[1])
		}
		if apierrors.IsInvalid(err) && (strings.Contains(err.Error(), neverStored) || strings.Contains(err.Error(), "port is already allocated")) {
			continue // the port passed the range check
		}
		return translate.PortRange{}, fmt.Errorf("asking the API server for its node-port range (a NodePort Service in %s, never stored): %w", namespace, err)
	}
	return all, nil
}
