package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func get[T client.Object](ctx context.Context, ns, name string, obj T) (T, error) {
	return obj, k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

func condition(svc *swarmv1.Service, typ string) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, typ)
}

// TestServiceLifecycle: a replicated Service becomes a Deployment and a NodePort Service; spec
// changes reach them; children deleted or edited by hand come back; status follows the
// Deployment.
func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("web", ns).Replicas(3).Publish(8000, 80).Label("com.example.team", "web team").Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating the Service: %v", err)
	}

	var dep *appsv1.Deployment
	eventually(t, "the Deployment is created", func() (err error) {
		dep, err = get(ctx, ns, "web", &appsv1.Deployment{})
		return err
	})
	if got := ptr.Deref(dep.Spec.Replicas, 0); got != 3 {
		t.Errorf("Deployment replicas = %d, want 3", got)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "nginx" {
		t.Errorf("Deployment image = %q, want nginx", got)
	}
	if !metav1.IsControlledBy(dep, svc) {
		t.Errorf("Deployment is not controlled by the Service: %+v", dep.OwnerReferences)
	}
	if got := dep.Annotations["com.example.team"]; got != "web team" {
		t.Errorf("Deployment annotation com.example.team = %q, want the service label's value", got)
	}
	if _, ok := dep.Spec.Template.Annotations["com.example.team"]; ok {
		t.Errorf("a service label reached the pod template; changing it would restart tasks")
	}

	var ksvc *corev1.Service
	eventually(t, "the Kubernetes Service is created", func() (err error) {
		ksvc, err = get(ctx, ns, "web", &corev1.Service{})
		return err
	})
	if ksvc.Spec.Type != corev1.ServiceTypeNodePort || len(ksvc.Spec.Ports) != 1 {
		t.Fatalf("Service type %s with ports %+v, want NodePort with one port", ksvc.Spec.Type, ksvc.Spec.Ports)
	}
	if p := ksvc.Spec.Ports[0]; p.NodePort != 8000 || p.Port != 80 || p.TargetPort.IntVal != 80 {
		t.Errorf("Service port = %+v, want nodePort 8000, port 80 → 80", p)
	}
	if !metav1.IsControlledBy(ksvc, svc) {
		t.Errorf("Kubernetes Service is not controlled by the Service")
	}

	eventually(t, "status shows the published port and 0/3", func() error {
		s, err := get(ctx, ns, "web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if s.Status.PortsSummary != "*:8000->80/tcp" || s.Status.Replicas != "0/3" || s.Status.ObservedGeneration != s.Generation {
			return fmt.Errorf("status = %+v", s.Status)
		}
		if c := condition(s, swarmv1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("Ready = %+v, want False", c)
		}
		return nil
	})

	// The Deployment controller does not run here: fake its status.
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}
	if err := k8sClient.Status().Update(ctx, dep); err != nil {
		t.Fatalf("faking the Deployment status: %v", err)
	}
	eventually(t, "status shows 3/3 and Ready", func() error {
		s, err := get(ctx, ns, "web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if c := condition(s, swarmv1.ConditionReady); s.Status.Replicas != "3/3" || c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("replicas %q, Ready %+v", s.Status.Replicas, c)
		}
		return nil
	})

	// Spec changes reach the Deployment.
	updateService(t, ns, "web", func(s *swarmv1.Service) {
		s.Spec.Image, s.Spec.Replicas = "nginx:1.27", ptr.To[int32](5)
	})
	eventually(t, "the Deployment follows the spec", func() error {
		d, err := get(ctx, ns, "web", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		if img, n := d.Spec.Template.Spec.Containers[0].Image, ptr.Deref(d.Spec.Replicas, 0); img != "nginx:1.27" || n != 5 {
			return fmt.Errorf("image %q replicas %d", img, n)
		}
		return nil
	})

	// A hand edit of a field kubeswarm owns is undone.
	eventually(t, "editing the Deployment by hand", func() error {
		d, err := get(ctx, ns, "web", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		d.Spec.Replicas = ptr.To[int32](1)
		return k8sClient.Update(ctx, d)
	})
	eventually(t, "the hand edit is undone", func() error {
		d, err := get(ctx, ns, "web", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		if n := ptr.Deref(d.Spec.Replicas, 0); n != 5 {
			return fmt.Errorf("replicas %d", n)
		}
		return nil
	})

	// Deleted children come back.
	if err := k8sClient.Delete(ctx, dep); err != nil {
		t.Fatalf("deleting the Deployment: %v", err)
	}
	if err := k8sClient.Delete(ctx, ksvc); err != nil {
		t.Fatalf("deleting the Kubernetes Service: %v", err)
	}
	eventually(t, "the deleted children are restored", func() error {
		d, err := get(ctx, ns, "web", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		if d.UID == dep.UID {
			return fmt.Errorf("still the old Deployment")
		}
		k, err := get(ctx, ns, "web", &corev1.Service{})
		if err != nil {
			return err
		}
		if k.UID == ksvc.UID {
			return fmt.Errorf("still the old Service")
		}
		return nil
	})

	// Deleting the Service: the garbage collector (not running in envtest) removes the children
	// through their controller owner reference, checked above; here the Service itself goes.
	if err := k8sClient.Delete(ctx, svc); err != nil {
		t.Fatalf("deleting the Service: %v", err)
	}
	eventually(t, "the Service is gone", func() error {
		if _, err := get(ctx, ns, "web", &swarmv1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("get: %w", err)
		}
		return nil
	})
}

// TestGlobalAndModeChange: global becomes a DaemonSet; a later change to replicated replaces it
// with a Deployment.
func TestGlobalAndModeChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("agent", ns).Mode(swarmv1.ModeGlobal).Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	eventually(t, "the DaemonSet is created", func() error {
		_, err := get(ctx, ns, "agent", &appsv1.DaemonSet{})
		return err
	})
	eventually(t, "a service without ports is headless", func() error {
		k, err := get(ctx, ns, "agent", &corev1.Service{})
		if err != nil {
			return err
		}
		if k.Spec.ClusterIP != corev1.ClusterIPNone {
			return fmt.Errorf("clusterIP %q", k.Spec.ClusterIP)
		}
		return nil
	})
	updateService(t, ns, "agent", func(s *swarmv1.Service) {
		s.Spec.Mode = swarmv1.ModeReplicated
		s.Spec.Ports = []swarmv1.PortConfig{{Target: 80, Protocol: "tcp", Mode: swarmv1.PortModeIngress}}
	})
	eventually(t, "the DaemonSet is replaced by a Deployment", func() error {
		if _, err := get(ctx, ns, "agent", &appsv1.DaemonSet{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("DaemonSet still there (%w)", err)
		}
		_, err := get(ctx, ns, "agent", &appsv1.Deployment{})
		return err
	})
	eventually(t, "the headless Service is replaced by a NodePort one with an allocated port", func() error {
		k, err := get(ctx, ns, "agent", &corev1.Service{})
		if err != nil {
			return err
		}
		if k.Spec.Type != corev1.ServiceTypeNodePort || k.Spec.Ports[0].NodePort == 0 {
			return fmt.Errorf("type %s ports %+v", k.Spec.Type, k.Spec.Ports)
		}
		s, err := get(ctx, ns, "agent", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("*:%d->80/tcp", k.Spec.Ports[0].NodePort); s.Status.PortsSummary != want {
			return fmt.Errorf("status ports %q, want %q", s.Status.PortsSummary, want)
		}
		return nil
	})
}

// TestNameConflict: a Kubernetes Service that is not kubeswarm's is never taken over.
func TestNameConflict(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	foreign := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}, Selector: map[string]string{"app": "db"}},
	}
	if err := k8sClient.Create(ctx, foreign); err != nil {
		t.Fatalf("creating the foreign Service: %v", err)
	}
	svc := testutil.MakeService("db", ns).Publish(0, 3306).Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	eventually(t, "Degraded says NameConflict", func() error {
		s, err := get(ctx, ns, "db", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "NameConflict" || !strings.Contains(c.Message, "Service db exists") {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	k, _ := get(ctx, ns, "db", &corev1.Service{})
	if len(k.OwnerReferences) != 0 || k.Spec.Selector["app"] != "db" || k.Spec.Ports[0].Port != 5432 {
		t.Errorf("the foreign Service was changed: %+v", k)
	}
}

// TestInvalidSpecKeepsRunningObjects: a spec that passes validation but cannot be realised (a
// bind mount while the operator forbids them) is reported, and the running Deployment stays.
func TestInvalidSpecKeepsRunningObjects(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("app", ns).Image("app:1").Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	eventually(t, "the Deployment is created", func() error {
		_, err := get(ctx, ns, "app", &appsv1.Deployment{})
		return err
	})
	updateService(t, ns, "app", func(s *swarmv1.Service) {
		s.Spec.Image = "app:2"
		s.Spec.Mounts = []swarmv1.Mount{{Type: swarmv1.MountBind, Source: "/var/log", Target: "/host/log"}}
	})
	eventually(t, "Degraded names the mount and the fix", func() error {
		s, err := get(ctx, ns, "app", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, "mounts[0]") || !strings.Contains(c.Message, "--allow-bind-mounts") {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	d, _ := get(ctx, ns, "app", &appsv1.Deployment{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "app:1" {
		t.Errorf("the running Deployment was changed to %q", img)
	}
}

// TestGlobalJobInvalidSpec: a global job whose spec cannot be realised is reported like any
// other service (Degraded, InvalidSpec, naming the field), not retried as an error while
// looking for its nodes.
func TestGlobalJobInvalidSpec(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("once", ns).Mode(swarmv1.ModeGlobalJob).Obj()
	svc.UID = ""
	svc.Spec.Hostname = "db_1"
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	eventually(t, "Degraded names the hostname", func() error {
		s, err := get(ctx, ns, "once", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, `hostname "db_1"`) {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
}

// TestNoWritesWhenNothingChanged: once a Service has converged, reconciling it again (here
// forced by touching its metadata) writes nothing.
func TestNoWritesWhenNothingChanged(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	svc := testutil.MakeService("idle", ns).Replicas(2).Publish(0, 80).Env("A", "1").Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	eventually(t, "the Service converges", func() error {
		s, err := get(ctx, ns, "idle", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if s.Status.ObservedGeneration != s.Generation || s.Status.PortsSummary == "" || s.Status.PortsSummary == "*:0->80/tcp" {
			return fmt.Errorf("status %+v", s.Status)
		}
		return nil
	})
	time.Sleep(time.Second) // let the last events of the creation settle
	before := operatorWrites.mark()
	for i := range 5 {
		eventually(t, "touching the Service", func() error {
			s, err := get(ctx, ns, "idle", &swarmv1.Service{})
			if err != nil {
				return err
			}
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations["test/touch"] = fmt.Sprint(i)
			return k8sClient.Update(ctx, s)
		})
		time.Sleep(300 * time.Millisecond)
	}
	if got := operatorWrites.writesSince(before, "/namespaces/"+ns+"/"); len(got) != 0 {
		t.Errorf("the operator made %d writes while nothing changed, want 0: %v", len(got), got)
	}
}

// TestPortInUse: a second service publishing a port that another already publishes is told who
// holds it (Swarm refuses it), and gets the port once the other lets go.
func TestPortInUse(t *testing.T) {
	ctx := context.Background()
	ns1, ns2 := newNamespace(t), newNamespace(t)
	first := testutil.MakeService("first", ns1).Publish(8100, 80).Obj()
	first.UID = ""
	if err := k8sClient.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitNodePort(t, ns1, "first", 8100)
	second := testutil.MakeService("second", ns2).Publish(8100, 80).Obj()
	second.UID = ""
	if err := k8sClient.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("port 8100 is already in use by service %s/first", ns1)
	eventually(t, "the second service says who holds the port", func() error {
		s, err := get(ctx, ns2, "second", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "PortInUse" || !strings.HasPrefix(c.Message, want) {
			return fmt.Errorf("Degraded = %+v, want PortInUse %q", c, want)
		}
		return nil
	})
	// No garbage collector here: the operator itself deletes the removed service's Kubernetes
	// Service, and the second service takes the port as soon as it is free.
	if err := k8sClient.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	waitNodePort(t, ns2, "second", 8100)
}
