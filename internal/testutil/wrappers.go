// Package testutil builds test objects: testutil.MakeService("web", ns).Replicas(3).Obj().
package testutil

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// ServiceWrapper builds a Service.
type ServiceWrapper struct{ swarmv1.Service }

// MakeService starts a replicated nginx Service with one replica, as the API defaults it.
func MakeService(name, ns string) *ServiceWrapper {
	return &ServiceWrapper{swarmv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)},
		Spec:       swarmv1.ServiceSpec{Image: "nginx", Mode: swarmv1.ModeReplicated, EndpointMode: "vip"},
	}}
}

// Obj returns the Service.
func (w *ServiceWrapper) Obj() *swarmv1.Service { return &w.Service }

// Image sets the image.
func (w *ServiceWrapper) Image(i string) *ServiceWrapper { w.Spec.Image = i; return w }

// Replicas sets the replicas.
func (w *ServiceWrapper) Replicas(n int32) *ServiceWrapper { w.Spec.Replicas = ptr.To(n); return w }

// Mode sets the mode.
func (w *ServiceWrapper) Mode(m swarmv1.ServiceMode) *ServiceWrapper { w.Spec.Mode = m; return w }

// Publish adds an ingress port published:target/tcp.
func (w *ServiceWrapper) Publish(published, target int32) *ServiceWrapper {
	w.Spec.Ports = append(w.Spec.Ports, swarmv1.PortConfig{Published: published, Target: target, Protocol: "tcp", Mode: swarmv1.PortModeIngress})
	return w
}

// PublishHost adds a host-mode port published:target/tcp.
func (w *ServiceWrapper) PublishHost(published, target int32) *ServiceWrapper {
	w.Spec.Ports = append(w.Spec.Ports, swarmv1.PortConfig{Published: published, Target: target, Protocol: "tcp", Mode: swarmv1.PortModeHost})
	return w
}

// Constraint adds a placement constraint.
func (w *ServiceWrapper) Constraint(c string) *ServiceWrapper {
	if w.Spec.Placement == nil {
		w.Spec.Placement = &swarmv1.Placement{}
	}
	w.Spec.Placement.Constraints = append(w.Spec.Placement.Constraints, c)
	return w
}

// EndpointMode sets vip or dnsrr.
func (w *ServiceWrapper) EndpointMode(m string) *ServiceWrapper { w.Spec.EndpointMode = m; return w }

// Env adds an environment variable.
func (w *ServiceWrapper) Env(name, value string) *ServiceWrapper {
	w.Spec.Env = append(w.Spec.Env, swarmv1.EnvVar{Name: name, Value: value})
	return w
}

// Label sets a service label.
func (w *ServiceWrapper) Label(k, v string) *ServiceWrapper {
	if w.Spec.Labels == nil {
		w.Spec.Labels = map[string]string{}
	}
	w.Spec.Labels[k] = v
	return w
}

// Mount adds a mount.
func (w *ServiceWrapper) Mount(m swarmv1.Mount) *ServiceWrapper {
	w.Spec.Mounts = append(w.Spec.Mounts, m)
	return w
}

// Update sets the update config.
func (w *ServiceWrapper) Update(uc swarmv1.UpdateConfig) *ServiceWrapper {
	w.Spec.UpdateConfig = &uc
	return w
}

// SeedStack is the seed tutorial's WordPress stack as the API holds it: three services (one
// published, one with a volume and secrets, one on no network), a declared and an external
// network, volume and secret.
func SeedStack() *swarmv1.Stack {
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
			Volumes:  []swarmv1.StackVolume{{Name: "mysql_vol"}, {Name: "old", External: true, ExternalName: "legacy-data"}},
			Secrets:  []swarmv1.StackObject{{Name: "db_pass"}, {Name: "vault_key", External: true, ExternalName: "vault"}},
		},
	}
}
