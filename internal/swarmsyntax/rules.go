package swarmsyntax

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// The rules below are also the CRD's CEL rules (api/v1alpha1, `x-kubernetes-validations`), which
// guard `kubectl apply`. Their messages are these constants, word for word; a test reads the
// generated CRD to keep them so, and test/integration feeds the same bad inputs to the API
// server, the plugin and the compose converter.
const (
	MsgConstraint = "each constraint must be KEY==VALUE or KEY!=VALUE with KEY one of node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label> (any case) and a VALUE without spaces"
	MsgRole       = "node.role constraints compare with manager or worker"
	MsgSpread     = "spread must be node.labels.<label> or engine.labels.<label>"
	MsgReplicas   = "replicas can only be used with replicated or replicated-job mode"
	MsgConcurrent = "max-concurrent can only be used with replicated-job mode"
	MsgJobUpdate  = "update and rollback configuration is not supported for jobs"
	MsgMaxPerNode = "replicas-max-per-node can only be used with replicated or replicated-job mode"
	MsgDNSRR      = "port published with ingress mode can't be used with dnsrr mode"
	MsgPublished  = "a published port may only be used once per protocol"
	MsgRollback   = "failureAction must be pause or continue: a rollback is never rolled back"
)

// ConstraintPattern is a valid placement constraint (swarmkit manager/constraint: keys compare
// case-insensitively). A value has no spaces: it is compared with a Kubernetes label value, and
// those have none.
const ConstraintPattern = `^\s*(?i:node\.(id|hostname|role|ip|platform\.os|platform\.arch)|(node|engine)\.labels\.[^=!\s]+)\s*(==|!=)\s*[^=!\s]+\s*$`

// RolePattern is what a node.role constraint must be; rolePrefix finds one.
const (
	RolePattern = `^\s*(?i:node\.role)\s*(==|!=)\s*(?i:manager|worker)\s*$`
	rolePrefix  = `^\s*(?i:node\.role)\s*[=!]`
)

// SpreadPattern is a valid spread descriptor.
const SpreadPattern = `^(node|engine)\.labels\.\S+$`

var (
	constraintRE = regexp.MustCompile(ConstraintPattern)
	roleRE       = regexp.MustCompile(RolePattern)
	rolePrefixRE = regexp.MustCompile(rolePrefix)
	spreadRE     = regexp.MustCompile(SpreadPattern)
)

// RuleError is a broken rule of the service spec: the API field it is about (a path as in the
// CRD's fieldPath, e.g. "placement.constraints") and the rule's message. Each front door names
// the field its own way (a flag, a compose key).
type RuleError struct {
	Field string
	Value string // the offending value, when there is one
	Msg   string
}

func (e *RuleError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s: %s", e.Value, e.Msg)
	}
	return e.Msg
}

// Constraint is a parsed placement constraint: Key Op Value, e.g. node.role == manager. Key is
// lower-cased, except the label name of node.labels.K and engine.labels.K.
type Constraint struct {
	Key   string
	Equal bool // == when true, != when false
	Value string
}

// NodeLabel is the label K of a node.labels.K or engine.labels.K constraint; "" for the other
// keys. The label name keeps its case: swarmkit compares the key's prefix case-insensitively
// but looks the label up as written (manager/constraint/constraint.go, NodeMatches).
func (c Constraint) NodeLabel() string {
	for _, prefix := range []string{"node.labels.", "engine.labels."} {
		if strings.HasPrefix(c.Key, prefix) {
			return c.Key[len(prefix):]
		}
	}
	return ""
}

// Matches tells whether a node's value equals the constraint's value as Swarm compares them:
// case-insensitively (swarmkit manager/constraint/constraint.go, Match: strings.EqualFold).
// Equal says whether the constraint wants a match (==) or none (!=).
func (c Constraint) Matches(value string) bool { return strings.EqualFold(c.Value, value) }

// ParseConstraint reads and checks one placement constraint.
func ParseConstraint(s string) (Constraint, error) {
	if !constraintRE.MatchString(s) {
		return Constraint{}, &RuleError{Field: "placement.constraints", Value: s, Msg: MsgConstraint}
	}
	if rolePrefixRE.MatchString(s) && !roleRE.MatchString(s) {
		return Constraint{}, &RuleError{Field: "placement.constraints", Value: s, Msg: MsgRole}
	}
	op := "=="
	if strings.Contains(s, "!=") {
		op = "!="
	}
	k, v, _ := strings.Cut(s, op)
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	lower := strings.ToLower(k)
	switch {
	case strings.HasPrefix(lower, "node.labels."):
		k = "node.labels." + k[len("node.labels."):]
	case strings.HasPrefix(lower, "engine.labels."):
		k = "engine.labels." + k[len("engine.labels."):]
	default:
		k = lower
	}
	return Constraint{Key: k, Equal: op == "==", Value: v}, nil
}

// SpreadLabel is the label a placement preference ("node.labels.zone") spreads over ("zone").
func SpreadLabel(descriptor string) (string, error) {
	if !spreadRE.MatchString(descriptor) {
		return "", &RuleError{Field: "placement.preferences", Value: descriptor, Msg: MsgSpread}
	}
	_, label, _ := strings.Cut(descriptor, ".labels.")
	return label, nil
}

// PortKey names a published port as docker does: "8000/tcp".
func PortKey(p swarmv1.PortConfig) string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%d/%s", p.Published, proto)
}

// ValidateSpec checks the rules a service spec obeys whatever door it came in by (the CRD's CEL
// rules): which fields each mode allows, constraints, spread preferences, published ports. The
// errors are *RuleError, joined.
func ValidateSpec(s *swarmv1.ServiceSpec) error {
	var errs []error
	add := func(field, value, msg string) {
		errs = append(errs, &RuleError{Field: field, Value: value, Msg: msg})
	}
	if s.Replicas != nil && s.Mode != "" && s.Mode != swarmv1.ModeReplicated && s.Mode != swarmv1.ModeReplicatedJob {
		add("replicas", "", MsgReplicas)
	}
	if s.MaxConcurrent != nil && s.Mode != swarmv1.ModeReplicatedJob {
		add("maxConcurrent", "", MsgConcurrent)
	}
	if s.Mode.IsJob() && (s.UpdateConfig != nil || s.RollbackConfig != nil) {
		add("updateConfig", "", MsgJobUpdate)
	}
	if s.RollbackConfig != nil && s.RollbackConfig.FailureAction == swarmv1.FailureActionRollback {
		add("rollbackConfig.failureAction", "", MsgRollback)
	}
	if p := s.Placement; p != nil {
		if p.MaxReplicasPerNode != nil && s.Mode.IsGlobal() {
			add("placement.maxReplicasPerNode", "", MsgMaxPerNode)
		}
		for _, c := range p.Constraints {
			if _, err := ParseConstraint(c); err != nil {
				errs = append(errs, err)
			}
		}
		for _, pref := range p.Preferences {
			if _, err := SpreadLabel(pref.Spread); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.EndpointMode == "dnsrr" {
		for _, p := range s.Ports {
			if p.Mode != swarmv1.PortModeHost {
				add("endpointMode", "", MsgDNSRR)
				break
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range s.Ports {
		if p.Published == 0 {
			continue
		}
		k := PortKey(p)
		if seen[k] {
			add("ports", k, MsgPublished)
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// RuleErrors are the rule errors inside err (one, or several joined).
func RuleErrors(err error) []*RuleError {
	var out []*RuleError
	var re *RuleError
	if errors.As(err, &re) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				out = append(out, RuleErrors(e)...)
			}
			return out
		}
		return []*RuleError{re}
	}
	return nil
}
