package objects

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// templates are the pod templates of a service's workload, as the API holds them.
func templates(t *testing.T, o *Objects) []corev1.PodTemplateSpec {
	t.Helper()
	var acs []*corev1ac.PodTemplateSpecApplyConfiguration
	switch {
	case o.Deployment != nil:
		acs = append(acs, o.Deployment.Spec.Template)
	case o.DaemonSet != nil:
		acs = append(acs, o.DaemonSet.Spec.Template)
	case o.StatefulSet != nil:
		acs = append(acs, o.StatefulSet.Spec.Template)
	default:
		for _, j := range o.Jobs {
			acs = append(acs, j.Spec.Template)
		}
	}
	out := make([]corev1.PodTemplateSpec, len(acs))
	for i, ac := range acs {
		data, err := json.Marshal(ac)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFilesImageKept: the install-files init container runs the operator's own image, so a new
// operator (another files image) would replace every task that installs files. Build keeps the
// image the workload runs as long as the template is then the one running; a change of the task
// template (which replaces the tasks anyway) or a new workload takes the operator's image.
func TestFilesImageKept(t *testing.T) {
	const oldImage, newImage = "ghcr.io/kubeswarm/kubeswarm:v0.1.0", "ghcr.io/kubeswarm/kubeswarm:v0.2.0"
	owned := []swarmv1.FileReference{{Source: "db-pass", UID: "999", GID: "999"}}
	services := map[string]func() *swarmv1.Service{
		"replicated": func() *swarmv1.Service {
			s := testutil.MakeService("db", "ns").Obj()
			s.Spec.Secrets = owned
			return s
		},
		"global": func() *swarmv1.Service {
			s := testutil.MakeService("agent", "ns").Mode(swarmv1.ModeGlobal).Obj()
			s.Spec.Configs = []swarmv1.FileReference{{Source: "agent-conf", Target: "/etc/agent.conf", UID: "100"}}
			return s
		},
		"replicated-job": func() *swarmv1.Service {
			s := testutil.MakeService("migrate", "ns").Mode(swarmv1.ModeReplicatedJob).Obj()
			s.Spec.Secrets = owned
			return s
		},
		"global-job": func() *swarmv1.Service {
			s := testutil.MakeService("prune", "ns").Mode(swarmv1.ModeGlobalJob).Obj()
			s.Spec.Secrets = owned
			return s
		},
	}
	in := Inputs{JobIteration: 1, Nodes: []string{"node-a", "node-b"}}
	for mode, makeService := range services {
		t.Run(mode, func(t *testing.T) {
			before, err := Build(makeService(), in, translate.Options{FilesImage: oldImage})
			if err != nil {
				t.Fatal(err)
			}
			live := templates(t, before)
			running := RunningOf(&live[0])
			if running.FilesImage != oldImage || running.TemplateHash != before.TemplateHash {
				t.Fatalf("RunningOf = %+v, want the files image %s and the hash %s", running, oldImage, before.TemplateHash)
			}
			for _, tc := range []struct {
				name      string
				change    func(*swarmv1.Service)
				running   Running
				opts      translate.Options
				wantImage string
				same      bool // the template is the one running
			}{
				{name: "new operator", running: running, opts: translate.Options{FilesImage: newImage}, wantImage: oldImage, same: true},
				{name: "new operator, service labels and replicas changed", running: running, opts: translate.Options{FilesImage: newImage},
					change: func(s *swarmv1.Service) {
						s.Spec.Labels = map[string]string{"team": "db"}
						if s.Spec.Mode.IsReplicated() {
							s.Spec.Replicas = ptr.To[int32](3)
						}
					}, wantImage: oldImage, same: true},
				{name: "operator without a files image", running: running, opts: translate.Options{}, wantImage: oldImage, same: true},
				{name: "task template changed", running: running, opts: translate.Options{FilesImage: newImage},
					change: func(s *swarmv1.Service) { s.Spec.Env = []swarmv1.EnvVar{{Name: "A", Value: "1"}} }, wantImage: newImage},
				{name: "new workload", opts: translate.Options{FilesImage: newImage}, wantImage: newImage},
				{name: "init container edited by hand", running: Running{TemplateHash: running.TemplateHash, FilesImage: "evil.example/manager"},
					opts: translate.Options{FilesImage: newImage}, wantImage: newImage},
			} {
				t.Run(tc.name, func(t *testing.T) {
					svc := makeService()
					if tc.change != nil {
						tc.change(svc)
					}
					in := in
					in.Running = tc.running
					got, err := Build(svc, in, tc.opts)
					if err != nil {
						t.Fatal(err)
					}
					if len(got.Notes) > 0 {
						t.Errorf("notes %q, want none (the files are installed)", got.Notes)
					}
					for _, tmpl := range templates(t, got) {
						if image := RunningOf(&tmpl).FilesImage; image != tc.wantImage {
							t.Errorf("install-files runs %q, want %q", image, tc.wantImage)
						}
						if h := tmpl.Labels[translate.LabelTemplateHash]; h != got.TemplateHash {
							t.Errorf("a task carries the hash %q, want the objects' %q", h, got.TemplateHash)
						}
					}
					if same := got.TemplateHash == before.TemplateHash; same != tc.same {
						t.Errorf("template hash %s (running %s): same = %v, want %v", got.TemplateHash, before.TemplateHash, same, tc.same)
					}
				})
			}
		})
	}
}
