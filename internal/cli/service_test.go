package cli

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	swarmupdate "github.com/kubeswarm/kubeswarm/internal/update"
)

func seedServices() []*swarmv1.Service {
	return []*swarmv1.Service{
		makeService("web").Replicas(3).Ports(swarmv1.PortConfig{Published: 8000, Target: 80}).Status(2, 3, "*:8000->80/tcp").Obj(),
		makeService("web10").Replicas(1).Image("nginx:1.27@sha256:abcdef").Status(1, 1, "").Obj(),
		makeService("web2").Mode(swarmv1.ModeGlobal).Status(3, 3, "").Obj(),
		makeService("redis").Replicas(3).Image("redis:3.0.6").Status(3, 3, "").Obj(),
		func() *swarmv1.Service {
			s := makeService("job").Mode(swarmv1.ModeReplicatedJob).Replicas(10).Obj()
			s.Status.Replicas = "2/2 (4/10 completed)"
			s.Spec.Labels = map[string]string{"tier": "batch"}
			return s
		}(),
	}
}

func factoryWith(svcs []*swarmv1.Service, pods ...*corev1.Pod) *testFactory {
	var objs []clientObject
	for _, s := range svcs {
		objs = append(objs, s)
	}
	for _, p := range pods {
		objs = append(objs, p)
	}
	return newTestFactory(objs...)
}

func TestServiceLs(t *testing.T) {
	f := factoryWith(seedServices())
	cases := []struct{ name, golden string }{
		{"", "service_ls"},
		{"--format={{.Name}}: {{.Replicas}}", "service_ls_template"},
		{"--format=table {{.Name}}\t{{.Image}}", "service_ls_table_template"},
		{"--format=json", "service_ls_json"},
		{"-q", "service_ls_quiet"},
		{"--filter=mode=global", "service_ls_filter_mode"},
		{"--filter=name=web1", "service_ls_filter_name"},
		{"--filter=label=tier=batch", "service_ls_filter_label"},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			args := []string{"service", "ls"}
			if tc.name != "" {
				args = append(args, tc.name)
			}
			out, _, err := run(t, f, args...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
		})
	}
	if _, _, err := run(t, f, "service", "ls", "--filter", "color=red"); err == nil || err.Error() != "invalid filter 'color'" {
		t.Errorf("unknown filter: %v", err)
	}
}

func TestServicePs(t *testing.T) {
	svc := makeService("web").Replicas(3).Obj()
	old := makePod("web", "web-abc-old", "worker1", 3*time.Hour, true)
	old.DeletionTimestamp = ptr.To(metav1.NewTime(testNow.Add(-10 * time.Second)))
	old.Finalizers = []string{"test"}
	pending := makePod("web", "web-abc-3", "", 5*time.Second, false)
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Message: "0/3 nodes are available"}}}
	crash := makePod("web", "web-abc-4", "worker2", 2*time.Minute, false)
	crash.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	crash.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(testNow.Add(-30 * time.Second))}}
	host := makePod("web", "web-abc-5", "worker1", 26*time.Hour, true)
	host.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8000, Protocol: corev1.ProtocolTCP}}
	f := factoryWith([]*swarmv1.Service{svc},
		makePod("web", "web-abc-1", "manager1", 5*time.Minute, true),
		makePod("web", "web-abc-2", "worker1", 4*time.Minute, false),
		old, pending, crash, host,
	)
	out, _, err := run(t, f, "service", "ps", "web")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "service_ps", out)

	out, _, err = run(t, f, "service", "ps", "--filter", "desired-state=running", "--no-trunc", "web")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "service_ps_running_notrunc", out)

	if _, _, err := run(t, f, "service", "ps", "nope"); err == nil || err.Error() != "no such service: nope" {
		t.Errorf("unknown service: %v", err)
	}
}

// TestServicePsStoppedTask: under restart condition none a task that ended stays its slot's
// task, shut down, as docker shows it; the pod its ReplicaSet made in its place (held, a
// stand-in) is no task; a task replaced after ending is history.
func TestServicePsStoppedTask(t *testing.T) {
	svc := makeService("worker").Replicas(2).Obj()
	svc.Spec.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartNone}
	done := makePod("worker", "worker-abc-1", "worker1", 5*time.Minute, false)
	done.Status.Phase = corev1.PodSucceeded
	done.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, FinishedAt: metav1.NewTime(testNow.Add(-2 * time.Minute))}}
	standIn := makePod("worker", "worker-abc-3", "", 2*time.Minute, false)
	standIn.Status = corev1.PodStatus{Phase: corev1.PodPending}
	standIn.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: swarmupdate.Gate}}
	standIn.Annotations = map[string]string{swarmupdate.AnnotationStopped: "none"}
	f := factoryWith([]*swarmv1.Service{svc}, done, makePod("worker", "worker-abc-2", "worker2", 4*time.Minute, true), standIn)
	out, _, err := run(t, f, "service", "ps", "--format", "{{.Name}} {{.DesiredState}} {{.CurrentState}}", "worker")
	if err != nil {
		t.Fatal(err)
	}
	// (Slots are inferred: tasks that are over number after the live ones, tasks.AssignSlots.)
	want := "worker.1 Running Running 4 minutes ago\nworker.2 Shutdown Complete 2 minutes ago\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestServicePsGlobal(t *testing.T) {
	svc := makeService("agent").Mode(swarmv1.ModeGlobal).Obj()
	f := factoryWith([]*swarmv1.Service{svc},
		makePod("agent", "agent-x", "worker2", time.Minute, true),
		makePod("agent", "agent-y", "manager1", time.Minute, true),
		makePod("agent", "agent-z", "worker1", 10*time.Second, false),
	)
	out, _, err := run(t, f, "service", "ps", "--format", "{{.Name}} {{.Node}} {{.CurrentState}}", "agent")
	if err != nil {
		t.Fatal(err)
	}
	want := "agent.manager1 manager1 Running about a minute ago\nagent.worker1 worker1 Starting 10 seconds ago\nagent.worker2 worker2 Running about a minute ago\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestServiceInspect(t *testing.T) {
	svc := makeService("redis").Replicas(3).Image("redis:3.0.6").Obj()
	svc.Spec.UpdateConfig = &swarmv1.UpdateConfig{Delay: &metav1.Duration{Duration: 10 * time.Second}}
	svc.Spec.Ports = []swarmv1.PortConfig{{Published: 8000, Target: 80}}
	f := factoryWith([]*swarmv1.Service{svc})
	out, _, err := run(t, f, "service", "inspect", "--pretty", "redis")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "service_inspect_pretty", out)
	out, _, err = run(t, f, "service", "inspect", "redis")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "service_inspect", out)
	out, _, err = run(t, f, "service", "inspect", "-f", "{{.Spec.Name}} {{.Spec.image}}", "redis")
	if err != nil || out != "redis redis:3.0.6\n" {
		t.Errorf("inspect -f = %q, %v", out, err)
	}
}

func TestServiceCreateGeneratedNameAndPortInUse(t *testing.T) {
	f := factoryWith([]*swarmv1.Service{makeService("nginx").Ports(swarmv1.PortConfig{Published: 8000, Target: 80}).Obj()})
	_, _, err := run(t, f, "service", "create", "-d", "--name", "web", "-p", "8000:80", "nginx")
	if err == nil || err.Error() != "port 8000 is already in use by service nginx" {
		t.Fatalf("create with a used port: %v", err)
	}
	// Host-mode and another protocol do not clash.
	if _, _, err := run(t, f, "service", "create", "-d", "--name", "web", "-p", "8000:80/udp", "--publish", "mode=host,published=8000,target=80", "nginx"); err != nil {
		t.Fatalf("udp and host mode: %v", err)
	}

	o := &ServiceCreateOptions{rnd: rand.New(rand.NewPCG(1, 2))}
	streams, _, out, _ := newStreams()
	o.IOStreams = streams
	cmd := &cobra.Command{}
	o.flags.addFlags(cmd.Flags())
	o.wait.detach = true
	if err := o.Complete(f, cmd, []string{"nginx"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(out.String())
	if !isDNSLabel(name) || !strings.Contains(name, "-") {
		t.Errorf("generated name %q is not adjective-name", name)
	}
	getTestService(t, f, name)
}

func TestServiceUpdate(t *testing.T) {
	svc := makeService("web").Replicas(5).Ports(swarmv1.PortConfig{Published: 8000, Target: 80, Protocol: "tcp", Mode: "ingress"}).Obj()
	svc.Spec.Env = []swarmv1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	svc.Spec.Placement = &swarmv1.Placement{Constraints: []string{"node.role==worker"}}
	f := factoryWith([]*swarmv1.Service{svc, makeService("other").Ports(swarmv1.PortConfig{Published: 9000, Target: 80}).Obj()})

	out, _, err := run(t, f, "service", "update", "-d", "--publish-rm", "8000:80", "--publish-add", "8080:80", "--env-add", "B=3",
		"--env-rm", "A", "--constraint-rm", "node.role==worker", "--constraint-add", "node.labels.zone==a", "--image", "nginx:1.27",
		"--args", "nginx -g 'daemon off;'", "--force", "--label-add", "x=y", "--update-delay", "10s", "web")
	if err != nil || out != "web\n" {
		t.Fatalf("update: %q %v", out, err)
	}
	got := getTestService(t, f, "web").Spec
	want := svc.Spec.DeepCopy()
	want.Image = "nginx:1.27"
	want.Command = []string{"nginx", "-g", "daemon off;"}
	want.Ports = []swarmv1.PortConfig{{Published: 8080, Target: 80, Protocol: "tcp", Mode: "ingress"}}
	want.Env = []swarmv1.EnvVar{{Name: "B", Value: "3"}}
	want.Placement = &swarmv1.Placement{Constraints: []string{"node.labels.zone==a"}}
	want.ForceUpdate = 1
	want.Labels = map[string]string{"x": "y"}
	want.UpdateConfig = &swarmv1.UpdateConfig{Delay: &metav1.Duration{Duration: 10 * time.Second}}
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}

	before := getTestService(t, f, "web")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--publish-add", "9000:80", "web"}, "port 9000 is already in use by service other"},
		{[]string{"--mode", "global", "web"}, "service mode change is not allowed"},
		{[]string{"--rollback", "--image", "x", "web"}, "other flags may not be combined with --rollback"},
		{[]string{"--replicas", "x", "web"}, `invalid argument "x" for "--replicas" flag`},
		{[]string{"--image", "x", "nope"}, "no such service: nope"},
	} {
		_, _, err := run(t, f, append([]string{"service", "update", "-d"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("update %v: got %v, want %q", tc.args, err, tc.want)
		}
	}
	after := getTestService(t, f, "web")
	if diff := cmp.Diff(before.Spec, after.Spec); diff != "" {
		t.Errorf("a failed update changed the spec:\n%s", diff)
	}
}

func TestServiceScaleRollbackRm(t *testing.T) {
	f := factoryWith([]*swarmv1.Service{
		makeService("web").Replicas(2).Previous(swarmv1.ServiceSpec{Image: "nginx:old"}).Obj(),
		makeService("db").Replicas(1).Obj(),
		makeService("agent").Mode(swarmv1.ModeGlobal).Obj(),
	})
	out, _, err := run(t, f, "service", "scale", "-d", "web=4", "db=2")
	if err != nil || out != "web scaled to 4\ndb scaled to 2\n" {
		t.Fatalf("scale: %q %v", out, err)
	}
	if r := getTestService(t, f, "web").Spec.Replicas; *r != 4 {
		t.Errorf("replicas %d, want 4", *r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"web=x"}, "invalid replicas value x"},
		{[]string{"web"}, "invalid scale specifier 'web'"},
		{[]string{"web=3", "agent=2"}, "scale can only be used with replicated or replicated-job mode"},
		{[]string{"web=3", "nope=2"}, "no such service: nope"},
	} {
		_, _, err := run(t, f, append([]string{"service", "scale", "-d"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("scale %v: got %v, want %q", tc.args, err, tc.want)
		}
	}
	if r := getTestService(t, f, "web").Spec.Replicas; *r != 4 {
		t.Errorf("a failed scale changed web's replicas to %d", *r)
	}

	out, _, err = run(t, f, "service", "rollback", "-d", "web")
	if err != nil || out != "web\n" {
		t.Fatalf("rollback: %q %v", out, err)
	}
	first := getTestService(t, f, "web").Annotations[swarmv1.AnnotationRollback]
	if first == "" {
		t.Fatal("rollback annotation not set")
	}
	if _, _, err := run(t, f, "service", "update", "--rollback", "-d", "web"); err != nil {
		t.Fatal(err)
	}
	if second := getTestService(t, f, "web").Annotations[swarmv1.AnnotationRollback]; second == first {
		t.Errorf("a second rollback kept the value %q", second)
	}
	if _, _, err := run(t, f, "service", "rollback", "db"); err == nil || err.Error() != "service db does not have a previous spec" {
		t.Errorf("rollback without previous spec: %v", err)
	}

	out, _, err = run(t, f, "service", "rm", "web", "nope", "db")
	if err == nil || err.Error() != "no such service: nope" || out != "web\ndb\n" {
		t.Errorf("rm: %q %v", out, err)
	}
	list := &swarmv1.ServiceList{}
	_ = f.c.List(t.Context(), list)
	if len(list.Items) != 1 || list.Items[0].Name != "agent" {
		t.Errorf("after rm: %v", list.Items)
	}
}

func TestServiceCreateWaitsForConvergence(t *testing.T) {
	f := factoryWith([]*swarmv1.Service{makeService("web").Replicas(2).Converged().Obj()},
		makePod("web", "web-1", "manager1", time.Minute, true),
		makePod("web", "web-2", "worker1", time.Minute, true),
	)
	// The service exists and has converged: update waits for it and reports docker's lines.
	out, _, err := run(t, f, "service", "update", "--label-add", "a=b", "web")
	if err != nil {
		t.Fatal(err)
	}
	want := "web\noverall progress: 2 out of 2 tasks\n1/2: running\n2/2: running\nverify: Service converged\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// -q keeps only the name.
	out, _, err = run(t, f, "service", "update", "-q", "--label-add", "a=c", "web")
	if err != nil || out != "web\n" {
		t.Errorf("update -q: %q %v", out, err)
	}
}

func TestProgressLines(t *testing.T) {
	svc := makeService("redis").Replicas(3).Obj()
	svc.Status.ObservedGeneration = svc.Generation
	svc.Status.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateStateUpdating}
	pending := makePod("redis", "r3", "worker2", time.Second, false)
	pending.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	tasks := tasksOf(svc, []corev1.Pod{*makePod("redis", "r1", "manager1", time.Minute, true), *makePod("redis", "r2", "worker1", time.Second, false), *pending})
	lines, converged, err := progressLines(svc, tasks, "")
	if err != nil || converged {
		t.Fatalf("converged %v, err %v", converged, err)
	}
	if l, _, _ := progressLines(makeService("redis").Obj(), tasks, ""); l != nil {
		t.Errorf("a spec the operator has not seen yet drew %v", l)
	}
	var b strings.Builder
	p := &progressPrinter{out: &b, tty: true}
	p.draw(lines)
	golden(t, "progress_tty", b.String())

	svc.Status.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateStatePaused, Message: "update paused due to failure or early termination of task redis-x"}
	if _, _, err := progressLines(svc, tasks, ""); err == nil || err.Error() != "service update paused: update paused due to failure or early termination of task redis-x" {
		t.Errorf("paused: %v", err)
	}
}

func TestServiceLogs(t *testing.T) {
	f := factoryWith([]*swarmv1.Service{makeService("web").Replicas(2).Obj()},
		makePod("web", "web-a", "manager1", 2*time.Minute, true),
		makePod("web", "web-b", "worker1", time.Minute, true),
	)
	out, _, err := run(t, f, "service", "logs", "--tail", "10", "web")
	if err != nil {
		t.Fatal(err)
	}
	// The fake clientset answers every pods/log request with "fake logs".
	want := []string{"web.1.7mov8iql4trb@manager1    | fake logs", "web.2.d09eoj71euwq@worker1     | fake logs"}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != 2 || !((got[0] == want[0] && got[1] == want[1]) || (got[0] == want[1] && got[1] == want[0])) {
		t.Errorf("logs:\n%s\nwant lines %q", out, want)
	}
	out, _, err = run(t, f, "service", "logs", "--no-task-ids", "web.2")
	if err != nil || out != "web.2@worker1    | fake logs\n" {
		t.Errorf("logs of one task: %q %v", out, err)
	}
	out, _, err = run(t, f, "service", "logs", "--raw", "web.1")
	if err != nil || out != "fake logs\n" {
		t.Errorf("logs --raw: %q %v", out, err)
	}
	if _, _, err := run(t, f, "service", "logs", "--tail", "x", "web"); err == nil || !strings.Contains(err.Error(), `invalid argument "x" for "--tail" flag`) {
		t.Errorf("bad tail: %v", err)
	}
	if _, _, err := run(t, f, "service", "logs", "nope"); err == nil || err.Error() != "no such service: nope" {
		t.Errorf("unknown service: %v", err)
	}
}

func TestProgressCountsOnlyNewTasksDuringAnUpdate(t *testing.T) {
	svc := makeService("redis").Replicas(2).Obj()
	svc.Status.ObservedGeneration = svc.Generation
	svc.Status.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateStateUpdating}
	old1, old2 := makePod("redis", "old1", "worker1", time.Hour, true), makePod("redis", "old2", "worker2", time.Hour, true)
	fresh := makePod("redis", "new1", "worker1", time.Second, false)
	for p, hash := range map[*corev1.Pod]string{old1: "a", old2: "a", fresh: "b"} {
		p.Labels[translate.LabelTemplateHash] = hash
	}
	lines, converged, err := progressLines(svc, tasksOf(svc, []corev1.Pod{*old1, *old2, *fresh}), "")
	if err != nil || converged {
		t.Fatalf("converged %v err %v", converged, err)
	}
	var b strings.Builder
	(&progressPrinter{out: &b}).draw(lines)
	if want := "overall progress: 0 out of 2 tasks\n1/2: starting\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestProgressPipePrintsTheStableWaitOnce(t *testing.T) {
	var b strings.Builder
	p := &progressPrinter{out: &b}
	p.draw([]progressLine{{status: "overall progress: 1 out of 1 tasks"}, {status: "verify: Waiting 5 seconds to verify that tasks are stable..."}})
	p.draw([]progressLine{{status: "overall progress: 1 out of 1 tasks"}, {status: "verify: Waiting 4 seconds to verify that tasks are stable..."}})
	p.draw([]progressLine{{status: "overall progress: 1 out of 1 tasks"}, {status: "verify: Service converged"}})
	want := "overall progress: 1 out of 1 tasks\nverify: Waiting 5 seconds to verify that tasks are stable...\nverify: Service converged\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestJobWaitEndsWithJobComplete(t *testing.T) {
	svc := makeService("job").Mode(swarmv1.ModeReplicatedJob).Replicas(2).Converged().Obj()
	done := func(name string) *corev1.Pod {
		p := makePod("job", name, "worker1", time.Minute, false)
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(testNow)}}
		return p
	}
	f := factoryWith([]*swarmv1.Service{svc}, done("job-a"), done("job-b"))
	out, _, err := run(t, f, "service", "update", "--env-add", "A=1", "job")
	if err != nil {
		t.Fatal(err)
	}
	want := "job\njob progress: 2 out of 2 complete\nactive tasks: 0 out of 2 tasks\njob complete\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestWaitInterrupted(t *testing.T) {
	f := factoryWith([]*swarmv1.Service{makeService("web").Replicas(2).Obj()})
	ctx, cancel := context.WithCancel(context.Background())
	streams, _, out, errOut := newStreams()
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	err := waitForService(ctx, f.c, streams, "default", "web", &waitOptions{timeout: time.Minute}, "")
	if err != nil || !strings.Contains(errOut.String(), "Operation continuing in background.") {
		t.Errorf("interrupted wait: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
}

// TestServiceWithRegistryAuth: --with-registry-auth writes the client's credentials for the
// image's registry to <service>-registry-auth (a dockerconfigjson Secret owned by the Service),
// which the spec names; a later update without the flag keeps it, one with the flag rewrites it
// for the new image's registry.
func TestServiceWithRegistryAuth(t *testing.T) {
	f := factoryWith(nil)
	// The API server gives what it creates a UID, which an owner reference needs.
	f.c = interceptor.NewClient(f.c.(client.WithWatch), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if obj.GetUID() == "" {
				obj.SetUID(types.UID("uid-" + obj.GetName()))
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	if _, stderr, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--with-registry-auth", "--name", "app", "10.247.0.1:5001/private/app:1"); err != nil || stderr != "" {
		t.Fatalf("create: %q %v", stderr, err)
	}
	svc := getTestService(t, f, "app")
	if svc.Spec.RegistryAuthSecret != "app-registry-auth" {
		t.Fatalf("registryAuthSecret = %q", svc.Spec.RegistryAuthSecret)
	}
	secretAuths := func() string {
		sec := &corev1.Secret{}
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "app-registry-auth"}, sec); err != nil {
			t.Fatal(err)
		}
		if sec.Type != corev1.SecretTypeDockerConfigJson || len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Service" || sec.OwnerReferences[0].Name != "app" {
			t.Errorf("secret type %s, owners %v", sec.Type, sec.OwnerReferences)
		}
		return string(sec.Data[corev1.DockerConfigJsonKey])
	}
	if got, want := secretAuths(), `{"auths":{"10.247.0.1:5001":{"username":"user","password":"secret","auth":"dXNlcjpzZWNyZXQ="}}}`; got != want {
		t.Errorf("credentials %s, want %s", got, want)
	}
	if _, _, err := run(t, f, "service", "update", "-d", "--env-add", "A=1", "app"); err != nil {
		t.Fatal(err)
	}
	if got := getTestService(t, f, "app").Spec.RegistryAuthSecret; got != "app-registry-auth" {
		t.Errorf("after an update without the flag: registryAuthSecret = %q", got)
	}
	if _, _, err := run(t, f, "service", "update", "-d", "--no-resolve-image", "--with-registry-auth", "--image", "registry.example.com/app:2", "app"); err != nil {
		t.Fatal(err)
	}
	if got, want := secretAuths(), `{"auths":{"registry.example.com":{"username":"user","password":"secret","auth":"dXNlcjpzZWNyZXQ="}}}`; got != want {
		t.Errorf("credentials after the update %s, want %s", got, want)
	}
	// A Service without the flag names no Secret (its tasks' pod template is unchanged).
	if _, _, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "open", "nginx"); err != nil {
		t.Fatal(err)
	}
	if got := getTestService(t, f, "open").Spec.RegistryAuthSecret; got != "" {
		t.Errorf("without the flag: registryAuthSecret = %q", got)
	}
}

// TestInspectShowsLongLabels: service inspect shows the labels from the spec as written, a key
// longer than any Kubernetes annotation name included, plain and --pretty.
func TestInspectShowsLongLabels(t *testing.T) {
	const long = "traefik.http.middlewares.client.headers.customresponseheaders.Cache-control"
	f := factoryWith(nil)
	if _, _, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "web", "--label", long+"=no-store", "nginx"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"service", "inspect", "web"}, {"service", "inspect", "--pretty", "web"}} {
		out, _, err := run(t, f, args...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, long) || !strings.Contains(out, "no-store") {
			t.Errorf("%v does not show the label:\n%s", args, out)
		}
	}
}

// TestJobTasksBySlot: service ps names a replicated job's tasks by slot, its completion index
// from 0 as Swarm numbers a job's slots (slot 0 by its node, as docker names a task of slot 0),
// and lists a failed task whose slot was retried as that slot's history, shut down.
func TestJobTasksBySlot(t *testing.T) {
	svc := makeService("job").Mode(swarmv1.ModeReplicatedJob).Replicas(2).Converged().Obj()
	task := func(name, index string, age time.Duration, phase corev1.PodPhase, exit int32) *corev1.Pod {
		p := makePod("job", name, "worker1", age, false)
		p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: index}
		p.Status.Phase = phase
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, FinishedAt: metav1.NewTime(testNow)}}
		return p
	}
	f := factoryWith([]*swarmv1.Service{svc},
		task("job-0-a", "0", 3*time.Minute, corev1.PodFailed, 1), task("job-1-a", "1", 3*time.Minute, corev1.PodSucceeded, 0),
		task("job-0-b", "0", time.Minute, corev1.PodSucceeded, 0))
	out, _, err := run(t, f, "service", "ps", "--format", "{{.Name}} {{.DesiredState}}", "job")
	if err != nil {
		t.Fatal(err)
	}
	want := "job.worker1 Complete\njob.1 Complete\n \\_ job Shutdown\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("service ps (-want +got):\n%s", diff)
	}
}

// TestServiceInspectPrettyDifferences: `service inspect --pretty` ends with what the operator
// says Kubernetes only approximates (its Honored condition), one note a line, and says nothing
// when every option is honored.
func TestServiceInspectPrettyDifferences(t *testing.T) {
	tests := []struct {
		name string
		cond *metav1.Condition
		want string
	}{
		{name: "approximated", cond: &metav1.Condition{Type: swarmv1.ConditionHonored, Status: metav1.ConditionFalse, Reason: "OptionsApproximated",
			Message: "restartPolicy.delay: the kubelet's back-off restarts a task, not the delay; env: templates {{.Task.Color}} are not Swarm's and are left as written"},
			want: "Differences from Swarm:\n restartPolicy.delay: the kubelet's back-off restarts a task, not the delay\n env: templates {{.Task.Color}} are not Swarm's and are left as written\n"},
		{name: "honored", cond: &metav1.Condition{Type: swarmv1.ConditionHonored, Status: metav1.ConditionTrue, Reason: "AllOptionsHonored", Message: "Every option of the spec is realised as asked"}},
		{name: "not reconciled yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := makeService("web").Obj()
			if tt.cond != nil {
				svc.Status.Conditions = []metav1.Condition{*tt.cond}
			}
			out, _, err := run(t, factoryWith([]*swarmv1.Service{svc}), "service", "inspect", "--pretty", "web")
			if err != nil {
				t.Fatal(err)
			}
			_, got, _ := strings.Cut(out, "Differences from Swarm:\n")
			if tt.want != "" {
				got = "Differences from Swarm:\n" + got
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nwhole output:\n%s", diff, out)
			}
		})
	}
}
