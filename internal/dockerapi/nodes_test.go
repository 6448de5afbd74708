package dockerapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/registry"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestNodeRemove: docker node rm as swarmkit's RemoveNode decides, the Kubernetes Node and
// kubeswarm's Node removed when it may go.
func TestNodeRemove(t *testing.T) {
	node := func(name string, role swarmv1.NodeRole, state swarmv1.NodeState) []client.Object {
		return []client.Object{
			&swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10"},
				Spec: swarmv1.NodeSpec{Role: role}, Status: swarmv1.NodeStatus{State: state, Hostname: name}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}},
		}
	}
	cases := map[string]struct {
		role    swarmv1.NodeRole
		state   swarmv1.NodeState
		force   bool
		wantErr string // "" when removed
	}{
		"down worker":          {swarmv1.RoleWorker, swarmv1.NodeDown, false, ""},
		"ready worker":         {swarmv1.RoleWorker, swarmv1.NodeReady, false, "is not down and can't be removed"},
		"ready worker, forced": {swarmv1.RoleWorker, swarmv1.NodeReady, true, ""},
		"manager, forced":      {swarmv1.RoleManager, swarmv1.NodeDown, true, "is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			api, c := newTestServer(t, node("worker1", tc.role, tc.state)...)
			path := "/nodes/worker1"
			if tc.force {
				path += "?force=1"
			}
			var e common.ErrorResponse
			code := api.do("DELETE", path, nil, &e)
			kerr := c.Get(context.Background(), client.ObjectKey{Name: "worker1"}, &corev1.Node{})
			serr := c.Get(context.Background(), client.ObjectKey{Name: "worker1"}, &swarmv1.Node{})
			if tc.wantErr == "" {
				if code != http.StatusOK || !apierrors.IsNotFound(kerr) || !apierrors.IsNotFound(serr) {
					t.Errorf("got %d %q, Kubernetes Node: %v, Node: %v; want both removed", code, e.Message, kerr, serr)
				}
				return
			}
			if !strings.Contains(e.Message, tc.wantErr) || kerr != nil || serr != nil {
				t.Errorf("got %d %q (nodes: %v %v), want %q and both kept", code, e.Message, kerr, serr, tc.wantErr)
			}
		})
	}
}

// TestDistribution: an image is answered without a registry, with no digest, so the client
// neither pins nor warns.
func TestDistribution(t *testing.T) {
	api, _ := newTestServer(t)
	var d registry.DistributionInspect
	if code := api.do("GET", "/v1.41/distribution/kubeswarm.test/web:1/json", nil, &d); code != http.StatusOK || d.Descriptor.Digest != "" || len(d.Platforms) != 0 {
		t.Errorf("got %d %+v", code, d)
	}
}
