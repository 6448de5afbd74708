package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

const seedCompose = "../../test/compose/seed/docker-compose.yml"

func writeCompose(t *testing.T, text string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStackDeploySeed(t *testing.T) {
	f := newTestFactory()
	out, errOut, err := run(t, f, "stack", "deploy", "--compose-file", seedCompose, "wp")
	if err != nil {
		t.Fatal(err)
	}
	want := "Creating network wp_common\nCreating service wp_dbcluster\nCreating service wp_wordpress\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("deploy output (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut, "Since --detach=false was not specified, tasks will be created in the background.") {
		t.Errorf("stderr lacks docker's detach notice: %q", errOut)
	}
	st := &swarmv1.Stack{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "wp"}, st); err != nil {
		t.Fatal(err)
	}
	if len(st.Spec.Services) != 2 || st.Spec.Services[1].Name != "wordpress" {
		t.Errorf("stack services: %+v", st.Spec.Services)
	}
	// Deploying again updates.
	out, _, err = run(t, f, "stack", "deploy", "-c", seedCompose, "-d", "wp")
	if err != nil || !strings.Contains(out, "Updating service wp_wordpress (id: ") || strings.Contains(out, "Creating") {
		t.Errorf("second deploy: %q %v", out, err)
	}
	out, _, err = run(t, f, "stack", "ls")
	if err != nil || out != "NAME      SERVICES\nwp        2\n" {
		t.Errorf("stack ls: %q %v", out, err)
	}
}

func TestStackDeploySecretsPruneAndRm(t *testing.T) {
	path := writeCompose(t, `
services:
  web:
    image: nginx
    ports: ["8080:80"]
    secrets: [db_pass]
    configs: [site]
secrets:
  db_pass:
    file: ./db_pass.txt
configs:
  site:
    file: ./site.conf
`, map[string]string{"db_pass.txt": "s3cret", "site.conf": "listen 80;"})
	// The published port is another service's: nothing is written.
	f := factoryWith([]*swarmv1.Service{makeService("nginx").Ports(swarmv1.PortConfig{Published: 8080, Target: 80}).Obj()})
	if _, _, err := run(t, f, "stack", "deploy", "-c", path, "shop"); err == nil || err.Error() != "port 8080 is already in use by service nginx" {
		t.Fatalf("deploy with a used port: %v", err)
	}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop-db-pass"}, &corev1.Secret{}); err == nil {
		t.Fatal("a refused deploy wrote the secret")
	}

	f = newTestFactory()
	out, _, err := run(t, f, "stack", "deploy", "-c", path, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := "Creating network shop_default\nCreating secret shop_db_pass\nCreating config shop_site\nCreating service shop_web\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	sec := &corev1.Secret{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop-db-pass"}, sec); err != nil || string(sec.Data["db_pass"]) != "s3cret" {
		t.Errorf("secret: %v %v", sec.Data, err)
	}

	// The config leaves the file: --prune removes its ConfigMap.
	path2 := writeCompose(t, "services:\n  web:\n    image: nginx\n    secrets: [db_pass]\nsecrets:\n  db_pass:\n    file: ./db_pass.txt\n", map[string]string{"db_pass.txt": "s3cret"})
	out, _, err = run(t, f, "stack", "deploy", "--prune", "-c", path2, "shop")
	if err != nil || !strings.Contains(out, "Removing config shop-site") {
		t.Errorf("deploy --prune: %q %v", out, err)
	}

	// A service of the stack (as the Stack controller would make it), for services/ps.
	svc := makeService("shop-web").Obj()
	svc.Labels = map[string]string{translate.LabelStack: "shop"}
	if err := f.c.Create(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	pod := makePod("shop-web", "shop-web-1", "worker1", 0, true)
	if err := f.c.Create(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, f, "stack", "services", "--format", "{{.Name}} {{.Mode}}", "shop")
	if err != nil || out != "shop-web replicated\n" {
		t.Errorf("stack services: %q %v", out, err)
	}
	out, _, err = run(t, f, "stack", "ps", "--format", "{{.Name}} {{.Node}}", "shop")
	if err != nil || out != "shop-web.1 worker1\n" {
		t.Errorf("stack ps: %q %v", out, err)
	}
	if _, _, err := run(t, f, "stack", "ps", "nope"); err == nil || err.Error() != "nothing found in stack: nope" {
		t.Errorf("stack ps nope: %v", err)
	}
	// A bad filter is refused before the stack is looked for, as docker's daemon refuses it in
	// the service list that precedes "Nothing found" (docker/cli cli/command/stack/services.go).
	if _, errOut, err := run(t, f, "stack", "services", "-f", "bad=x", "nope"); err == nil || err.Error() != "invalid filter 'bad'" || errOut != "" {
		t.Errorf("stack services with a bad filter: %v, stderr %q", err, errOut)
	}
	// docker's name of the stack's service works too.
	if out, _, err := run(t, f, "service", "ps", "-q", "shop_web"); err != nil || out == "" {
		t.Errorf("service ps shop_web: %q %v", out, err)
	}

	out, errOut, err := run(t, f, "stack", "rm", "shop", "nope")
	if err != nil {
		t.Fatal(err)
	}
	want = "Removing service shop_web\nRemoving secret shop-db-pass\nRemoving network shop_default\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("stack rm (-want +got):\n%s", diff)
	}
	if errOut != "Nothing found in stack: nope\n" {
		t.Errorf("stack rm stderr: %q", errOut)
	}
}

func TestConvertAndConfig(t *testing.T) {
	f := newTestFactory()
	out, _, err := run(t, f, "convert", "-c", seedCompose, "wp")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Stack", "name: wp", "name: wordpress", "name: dbcluster", "node.role == worker"} {
		if !strings.Contains(out, want) {
			t.Errorf("convert output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "namespace:") {
		t.Error("convert wrote a namespace without -n")
	}
	out, _, err = run(t, f, "stack", "config", "-c", seedCompose)
	if err != nil || !strings.Contains(out, "wordpress:") || !strings.Contains(out, "mysql:5.7") {
		t.Errorf("stack config: %q %v", out, err)
	}
	if _, _, err := run(t, f, "stack", "deploy", "wp"); err == nil || !strings.Contains(err.Error(), "Please specify a Compose file") {
		t.Errorf("deploy without -c: %v", err)
	}
}

func TestConvertFromStdin(t *testing.T) {
	streams, in, out, _ := newStreams()
	in.WriteString("services:\n  web:\n    image: nginx\n")
	cmd := NewRootCommandWithFactory(streams, newTestFactory())
	cmd.SetArgs([]string{"convert", "-c", "-", "demo"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "name: demo") || !strings.Contains(out.String(), "image: nginx") {
		t.Errorf("convert -c -:\n%s", out.String())
	}
}

func TestStackDeployWaits(t *testing.T) {
	// The Stack controller is not running here: its services exist already, converged.
	web := makeService("wp-wordpress").Replicas(2).Converged().Obj()
	db := makeService("wp-dbcluster").Replicas(1).Converged().Obj()
	f := factoryWith([]*swarmv1.Service{web, db},
		makePod("wp-wordpress", "wp-wordpress-1", "worker1", time.Minute, true),
		makePod("wp-wordpress", "wp-wordpress-2", "worker2", time.Minute, true),
		makePod("wp-dbcluster", "wp-dbcluster-1", "manager1", time.Minute, true))
	out, errOut, err := run(t, f, "stack", "deploy", "-c", seedCompose, "--detach=false", "wp")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Creating service wp_wordpress\n", "wp_dbcluster\noverall progress: 1 out of 1 tasks\n", "wp_wordpress\noverall progress: 2 out of 2 tasks\n", "verify: Service converged\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy --detach=false lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, "Since --detach=false was not specified") {
		t.Error("the detach notice was printed with --detach=false")
	}
}

// A deploy right after `stack rm` (docker's default is not to wait for the removal) waits for
// the Stack being deleted to go, instead of writing onto it and being deleted with it.
func TestStackDeployAfterRmWaitsForRemoval(t *testing.T) {
	f := newTestFactory()
	if _, _, err := run(t, f, "stack", "deploy", "-c", seedCompose, "wp"); err != nil {
		t.Fatal(err)
	}
	st := &swarmv1.Stack{}
	key := client.ObjectKey{Namespace: "default", Name: "wp"}
	if err := f.c.Get(t.Context(), key, st); err != nil {
		t.Fatal(err)
	}
	// A removal under way: the garbage collector's foreground finalizer holds the Stack.
	st.Finalizers = []string{metav1.FinalizerDeleteDependents}
	if err := f.c.Update(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Delete(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		cur := &swarmv1.Stack{}
		if err := f.c.Get(context.Background(), key, cur); err == nil {
			cur.Finalizers = nil
			_ = f.c.Update(context.Background(), cur) // the removal finishes
		}
	}()
	out, errOut, err := run(t, f, "stack", "deploy", "-c", seedCompose, "wp")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "Waiting for the removal of stack wp to finish") || !strings.Contains(out, "Creating service wp_dbcluster") {
		t.Errorf("deploy after rm: stdout %q stderr %q", out, errOut)
	}
	if err := f.c.Get(t.Context(), key, st); err != nil || st.DeletionTimestamp != nil {
		t.Errorf("after the deploy: a new, live Stack is wanted: %v, deleting %v", err, st.DeletionTimestamp)
	}
}

// TestStackDeployKeepsPrunesAndPins: as docker's stack deploy, a service the file drops stays
// unless --prune (which says "Removing service"), and --resolve-image decides which images are
// pinned to their registry's digest: always every one, changed those whose compose image
// changed, never none; an unchanged image keeps the digest the earlier deploy pinned.
func TestStackDeployKeepsPrunesAndPins(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	f := newTestFactory()
	f.registry = testRegistry{"nginx:latest": d1, "redis:7": d1}
	both := writeCompose(t, "services:\n  web:\n    image: nginx\n  cache:\n    image: redis:7\n", nil)
	webOnly := writeCompose(t, "services:\n  web:\n    image: nginx\n", nil)
	images := func() map[string]string {
		st := &swarmv1.Stack{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop"}, st); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range st.Spec.Services {
			out[s.Name] = s.Image + " (" + s.Labels["com.docker.stack.image"] + ")"
		}
		return out
	}
	deploy := func(args ...string) string {
		t.Helper()
		out, _, err := run(t, f, append([]string{"stack", "deploy"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	deploy("-c", both, "shop")
	if diff := cmp.Diff(map[string]string{"web": "nginx:latest@" + d1 + " (nginx)", "cache": "redis:7@" + d1 + " (redis:7)"}, images()); diff != "" {
		t.Errorf("first deploy (-want +got):\n%s", diff)
	}
	// A new push of nginx:latest: "never" keeps the digest of the last deploy, "changed" too
	// (the compose image is the same), "always" pins the new one.
	f.registry["nginx:latest"] = d2
	deploy("--resolve-image", "never", "-c", both, "shop")
	deploy("--resolve-image", "changed", "-c", both, "shop")
	if got := images()["web"]; got != "nginx:latest@"+d1+" (nginx)" {
		t.Errorf("never/changed with the same compose image: %s", got)
	}
	deploy("-c", both, "shop")
	if got := images()["web"]; got != "nginx:latest@"+d2+" (nginx)" {
		t.Errorf("always after a push: %s", got)
	}

	// cache leaves the file: it stays without --prune, and goes with it.
	if out := deploy("-c", webOnly, "shop"); strings.Contains(out, "cache") {
		t.Errorf("deploy without --prune talks of cache: %q", out)
	}
	if _, ok := images()["cache"]; !ok {
		t.Errorf("deploy without --prune removed cache: %v", images())
	}
	if out := deploy("--prune", "-c", webOnly, "shop"); !strings.HasPrefix(out, "Removing service shop_cache\n") {
		t.Errorf("deploy --prune: %q", out)
	}
	if _, ok := images()["cache"]; ok {
		t.Errorf("deploy --prune kept cache: %v", images())
	}
}

// TestStackDeployLeavesOutTheProxy: a Traefik service that read the Docker socket cannot run on
// Kubernetes: the deploy is refused, naming --leave-out-proxy, before anything is written; with
// the flag the service is left out, said on stderr, and the rest is deployed.
func TestStackDeployLeavesOutTheProxy(t *testing.T) {
	path := writeCompose(t, `
services:
  traefik:
    image: traefik:v3
    command: ["--providers.swarm.endpoint=unix:///var/run/docker.sock"]
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
  web:
    image: nginx
    deploy:
      labels:
        traefik.http.routers.web.rule: Host(`+"`web.example.com`"+`)
`, nil)
	f := newTestFactory()
	if _, _, err := run(t, f, "stack", "deploy", "--resolve-image", "never", "-c", path, "shop"); err == nil || !strings.Contains(err.Error(), "--leave-out-proxy") {
		t.Fatalf("deploy with the proxy: %v", err)
	}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop"}, &swarmv1.Stack{}); err == nil {
		t.Fatal("a refused deploy wrote the Stack")
	}
	_, errOut, err := run(t, f, "stack", "deploy", "--resolve-image", "never", "--leave-out-proxy", "-c", path, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "Service traefik (Traefik) is left out (--leave-out-proxy)") {
		t.Errorf("stderr %q lacks the proxy left out", errOut)
	}
	st := &swarmv1.Stack{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop"}, st); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(st.Spec.Services, func(s swarmv1.StackService) bool { return s.Name == "traefik" }) || len(st.Spec.Services) != 1 {
		t.Errorf("services %v, want web only", st.Spec.Services)
	}
}

// TestStackDeployWithRegistryAuth: stack deploy --with-registry-auth writes the client's
// credentials for every service's registry to <stack>-registry-auth, owned by the Stack, which
// each service names; a later deploy without the flag keeps it.
func TestStackDeployWithRegistryAuth(t *testing.T) {
	f := newTestFactory()
	f.c = interceptor.NewClient(f.c.(client.WithWatch), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if obj.GetUID() == "" {
				obj.SetUID(types.UID("uid-" + obj.GetName()))
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	path := writeCompose(t, "services:\n  web:\n    image: registry.example.com/web:1\n  api:\n    image: 10.247.0.1:5001/api:1\n  cache:\n    image: redis\n", nil)
	if _, _, err := run(t, f, "stack", "deploy", "--resolve-image", "never", "--with-registry-auth", "-c", path, "shop"); err != nil {
		t.Fatal(err)
	}
	names := func() map[string]string {
		st := &swarmv1.Stack{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop"}, st); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range st.Spec.Services {
			out[s.Name] = s.RegistryAuthSecret
		}
		return out
	}
	want := map[string]string{"web": "shop-registry-auth", "api": "shop-registry-auth", "cache": "shop-registry-auth"}
	if diff := cmp.Diff(want, names()); diff != "" {
		t.Errorf("registryAuthSecret (-want +got):\n%s", diff)
	}
	sec := &corev1.Secret{}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop-registry-auth"}, sec); err != nil {
		t.Fatal(err)
	}
	const creds = `{"username":"user","password":"secret","auth":"dXNlcjpzZWNyZXQ="}`
	if got, want := string(sec.Data[corev1.DockerConfigJsonKey]), `{"auths":{"10.247.0.1:5001":`+creds+`,"registry.example.com":`+creds+`}}`; got != want {
		t.Errorf("credentials %s, want %s", got, want)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Stack" || sec.OwnerReferences[0].Name != "shop" {
		t.Errorf("owners %v, want the Stack", sec.OwnerReferences)
	}
	if _, _, err := run(t, f, "stack", "deploy", "--resolve-image", "never", "-c", path, "shop"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, names()); diff != "" {
		t.Errorf("after a deploy without the flag (-want +got):\n%s", diff)
	}
}
