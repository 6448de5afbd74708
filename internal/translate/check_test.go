package translate

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestCheck: the doors that write a service hear what the operator will say, except what hangs
// on the operator's own flags (the node-port range, --allow-bind-mounts, --allow-host-network).
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
		{name: "the host network is left to the operator's flag", mutate: func(s *swarmv1.ServiceSpec) {
			s.Networks = []swarmv1.NetworkAttachment{{Name: "host"}}
		}},
		{name: "the host network with an ingress port is refused whatever the flag", mutate: func(s *swarmv1.ServiceSpec) {
			s.Networks = []swarmv1.NetworkAttachment{{Name: "host"}}
			s.Ports = []swarmv1.PortConfig{{Target: 80, Published: 8000, Protocol: "tcp"}}
		}, wantErr: "ports[0]: published port 8000 is in ingress mode"},
		{name: "the Docker socket is refused whatever the flag", mutate: func(s *swarmv1.ServiceSpec) {
			s.Mounts = []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}
		}, wantErr: "mounts[0]: /var/run/docker.sock: a Kubernetes node has no Docker Engine socket"},
		{name: "notes are Honored's", mutate: func(s *swarmv1.ServiceSpec) { s.Hostname = "db.example.com" },
			wantNotes: `hostname "db.example.com": a Kubernetes hostname is a single DNS label`},
		{name: "a label key no annotation can have is kept and reported", mutate: func(s *swarmv1.ServiceSpec) {
			s.Labels = map[string]string{"traefik.http.middlewares.client.headers.customresponseheaders.Cache-control": "no-store"}
		}, wantNotes: `labels: "traefik.http.middlewares.client.headers.customresponseheaders.Cache-control" is kept in the service's spec but not copied to the annotations of the service's Kubernetes objects: not a Kubernetes annotation key (name part must be no more than 63 bytes)`},
		{name: "a route host that is no DNS name is refused, naming the label", mutate: func(s *swarmv1.ServiceSpec) {
			s.Labels = map[string]string{"traefik.http.routers.web.rule": "Host(`my_app.example.com`)", "traefik.http.services.web.loadbalancer.server.port": "80"}
		}, wantErr: `label traefik.http.routers.web.rule: host "my_app.example.com" is not a DNS name`},
		{name: "a restart delay is the kubelet's back-off", mutate: func(s *swarmv1.ServiceSpec) {
			s.RestartPolicy = &swarmv1.RestartPolicy{Delay: &metav1.Duration{Duration: 3 * time.Second}}
		}, wantNotes: "restartPolicy.delay=3s: a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay"},
		{name: "a job's restart delay too", mutate: func(s *swarmv1.ServiceSpec) {
			s.Mode = swarmv1.ModeReplicatedJob
			s.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure, Delay: &metav1.Duration{Duration: time.Minute}}
		}, wantNotes: "restartPolicy.delay=1m0s: a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay"},
		{name: "no delay is waited where nothing restarts", mutate: func(s *swarmv1.ServiceSpec) {
			s.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartNone, Delay: &metav1.Duration{Duration: 3 * time.Second}}
		}},
		{name: "the default delay is not the user's", mutate: func(s *swarmv1.ServiceSpec) {
			s.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure}
		}},
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
