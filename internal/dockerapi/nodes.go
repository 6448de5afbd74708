package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
)

func nodeID(n *swarmv1.Node) string {
	if n.Status.ID != "" {
		return ID(types.UID(n.Status.ID))
	}
	return ID(n.UID)
}

// ToDockerNode is what the Engine API shows of a Node.
func ToDockerNode(n *swarmv1.Node) swarm.Node {
	role := nodes.Role(n)
	out := swarm.Node{
		ID:   nodeID(n),
		Meta: swarm.Meta{Version: swarm.Version{Index: uint64(n.Generation)}, CreatedAt: n.CreationTimestamp.UTC(), UpdatedAt: updatedAt(n)},
		Spec: swarm.NodeSpec{Annotations: swarm.Annotations{Labels: n.Spec.Labels}, Role: swarm.NodeRole(role),
			Availability: swarm.NodeAvailability(nodes.Availability(n))},
		Description: swarm.NodeDescription{
			Hostname:  n.Status.Hostname,
			Platform:  swarm.Platform{Architecture: n.Status.Platform.Architecture, OS: n.Status.Platform.OS},
			Resources: swarm.Resources{NanoCPUs: quantityNano(n.Status.Resources.CPUs), MemoryBytes: quantityValue(n.Status.Resources.Memory)},
			Engine:    swarm.EngineDescription{EngineVersion: n.Status.EngineVersion},
		},
		Status: swarm.NodeStatus{State: swarm.NodeState(strings.ToLower(string(n.Status.State))), Addr: n.Status.Addr},
	}
	if out.Spec.Labels == nil {
		out.Spec.Labels = map[string]string{}
	}
	if out.Description.Hostname == "" {
		out.Description.Hostname = n.Name
	}
	if out.Status.State == "" {
		out.Status.State = swarm.NodeStateUnknown
	}
	if role == swarmv1.RoleManager {
		ms := &swarm.ManagerStatus{Leader: n.Status.ManagerStatus == swarmv1.ManagerLeader, Reachability: swarm.ReachabilityReachable}
		if n.Status.ManagerStatus == swarmv1.ManagerUnreachable {
			ms.Reachability = swarm.ReachabilityUnreachable
		}
		if n.Status.Addr != "" {
			ms.Addr = n.Status.Addr + ":2377"
		}
		out.ManagerStatus = ms
	}
	return out
}

func (s *Server) listNodes(ctx context.Context) ([]swarmv1.Node, error) {
	list := &swarmv1.NodeList{}
	if err := s.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

func (s *Server) nodes(ctx context.Context) ([]swarm.Node, error) {
	items, err := s.listNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]swarm.Node, 0, len(items))
	for i := range items {
		out = append(out, ToDockerNode(&items[i]))
	}
	return out, nil
}

func (s *Server) findNode(ctx context.Context, ref string) (*swarmv1.Node, error) {
	items, err := s.listNodes(ctx)
	if err != nil {
		return nil, err
	}
	n, ok, ambiguous := match(items, ref, func(x swarmv1.Node) string { return nodeID(&x) }, func(x swarmv1.Node) string {
		if x.Status.Hostname != "" {
			return x.Status.Hostname
		}
		return x.Name
	})
	if !ok {
		for i := range items {
			if items[i].Name == ref {
				return &items[i], nil
			}
		}
		if ambiguous {
			return nil, invalid("node %s is ambiguous", ref)
		}
		return nil, notFound("node %s not found", ref)
	}
	return &n, nil
}

func (s *Server) nodeList(w http.ResponseWriter, r *http.Request) error {
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	all, err := s.nodes(r.Context())
	if err != nil {
		return err
	}
	out := []swarm.Node{}
	for _, n := range all {
		if !f.any("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) ||
			!f.any("name", func(v string) bool { return strings.HasPrefix(n.Description.Hostname, v) }) ||
			!f.any("role", func(v string) bool { return v == string(n.Spec.Role) }) ||
			!f.any("membership", func(v string) bool { return v == "accepted" }) ||
			!f.labels("node.label", n.Spec.Labels) {
			continue
		}
		out = append(out, n)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) nodeInspect(w http.ResponseWriter, r *http.Request) error {
	n, err := s.findNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ToDockerNode(n))
}

func (s *Server) nodeUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	n, err := s.findNode(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	version, err := readVersion(r, "node", n)
	if err != nil {
		return err
	}
	var spec swarm.NodeSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	all, err := s.listNodes(ctx)
	if err != nil {
		return err
	}
	if err := nodes.CheckRole(n, swarmv1.NodeRole(spec.Role), all); err != nil {
		// swarmkit's FailedPrecondition, which the daemon answers with 400.
		return invalid("rpc error: code = FailedPrecondition desc = %v", err)
	}
	err = s.updateVersioned(ctx, "node "+n.Name, n, version, func() {
		n.Spec = swarmv1.NodeSpec{Role: swarmv1.NodeRole(spec.Role), Availability: swarmv1.NodeAvailability(spec.Availability), Labels: nonEmpty(spec.Labels)}
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// nodeDelete is docker node rm (swarmkit manager/controlapi/node.go RemoveNode): a manager is
// refused even with --force, a node that is not down is refused without it. The node leaves by
// its Kubernetes Node being deleted (kubeswarm's Node mirrors it, and goes with it); the pods the
// node ran are then the pod garbage collector's, as swarmkit orphans the node's tasks. A kubelet
// still running registers its node again, as a docker engine still running can join again.
func (s *Server) nodeDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	n, err := s.findNode(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if nodes.Role(n) == swarmv1.RoleManager {
		return errorf(http.StatusInternalServerError, "rpc error: code = FailedPrecondition desc = node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal", nodeID(n))
	}
	if n.Status.State == swarmv1.NodeReady && !boolParam(r, "force") {
		return errorf(http.StatusInternalServerError, "rpc error: code = FailedPrecondition desc = node %s is not down and can't be removed", nodeID(n))
	}
	kn := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}
	if err := s.Client.Delete(ctx, kn); err != nil && !apierrors.IsNotFound(err) {
		if apierrors.IsForbidden(err) {
			return errorf(http.StatusForbidden, "kubeswarm: removing node %s deletes its Kubernetes Node, which your kubeconfig may not do: %v", n.Name, err)
		}
		return fmt.Errorf("removing node %s: %w", n.Name, err)
	}
	if err := s.Client.Delete(ctx, n, client.Preconditions{UID: &n.UID}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("removing node %s: %w", n.Name, err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
