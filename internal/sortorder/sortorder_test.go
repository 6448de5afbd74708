package sortorder

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"worker2", "worker10", -1}, {"worker10", "worker2", 1}, {"worker02", "worker2", 0}, {"a", "b", -1},
		{"manager1", "manager1", 0}, {"node", "node1", -1},
	}
	for _, tc := range cases {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSort(t *testing.T) {
	got := []string{"web10", "web2", "db", "web02", "web1"}
	Sort(got, func(s string) string { return s })
	if diff := cmp.Diff([]string{"db", "web1", "web2", "web02", "web10"}, got); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
}
