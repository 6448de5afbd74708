package dockerapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// networkObj is a swarm network: one made on its own through the endpoint (a ConfigMap holding
// its create request), or a network of a Stack (its spec's networks, and "default" when a
// service uses it without declaring it).
type networkObj struct {
	id, name string // docker's
	// kubeName is the name services' specs use for it: a stack network's Kubernetes name, the
	// docker name of any other.
	kubeName string
	created  time.Time
	spec     network.CreateRequest
	cm       *corev1.ConfigMap // a network on its own
	stack    *swarmv1.Stack    // a stack's network, named local in it
	local    string
	// predefined: Swarm's host network, which is no object.
	predefined bool
}

// derivedUID is a stable UID for something that has no object of its own (a stack's network):
// the hash of its owner's UID and its name.
func derivedUID(owner types.UID, name string) types.UID {
	sum := sha256.Sum256([]byte(string(owner) + "/" + name))
	return types.UID(hex.EncodeToString(sum[:16]))
}

// stackNetworks are the networks of a stack as docker lists them: <stack>_<name>, labelled with
// the stack's namespace. External networks are not the stack's.
func stackNetworks(st *swarmv1.Stack) []networkObj {
	declared := map[string]bool{}
	var out []networkObj
	add := func(n swarmv1.StackNetwork) {
		declared[n.Name] = true
		labels := maps.Clone(n.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[stack.LabelDockerStackNamespace] = st.Name
		driver := n.Driver
		if driver == "" {
			driver = "overlay"
		}
		out = append(out, networkObj{
			id: ID(derivedUID(st.UID, n.Name)), name: swarmv1.StackDockerName(st.Name, n.Name),
			kubeName: stack.NetworkName(st, n.Name), created: st.CreationTimestamp.UTC(),
			spec:  network.CreateRequest{Driver: driver, Internal: n.Internal, Labels: labels, Scope: "swarm"},
			stack: st, local: n.Name,
		})
	}
	for _, n := range st.Spec.Networks {
		if !n.External {
			add(n)
		}
	}
	if !declared[stack.DefaultNetwork] {
		for _, s := range st.Spec.Services {
			if slices.Contains(stack.ServiceNetworks(s), stack.DefaultNetwork) {
				add(swarmv1.StackNetwork{Name: stack.DefaultNetwork})
				break
			}
		}
	}
	return out
}

// hostNetwork is Swarm's predefined network host (swarmkit's predefined networks, labelled
// com.docker.swarm.predefined): a service on it runs with its node's network
// (translate.HostNetwork), so `docker service create --network host` finds it.
func hostNetwork() networkObj {
	return networkObj{id: ID(derivedUID("", translate.HostNetworkName)), name: translate.HostNetworkName, kubeName: translate.HostNetworkName,
		predefined: true, spec: network.CreateRequest{Driver: "host", Labels: map[string]string{"com.docker.swarm.predefined": "true"}}}
}

func usesNetwork(spec swarmv1.ServiceSpec, name string) bool {
	for _, a := range spec.Networks {
		if a.Name == name {
			return true
		}
	}
	return false
}

func (s *Server) listStacks(ctx context.Context) ([]swarmv1.Stack, error) {
	list := &swarmv1.StackList{}
	if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace)); err != nil {
		return nil, fmt.Errorf("listing stacks: %w", err)
	}
	return list.Items, nil
}

func (s *Server) listNetworks(ctx context.Context) ([]networkObj, error) {
	list := &corev1.ConfigMapList{}
	if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingLabels{LabelDockerObject: "network"}); err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	out := make([]networkObj, 0, len(list.Items))
	for i := range list.Items {
		cm := &list.Items[i]
		n := networkObj{cm: cm, id: ID(cm.UID), name: dockerName(cm), created: cm.CreationTimestamp.UTC()}
		n.kubeName = n.name
		_ = jsonUnmarshal(cm.Data[networkSpecKey], &n.spec)
		out = append(out, n)
	}
	out = append(out, hostNetwork())
	stacks, err := s.listStacks(ctx)
	if err != nil {
		return nil, err
	}
	for i := range stacks {
		if stacks[i].DeletionTimestamp == nil {
			out = append(out, stackNetworks(&stacks[i])...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func toNetwork(n networkObj) network.Inspect {
	out := network.Inspect{Network: network.Network{
		Name: n.name, ID: n.id, Created: n.created, Scope: "swarm",
		Driver: n.spec.Driver, Internal: n.spec.Internal, Attachable: n.spec.Attachable,
		Options: n.spec.Options, Labels: n.spec.Labels,
	}}
	if out.Driver == "" {
		out.Driver = "overlay"
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	if n.spec.IPAM != nil {
		out.IPAM = *n.spec.IPAM
	} else {
		out.IPAM = network.IPAM{Driver: "default"}
	}
	return out
}

func (s *Server) findNetwork(ctx context.Context, ref string) (*networkObj, error) {
	items, err := s.listNetworks(ctx)
	if err != nil {
		return nil, err
	}
	n, ok, _ := match(items, ref, func(x networkObj) string { return x.id }, func(x networkObj) string { return x.name })
	if !ok {
		return nil, notFound("network %s not found", ref)
	}
	return &n, nil
}

func (s *Server) networkList(w http.ResponseWriter, r *http.Request) error {
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	items, err := s.listNetworks(r.Context())
	if err != nil {
		return err
	}
	out := []network.Summary{}
	for _, n := range items {
		d := toNetwork(n)
		if !f.any("id", func(v string) bool { return strings.HasPrefix(d.ID, v) }) ||
			!f.any("name", func(v string) bool { return strings.Contains(d.Name, v) }) ||
			!f.any("driver", func(v string) bool { return v == d.Driver }) ||
			!f.any("scope", func(v string) bool { return v == "swarm" }) ||
			!f.labels("label", d.Labels) {
			continue
		}
		out = append(out, network.Summary{Network: d.Network})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) error {
	n, err := s.findNetwork(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toNetwork(*n))
}

// networkCreate makes a network. One labelled with a stack's namespace (docker stack deploy's)
// is recorded in that Stack, which is made if needed.
func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var req network.CreateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "overlay" {
		return invalid("kubeswarm: network driver %q is not served; swarm networks are overlay networks", req.Driver)
	}
	if err := checkName("network", req.Name); err != nil {
		return err
	}
	if _, err := s.findNetwork(ctx, req.Name); err == nil {
		return errorf(http.StatusConflict, "network with name %s already exists", req.Name)
	}
	if stackName, local, ok := stackMember(req.Labels, req.Name); ok {
		st, err := s.editStack(ctx, stackName, true, func(st *swarmv1.Stack) error {
			labels := maps.Clone(req.Labels)
			delete(labels, stack.LabelDockerStackNamespace)
			declareNetwork(st, swarmv1.StackNetwork{Name: local, Internal: req.Internal, Driver: req.Driver, Labels: nonEmpty(labels)})
			return nil
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, network.CreateResponse{ID: ID(derivedUID(st.UID, local))})
	}
	data, err := jsonMarshal(req)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "network-" + swarmv1.KubernetesName(req.Name), Namespace: s.Namespace,
		Labels: map[string]string{LabelDockerObject: "network"}, Annotations: map[string]string{AnnotationDockerName: req.Name}},
		Data: map[string]string{networkSpecKey: data}}
	if err := s.Client.Create(ctx, cm, client.FieldOwner(fieldManager)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return errorf(http.StatusConflict, "network with name %s already exists", req.Name)
		}
		return fmt.Errorf("creating network %s: %w", req.Name, err)
	}
	return writeJSON(w, http.StatusCreated, network.CreateResponse{ID: ID(cm.UID)})
}

// networkDelete removes a network no service uses; a stack's network leaves its Stack, and the
// Stack goes when nothing is left in it (docker stack rm removes services, then networks).
func (s *Server) networkDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	n, err := s.findNetwork(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if n.predefined {
		// moby daemon/network.go, deleteNetwork.
		return errorf(http.StatusForbidden, "%s is a pre-defined network and cannot be removed", n.name)
	}
	services, err := s.listServices(ctx)
	if err != nil {
		return err
	}
	for i := range services {
		// A stack's own services are its spec's (checked below): the Stack controller may not
		// have removed one that just left it.
		own := n.stack != nil && stackOwner(&services[i]) == n.stack.Name
		if !own && services[i].DeletionTimestamp == nil && usesNetwork(services[i].Spec, n.kubeName) {
			return errorf(http.StatusForbidden, "rpc error: code = FailedPrecondition desc = network %s is in use by service %s", n.id, ID(services[i].UID))
		}
	}
	if n.stack != nil {
		for _, sv := range n.stack.Spec.Services {
			if slices.Contains(stack.ServiceNetworks(sv), n.local) {
				return errorf(http.StatusForbidden, "rpc error: code = FailedPrecondition desc = network %s is in use by service %s",
					n.id, swarmv1.StackDockerName(n.stack.Name, sv.Name))
			}
		}
		_, err := s.editStack(ctx, n.stack.Name, false, func(st *swarmv1.Stack) error {
			st.Spec.Networks = deleteByName(st.Spec.Networks, func(x swarmv1.StackNetwork) string { return x.Name }, n.local)
			return nil
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.Client.Delete(ctx, n.cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing network %s: %w", n.name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
