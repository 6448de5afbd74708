package objects

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// stackOwner makes the Stack the controller of one of its objects, so that the object goes with
// it.
func stackOwner(st *swarmv1.Stack) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().WithAPIVersion(swarmv1.GroupVersion.String()).WithKind("Stack").
		WithName(st.Name).WithUID(st.UID).WithController(true).WithBlockOwnerDeletion(true)
}

// clusterDNS selects the cluster's DNS server, which tasks on internal networks may still ask:
// the kube-dns pods of kube-system (the labels kubeadm's CoreDNS and most distributions keep).
func clusterDNS() *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	return networkingv1ac.NetworkPolicyPeer().
		WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{corev1.LabelMetadataName: metav1.NamespaceSystem})).
		WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))
}

// NetworkPolicies isolate the stack's networks as Swarm's overlay networks do:
//
//   - Ingress: the tasks on a network take traffic only from tasks on a network they share
//     (an external network's members may be in any namespace); the ports a service publishes
//     take it from anywhere, as the routing mesh publishes them on every node, so the cluster's
//     ingress controller and monitoring reach them too.
//   - Egress: a service whose every network is internal gets no way out, only to the tasks of
//     its networks and the cluster's DNS. A task on any network that is not internal (or with
//     ingress-published ports, which put it on Swarm's ingress network) goes anywhere, as a
//     container gets a default gateway from any such network (moby
//     daemon/libnetwork/default_gateway.go, needDefaultGW).
func NetworkPolicies(st *swarmv1.Stack) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	used := map[string]bool{}
	for _, s := range st.Spec.Services {
		for _, n := range stack.ServiceNetworks(s) {
			used[n] = true
		}
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*networkingv1ac.NetworkPolicyApplyConfiguration
	for _, n := range names {
		selector, peer := networkMembers(st, n)
		out = append(out, ingressPolicy(st, swarmv1.StackObjectName(st.Name, "net-"+n), selector,
			networkingv1ac.NetworkPolicyIngressRule().WithFrom(peer)))
	}
	for _, s := range st.Spec.Services {
		child := swarmv1.StackObjectName(st.Name, s.Name)
		tasks := metav1ac.LabelSelector().WithMatchLabels(translate.SelectorLabels(child))
		if len(s.Ports) > 0 {
			out = append(out, ingressPolicy(st, child+"-published", tasks, publishedPorts(s.Ports)))
		}
		if !stack.InternalOnly(st, s) {
			continue
		}
		rule := networkingv1ac.NetworkPolicyEgressRule()
		for _, n := range stack.ServiceNetworks(s) {
			_, peer := networkMembers(st, n)
			rule.WithTo(peer)
		}
		dns := networkingv1ac.NetworkPolicyEgressRule().WithTo(clusterDNS()).WithPorts(
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolUDP).WithPort(intstr.FromInt32(53)),
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(53)))
		out = append(out, networkingv1ac.NetworkPolicy(child+"-internal", st.Namespace).
			WithLabels(stack.Labels(st.Name)).WithOwnerReferences(stackOwner(st)).
			WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(tasks).
				WithPolicyTypes(networkingv1.PolicyTypeEgress).
				WithEgress(rule, dns)))
	}
	return out
}

// ingressPolicy is a NetworkPolicy of the stack that admits to the selected tasks what rule
// allows.
func ingressPolicy(st *swarmv1.Stack, name string, selector *metav1ac.LabelSelectorApplyConfiguration,
	rule *networkingv1ac.NetworkPolicyIngressRuleApplyConfiguration) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkingv1ac.NetworkPolicy(name, st.Namespace).
		WithLabels(stack.Labels(st.Name)).WithOwnerReferences(stackOwner(st)).
		WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(selector).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(rule))
}

// networkMembers selects the stack's tasks on compose network n, and the tasks that may reach
// them: its members, in any namespace for an external network (other stacks on the network
// have their own policy).
func networkMembers(st *swarmv1.Stack, n string) (selector *metav1ac.LabelSelectorApplyConfiguration, peer *networkingv1ac.NetworkPolicyPeerApplyConfiguration) {
	member := map[string]string{translate.LabelNetworkPrefix + stack.NetworkName(st, n): "true"}
	selector = metav1ac.LabelSelector().WithMatchLabels(member)
	peer = networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(member))
	if stack.DeclaredNetwork(st, n).External {
		selector.WithMatchLabels(map[string]string{translate.LabelStack: st.Name})
		peer.WithNamespaceSelector(metav1ac.LabelSelector())
	}
	return selector, peer
}

// publishedPorts admits traffic from anywhere to the targets of a service's published ports.
func publishedPorts(ports []swarmv1.PortConfig) *networkingv1ac.NetworkPolicyIngressRuleApplyConfiguration {
	rule := networkingv1ac.NetworkPolicyIngressRule()
	var seen []string
	for _, p := range ports {
		proto := translate.KubernetesProtocol(p.Protocol)
		if key := fmt.Sprint(proto, p.Target); !slices.Contains(seen, key) {
			seen = append(seen, key)
			rule.WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(proto).WithPort(intstr.FromInt32(p.Target)))
		}
	}
	return rule
}

// Claims are the PersistentVolumeClaims of the stack's volumes. No claim is owned by the Stack:
// as `docker stack rm` leaves a stack's volumes, deleting the Stack (by `stack rm` or a GitOps
// tool) leaves its claims and their data, and the next deploy of the same stack takes them
// back by their labels (stack and volume name). Removing data takes `kubectl swarm volume rm`.
// External volumes are the user's. A volume each task of its one replicated service holds on its
// own (stack.PerSlotVolume) has its claims made by that service's StatefulSet, one per slot, unless
// its one claim exists already (existing: the namespace's claims; translate.Claims.KeepsClaim):
// that claim, holding the data of an earlier kubeswarm's tasks, is kept and applied as before.
func Claims(st *swarmv1.Stack, existing translate.Claims) []*corev1ac.PersistentVolumeClaimApplyConfiguration {
	var out []*corev1ac.PersistentVolumeClaimApplyConfiguration
	for _, v := range st.Spec.Volumes {
		perSlot := stack.PerSlotVolume(st, v.Name) && !existing.KeepsClaim(stack.SlotUser(st, v.Name), stack.ClaimName(st, v.Name))
		if mounted, err := swarmsyntax.MountedVolume(v.Driver, v.DriverOptions); v.External || mounted || err != nil || perSlot {
			// the user's, an NFS export or host directory the tasks mount themselves, one the
			// services' verdict refuses (an SMB share), or per slot (claim templates): no claim
			continue
		}
		labels := stack.Labels(st.Name)
		labels[translate.LabelVolume] = v.Name
		out = append(out, VolumeClaim(stack.ClaimName(st, v.Name), st.Namespace, labels, v.Size, v.StorageClassName))
	}
	return out
}
