package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testNow is the fake clock's time in every test.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type testFactory struct {
	c     client.Client
	cs    kubernetes.Interface
	ns    string
	clock *clocktesting.FakeClock
	// registry is offline unless a test gives it digests.
	registry testRegistry
	// denied are the rights (access.String()) the kubeconfig's user lacks; every other
	// SelfSubjectAccessReview is allowed.
	denied map[string]bool
}

func (f *testFactory) Client() (client.Client, error)           { return f.c, nil }
func (f *testFactory) Clientset() (kubernetes.Interface, error) { return f.cs, nil }
func (f *testFactory) Namespace() (string, error)               { return f.ns, nil }
func (f *testFactory) Clock() clock.Clock                       { return f.clock }
func (f *testFactory) Registry() images.Client                  { return f.registry }

// testRegistry has the digests of the images it lists; any other image cannot be resolved.
type testRegistry map[string]string

func (r testRegistry) Digest(_ context.Context, image string) (string, error) {
	if d, ok := r[image]; ok {
		return d, nil
	}
	return "", fmt.Errorf("%s: no such image in the test registry", image)
}

// Credentials: the test client holds user/secret for every registry but Docker Hub.
func (r testRegistry) Credentials(imgs ...string) (images.DockerConfig, error) {
	out := images.DockerConfig{Auths: map[string]authn.AuthConfig{}}
	for _, image := range imgs {
		if server, err := images.ServerOf(image); err == nil && server != images.DockerHubServer {
			out.Auths[server] = authn.AuthConfig{Username: "user", Password: "secret"}
		}
	}
	return out, nil
}

func newTestFactory(objs ...client.Object) *testFactory {
	var robjs []runtime.Object
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			robjs = append(robjs, p)
		}
	}
	c := fake.NewClientBuilder().WithScheme(Scheme).
		WithStatusSubresource(&swarmv1.Service{}, &swarmv1.Node{}, &swarmv1.Stack{}).
		WithObjects(objs...).Build()
	f := &testFactory{cs: k8sfake.NewClientset(robjs...), ns: "default", clock: clocktesting.NewFakeClock(testNow), denied: map[string]bool{}}
	// The API server answers a SelfSubjectAccessReview; the fake client would store it.
	f.c = interceptor.NewClient(c, interceptor.Funcs{
		// The fake client would write a dry run; the API server only checks it.
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			o := &client.ApplyOptions{}
			o.ApplyOptions(opts)
			if len(o.DryRun) > 0 {
				// The API server's answer comes back into the object, managed fields and all,
				// as the real client decodes it; nothing is written.
				if u, ok := obj.(interface {
					SetManagedFields([]metav1.ManagedFieldsEntry)
				}); ok {
					u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "dry-run", Operation: metav1.ManagedFieldsOperationApply}})
				}
				return nil
			}
			return c.Apply(ctx, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
			if !ok {
				return c.Create(ctx, obj, opts...)
			}
			a := review.Spec.ResourceAttributes
			review.Status.Allowed = !f.denied[access{verb: a.Verb, group: a.Group, resource: a.Resource, namespace: a.Namespace}.String()]
			return nil
		},
	})
	return f
}

func init() {
	zero := time.Duration(0)
	stableWait = &zero
	pollInterval = 10 * time.Millisecond
}

// run runs `kubectl swarm args…` against the factory and returns stdout, stderr and the error.
func run(t *testing.T, f Factory, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommandWithFactory(streams, f)
	cmd.SetArgs(args)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// serviceBuilder makes test Services.
type serviceBuilder struct{ s *swarmv1.Service }

func makeService(name string) *serviceBuilder {
	return &serviceBuilder{s: &swarmv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: testUID(name),
			CreationTimestamp: metav1.NewTime(testNow.Add(-time.Hour)), Generation: 1},
		Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](1)},
	}}
}

func (b *serviceBuilder) UID(uid string) *serviceBuilder { b.s.UID = types.UID(uid); return b }
func (b *serviceBuilder) Replicas(n int32) *serviceBuilder {
	b.s.Spec.Replicas = ptr.To(n)
	return b
}
func (b *serviceBuilder) Image(i string) *serviceBuilder { b.s.Spec.Image = i; return b }
func (b *serviceBuilder) Mode(m swarmv1.ServiceMode) *serviceBuilder {
	b.s.Spec.Mode = m
	if m.IsGlobal() {
		b.s.Spec.Replicas = nil
	}
	return b
}
func (b *serviceBuilder) Ports(p ...swarmv1.PortConfig) *serviceBuilder {
	b.s.Spec.Ports = p
	return b
}
func (b *serviceBuilder) Status(running, desired int32, ports string) *serviceBuilder {
	b.s.Status.RunningTasks, b.s.Status.DesiredTasks = running, desired
	b.s.Status.Replicas = translate.ReplicasSummary(&b.s.Spec, running, desired)
	b.s.Status.PortsSummary = ports
	return b
}
func (b *serviceBuilder) Converged() *serviceBuilder {
	b.s.Status.ObservedGeneration = b.s.Generation
	b.s.Status.Conditions = []metav1.Condition{{Type: swarmv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Converged", ObservedGeneration: b.s.Generation, LastTransitionTime: metav1.NewTime(testNow)}}
	return b
}
func (b *serviceBuilder) Previous(spec swarmv1.ServiceSpec) *serviceBuilder {
	b.s.Status.PreviousSpec = &spec
	return b
}
func (b *serviceBuilder) Obj() *swarmv1.Service { return b.s }

// makePod makes a running, ready task of a service on a node.
func makePod(svc, name, node string, age time.Duration, ready bool) *corev1.Pod {
	start := metav1.NewTime(testNow.Add(-age))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: testUID("pod/" + name),
			Labels: translate.SelectorLabels(svc), CreationTimestamp: start},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: translate.ContainerName, Image: "nginx"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: translate.ContainerName, Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		}}},
	}
}

func getTestService(t *testing.T, f *testFactory, name string) *swarmv1.Service {
	t.Helper()
	s := &swarmv1.Service{}
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, s); err != nil {
		t.Fatalf("reading service %s: %v", name, err)
	}
	return s
}

var _ = bytes.NewBuffer

type clientObject = client.Object

func newStreams() (genericiooptions.IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	return genericiooptions.NewTestIOStreams()
}

// testUID is a stable UID made from a name.
func testUID(name string) types.UID {
	h := sha256.Sum256([]byte(name))
	x := hex.EncodeToString(h[:16])
	return types.UID(x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32])
}
