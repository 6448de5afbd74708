package swarmsyntax

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// celRules are the CEL rules (message → rule) of the generated Service CRD.
func celRules(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../config/crd/bases/swarm.kubeswarm.io_services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if rules, ok := v["x-kubernetes-validations"].([]any); ok {
				for _, r := range rules {
					r := r.(map[string]any)
					msg, _ := r["message"].(string)
					out[msg], _ = r["rule"].(string)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}

// TestCRDSaysTheSame: the CRD's CEL rules carry these rules' messages word for word, and the
// patterns that constraints and spread preferences are matched with.
func TestCRDSaysTheSame(t *testing.T) {
	rules := celRules(t)
	cel := func(pattern string) string { return "'" + strings.ReplaceAll(pattern, `\`, `\\`) + "'" }
	for msg, pattern := range map[string]string{
		MsgConstraint: cel(ConstraintPattern),
		MsgRole:       cel(RolePattern),
		MsgSpread:     cel(SpreadPattern),
		MsgReplicas:   "", MsgConcurrent: "", MsgJobUpdate: "", MsgMaxPerNode: "", MsgDNSRR: "", MsgPublished: "", MsgRollback: "",
	} {
		rule, ok := rules[msg]
		if !ok {
			t.Errorf("no CEL rule says %q", msg)
			continue
		}
		if !strings.Contains(rule, pattern) {
			t.Errorf("the CEL rule for %q is %s; want it to match %s", msg, rule, pattern)
		}
	}
}
