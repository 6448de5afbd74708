package objects

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func TestDNSServices(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: "proxy"}}
	var got []string
	for _, s := range DNSServices(st) {
		if *s.Spec.ClusterIP != "None" || s.Spec.Selector != nil || len(s.OwnerReferences) != 1 {
			t.Errorf("%s: want headless, without selector, owned by the stack: %+v", *s.Name, s.Spec)
		}
		got = append(got, *s.Name+" "+s.Labels[stack.LabelNetworkDNS])
	}
	// proxy is external: other stacks' tasks are on it too, so it has no stack-scoped names.
	if diff := cmp.Diff([]string{"wp-common common"}, got); diff != "" {
		t.Errorf("DNS Services (-want +got):\n%s", diff)
	}
	st.Spec.Services[2].Networks = nil
	got = nil
	for _, s := range DNSServices(st) {
		got = append(got, *s.Name)
	}
	if diff := cmp.Diff([]string{"wp-common", "wp-default"}, got); diff != "" {
		t.Errorf("with a service on no network (-want +got):\n%s", diff)
	}
}

func TestDNSEndpointSlices(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*swarmv1.Stack)
		addrs map[string]stack.ServiceAddresses
		want  []string // "<slice> <hostname>=<address>"
	}{{
		name: "a virtual IP answers for the name and its aliases; tasks-<service> holds every task",
		addrs: map[string]stack.ServiceAddresses{
			"wp-wordpress": {VIP: "10.96.0.5", Tasks: []string{"10.0.2.7", "10.0.1.9"}},
			"wp-dbcluster": {Tasks: []string{"10.0.1.4"}},
			"wp-cron":      {Tasks: []string{"10.0.2.2"}},
		},
		want: []string{
			"wp-common-ipv4 blog=10.96.0.5",
			"wp-common-ipv4 dbcluster=10.0.1.4",
			"wp-common-ipv4 tasks-dbcluster=10.0.1.4",
			"wp-common-ipv4 tasks-wordpress=10.0.1.9",
			"wp-common-ipv4 tasks-wordpress=10.0.2.7",
			"wp-common-ipv4 wordpress=10.96.0.5",
			"wp-default-ipv4 cron=10.0.2.2",
			"wp-default-ipv4 tasks-cron=10.0.2.2",
		},
	}, {
		name:  "a service without a virtual IP or a ready task has no name",
		addrs: map[string]stack.ServiceAddresses{"wp-wordpress": {VIP: "10.96.0.5"}},
		want:  []string{"wp-common-ipv4 blog=10.96.0.5", "wp-common-ipv4 wordpress=10.96.0.5"},
	}, {
		name: "names are scoped to networks: cron is not on common",
		edit: func(st *swarmv1.Stack) {
			st.Spec.Services[0].Networks = append(st.Spec.Services[0].Networks, swarmv1.NetworkAttachment{Name: stack.DefaultNetwork, Aliases: []string{"www"}})
		},
		addrs: map[string]stack.ServiceAddresses{"wp-wordpress": {VIP: "10.96.0.5"}, "wp-cron": {VIP: "10.96.0.6"}},
		want: []string{
			"wp-common-ipv4 blog=10.96.0.5", "wp-common-ipv4 wordpress=10.96.0.5",
			"wp-default-ipv4 cron=10.96.0.6", "wp-default-ipv4 wordpress=10.96.0.5", "wp-default-ipv4 www=10.96.0.5",
		},
	}, {
		name: "a service named tasks-<other> keeps its name",
		edit: func(st *swarmv1.Stack) {
			st.Spec.Services[2].Name = "tasks-dbcluster"
			st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: "common"}}
		},
		addrs: map[string]stack.ServiceAddresses{"wp-dbcluster": {Tasks: []string{"10.0.1.4"}}, "wp-tasks-dbcluster": {VIP: "10.96.0.9"}},
		want:  []string{"wp-common-ipv4 dbcluster=10.0.1.4", "wp-common-ipv4 tasks-dbcluster=10.96.0.9"},
	}, {
		name: "on an external network the stack writes its own slices of the network's shared names; the host network has none",
		edit: func(st *swarmv1.Stack) {
			st.Spec.Services[0].Networks = append(st.Spec.Services[0].Networks, swarmv1.NetworkAttachment{Name: "proxy", Aliases: []string{"www"}})
			st.Spec.Networks = append(st.Spec.Networks, swarmv1.StackNetwork{Name: "hostnet", External: true, ExternalName: "host"})
			st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: "hostnet"}}
		},
		addrs: map[string]stack.ServiceAddresses{"wp-wordpress": {VIP: "10.96.0.5", Tasks: []string{"10.0.2.7"}}},
		want: []string{
			"wp-common-ipv4 blog=10.96.0.5", "wp-common-ipv4 tasks-wordpress=10.0.2.7", "wp-common-ipv4 wordpress=10.96.0.5",
			"proxy-wp-ipv4 tasks-wordpress=10.0.2.7", "proxy-wp-ipv4 wordpress=10.96.0.5", "proxy-wp-ipv4 www=10.96.0.5",
		},
	}, {
		name:  "IPv6 addresses go to their own slice",
		addrs: map[string]stack.ServiceAddresses{"wp-wordpress": {VIP: "fd00::5"}, "wp-cron": {VIP: "10.96.0.6"}},
		want:  []string{"wp-common-ipv6 blog=fd00::5", "wp-common-ipv6 wordpress=fd00::5", "wp-default-ipv4 cron=10.96.0.6"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testutil.SeedStack()
			if tt.edit != nil {
				tt.edit(st)
			}
			var got []string
			for _, es := range DNSEndpointSlices(st, tt.addrs) {
				if es.Labels[discoveryv1.LabelManagedBy] != stack.DNSSliceManager || es.Labels[discoveryv1.LabelServiceName] == "" {
					t.Errorf("%s: labels %v", *es.Name, es.Labels)
				}
				for _, ep := range es.Endpoints {
					got = append(got, fmt.Sprintf("%s %s=%s", *es.Name, *ep.Hostname, strings.Join(ep.Addresses, ",")))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSharedDNSService(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Services[0].Networks = append(st.Spec.Services[0].Networks, swarmv1.NetworkAttachment{Name: "proxy"})
	if diff := cmp.Diff([]string{"proxy"}, stack.SharedNetworks(st)); diff != "" {
		t.Fatalf("shared networks (-want +got):\n%s", diff)
	}
	svc := SharedDNSService(st, "proxy")
	got := []any{svc.Name, svc.Namespace, svc.Labels, svc.Spec.ClusterIP, svc.Spec.Selector, svc.OwnerReferences}
	want := []any{"proxy", "ns", map[string]string{"app.kubernetes.io/managed-by": "kubeswarm", stack.LabelSharedNetworkDNS: "proxy"}, "None", map[string]string(nil),
		[]metav1.OwnerReference{{APIVersion: swarmv1.GroupVersion.String(), Kind: "Stack", Name: "wp", UID: "uid-wp"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the shared DNS Service: an owner, not a controller (-want +got):\n%s", diff)
	}
}

func TestDNSEndpointSlicesSplit(t *testing.T) {
	st := testutil.SeedStack()
	var tasks []string
	for i := range 1500 {
		tasks = append(tasks, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	slices := DNSEndpointSlices(st, map[string]stack.ServiceAddresses{"wp-dbcluster": {Tasks: tasks}})
	var got []string
	for _, es := range slices {
		got = append(got, fmt.Sprintf("%s:%d", *es.Name, len(es.Endpoints)))
	}
	// dbcluster and tasks-dbcluster: 3000 endpoints.
	if diff := cmp.Diff([]string{"wp-common-ipv4:1000", "wp-common-ipv4-2:1000", "wp-common-ipv4-3:1000"}, got); diff != "" {
		t.Errorf("slices (-want +got):\n%s", diff)
	}
}

func TestNFSVolumeIsNotClaimed(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Volumes[0].DriverOptions = map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/exports/mysql"}
	for _, c := range Claims(st, nil) {
		if *c.Name == "wp-mysql-vol" {
			t.Errorf("an NFS volume got a claim: %s", *c.Name)
		}
	}
}
