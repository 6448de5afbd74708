package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestNodeRemove: docker node rm as swarmkit's RemoveNode decides, the Kubernetes Node and
// kubeswarm's Node removed when it may go.
func TestNodeRemove(t *testing.T) {
	node := func(name string, role swarmv1.NodeRole, state swarmv1.NodeState) []client.Object {
		return []client.Object{
			&swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10"},
				Spec: swarmv1.NodeSpec{Role: role}, Status: swarmv1.NodeStatus{State: state, Hostname: name}},
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}},
		}
	}
	cases := map[string]struct {
		role    swarmv1.NodeRole
		state   swarmv1.NodeState
		force   bool
		wantErr string // "" when removed
	}{
		"down worker":          {swarmv1.RoleWorker, swarmv1.NodeDown, false, ""},
		"ready worker":         {swarmv1.RoleWorker, swarmv1.NodeReady, false, "is not down and can't be removed"},
		"ready worker, forced": {swarmv1.RoleWorker, swarmv1.NodeReady, true, ""},
		"manager, forced":      {swarmv1.RoleManager, swarmv1.NodeDown, true, "is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			api, c := newTestServer(t, node("worker1", tc.role, tc.state)...)
			path := "/nodes/worker1"
			if tc.force {
				path += "?force=1"
			}
			var e common.ErrorResponse
			code := api.do("DELETE", path, nil, &e)
			kerr := c.Get(context.Background(), client.ObjectKey{Name: "worker1"}, &corev1.Node{})
			serr := c.Get(context.Background(), client.ObjectKey{Name: "worker1"}, &swarmv1.Node{})
			if tc.wantErr == "" {
				if code != http.StatusOK || !apierrors.IsNotFound(kerr) || !apierrors.IsNotFound(serr) {
					t.Errorf("got %d %q, Kubernetes Node: %v, Node: %v; want both removed", code, e.Message, kerr, serr)
				}
				return
			}
			if !strings.Contains(e.Message, tc.wantErr) || kerr != nil || serr != nil {
				t.Errorf("got %d %q (nodes: %v %v), want %q and both kept", code, e.Message, kerr, serr, tc.wantErr)
			}
		})
	}
}

// TestDistribution: an image is answered without a registry, with no digest, so the client
// neither pins nor warns.
func TestDistribution(t *testing.T) {
	api, _ := newTestServer(t)
	var d registry.DistributionInspect
	if code := api.do("GET", "/v1.41/distribution/kubeswarm.test/web:1/json", nil, &d); code != http.StatusOK || d.Descriptor.Digest != "" || len(d.Platforms) != 0 {
		t.Errorf("got %d %+v", code, d)
	}
}

// TestToTasksSlots: tasks are numbered by the shared slot rule (tasks.AssignSlots), a task that
// is over shut down after the live ones, a global service's tasks without slots.
func TestToTasksSlots(t *testing.T) {
	at := func(name string, minute int, deleting bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1" + apitypes.UID(name[len(name)-1:]),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)), Labels: map[string]string{translate.LabelService: "web"}}}
		if deleting {
			p.DeletionTimestamp = &p.CreationTimestamp
		}
		return p
	}
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: swarmv1.ServiceSpec{Mode: swarmv1.ModeReplicated}}
	spec := ToDocker("web", &svc.Spec, nil)
	got := map[string]string{}
	for _, tk := range ToTasks(svc, spec, []corev1.Pod{at("web-c", 3, false), at("web-a", 1, false), at("web-b", 2, true)}, nil) {
		got[tk.ID] = fmt.Sprint(tk.Slot, " ", tk.DesiredState)
	}
	want := map[string]string{
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1a"): "1 running",
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1c"): "2 running",
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1b"): "3 shutdown",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	// A replicated job's tasks: their completion indexes, from 0, as Swarm numbers a job's slots;
	// a failed task whose slot was retried is shut down.
	job := func(name string, minute int, index string, phase corev1.PodPhase) corev1.Pod {
		p := at(name, minute, false)
		p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: index}
		p.Status.Phase = phase
		return p
	}
	svc.Spec.Mode = swarmv1.ModeReplicatedJob
	got = map[string]string{}
	for _, tk := range ToTasks(svc, spec, []corev1.Pod{job("job-a", 1, "0", corev1.PodFailed), job("job-b", 1, "1", corev1.PodSucceeded),
		job("job-c", 2, "0", corev1.PodSucceeded)}, nil) {
		got[tk.ID] = fmt.Sprint(tk.Slot, " ", tk.DesiredState)
	}
	want = map[string]string{
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1a"): "0 shutdown",
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1b"): "1 complete",
		ID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1c"): "0 complete",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("job slots (-want +got):\n%s", diff)
	}
	svc.Spec.Mode = swarmv1.ModeGlobal
	for _, tk := range ToTasks(svc, spec, []corev1.Pod{at("web-a", 1, false)}, nil) {
		if tk.Slot != 0 {
			t.Errorf("global task with slot %d", tk.Slot)
		}
	}
}

// TestSecretLabels: a secret is listed and updated from its metadata alone; its data is never
// shown.
func TestSecretLabels(t *testing.T) {
	api, _ := newTestServer(t)
	var created swarm.SecretCreateResponse
	if code := api.do("POST", "/secrets/create", swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db_pass"}, Data: []byte("s3cret")}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if code := api.do("POST", "/secrets/db_pass/update?version=0", swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db_pass", Labels: map[string]string{"a": "b"}}}, nil); code != http.StatusOK {
		t.Fatalf("update: %d", code)
	}
	var list []swarm.Secret
	api.do("GET", "/secrets?filters="+url.QueryEscape(`{"label":{"a=b":true}}`), nil, &list)
	if len(list) != 1 || list[0].ID != created.ID || list[0].Spec.Name != "db_pass" || list[0].Spec.Data != nil {
		t.Errorf("secrets: %+v", list)
	}
}

// TestDockerUpdateStatus: right after an update or a rollback request, before the operator has
// seen it, the status is what swarmkit's UpdateService leaves (reset, or rollback_started), so
// that --detach=false does not take the previous update's "completed" for this one.
func TestDockerUpdateStatus(t *testing.T) {
	completed := &swarmv1.UpdateStatus{State: swarmv1.UpdateStateCompleted, Message: "update completed"}
	svc := func(gen, observed int64, rollback, seen string) *swarmv1.Service {
		s := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Generation: gen, Annotations: map[string]string{}},
			Status: swarmv1.ServiceStatus{ObservedGeneration: observed, UpdateStatus: completed, LastRollbackRequest: seen}}
		if rollback != "" {
			s.Annotations[swarmv1.AnnotationRollback] = rollback
		}
		return s
	}
	cases := map[string]struct {
		svc  *swarmv1.Service
		want string
	}{
		"seen":              {svc(2, 2, "", ""), "completed update completed"},
		"update not seen":   {svc(3, 2, "", ""), "<nil>"},
		"rollback not seen": {svc(2, 2, "5", "4"), "rollback_started manually requested rollback"},
		"rollback seen":     {svc(2, 2, "5", "5"), "completed update completed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := "<nil>"
			if u := dockerUpdateStatus(c.svc); u != nil {
				got = string(u.State) + " " + u.Message
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestConfigTemplating: `docker config create --template-driver golang` keeps the driver for
// the operator (and inspect shows it); a template no task could expand, or another driver, is
// refused before anything is written.
func TestConfigTemplating(t *testing.T) {
	api, _ := newTestServer(t)
	create := func(name, data, driver string) int {
		return api.do("POST", "/configs/create", swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name}, Data: []byte(data),
			Templating: &swarm.Driver{Name: driver}}, nil)
	}
	if code := create("conf", "{{.Task.Name}}", "golang"); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	var got swarm.Config
	api.do("GET", "/configs/conf", nil, &got)
	if got.Spec.Templating == nil || got.Spec.Templating.Name != "golang" {
		t.Errorf("inspect shows templating %+v, want golang", got.Spec.Templating)
	}
	for name, c := range map[string]struct{ data, driver string }{
		"bad-func":   {`{{nosuch}}`, "golang"},
		"bad-driver": {`x`, "jinja"},
	} {
		if code := create(name, c.data, c.driver); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
		if code := api.do("GET", "/configs/"+name, nil, nil); code != http.StatusNotFound {
			t.Errorf("%s was written: %d", name, code)
		}
	}
}

// TestServiceRestartDelayWarns: a restart delay the request sets is answered with the warning
// the docker CLI prints (what Honored lists); the same delay sent back by an update is not.
func TestServiceRestartDelayWarns(t *testing.T) {
	api, _ := newTestServer(t)
	spec := func(delay time.Duration) swarm.ServiceSpec {
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "web"},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx"},
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay}}}
	}
	note := func(d string) []string {
		return []string{"restartPolicy.delay=" + d + ": a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay"}
	}
	var created swarm.ServiceCreateResponse
	if code := api.do("POST", "/services/create", spec(3*time.Second), &created); code != http.StatusCreated {
		t.Fatalf("service create: %d", code)
	}
	got := map[string][]string{"create": created.Warnings}
	for _, step := range []struct {
		name  string
		delay time.Duration
	}{{"update, same delay", 3 * time.Second}, {"update, new delay", 4 * time.Second}} {
		var svc swarm.Service
		api.do("GET", "/services/web", nil, &svc)
		var resp swarm.ServiceUpdateResponse
		if code := api.do("POST", fmt.Sprintf("/services/web/update?version=%d", svc.Version.Index), spec(step.delay), &resp); code != http.StatusOK {
			t.Fatalf("%s: %d", step.name, code)
		}
		got[step.name] = resp.Warnings
	}
	want := map[string][]string{"create": note("3s"), "update, same delay": nil, "update, new delay": note("4s")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestNodeDemoteLastManager: docker node demote (a node update to role worker) of the last
// manager is refused in swarmkit's words (UpdateNode, FailedPrecondition: 400 from the daemon);
// with another manager it is done.
func TestNodeDemoteLastManager(t *testing.T) {
	node := func(name string, role swarmv1.NodeRole) client.Object {
		return &swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: apitypes.UID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1" + name[len(name)-1:])},
			Spec: swarmv1.NodeSpec{Role: role, Availability: swarmv1.AvailabilityActive}}
	}
	api, c := newTestServer(t, node("manager1", swarmv1.RoleManager), node("worker2", swarmv1.RoleWorker))
	demote := func(name string) (int, string) {
		var e common.ErrorResponse
		code := api.do("POST", "/nodes/"+name+"/update?version=0", swarm.NodeSpec{Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive}, &e)
		return code, e.Message
	}
	role := func(name string) swarmv1.NodeRole {
		n := &swarmv1.Node{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
			t.Fatal(err)
		}
		return n.Spec.Role
	}
	type result struct {
		Code    int
		Message string
		Role    swarmv1.NodeRole
	}
	code, msg := demote("manager1")
	got := []result{{code, msg, role("manager1")}}
	if code := api.do("POST", "/nodes/worker2/update?version=0", swarm.NodeSpec{Role: swarm.NodeRoleManager, Availability: swarm.NodeAvailabilityActive}, nil); code != http.StatusOK {
		t.Fatalf("promote: %d", code)
	}
	code, msg = demote("manager1")
	got = append(got, result{code, msg, role("manager1")})
	want := []result{
		{http.StatusBadRequest, "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm", swarmv1.RoleManager},
		{http.StatusOK, "", swarmv1.RoleWorker},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demotions (-want +got):\n%s", diff)
	}
}
