package stack

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func seed() *swarmv1.Stack {
	return &swarmv1.Stack{
		ObjectMeta: metav1.ObjectMeta{Name: "wp", Namespace: "ns", UID: "uid-wp", Generation: 3},
		Spec: swarmv1.StackSpec{
			Services: []swarmv1.StackService{
				{Name: "wordpress", ServiceSpec: swarmv1.ServiceSpec{Image: "wordpress", Replicas: ptr.To[int32](2),
					Ports:    []swarmv1.PortConfig{{Published: 8080, Target: 80, Protocol: "tcp"}},
					Networks: []swarmv1.NetworkAttachment{{Name: "common", Aliases: []string{"blog"}}}}},
				{Name: "dbcluster", ServiceSpec: swarmv1.ServiceSpec{Image: "mysql:5.7",
					Networks: []swarmv1.NetworkAttachment{{Name: "common"}},
					Mounts:   []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "mysql_vol", Target: "/var/lib/mysql"}},
					Secrets:  []swarmv1.FileReference{{Source: "db_pass"}, {Source: "vault_key", Target: "key"}}}},
				{Name: "cron", ServiceSpec: swarmv1.ServiceSpec{Image: "busybox"}},
			},
			Networks: []swarmv1.StackNetwork{{Name: "common"}, {Name: "proxy", External: true}},
			Volumes:  []swarmv1.StackVolume{{Name: "mysql_vol"}, {Name: "keep", Retain: true}, {Name: "old", External: true, ExternalName: "legacy-data"}},
			Secrets:  []swarmv1.StackObject{{Name: "db_pass"}, {Name: "vault_key", External: true, ExternalName: "vault"}},
		},
	}
}

func TestChild(t *testing.T) {
	st := seed()
	db := Child(st, st.Spec.Services[1])
	if db.Name != "wp-dbcluster" || db.Namespace != "ns" || db.Labels["swarm.kubeswarm.io/stack"] != "wp" || db.Annotations[AnnotationStackGeneration] != "3" {
		t.Errorf("meta: %+v", db.ObjectMeta)
	}
	if len(db.OwnerReferences) != 1 || db.OwnerReferences[0].Kind != "Stack" || !ptr.Deref(db.OwnerReferences[0].Controller, false) {
		t.Errorf("owner: %+v", db.OwnerReferences)
	}
	want := swarmv1.ServiceSpec{Image: "mysql:5.7",
		Labels:   map[string]string{LabelDockerStackNamespace: "wp", LabelDockerStackImage: "mysql:5.7"},
		Networks: []swarmv1.NetworkAttachment{{Name: "wp-common"}},
		Mounts:   []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "wp-mysql-vol", Target: "/var/lib/mysql"}},
		Secrets:  []swarmv1.FileReference{{Source: "wp-db-pass", Target: "db_pass"}, {Source: "vault", Target: "key"}}}
	if diff := cmp.Diff(want, db.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if cron := Child(st, st.Spec.Services[2]); len(cron.Spec.Networks) != 1 || cron.Spec.Networks[0].Name != "wp-default" {
		t.Errorf("a service on no network is on the stack's default network: %+v", cron.Spec.Networks)
	}
	if st.Spec.Services[1].Mounts[0].Source != "mysql_vol" {
		t.Errorf("Child changed the Stack's own spec")
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(seed()); err != nil {
		t.Fatalf("the seed is valid: %v", err)
	}
	st := seed()
	st.Spec.Services[0].Networks = []swarmv1.NetworkAttachment{{Name: "backend"}}
	st.Spec.Services[1].Configs = []swarmv1.FileReference{{Source: "site"}}
	st.Name = strings.Repeat("s", 60)
	err := Validate(st)
	for _, want := range []string{"service wordpress: networks: network backend is not declared", "service dbcluster: configs: config site is not declared",
		"service wordpress: its Service name " + st.Name + "-wordpress must be a DNS label"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to say %q", err, want)
		}
	}
}

func TestShortNames(t *testing.T) {
	var got []string
	for _, s := range ShortNames(seed(), "cluster.local") {
		got = append(got, *s.Name+"->"+*s.Spec.ExternalName)
		if *s.Spec.Type != corev1.ServiceTypeExternalName || s.Labels[LabelShortNameOf] == "" {
			t.Errorf("%s: type %s labels %v", *s.Name, *s.Spec.Type, s.Labels)
		}
	}
	want := []string{"wordpress->wp-wordpress.ns.svc.cluster.local", "blog->wp-wordpress.ns.svc.cluster.local",
		"dbcluster->wp-dbcluster.ns.svc.cluster.local", "cron->wp-cron.ns.svc.cluster.local"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("short names (-want +got):\n%s", diff)
	}
}

func TestNetworkPolicies(t *testing.T) {
	st := seed()
	st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: "proxy"}}
	byName := map[string]int{}
	policies := NetworkPolicies(st)
	for i, p := range policies {
		byName[*p.Name] = i
	}
	if len(policies) != 3 {
		t.Fatalf("%d policies %v, want common, proxy and wordpress's published ports", len(policies), byName)
	}
	common := policies[byName["wp-net-common"]]
	member := map[string]string{"network.swarm.kubeswarm.io/wp-common": "true"}
	if diff := cmp.Diff(member, common.Spec.PodSelector.MatchLabels); diff != "" {
		t.Errorf("common selects (-want +got):\n%s", diff)
	}
	if from := common.Spec.Ingress[0].From[0]; from.NamespaceSelector != nil || !cmp.Equal(member, from.PodSelector.MatchLabels) {
		t.Errorf("common admits %+v, want its own members of this namespace", from)
	}
	proxy := policies[byName["wp-net-proxy"]]
	if sel := proxy.Spec.PodSelector.MatchLabels; sel["network.swarm.kubeswarm.io/proxy"] != "true" || sel["swarm.kubeswarm.io/stack"] != "wp" {
		t.Errorf("the external network's policy selects %v, want this stack's members of proxy", sel)
	}
	if proxy.Spec.Ingress[0].From[0].NamespaceSelector == nil {
		t.Errorf("an external network admits its members from every namespace")
	}
	pub := policies[byName["wp-wordpress-published"]]
	if p := pub.Spec.Ingress[0]; len(p.From) != 0 || len(p.Ports) != 1 || p.Ports[0].Port.IntVal != 80 || *p.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("published rule %+v, want port 80/TCP from anywhere", p)
	}
	if pub.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("policy types %v", pub.Spec.PolicyTypes)
	}
}

func TestClaims(t *testing.T) {
	claims := Claims(seed())
	if len(claims) != 2 {
		t.Fatalf("%d claims, want mysql_vol and keep (external ones are the user's)", len(claims))
	}
	if *claims[0].Name != "wp-mysql-vol" || len(claims[0].OwnerReferences) != 1 {
		t.Errorf("mysql_vol: %s owners %v, want wp-mysql-vol owned by the stack", *claims[0].Name, claims[0].OwnerReferences)
	}
	if *claims[1].Name != "wp-keep" || claims[1].OwnerReferences != nil {
		t.Errorf("keep: %s owners %v, want no owner (retain)", *claims[1].Name, claims[1].OwnerReferences)
	}
	if got := (*claims[0].Spec.Resources.Requests)[corev1.ResourceStorage]; got.String() != "1Gi" {
		t.Errorf("default size %s", got.String())
	}
	if got := ClaimName(seed(), "old"); got != "legacy-data" {
		t.Errorf("external volume claim %q, want its externalName", got)
	}
}
