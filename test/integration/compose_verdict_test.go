package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/compose"
)

// invalidSpecPrefix starts the Service controller's Degraded message for a spec it refuses.
const invalidSpecPrefix = "The spec cannot be applied, nothing was changed: "

// TestConvertRefusesWhatTheOperatorRefuses: what the operator would refuse when it reconciles a
// Service (Degraded, InvalidSpec) — a spec the API server accepts — `convert` and `stack
// deploy` (the compose converter) refuse before anything is written, in the same words: the
// operator's whole message is in the converter's error.
func TestConvertRefusesWhatTheOperatorRefuses(t *testing.T) {
	q := resource.MustParse
	cases := []struct {
		name    string
		compose string // the compose service "web" (YAML under it, two-space indented)
		top     string // top-level keys of the compose file
		spec    swarmv1.ServiceSpec
		want    string // part of the words
	}{
		{name: "hostname that is no DNS label", compose: "hostname: db_1",
			spec: swarmv1.ServiceSpec{Hostname: "db_1"}, want: `hostname "db_1"`},
		{name: "sysctl no kubelet runs", compose: "sysctls:\n  vm.max_map_count: 262144",
			spec: swarmv1.ServiceSpec{Sysctls: map[string]string{"vm.max_map_count": "262144"}}, want: "forbidden sysctl"},
		{name: "reservation above the limit", compose: "deploy:\n  resources:\n    limits: {memory: 1G}\n    reservations: {memory: 2G}",
			spec: swarmv1.ServiceSpec{Resources: &swarmv1.Resources{Limits: &swarmv1.ResourceLimits{Memory: ptr.To(q("1Gi"))}, Reservations: &swarmv1.ResourceReservations{Memory: ptr.To(q("2Gi"))}}},
			want: "reservation 2Gi is above the limit 1Gi"},
		{name: "generic resource Kubernetes cannot name", compose: "deploy:\n  resources:\n    reservations:\n      generic_resources:\n        - discrete_resource_spec: {kind: fpga, value: 1}",
			spec: swarmv1.ServiceSpec{Resources: &swarmv1.Resources{Reservations: &swarmv1.ResourceReservations{GenericResources: []swarmv1.GenericResource{{Kind: "fpga", Value: 1}}}}},
			want: "fpga: must be an extended resource name"},
		{name: "the Docker socket", compose: "volumes:\n  - /var/run/docker.sock:/var/run/docker.sock",
			spec: swarmv1.ServiceSpec{Mounts: []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}}},
			want: "a Kubernetes node has no Docker Engine socket"},
		{name: "constraint value no label has", compose: "deploy:\n  placement:\n    constraints: ['node.labels.zone==a/b']",
			spec: swarmv1.ServiceSpec{Placement: &swarmv1.Placement{Constraints: []string{"node.labels.zone==a/b"}}},
			want: `"a/b" is not a valid Kubernetes label value`},
		{name: "an SMB share", compose: "volumes: ['share:/data']", top: "volumes:\n  share:\n    driver_opts: {type: cifs, device: //nas/share, o: 'username=u'}\n",
			spec: swarmv1.ServiceSpec{Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "st-share", Target: "/data",
				Volume: &swarmv1.VolumeOptions{DriverOptions: map[string]string{"type": "cifs", "device": "//nas/share", "o": "username=u"}}}}},
			want: "a cifs volume (an SMB share) has no Kubernetes equivalent"},
		// A stack network whose name is too long to label the tasks is refused earlier, by the
		// stack's own rule on its DNS Service name (stack.Validate, which the Stack controller and
		// the converter both run: internal/stack TestNetworkDNSNames).
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)

			// The operator: the Service is accepted by the API server and refused at reconcile.
			spec := *tc.spec.DeepCopy()
			spec.Image = "nginx"
			name := fmt.Sprintf("web%d", i)
			if err := k8sClient.Create(ctx, &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}); err != nil {
				t.Fatalf("the API server refused it (the case is for the operator): %v", err)
			}
			var words string
			eventually(t, "the operator refuses it", func() error {
				s, err := get(ctx, ns, name, &swarmv1.Service{})
				if err != nil {
					return err
				}
				c := condition(s, swarmv1.ConditionDegraded)
				if c == nil || c.Reason != "InvalidSpec" || !strings.HasPrefix(c.Message, invalidSpecPrefix) {
					return fmt.Errorf("Degraded = %+v", c)
				}
				words = strings.TrimPrefix(c.Message, invalidSpecPrefix)
				return nil
			})
			if !strings.Contains(words, tc.want) {
				t.Errorf("the operator says %q, want %q in it", words, tc.want)
			}

			// The compose converter: refused, with the operator's words.
			dir := t.TempDir()
			file := filepath.Join(dir, "docker-compose.yml")
			body := "services:\n  web:\n    image: nginx\n    " + strings.ReplaceAll(tc.compose, "\n", "\n    ") + "\n" + tc.top
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := compose.Load(ctx, compose.LoadOptions{Files: []string{file}, Environment: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = compose.Convert(p, "st", compose.ConvertOptions{Namespace: ns})
			if err == nil {
				t.Fatalf("the compose converter accepted it; the operator says %q", words)
			}
			if !strings.Contains(err.Error(), words) {
				t.Errorf("the compose converter says\n  %v\nthe operator says\n  %s", err, words)
			}
		})
	}
}
