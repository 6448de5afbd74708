package translate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestTaskNamesRule: docker's tasks.<service> is reported with the name that resolves.
func TestTaskNamesRule(t *testing.T) {
	cases := []struct {
		name      string
		spec      swarmv1.ServiceSpec
		wantNotes []string
	}{
		{name: "in the environment and the command, once each",
			spec: swarmv1.ServiceSpec{Env: []swarmv1.EnvVar{{Name: "PEERS", Value: "tasks.db:5432"}, {Name: "AGAIN", Value: "http://tasks.db/"}},
				Command: []string{"--join=tasks.etcd"}},
			wantNotes: []string{
				`env PEERS: "tasks.db" does not resolve on Kubernetes (no DNS domain serves a dot before a service's name); every task of db is "tasks-db"`,
				`command: "tasks.etcd" does not resolve on Kubernetes (no DNS domain serves a dot before a service's name); every task of etcd is "tasks-etcd"`,
			}},
		{name: "a domain under tasks. or a word ending in tasks is none",
			spec: swarmv1.ServiceSpec{Env: []swarmv1.EnvVar{{Name: "URL", Value: "https://tasks.example.com/"}, {Name: "Q", Value: "mytasks.db"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Env, svc.Spec.Command = tc.spec.Env, tc.spec.Command
			notes, err := taskNamesRule(svc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStandaloneAliasesRule: an alias of a service outside a stack that is no DNS label is
// refused, naming the field; the others are reported as resolving namespace-wide; a stack's
// service's are neither.
func TestStandaloneAliasesRule(t *testing.T) {
	cases := []struct {
		name      string
		stack     string
		aliases   []string
		wantNotes []string
		wantErr   string
	}{
		{name: "outside a stack", aliases: []string{"cache", "kv"},
			wantNotes: []string{"networks[1]: aliases [cache kv] resolve in the whole namespace, not only on network n1 (a Kubernetes Service each, outside a stack)"}},
		{name: "in a stack", stack: "wp", aliases: []string{"cache", "my.cache"}},
		{name: "a dot", aliases: []string{"cache", "my.cache"}, wantErr: `networks[1].aliases[1]: "my.cache" cannot name the service in DNS`},
		{name: "upper case", aliases: []string{"Cache"}, wantErr: `networks[1].aliases[0]: "Cache" cannot name the service in DNS`},
		{name: "a digit first", aliases: []string{"1cache"}, wantErr: `networks[1].aliases[0]: "1cache"`},
		{name: "too long", aliases: []string{strings.Repeat("a", 64)}, wantErr: "at most 63 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			if tc.stack != "" {
				svc.Labels = map[string]string{LabelStack: tc.stack}
			}
			svc.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "front"}, {Name: "n1", Aliases: tc.aliases}}
			notes, err := standaloneAliasesRule(svc, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStandaloneAliases: the distinct aliases of a service outside a stack, sorted, without its
// own name; none for a stack's service.
func TestStandaloneAliases(t *testing.T) {
	cases := []struct {
		name     string
		stack    string
		networks []swarmv1.NetworkAttachment
		want     []string
	}{
		{name: "none", networks: []swarmv1.NetworkAttachment{{Name: "n1"}}},
		{name: "across networks", networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"kv", "cache"}}, {Name: "n2", Aliases: []string{"cache", "web", "db"}}},
			want: []string{"cache", "db", "kv"}},
		{name: "in a stack", stack: "wp", networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			if tc.stack != "" {
				svc.Labels = map[string]string{LabelStack: tc.stack}
			}
			svc.Spec.Networks = tc.networks
			if diff := cmp.Diff(tc.want, StandaloneAliases(svc)); diff != "" {
				t.Errorf("aliases (-want +got):\n%s", diff)
			}
		})
	}
}
