package objects

import (
	"testing"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// benchService is a service as a stack's web tier writes it: published and host ports, a
// constraint and a preference, env with templates, a claim, a tmpfs and files, a healthcheck.
func benchService() *swarmv1.Service {
	w := testutil.MakeService("web", "n").Image("shop/web:1.4").Replicas(3).
		Publish(8080, 80).PublishHost(9100, 9100).
		Constraint("node.role==worker").Constraint("node.labels.zone!=edge").
		Env("SERVICE", "{{.Service.Name}}").Env("NODE", "{{.Node.Hostname}}").Env("MODE", "production").
		Label("com.example.team", "shop").
		Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "uploads", Target: "/srv/uploads"}).
		Mount(swarmv1.Mount{Type: swarmv1.MountTmpfs, Target: "/tmp"})
	svc := w.Obj()
	svc.Spec.Placement.Preferences = []swarmv1.PlacementPreference{{Spread: "node.labels.zone"}}
	svc.Spec.Secrets = []swarmv1.FileReference{{Source: "db_password"}, {Source: "tls", Target: "/etc/tls/key.pem", UID: "101"}}
	svc.Spec.Configs = []swarmv1.FileReference{{Source: "nginx_conf", Target: "/etc/nginx/nginx.conf"}}
	svc.Spec.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD", "wget", "-q", "-O-", "http://localhost/health"}}
	return svc
}

// BenchmarkBuild is the cost of one reconcile's objects for a service: translate.Verdict (the
// rules) and the apply configurations. Figures only.
func BenchmarkBuild(b *testing.B) {
	svc := benchService()
	opts := translate.Options{NodePortRange: translate.DefaultNodePortRange, FilesImage: "kubeswarm/manager:v1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(svc, Inputs{Stack: "shop"}, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerdict is the rules alone, what `convert` and the plugin run for each service.
func BenchmarkVerdict(b *testing.B) {
	svc := benchService()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := translate.Check(svc); err != nil {
			b.Fatal(err)
		}
	}
}
