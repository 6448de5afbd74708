package stack

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func TestKeepDropped(t *testing.T) {
	names := func(spec swarmv1.StackSpec) []string {
		var out []string
		for _, s := range spec.Services {
			out = append(out, "service "+s.Name)
		}
		for _, n := range spec.Networks {
			out = append(out, "network "+n.Name)
		}
		for _, v := range spec.Volumes {
			out = append(out, "volume "+v.Name)
		}
		for _, s := range spec.Secrets {
			out = append(out, "secret "+s.Name)
		}
		return out
	}
	tests := []struct {
		name     string
		next     swarmv1.StackSpec
		wantKept []string
		want     []string
	}{{
		name:     "a service dropped from the file stays, with what it uses",
		next:     swarmv1.StackSpec{Services: []swarmv1.StackService{{Name: "wordpress"}}},
		wantKept: []string{"dbcluster", "cron"},
		want: []string{"service wordpress", "service dbcluster", "service cron", "network common",
			"volume mysql_vol", "secret db_pass", "secret vault_key"},
	}, {
		name: "the file's own declarations win",
		next: swarmv1.StackSpec{Services: []swarmv1.StackService{{Name: "wordpress"}, {Name: "cron"}},
			Networks: []swarmv1.StackNetwork{{Name: "common", Labels: map[string]string{"new": "1"}}}},
		wantKept: []string{"dbcluster"},
		want: []string{"service wordpress", "service cron", "service dbcluster", "network common",
			"volume mysql_vol", "secret db_pass", "secret vault_key"},
	}, {
		name: "nothing dropped, nothing kept",
		next: testutil.SeedStack().Spec,
		want: names(testutil.SeedStack().Spec),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.next
			kept := KeepDropped(testutil.SeedStack(), &next)
			if diff := cmp.Diff(tt.wantKept, kept); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, names(next)); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if tt.name == "the file's own declarations win" && next.Networks[0].Labels["new"] != "1" {
				t.Errorf("network common was replaced by the deployed one: %+v", next.Networks[0])
			}
		})
	}
}
