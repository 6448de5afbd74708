package translate

import (
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

// TestStandaloneAliasesRule: an alias of a service outside a stack is reported, as it does not
// resolve; a stack's service's is not.
func TestStandaloneAliasesRule(t *testing.T) {
	cases := []struct {
		name      string
		stack     string
		wantNotes []string
	}{
		{name: "outside a stack", wantNotes: []string{"networks[1]: aliases [cache kv] of a service outside a stack do not resolve (kubeswarm names only stacks' networks); reach it by its name web, or deploy it in a stack"}},
		{name: "in a stack", stack: "wp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			if tc.stack != "" {
				svc.Labels = map[string]string{LabelStack: tc.stack}
			}
			svc.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "front"}, {Name: "n1", Aliases: []string{"cache", "kv"}}}
			notes, err := standaloneAliasesRule(svc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}
