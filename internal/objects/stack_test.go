package objects

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

func TestNetworkPolicies(t *testing.T) {
	st := testutil.SeedStack()
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

// TestClaims: every claim of a stack volume is labelled with the stack and the volume, and owned
// by nobody (deleting the Stack keeps the data, as docker stack rm keeps volumes), with or
// without the deprecated retain; external volumes get none.
func TestClaims(t *testing.T) {
	size := resource.MustParse("20Gi")
	claim := func(name, volume, quantity string, class *string) *corev1ac.PersistentVolumeClaimApplyConfiguration {
		spec := corev1ac.PersistentVolumeClaimSpec().WithAccessModes(corev1.ReadWriteOnce).
			WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(quantity)}))
		if class != nil {
			spec.WithStorageClassName(*class)
		}
		return corev1ac.PersistentVolumeClaim(name, "ns").WithSpec(spec).WithLabels(map[string]string{
			"swarm.kubeswarm.io/stack": "wp", "app.kubernetes.io/managed-by": "kubeswarm", "swarm.kubeswarm.io/volume": volume})
	}
	for _, tc := range []struct {
		name    string
		volumes []swarmv1.StackVolume
		mountBy string // a second service that mounts mysql_vol
		claims  translate.Claims
		want    []*corev1ac.PersistentVolumeClaimApplyConfiguration
	}{
		{
			// An earlier kubeswarm shared it: the claim holding the database stays, applied.
			name:    "the seed's volume whose claim exists stays that claim",
			volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}},
			claims:  translate.Claims{"wp-mysql-vol": ""},
			want:    []*corev1ac.PersistentVolumeClaimApplyConfiguration{claim("wp-mysql-vol", "mysql_vol", "1Gi", nil)},
		},
		{
			// Its slots' claims exist: a claim made later under the volume's name changes nothing.
			name:    "the seed's volume whose slots hold claims stays per slot",
			volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}},
			claims:  translate.Claims{"wp-mysql-vol": "", "wp-mysql-vol-wp-dbcluster-1": "wp-dbcluster"},
		},
		{
			name:    "another service's slot claims change nothing",
			volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}},
			claims:  translate.Claims{"wp-mysql-vol": "", "wp-mysql-vol-wp-other-1": "wp-other", "wp-other": ""},
			want:    []*corev1ac.PersistentVolumeClaimApplyConfiguration{claim("wp-mysql-vol", "mysql_vol", "1Gi", nil)},
		},
		{
			// Mounted by one replicated service (dbcluster): each task holds its own claim,
			// its StatefulSet's (stack.PerSlotVolume).
			name:    "the seed's volume is per slot",
			volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}},
		},
		{
			name:    "a volume two services mount is shared",
			volumes: []swarmv1.StackVolume{{Name: "mysql_vol"}},
			mountBy: "wordpress",
			want:    []*corev1ac.PersistentVolumeClaimApplyConfiguration{claim("wp-mysql-vol", "mysql_vol", "1Gi", nil)},
		},
		{
			name:    "size and class",
			volumes: []swarmv1.StackVolume{{Name: "data", Size: &size, StorageClassName: ptr.To("fast-ssd")}},
			want:    []*corev1ac.PersistentVolumeClaimApplyConfiguration{claim("wp-data", "data", "20Gi", ptr.To("fast-ssd"))},
		},
		{
			name:    "the deprecated retain changes nothing",
			volumes: []swarmv1.StackVolume{{Name: "keep", Retain: true}, {Name: "other", Retain: false}},
			want: []*corev1ac.PersistentVolumeClaimApplyConfiguration{
				claim("wp-keep", "keep", "1Gi", nil), claim("wp-other", "other", "1Gi", nil)},
		},
		{
			name:    "external volumes are the user's",
			volumes: []swarmv1.StackVolume{{Name: "old", External: true, ExternalName: "legacy-data"}, {Name: "plain", External: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testutil.SeedStack()
			st.Spec.Volumes = tc.volumes
			for i := range st.Spec.Services {
				if s := &st.Spec.Services[i]; s.Name == tc.mountBy {
					s.Mounts = append(s.Mounts, swarmv1.Mount{Type: swarmv1.MountVolume, Source: "mysql_vol", Target: "/shared"})
				}
			}
			if diff := cmp.Diff(tc.want, Claims(st, tc.claims)); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExternalNetworkByName: an external network is known by its name on every stack that uses
// it, for the tasks' label and the policies' selectors alike.
func TestExternalNetworkByName(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Networks[1].ExternalName = "traefik-public"
	st.Spec.Services[0].Networks = append(st.Spec.Services[0].Networks, swarmv1.NetworkAttachment{Name: "proxy"})
	web := stack.Child(st, st.Spec.Services[0])
	if got := web.Spec.Networks[1].Name; got != "traefik-public" {
		t.Errorf("the service is on network %q, want the external name traefik-public", got)
	}
	for _, p := range NetworkPolicies(st) {
		if *p.Name != "wp-net-proxy" {
			continue
		}
		want := map[string]string{"network.swarm.kubeswarm.io/traefik-public": "true", "swarm.kubeswarm.io/stack": "wp"}
		if diff := cmp.Diff(want, p.Spec.PodSelector.MatchLabels); diff != "" {
			t.Errorf("proxy selects (-want +got):\n%s", diff)
		}
		if got := p.Spec.Ingress[0].From[0].PodSelector.MatchLabels; !cmp.Equal(got, map[string]string{"network.swarm.kubeswarm.io/traefik-public": "true"}) {
			t.Errorf("proxy admits %v", got)
		}
		return
	}
	t.Errorf("no policy wp-net-proxy")
}

// TestInternalNetworks: a service whose every network is internal can reach only its networks'
// tasks and the cluster's DNS; any other network, or an ingress-published port (Swarm's
// ingress network), is a way out, as in moby's needDefaultGW.
func TestInternalNetworks(t *testing.T) {
	dns := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
	}
	udp, tcp, port53 := corev1.ProtocolUDP, corev1.ProtocolTCP, intstr.FromInt32(53)
	members := func(nets ...string) []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for _, n := range nets {
			out = append(out, networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"network.swarm.kubeswarm.io/" + n: "true"}}})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		networks []swarmv1.NetworkAttachment
		ports    []swarmv1.PortConfig
		want     []networkingv1.NetworkPolicyPeer // nil: no egress policy
	}{
		{name: "internal only", networks: []swarmv1.NetworkAttachment{{Name: "back"}}, want: members("wp-back")},
		{name: "two internal networks", networks: []swarmv1.NetworkAttachment{{Name: "back"}, {Name: "vault"}}, want: members("wp-back", "wp-vault")},
		{name: "host-mode port", networks: []swarmv1.NetworkAttachment{{Name: "back"}},
			ports: []swarmv1.PortConfig{{Published: 9100, Target: 9100, Mode: swarmv1.PortModeHost}}, want: members("wp-back")},
		{name: "also on a network with a way out", networks: []swarmv1.NetworkAttachment{{Name: "back"}, {Name: "common"}}},
		{name: "also on an external network", networks: []swarmv1.NetworkAttachment{{Name: "back"}, {Name: "proxy"}}},
		{name: "ingress-published port", networks: []swarmv1.NetworkAttachment{{Name: "back"}}, ports: []swarmv1.PortConfig{{Published: 8080, Target: 80}}},
		{name: "the default network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testutil.SeedStack()
			st.Spec.Networks = append(st.Spec.Networks, swarmv1.StackNetwork{Name: "back", Internal: true}, swarmv1.StackNetwork{Name: "vault", Internal: true})
			st.Spec.Services = []swarmv1.StackService{{Name: "db", ServiceSpec: swarmv1.ServiceSpec{Image: "mysql", Networks: tc.networks, Ports: tc.ports}}}
			var egress *networkingv1.NetworkPolicy
			for _, ac := range NetworkPolicies(st) {
				p := &networkingv1.NetworkPolicy{}
				data, _ := json.Marshal(ac)
				if err := json.Unmarshal(data, p); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
					egress = p
				}
			}
			if tc.want == nil {
				if egress != nil {
					t.Errorf("egress policy %s, want none: the tasks have a way out", egress.Name)
				}
				return
			}
			if egress == nil {
				t.Fatalf("no egress policy")
			}
			want := networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"swarm.kubeswarm.io/service": "wp-db"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{To: tc.want},
					{To: []networkingv1.NetworkPolicyPeer{dns}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port53}, {Protocol: &tcp, Port: &port53}}},
				},
			}
			if diff := cmp.Diff(want, egress.Spec); diff != "" {
				t.Errorf("%s (-want +got):\n%s", egress.Name, diff)
			}
			if egress.Name != "wp-db-internal" {
				t.Errorf("name %s", egress.Name)
			}
		})
	}
}
