package translate

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// archNames turns docker's architecture names into Kubernetes' (GOARCH) names.
var archNames = map[string]string{
	"x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
	"aarch64": "arm64", "arm64": "arm64", "armhf": "arm", "armv7l": "arm", "armv7": "arm", "arm": "arm",
	"i386": "386", "i686": "386", "386": "386",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}

// nodeRequirement turns one constraint into a node selector requirement on the node labels that
// kubeswarm's Node controller and the kubelet keep:
//
//	node.hostname        kubernetes.io/hostname (lower-cased, as Kubernetes node names are)
//	node.role            swarm.kubeswarm.io/role
//	node.id              swarm.kubeswarm.io/node-id (lower-cased, as UIDs are)
//	node.ip              swarm.kubeswarm.io/node-ip (a single address; CIDRs are not supported)
//	node.platform.os     kubernetes.io/os
//	node.platform.arch   kubernetes.io/arch (x86_64 → amd64, aarch64 → arm64, …)
//	node.labels.K        K
//	engine.labels.K      K (Kubernetes has no separate engine labels)
//
// == becomes In and != NotIn; NotIn also matches nodes without the label, as Swarm compares a
// missing attribute as "". Swarm compares values case-insensitively (swarmkit
// manager/constraint/constraint.go, Match: strings.EqualFold); Kubernetes compares label values
// exactly. The labels kubeswarm and the kubelet write for hostname, role, ID, OS and
// architecture are lower-case, so those values are lower-cased. A label K may hold any case,
// so the requirement lists the value's case variants: as written, lower, UPPER and Capitalized,
// and any other variant that nodeLabels (the labels of the cluster's nodes) holds.
func nodeRequirement(c swarmsyntax.Constraint, nodeLabels []map[string]string) (corev1.NodeSelectorRequirement, error) {
	key, value := "", c.Value
	switch {
	case c.Key == "node.hostname":
		key, value = corev1.LabelHostname, strings.ToLower(value)
	case c.Key == "node.role":
		key, value = NodeLabelRole, strings.ToLower(value)
	case c.Key == "node.id":
		key, value = NodeLabelID, strings.ToLower(value)
	case c.Key == "node.ip":
		addr, err := netip.ParseAddr(value)
		if err != nil {
			return corev1.NodeSelectorRequirement{}, fmt.Errorf("constraint %s: only a single IP address is supported, not %q", c.Key, value)
		}
		key, value = NodeLabelIP, strings.ReplaceAll(addr.String(), ":", "-")
	case c.Key == "node.platform.os":
		key, value = corev1.LabelOSStable, strings.ToLower(value)
	case c.Key == "node.platform.arch":
		key, value = corev1.LabelArchStable, strings.ToLower(value)
		if a, ok := archNames[value]; ok {
			value = a
		}
	case c.NodeLabel() != "":
		key = c.NodeLabel()
	default:
		return corev1.NodeSelectorRequirement{}, fmt.Errorf("constraint key %q is not one of node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label>", c.Key)
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return corev1.NodeSelectorRequirement{}, fmt.Errorf("constraint %s: %q is not a valid Kubernetes label key: %s", c.Key, key, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return corev1.NodeSelectorRequirement{}, fmt.Errorf("constraint %s: %q is not a valid Kubernetes label value: %s", c.Key, value, strings.Join(errs, "; "))
	}
	values := []string{value}
	if c.NodeLabel() != "" {
		values = caseVariants(c, key, nodeLabels)
	}
	op := corev1.NodeSelectorOpIn
	if !c.Equal {
		op = corev1.NodeSelectorOpNotIn
	}
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}, nil
}

// caseVariants are the values of label key that c matches as Swarm compares them: c's value as
// written, lower-cased, upper-cased and capitalized (so that the common spellings match on any
// node without the pod template depending on the nodes), and every other spelling that a node
// of the cluster carries. Sorted, so that the pod template is the same for the same nodes.
func caseVariants(c swarmsyntax.Constraint, key string, nodeLabels []map[string]string) []string {
	v := c.Value
	variants := sets.New(v, strings.ToLower(v), strings.ToUpper(v), strings.ToUpper(v[:1])+strings.ToLower(v[1:]))
	for _, labels := range nodeLabels {
		if got, ok := labels[key]; ok && c.Matches(got) {
			variants.Insert(got)
		}
	}
	return sets.List(variants)
}

// NeedsNodeLabels tells whether the service's tasks are placed by node.labels or engine.labels
// constraints, whose translation lists the spellings of their values found on the cluster's
// nodes (Inputs.NodeLabels).
func NeedsNodeLabels(s *swarmv1.ServiceSpec) bool {
	if s.Placement == nil {
		return false
	}
	for _, raw := range s.Placement.Constraints {
		if c, err := swarmsyntax.ParseConstraint(raw); err == nil && c.NodeLabel() != "" {
			return true
		}
	}
	return false
}

// NodeRequirements are the node selector requirements that all the constraints together ask
// for (nodeRequirement), none without constraints. An error names placement.constraints.
func NodeRequirements(p *swarmv1.Placement, nodeLabels []map[string]string) ([]corev1.NodeSelectorRequirement, error) {
	if p == nil {
		return nil, nil
	}
	out := make([]corev1.NodeSelectorRequirement, 0, len(p.Constraints))
	for _, s := range p.Constraints {
		c, err := swarmsyntax.ParseConstraint(s)
		if err != nil {
			return nil, fmt.Errorf("placement.constraints: %w", err)
		}
		req, err := nodeRequirement(c, nodeLabels)
		if err != nil {
			return nil, fmt.Errorf("placement.constraints: %w", err)
		}
		out = append(out, req)
	}
	return out, nil
}

// constraintsRule refuses a constraint that cannot become a node selector requirement.
func constraintsRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, err := NodeRequirements(svc.Spec.Placement, nil)
	return nil, err
}

// spreadKey is the node label a placement preference spreads over.
func spreadKey(pref swarmv1.PlacementPreference) (string, error) {
	d := pref.Spread
	key, err := swarmsyntax.SpreadLabel(d)
	if err != nil {
		return "", err
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return "", fmt.Errorf("placement preference spread=%s: %q is not a valid Kubernetes label key", d, key)
	}
	return key, nil
}

// SpreadKeys are the node labels a service's tasks spread over: the hostname (Swarm's scheduler
// prefers the node with the fewest tasks of the service), then each placement preference's
// label; none for a global service (one task a node). An error names placement.preferences.
func SpreadKeys(svc *swarmv1.Service) ([]string, error) {
	if svc.Spec.Mode.IsGlobal() {
		return nil, nil
	}
	keys := []string{corev1.LabelHostname}
	if p := svc.Spec.Placement; p != nil {
		for _, pref := range p.Preferences {
			k, err := spreadKey(pref)
			if err != nil {
				return nil, fmt.Errorf("placement.preferences: %w", err)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// preferencesRule refuses a placement preference whose label cannot be a topology key.
func preferencesRule(svc *swarmv1.Service, _ Options) ([]string, error) {
	_, err := SpreadKeys(svc)
	return nil, err
}
