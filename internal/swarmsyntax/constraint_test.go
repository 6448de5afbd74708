package swarmsyntax

import "testing"

// TestConstraintCase: keys compare case-insensitively, a label's name keeps its case, values
// compare case-insensitively (swarmkit manager/constraint/constraint.go: NodeMatches uses
// strings.EqualFold on the keys and looks labels up as written; Match uses strings.EqualFold).
func TestConstraintCase(t *testing.T) {
	for _, tc := range []struct {
		in, key, label string
		equal          bool
		matches        map[string]bool
	}{
		{in: "NODE.LABELS.Zone == East", key: "node.labels.Zone", label: "Zone", equal: true,
			matches: map[string]bool{"east": true, "EAST": true, "East": true, "west": false, "": false}},
		{in: "Engine.Labels.disk!=SSD", key: "engine.labels.disk", label: "disk",
			matches: map[string]bool{"ssd": true, "Ssd": true, "hdd": false}},
		{in: "Node.Role==Manager", key: "node.role", equal: true, matches: map[string]bool{"manager": true, "worker": false}},
		{in: "node.HOSTNAME==Manager1", key: "node.hostname", equal: true, matches: map[string]bool{"manager1": true, "MANAGER1": true}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := ParseConstraint(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Key != tc.key || c.NodeLabel() != tc.label || c.Equal != tc.equal {
				t.Errorf("ParseConstraint = key %q label %q equal %v, want %q %q %v", c.Key, c.NodeLabel(), c.Equal, tc.key, tc.label, tc.equal)
			}
			for v, want := range tc.matches {
				if got := c.Matches(v); got != want {
					t.Errorf("Matches(%q) = %v, want %v", v, got, want)
				}
			}
		})
	}
}
