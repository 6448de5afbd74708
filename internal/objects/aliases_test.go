package objects

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestAliasServices: a service outside a stack has an ExternalName Service per distinct alias, a
// CNAME to its own name in the cluster's domain, controlled by it and labelled for pruning; a
// stack's service has none (its aliases are its networks' names).
func TestAliasServices(t *testing.T) {
	alias := func(name, target string) *corev1ac.ServiceApplyConfiguration {
		return corev1ac.Service(name, "ns").
			WithLabels(map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelAliasOf: "web"}).
			WithOwnerReferences(OwnerReference(testutil.MakeService("web", "ns").Obj())).
			WithSpec(corev1ac.ServiceSpec().WithType(corev1.ServiceTypeExternalName).WithExternalName(target))
	}
	cases := []struct {
		name     string
		stack    string
		domain   string
		dnsrr    bool
		networks []swarmv1.NetworkAttachment
		want     []*corev1ac.ServiceApplyConfiguration
	}{
		{name: "no aliases", networks: []swarmv1.NetworkAttachment{{Name: "n1"}}},
		{name: "one alias", networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}},
			want: []*corev1ac.ServiceApplyConfiguration{alias("cache", "web.ns.svc.cluster.local")}},
		{name: "dnsrr: the same CNAME, to the headless name", dnsrr: true, networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}},
			want: []*corev1ac.ServiceApplyConfiguration{alias("cache", "web.ns.svc.cluster.local")}},
		{name: "across networks, once each, not its own name", domain: "corp.example",
			networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"kv", "cache", "web"}}, {Name: "n2", Aliases: []string{"cache"}}},
			want:     []*corev1ac.ServiceApplyConfiguration{alias("cache", "web.ns.svc.corp.example"), alias("kv", "web.ns.svc.corp.example")}},
		{name: "in a stack", stack: "wp", networks: []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "ns").Obj()
			if tc.stack != "" {
				svc.Labels = map[string]string{translate.LabelStack: tc.stack}
			}
			if tc.dnsrr {
				svc.Spec.EndpointMode = "dnsrr"
			}
			svc.Spec.Networks = tc.networks
			if diff := cmp.Diff(tc.want, AliasServices(svc, translate.Options{ClusterDomain: tc.domain})); diff != "" {
				t.Errorf("alias Services (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildAliases: Build gives the alias Services beside the service's own, and its pod
// template is the same with aliases on its network as without (a service's tasks are not replaced for them).
func TestBuildAliases(t *testing.T) {
	svc := testutil.MakeService("web", "ns").Obj()
	svc.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1"}}
	plain, err := Build(svc, Inputs{}, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}}
	with, err := Build(svc, Inputs{}, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Aliases) != 1 || *with.Aliases[0].Name != "cache" {
		t.Errorf("aliases %+v, want the Service cache", with.Aliases)
	}
	if plain.TemplateHash != with.TemplateHash {
		t.Errorf("template hash %s with an alias, %s without: the tasks would be replaced", with.TemplateHash, plain.TemplateHash)
	}
}
