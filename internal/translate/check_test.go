package translate

import (
	"testing"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestCheck: the doors that write a service hear what the operator will say, except what hangs
// on the operator's own flags (the node-port range, --allow-bind-mounts).
func TestCheck(t *testing.T) {
	cases := []struct {
		name      string
		mutate    func(*swarmv1.ServiceSpec)
		wantNotes string
		wantErr   string
	}{
		{name: "a port below the default node-port range is not reported", mutate: func(s *swarmv1.ServiceSpec) {
			s.Ports = []swarmv1.PortConfig{{Target: 80, Published: 8000, Protocol: "tcp"}}
		}},
		{name: "a host path is left to the operator's flag", mutate: func(s *swarmv1.ServiceSpec) {
			s.Mounts = []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/log", Target: "/log"}}
		}},
		{name: "the Docker socket is refused whatever the flag", mutate: func(s *swarmv1.ServiceSpec) {
			s.Mounts = []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
		}, wantErr: "mounts[0]: /var/run/docker.sock: a Kubernetes node has no Docker Engine socket"},
		{name: "notes are Honored's", mutate: func(s *swarmv1.ServiceSpec) { s.Hostname = "db.example.com" },
			wantNotes: `hostname "db.example.com": a Kubernetes hostname is a single DNS label`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			tc.mutate(&svc.Spec)
			notes, err := Check(svc)
			if testutil.Refused(t, err, tc.wantErr) {
				return
			}
			testutil.SaysOnly(t, "notes", notes, tc.wantNotes)
		})
	}
}
