package stack

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func TestNetworkDNSNames(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*swarmv1.Stack)
		wantDNS     map[string]string // network -> DNS Service
		annotations map[string]string // service -> AnnotationNetworkDNS
		wantErr     string
	}{{
		name:    "no service has a network's name: the DNS Service is the network's Kubernetes name",
		edit:    func(*swarmv1.Stack) {},
		wantDNS: map[string]string{"common": "wp-common", "default": "wp-default"},
	}, {
		name: "service common on network common: the network's DNS Service gives way, and its services are told",
		edit: func(st *swarmv1.Stack) {
			st.Spec.Services[2].Name = "common"
			st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: "common"}}
		},
		wantDNS:     map[string]string{"common": "wp-common-net"},
		annotations: map[string]string{"wordpress": "wp-common=wp-common-net", "dbcluster": "wp-common=wp-common-net", "common": "wp-common=wp-common-net"},
	}, {
		name:        "a service on the default network named default",
		edit:        func(st *swarmv1.Stack) { st.Spec.Services[2].Name = "default" },
		wantDNS:     map[string]string{"common": "wp-common", "default": "wp-default-net"},
		annotations: map[string]string{"default": "wp-default=wp-default-net"},
	}, {
		name: "a service also has the name given way to: refused",
		edit: func(st *swarmv1.Stack) {
			st.Spec.Services[2].Name = "common"
			st.Spec.Services = append(st.Spec.Services, swarmv1.StackService{Name: "common-net", ServiceSpec: swarmv1.ServiceSpec{Image: "busybox"}})
		},
		wantDNS:     map[string]string{"common": "wp-common-net", "default": "wp-default"},
		annotations: map[string]string{"wordpress": "wp-common=wp-common-net", "dbcluster": "wp-common=wp-common-net"},
		wantErr:     "service common-net: its Service name wp-common-net is also the DNS name of network common; rename the service or the network",
	}, {
		name: "a network whose DNS name is too long: refused",
		edit: func(st *swarmv1.Stack) {
			long := strings.Repeat("n", 58)
			st.Spec.Networks = append(st.Spec.Networks, swarmv1.StackNetwork{Name: long})
			st.Spec.Services[2].Networks = []swarmv1.NetworkAttachment{{Name: long}}
			st.Spec.Services[2].Name = long
		},
		wantDNS:     map[string]string{"common": "wp-common", strings.Repeat("n", 58): "wp-" + strings.Repeat("n", 58) + "-net"},
		annotations: map[string]string{strings.Repeat("n", 58): "wp-" + strings.Repeat("n", 58) + "=wp-" + strings.Repeat("n", 58) + "-net"},
		wantErr:     "network " + strings.Repeat("n", 58) + ": its DNS Service name wp-" + strings.Repeat("n", 58) + "-net must be a DNS label of at most 63 characters",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testutil.SeedStack()
			tt.edit(st)
			got := map[string]string{}
			for _, n := range DNSNetworks(st) {
				got[n] = DNSName(st, n)
			}
			if diff := cmp.Diff(tt.wantDNS, got); diff != "" {
				t.Errorf("DNS names (-want +got):\n%s", diff)
			}
			err := Validate(st)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tt.wantErr)
			}
			annotations := map[string]string{}
			for _, s := range st.Spec.Services {
				if a, ok := Child(st, s).Annotations[AnnotationNetworkDNS]; ok {
					annotations[s.Name] = a
					if g := Child(st, s).Annotations[AnnotationStackGeneration]; g != "3" {
						t.Errorf("%s: stack generation %q beside the network's DNS name, want 3", s.Name, g)
					}
				}
			}
			if diff := cmp.Diff(tt.annotations, annotations, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("children's %s (-want +got):\n%s", AnnotationNetworkDNS, diff)
			}
		})
	}
}

func TestNFSVolumeIsMounted(t *testing.T) {
	st := testutil.SeedStack()
	st.Spec.Volumes[0].DriverOptions = map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/exports/mysql"}
	db := Child(st, st.Spec.Services[1])
	m := db.Spec.Mounts[0]
	if m.Volume == nil || m.Volume.DriverOptions["device"] != ":/exports/mysql" || m.Source != "wp-mysql-vol" {
		t.Errorf("dbcluster's mount %+v, want the volume's driver options on it (as docker's convert does)", m)
	}
}
