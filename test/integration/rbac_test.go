package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/cli"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// testEnv is the envtest environment, for tests that add users.
var testEnv *envtest.Environment

// operatorIdentity binds a user to the ClusterRole of config/rbac/role.yaml and returns its
// config: the operator under test has the rights the install gives it, no more.
func operatorIdentity(env *envtest.Environment) (*rest.Config, error) {
	role := &rbacv1.ClusterRole{}
	if err := testutil.ReadManifest(filepath.Join("..", "..", "config", "rbac", "role.yaml"), role); err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := k8sClient.Create(ctx, role); err != nil {
		return nil, fmt.Errorf("creating ClusterRole %s: %w", role.Name, err)
	}
	const user = "kubeswarm-operator"
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	if err := k8sClient.Create(ctx, binding); err != nil {
		return nil, fmt.Errorf("binding ClusterRole %s: %w", role.Name, err)
	}
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// userFactory gives the plugin the envtest API server as one user.
type userFactory struct {
	cfg *rest.Config
	ns  string
}

func (f userFactory) Client() (client.Client, error) {
	return client.New(f.cfg, client.Options{Scheme: cli.Scheme})
}
func (f userFactory) Clientset() (kubernetes.Interface, error) { return kubernetes.NewForConfig(f.cfg) }
func (f userFactory) Namespace() (string, error)               { return f.ns, nil }
func (f userFactory) Clock() clock.Clock                       { return clock.RealClock{} }
func (f userFactory) Registry() images.Client                  { return offlineRegistry{} }

// TestPluginAsNamespacedUser: the plugin's service and stack commands work for a user bound only
// to the Role of config/rbac/swarm_user_role.yaml in one namespace, and the same user can do
// nothing in another namespace.
func TestPluginAsNamespacedUser(t *testing.T) {
	ctx := context.Background()
	ns, other := newNamespace(t), newNamespace(t)
	role := &rbacv1.Role{}
	if err := testutil.ReadManifest(filepath.Join("..", "..", "config", "rbac", "swarm_user_role.yaml"), role); err != nil {
		t.Fatal(err)
	}
	role.Namespace = ns
	if err := k8sClient.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	user := "alice-" + ns
	if err := k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}); err != nil {
		t.Fatal(err)
	}
	u, err := testEnv.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	compose := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(compose, []byte(`services:
  api:
    image: nginx
    secrets: [token]
    configs: [settings]
  db:
    image: postgres
    volumes: [data:/var/lib/postgresql/data]
secrets:
  token:
    file: ./token.txt
configs:
  settings:
    content: "debug=false"
volumes:
  data: {}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	swarm := func(ns string, args ...string) (string, error) {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		cmd := cli.NewRootCommandWithFactory(streams, userFactory{cfg: u.Config(), ns: ns})
		cmd.SetArgs(args)
		cmd.SetOut(streams.Out)
		cmd.SetErr(streams.ErrOut)
		err := cmd.ExecuteContext(ctx)
		return out.String() + errOut.String(), err
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := swarm(ns, args...); err != nil {
			t.Errorf("kubectl swarm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// observed waits for the operator to take in the last change: a spec it never saw is no
	// previous spec.
	observed := func() {
		t.Helper()
		eventually(t, "the operator observes web", func() error {
			svc := &swarmv1.Service{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
				return err
			}
			if svc.Status.ObservedGeneration != svc.Generation {
				return fmt.Errorf("generation %d observed %d", svc.Generation, svc.Status.ObservedGeneration)
			}
			return nil
		})
	}
	run("service", "create", "-d", "--name", "web", "--replicas", "2", "nginx")
	observed()
	run("service", "ls")
	run("service", "inspect", "--pretty", "web")
	run("service", "ps", "web")
	run("service", "scale", "-d", "web=3")
	observed()
	run("service", "update", "-d", "--env-add", "A=1", "web")
	eventually(t, "the operator keeps the previous spec", func() error {
		svc := &swarmv1.Service{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
			return err
		}
		if svc.Status.PreviousSpec == nil {
			return fmt.Errorf("no previous spec yet")
		}
		return nil
	})
	run("service", "rollback", "-d", "web")
	run("service", "rm", "web")
	run("stack", "deploy", "-c", compose, "app")
	run("stack", "ls")
	run("stack", "services", "app")
	run("volume", "ls")
	run("stack", "rm", "app")
	// The Role grants nothing elsewhere: the plugin is refused in another namespace, and the
	// operator made nothing there.
	if _, err := swarm(other, "service", "create", "-d", "--name", "web", "nginx"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("service create in namespace %s as %s: %v, want forbidden", other, user, err)
	}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: other, Name: "web"}, &swarmv1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Service web in %s: %v", other, err)
	}
}
