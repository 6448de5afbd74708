package objects

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// buildOrRefused builds svc; when wantErr is set it expects a refusal saying it, and returns nil.
func buildOrRefused(t *testing.T, svc *swarmv1.Service, wantErr string) *Objects {
	t.Helper()
	got, err := Build(svc, Inputs{}, wide)
	if testutil.Refused(t, err, wantErr) {
		return nil
	}
	return got
}

// TestHostname: what Kubernetes can only approximate of Swarm's hostnames is approximated and
// named in the notes; what can never be a pod's hostname is refused.
func TestHostname(t *testing.T) {
	cases := []struct {
		name     string
		hostname string
		want     string // the pod's hostname; "" leaves the pod's name
		wantNote string
		wantErr  string
	}{
		{name: "plain", hostname: "web-host", want: "web-host"},
		{name: "service template", hostname: "{{.Service.Name}}-host", want: "web-host"},
		// The slot's pod is named so (a StatefulSet's web-1): honoured exactly.
		{name: "service and slot template", hostname: "{{.Service.Name}}-{{.Task.Slot}}"},
		{name: "slot template", hostname: "db-{{ .Task.Slot }}", wantNote: `hostname "db-{{ .Task.Slot }}": each task's hostname is its own task's name`},
		{name: "node template", hostname: "{{.Node.Hostname}}", wantNote: "each task's hostname is its own task's name"},
		{name: "fqdn", hostname: "db.example.com", want: "db", wantNote: `the tasks' hostname is "db", without the domain example.com`},
		{name: "not a DNS label", hostname: "db_1", wantErr: `hostname "db_1": a lowercase RFC 1123 label`},
		{name: "fqdn whose first label is not one", hostname: "Db.example.com", wantErr: `hostname "Db.example.com"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Hostname = tc.hostname
			got := buildOrRefused(t, svc, tc.wantErr)
			if got == nil {
				return
			}
			if h := ptr.Deref(podSpec(got).Hostname, ""); h != tc.want {
				t.Errorf("hostname %q, want %q", h, tc.want)
			}
			// A per-slot service's node failure note is TestSlotsRule's.
			notes := slices.DeleteFunc(slices.Clone(got.Notes), func(n string) bool { return strings.HasPrefix(n, "node failure:") })
			testutil.SaysOnly(t, "notes", notes, tc.wantNote)
		})
	}
}

// TestSysctls: the kubelet's rule. Safe sysctls pass quietly, namespaced ones are applied and
// reported (only kubelets with --allowed-unsafe-sysctls admit them), ones not known to be
// namespaced are refused: no kubelet would ever run the task.
func TestSysctls(t *testing.T) {
	cases := []struct {
		name     string
		sysctls  map[string]string
		wantNote string
		wantErr  string
	}{
		{name: "safe", sysctls: map[string]string{"net.ipv4.tcp_syncookies": "0", "net.ipv4.ip_local_port_range": "1024 65000"}},
		{name: "safe with slashes", sysctls: map[string]string{"net/ipv4/tcp_keepalive_time": "60"}},
		{name: "namespaced", sysctls: map[string]string{"net.core.somaxconn": "1024", "kernel.msgmax": "65536"},
			wantNote: "sysctls kernel.msgmax, net.core.somaxconn: not among the kubelet's safe sysctls; the tasks start only on nodes whose kubelet runs with --allowed-unsafe-sysctls"},
		{name: "node-wide", sysctls: map[string]string{"vm.max_map_count": "262144"},
			wantErr: "sysctls: vm.max_map_count: forbidden sysctl: not known to be namespaced"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Sysctls = tc.sysctls
			got := buildOrRefused(t, svc, tc.wantErr)
			if got == nil {
				return
			}
			if n := len(podSpec(got).SecurityContext.Sysctls); n != len(tc.sysctls) {
				t.Errorf("%d sysctls, want %d", n, len(tc.sysctls))
			}
			testutil.SaysOnly(t, "notes", got.Notes, tc.wantNote)
		})
	}
}

// TestGenericResourceGPU: Swarm's GPU kinds are the NVIDIA device plugin's nvidia.com/gpu,
// reported; a domain-qualified kind is kept as it is; any other kind is refused.
func TestGenericResourceGPU(t *testing.T) {
	cases := []struct {
		kind     string
		want     corev1.ResourceName
		wantNote bool
		wantErr  string
	}{
		{kind: "gpu", want: "nvidia.com/gpu", wantNote: true},
		{kind: "NVIDIA-GPU", want: "nvidia.com/gpu", wantNote: true},
		{kind: "nvidia.com/gpu", want: "nvidia.com/gpu"},
		{kind: "example.com/fpga", want: "example.com/fpga"},
		{kind: "fpga", wantErr: "resources.reservations.genericResources: fpga: must be an extended resource name"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Resources = &swarmv1.Resources{Reservations: &swarmv1.ResourceReservations{GenericResources: []swarmv1.GenericResource{{Kind: tc.kind, Value: 2}}}}
			if tc.kind == "gpu" {
				// Swarm's kind and the plugin's name are one resource: they add up.
				svc.Spec.Resources.Reservations.GenericResources = []swarmv1.GenericResource{{Kind: "gpu", Value: 1}, {Kind: "nvidia.com/gpu", Value: 1}}
			}
			got := buildOrRefused(t, svc, tc.wantErr)
			if got == nil {
				return
			}
			r := podSpec(got).Containers[0].Resources
			want := corev1.ResourceList{tc.want: resource.MustParse("2")}
			if diff := cmp.Diff(want, *r.Limits); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, *r.Requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if noted := strings.Contains(strings.Join(got.Notes, "\n"), tc.kind+" is the extended resource nvidia.com/gpu"); noted != tc.wantNote {
				t.Errorf("notes %q: noted = %v, want %v", got.Notes, noted, tc.wantNote)
			}
		})
	}
}

// TestRestartConditions: a replicated service keeps its Deployment (rolling updates, rollbacks,
// scaling as in Swarm) and its task container gets Swarm's restart condition as its own restart
// policy, so that the kubelet does not start again what Swarm would leave stopped; a global
// service's does not (its DaemonSet would replace the ended pod at once) and that is reported.
// A job's pod takes the condition itself.
func TestRestartConditions(t *testing.T) {
	cases := []struct {
		mode      swarmv1.ServiceMode
		condition swarmv1.RestartCondition
		want      corev1.ContainerRestartPolicy // the container's own ("" for none)
		wantNote  string                        // "" for no note
	}{
		{mode: swarmv1.ModeReplicated, condition: swarmv1.RestartOnFailure, want: corev1.ContainerRestartPolicyOnFailure},
		{mode: swarmv1.ModeReplicated, condition: swarmv1.RestartNone, want: corev1.ContainerRestartPolicyNever},
		{mode: swarmv1.ModeGlobal, condition: swarmv1.RestartNone,
			wantNote: "restartPolicy.condition=none: a global service's task that exits is started again on its node, with the kubelet's back-off (a DaemonSet replaces a pod that ended); Swarm leaves it stopped"},
		{mode: swarmv1.ModeGlobal, condition: swarmv1.RestartOnFailure,
			wantNote: "restartPolicy.condition=on-failure: a global service's task that exits with status 0 is started again on its node, with the kubelet's back-off (a DaemonSet replaces a pod that ended); Swarm leaves it stopped"},
		{mode: swarmv1.ModeReplicated, condition: swarmv1.RestartAny},
		{mode: swarmv1.ModeReplicatedJob, condition: swarmv1.RestartNone},
		{mode: swarmv1.ModeReplicatedJob, condition: swarmv1.RestartOnFailure},
	}
	for _, tc := range cases {
		t.Run(string(tc.mode)+"/"+string(tc.condition), func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Mode = tc.mode
			svc.Spec.RestartPolicy = &swarmv1.RestartPolicy{Condition: tc.condition}
			got := build(t, svc, wide)
			testutil.SaysOnly(t, "notes", got.Notes, tc.wantNote)
			var c *corev1ac.ContainerApplyConfiguration
			switch {
			case got.Deployment != nil:
				c = &got.Deployment.Spec.Template.Spec.Containers[0]
			case got.DaemonSet != nil:
				c = &got.DaemonSet.Spec.Template.Spec.Containers[0]
			default:
				c = &got.Jobs[0].Spec.Template.Spec.Containers[0]
			}
			if gotPolicy := ptr.Deref(c.RestartPolicy, ""); gotPolicy != tc.want {
				t.Errorf("container restartPolicy = %q, want %q", gotPolicy, tc.want)
			}
		})
	}
}
