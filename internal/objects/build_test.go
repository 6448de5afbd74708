package objects

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
	"github.com/kubeswarm/kubeswarm/internal/update"
)

var wide = translate.Options{NodePortRange: translate.PortRange{Min: 1, Max: 32767}}

func build(t *testing.T, svc *swarmv1.Service, opts translate.Options) *Objects {
	t.Helper()
	objs, err := Build(svc, Inputs{}, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return objs
}

func podSpec(o *Objects) *corev1ac.PodSpecApplyConfiguration {
	switch {
	case o.DaemonSet != nil:
		return o.DaemonSet.Spec.Template.Spec
	case o.StatefulSet != nil:
		return o.StatefulSet.Spec.Template.Spec
	}
	return o.Deployment.Spec.Template.Spec
}

// TestBuildReplicated: the seed's `docker service create --replicas 3 --publish 8000:80 nginx`.
func TestBuildReplicated(t *testing.T) {
	svc := testutil.MakeService("nginx", "default").Replicas(3).Publish(8000, 80).Obj()
	got := build(t, svc, wide)

	owner := metav1ac.OwnerReference().WithAPIVersion("swarm.kubeswarm.io/v1alpha1").WithKind("Service").
		WithName("nginx").WithUID("uid-nginx").WithController(true).WithBlockOwnerDeletion(true)
	labels := map[string]string{translate.LabelService: "nginx", translate.LabelManagedBy: "kubeswarm"}
	selector := metav1ac.LabelSelector().WithMatchLabels(map[string]string{translate.LabelService: "nginx"})
	want := appsv1ac.Deployment("nginx", "default").WithLabels(labels).WithOwnerReferences(owner).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(3).
			WithSelector(selector).
			WithRevisionHistoryLimit(5).
			WithStrategy(appsv1ac.DeploymentStrategy().WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().WithMaxSurge(intstr.FromInt32(0)).WithMaxUnavailable(intstr.FromInt32(1)))).
			WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithLabels(map[string]string{translate.LabelTemplateHash: got.TemplateHash}).WithSpec(corev1ac.PodSpec().
				WithRestartPolicy(corev1.RestartPolicyAlways).
				WithEnableServiceLinks(false).
				WithAutomountServiceAccountToken(false).
				WithTerminationGracePeriodSeconds(10).
				WithContainers(corev1ac.Container().WithName("task").WithImage("nginx").WithImagePullPolicy(corev1.PullAlways).
					WithPorts(corev1ac.ContainerPort().WithContainerPort(80).WithProtocol(corev1.ProtocolTCP))).
				WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().WithMaxSkew(1).WithTopologyKey(corev1.LabelHostname).
					WithWhenUnsatisfiable(corev1.ScheduleAnyway).WithNodeTaintsPolicy(corev1.NodeInclusionPolicyHonor).WithLabelSelector(selector)).
				WithTolerations(
					corev1ac.Toleration().WithKey(translate.ControlPlaneTaint).WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule),
					corev1ac.Toleration().WithKey(corev1.TaintNodeUnreachable).WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoExecute).WithTolerationSeconds(30),
					corev1ac.Toleration().WithKey(corev1.TaintNodeNotReady).WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoExecute).WithTolerationSeconds(30)).
				WithSchedulingGates(corev1ac.PodSchedulingGate().WithName(update.Gate)))))
	if diff := cmp.Diff(want, got.Deployment); diff != "" {
		t.Errorf("Deployment (-want +got):\n%s", diff)
	}
	if got.DaemonSet != nil {
		t.Errorf("a replicated service got a DaemonSet")
	}

	wantSvc := corev1ac.Service("nginx", "default").WithLabels(labels).WithOwnerReferences(owner).
		WithSpec(corev1ac.ServiceSpec().WithSelector(map[string]string{translate.LabelService: "nginx"}).
			WithType(corev1.ServiceTypeNodePort).WithExternalTrafficPolicy(corev1.ServiceExternalTrafficPolicyCluster).
			WithPorts(corev1ac.ServicePort().WithName("tcp-80").WithProtocol(corev1.ProtocolTCP).WithPort(80).
				WithTargetPort(intstr.FromInt32(80)).WithNodePort(8000)))
	if diff := cmp.Diff(wantSvc, got.Service); diff != "" {
		t.Errorf("Service (-want +got):\n%s", diff)
	}
	if len(got.Notes) != 0 {
		t.Errorf("notes = %q, want none", got.Notes)
	}
}

func TestBuildGlobal(t *testing.T) {
	got := build(t, testutil.MakeService("agent", "ns").Mode(swarmv1.ModeGlobal).Obj(), wide)
	if got.Deployment != nil || got.DaemonSet == nil {
		t.Fatalf("global: Deployment %v DaemonSet %v, want only a DaemonSet", got.Deployment != nil, got.DaemonSet != nil)
	}
	spec := podSpec(got)
	if len(spec.TopologySpreadConstraints) != 0 {
		t.Errorf("a global service has topology spread constraints")
	}
	wantTol := []corev1ac.TolerationApplyConfiguration{*corev1ac.Toleration().WithKey(translate.ControlPlaneTaint).
		WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule)}
	if diff := cmp.Diff(wantTol, spec.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if got.WorkloadKind() != "DaemonSet" {
		t.Errorf("WorkloadKind = %s", got.WorkloadKind())
	}
	if ptr.Deref(got.Service.Spec.ClusterIP, "") != corev1.ClusterIPNone {
		t.Errorf("a service without ports should be headless, got clusterIP %v", got.Service.Spec.ClusterIP)
	}
}

func TestBuildReplicatedJob(t *testing.T) {
	svc := testutil.MakeService("migrate", "ns").Mode(swarmv1.ModeReplicatedJob).Replicas(5).Obj()
	svc.Spec.MaxConcurrent = ptr.To[int32](2)
	got, err := Build(svc, Inputs{JobIteration: 3}, wide)
	if err != nil {
		t.Fatal(err)
	}
	if got.Deployment != nil || got.DaemonSet != nil || len(got.Jobs) != 1 || got.WorkloadKind() != "Job" {
		t.Fatalf("want exactly one Job, got %+v", got)
	}
	j := got.Jobs[0]
	if *j.Name != "migrate" || *j.Spec.Completions != 5 || *j.Spec.Parallelism != 2 || *j.Spec.BackoffLimit != math.MaxInt32 {
		t.Errorf("Job %s completions %d parallelism %d backoff %d, want migrate 5 2 unlimited", *j.Name, *j.Spec.Completions, *j.Spec.Parallelism, *j.Spec.BackoffLimit)
	}
	if rp := *j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure {
		t.Errorf("restart policy %s, want OnFailure", rp)
	}
	if it := j.Spec.Template.Annotations[translate.AnnotationJobIteration]; it != "3" {
		t.Errorf("job iteration annotation %q, want 3", it)
	}
	if j.Labels[translate.LabelTemplateHash] != got.TemplateHash || j.Spec.Template.Labels[translate.LabelTemplateHash] != got.TemplateHash {
		t.Errorf("the Job and its template must carry the template hash %s: %v %v", got.TemplateHash, j.Labels, j.Spec.Template.Labels)
	}
	again, _ := Build(svc, Inputs{JobIteration: 4}, wide)
	if again.TemplateHash == got.TemplateHash {
		t.Errorf("a new job iteration must change the template hash, so the job runs again")
	}

}

// TestJobRestarts: a job's restart policy, counted per task (slot) as swarmkit's restart
// supervisor counts it: an Indexed Job with backoffLimitPerIndex for a replicated job, whose
// tasks are retried in new pods (Never); without a limit, the container restarts in place
// (OnFailure) with no Job-wide limit. A global job has one task per Job: its Job's limit.
func TestJobRestarts(t *testing.T) {
	type job struct {
		Mode                               batchv1.CompletionMode
		BackoffLimit, BackoffLimitPerIndex *int32
		RestartPolicy                      corev1.RestartPolicy
	}
	unlimited := ptr.To[int32](math.MaxInt32)
	cases := []struct {
		name string
		mode swarmv1.ServiceMode
		rp   *swarmv1.RestartPolicy
		want job
	}{
		{"default", swarmv1.ModeReplicatedJob, nil, job{batchv1.IndexedCompletion, unlimited, nil, corev1.RestartPolicyOnFailure}},
		{"none", swarmv1.ModeReplicatedJob, &swarmv1.RestartPolicy{Condition: swarmv1.RestartNone},
			job{batchv1.IndexedCompletion, unlimited, ptr.To[int32](0), corev1.RestartPolicyNever}},
		{"on-failure, maxAttempts 3", swarmv1.ModeReplicatedJob, &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure, MaxAttempts: ptr.To[int32](3)},
			job{batchv1.IndexedCompletion, unlimited, ptr.To[int32](3), corev1.RestartPolicyNever}},
		{"any, maxAttempts 0", swarmv1.ModeReplicatedJob, &swarmv1.RestartPolicy{Condition: swarmv1.RestartAny, MaxAttempts: ptr.To[int32](0)},
			job{batchv1.IndexedCompletion, unlimited, nil, corev1.RestartPolicyOnFailure}},
		{"global, default", swarmv1.ModeGlobalJob, nil, job{"", unlimited, nil, corev1.RestartPolicyOnFailure}},
		{"global, none", swarmv1.ModeGlobalJob, &swarmv1.RestartPolicy{Condition: swarmv1.RestartNone}, job{"", ptr.To[int32](0), nil, corev1.RestartPolicyNever}},
		{"global, maxAttempts 2", swarmv1.ModeGlobalJob, &swarmv1.RestartPolicy{MaxAttempts: ptr.To[int32](2)}, job{"", ptr.To[int32](2), nil, corev1.RestartPolicyNever}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("migrate", "ns").Mode(tc.mode).Replicas(3).Obj()
			svc.Spec.RestartPolicy = tc.rp
			got, err := Build(svc, Inputs{Nodes: []string{"worker1"}}, wide)
			if err != nil {
				t.Fatal(err)
			}
			j := got.Jobs[0].Spec
			g := job{ptr.Deref(j.CompletionMode, ""), j.BackoffLimit, j.BackoffLimitPerIndex, *j.Template.Spec.RestartPolicy}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("Job (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJobTaskSlot: a replicated job's task reads its slot (its completion index, from 0 as Swarm
// numbers a job's slots) in SWARM_TASK_SLOT; a global job's tasks have no slot.
func TestJobTaskSlot(t *testing.T) {
	want := map[swarmv1.ServiceMode][]corev1.EnvVar{
		swarmv1.ModeReplicatedJob: {{Name: "SWARM_TASK_SLOT", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}},
		swarmv1.ModeGlobalJob: nil,
	}
	got := map[swarmv1.ServiceMode][]corev1.EnvVar{}
	for mode := range want {
		svc := testutil.MakeService("migrate", "ns").Mode(mode).Obj()
		objs, err := Build(svc, Inputs{Nodes: []string{"worker1"}}, wide)
		if err != nil {
			t.Fatal(err)
		}
		var pod corev1.PodTemplateSpec
		data, _ := json.Marshal(objs.Jobs[0].Spec.Template)
		_ = json.Unmarshal(data, &pod)
		got[mode] = pod.Spec.Containers[0].Env
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestBuildGlobalJob(t *testing.T) {
	svc := testutil.MakeService("scan", "ns").Mode(swarmv1.ModeGlobalJob).Constraint("node.role==worker").Obj()
	got, err := Build(svc, Inputs{Nodes: []string{"worker1", "worker2"}}, wide)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 2 {
		t.Fatalf("%d Jobs, want one per node", len(got.Jobs))
	}
	for i, node := range []string{"worker1", "worker2"} {
		j := got.Jobs[i]
		if *j.Name != "scan-"+node || j.Labels[translate.LabelNode] != node || *j.Spec.Completions != 1 {
			t.Errorf("Job %d: %s labels %v", i, *j.Name, j.Labels)
		}
		term := j.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
		want := []corev1ac.NodeSelectorRequirementApplyConfiguration{*corev1ac.NodeSelectorRequirement().WithKey("metadata.name").WithOperator(corev1.NodeSelectorOpIn).WithValues(node)}
		if diff := cmp.Diff(want, term.MatchFields); diff != "" || len(term.MatchExpressions) != 1 {
			t.Errorf("Job on %s: the term must keep the constraint and pin the node (-want +got):\n%s", node, diff)
		}
	}
	if long := globalJobName(strings.Repeat("s", 40), strings.Repeat("n", 40)); len(long) > 63 {
		t.Errorf("globalJobName gave %d characters", len(long))
	}
}

func TestPausedAndRollingBack(t *testing.T) {
	svc := testutil.MakeService("s", "n").Replicas(4).Obj()
	svc.Spec.UpdateConfig = &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2)}
	svc.Spec.RollbackConfig = &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](4), Order: swarmv1.OrderStartFirst}
	normal := build(t, svc, wide)
	paused, _ := Build(svc, Inputs{UpdateState: swarmv1.UpdateStatePaused}, wide)
	back, _ := Build(svc, Inputs{UpdateState: swarmv1.UpdateStateRollbackStarted}, wide)
	if normal.Deployment.Spec.Paused != nil || !*paused.Deployment.Spec.Paused {
		t.Errorf("paused: %v / %v", normal.Deployment.Spec.Paused, paused.Deployment.Spec.Paused)
	}
	if ru := back.Deployment.Spec.Strategy.RollingUpdate; ru.MaxSurge.IntVal != 4 || ru.MaxUnavailable.IntVal != 0 {
		t.Errorf("rolling back must use rollbackConfig: %+v", ru)
	}
	if normal.TemplateHash != paused.TemplateHash || normal.TemplateHash != back.TemplateHash {
		t.Errorf("pausing or rolling back must not change the task template")
	}
	svc.Spec.Mode, svc.Spec.Replicas = swarmv1.ModeGlobal, nil
	if ds, _ := Build(svc, Inputs{UpdateState: swarmv1.UpdateStatePaused}, wide); *ds.DaemonSet.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
		t.Errorf("a paused global service must stop replacing tasks (OnDelete)")
	}
}

func TestBuildPorts(t *testing.T) {
	sp := func(name string, port, target, nodePort int32) *corev1ac.ServicePortApplyConfiguration {
		p := corev1ac.ServicePort().WithName(name).WithProtocol(corev1.ProtocolTCP).WithPort(port).WithTargetPort(intstr.FromInt32(target))
		if nodePort != 0 {
			p.WithNodePort(nodePort)
		}
		return p
	}
	cases := []struct {
		name      string
		svc       *swarmv1.Service
		opts      translate.Options
		wantType  corev1.ServiceType
		headless  bool
		wantPorts []*corev1ac.ServicePortApplyConfiguration
		wantNote  string
		wantErr   string
	}{
		{name: "published in range", svc: testutil.MakeService("s", "n").Publish(8000, 80).Obj(), opts: wide,
			wantType: corev1.ServiceTypeNodePort, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 8000)}},
		{name: "published outside the default range", svc: testutil.MakeService("s", "n").Publish(8000, 80).Obj(),
			wantType: corev1.ServiceTypeNodePort, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 0)},
			wantNote: "published port 8000 is outside the cluster's node-port range 30000-32767"},
		{name: "published 0 is allocated", svc: testutil.MakeService("s", "n").Publish(0, 80).Obj(), opts: wide,
			wantType: corev1.ServiceTypeNodePort, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 0)}},
		{name: "load balancer listens on the published port", svc: testutil.MakeService("s", "n").Publish(443, 8443).Obj(),
			opts: translate.Options{IngressServiceType: corev1.ServiceTypeLoadBalancer}, wantType: corev1.ServiceTypeLoadBalancer,
			wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-8443", 8443, 8443, 0), sp("tcp-8443-443", 443, 8443, 0)}},
		{name: "one target published twice", svc: testutil.MakeService("s", "n").Publish(8000, 80).Publish(8001, 80).Obj(), opts: wide,
			wantType: corev1.ServiceTypeNodePort, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 8000), sp("tcp-80-8001", 8001, 80, 8001)}},
		{name: "one target twice without a published port", svc: testutil.MakeService("s", "n").Publish(0, 80).Publish(0, 80).Obj(), opts: wide,
			wantErr: "target 80/tcp is published twice"},
		{name: "host mode only: a virtual IP on the target port", svc: testutil.MakeService("s", "n").PublishHost(8000, 80).Obj(), opts: wide,
			wantType: corev1.ServiceTypeClusterIP, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 0)}},
		{name: "ingress and host: only ingress on the NodePort", svc: testutil.MakeService("s", "n").Publish(8080, 8080).PublishHost(9000, 9000).Obj(), opts: wide,
			wantType: corev1.ServiceTypeNodePort, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-8080", 8080, 8080, 8080)}},
		{name: "dnsrr is headless", svc: testutil.MakeService("s", "n").EndpointMode("dnsrr").PublishHost(8000, 80).Obj(), opts: wide,
			wantType: corev1.ServiceTypeClusterIP, headless: true, wantPorts: []*corev1ac.ServicePortApplyConfiguration{sp("tcp-80", 80, 80, 0)}},
		{name: "no ports is headless", svc: testutil.MakeService("s", "n").Obj(), opts: wide, wantType: corev1.ServiceTypeClusterIP, headless: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.svc, Inputs{}, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := got.Service.Spec
			if *s.Type != tc.wantType || (ptr.Deref(s.ClusterIP, "") == corev1.ClusterIPNone) != tc.headless {
				t.Errorf("type %s clusterIP %q, want %s headless=%v", *s.Type, ptr.Deref(s.ClusterIP, ""), tc.wantType, tc.headless)
			}
			var gotPorts []*corev1ac.ServicePortApplyConfiguration
			for i := range s.Ports {
				gotPorts = append(gotPorts, &s.Ports[i])
			}
			if diff := cmp.Diff(tc.wantPorts, gotPorts); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if notes := strings.Join(got.Notes, "; "); (tc.wantNote == "") != (notes == "") || !strings.Contains(notes, tc.wantNote) {
				t.Errorf("notes = %q, want %q", notes, tc.wantNote)
			}
		})
	}
}

func TestHostPortOnContainer(t *testing.T) {
	got := build(t, testutil.MakeService("s", "n").PublishHost(8000, 80).Obj(), wide)
	want := []corev1ac.ContainerPortApplyConfiguration{*corev1ac.ContainerPort().WithContainerPort(80).WithProtocol(corev1.ProtocolTCP).WithHostPort(8000)}
	if diff := cmp.Diff(want, podSpec(got).Containers[0].Ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
}

// TestRegistryAuthSecret: docker's --with-registry-auth credentials are the tasks' image pull
// secret; a service without names none.
func TestRegistryAuthSecret(t *testing.T) {
	svc := testutil.MakeService("s", "n").Obj()
	if got := podSpec(build(t, svc, wide)).ImagePullSecrets; got != nil {
		t.Errorf("imagePullSecrets without: %v", got)
	}
	svc.Spec.RegistryAuthSecret = "s-registry-auth"
	want := []corev1ac.LocalObjectReferenceApplyConfiguration{*corev1ac.LocalObjectReference().WithName("s-registry-auth")}
	if diff := cmp.Diff(want, podSpec(build(t, svc, wide)).ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
}

func TestConstraints(t *testing.T) {
	req := func(key string, op corev1.NodeSelectorOperator, v ...string) corev1ac.NodeSelectorRequirementApplyConfiguration {
		return *corev1ac.NodeSelectorRequirement().WithKey(key).WithOperator(op).WithValues(v...)
	}
	cases := []struct {
		constraints []string
		want        []corev1ac.NodeSelectorRequirementApplyConfiguration
		wantErr     string
	}{
		{constraints: []string{"node.role==manager"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req(translate.NodeLabelRole, corev1.NodeSelectorOpIn, "manager")}},
		{constraints: []string{"node.role != Worker"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req(translate.NodeLabelRole, corev1.NodeSelectorOpNotIn, "worker")}},
		{constraints: []string{"node.hostname == Manager1", "node.platform.os==Linux", "node.platform.arch==x86_64"},
			want: []corev1ac.NodeSelectorRequirementApplyConfiguration{
				req(corev1.LabelHostname, corev1.NodeSelectorOpIn, "manager1"),
				req(corev1.LabelOSStable, corev1.NodeSelectorOpIn, "linux"),
				req(corev1.LabelArchStable, corev1.NodeSelectorOpIn, "amd64")}},
		{constraints: []string{"node.platform.arch!=aarch64"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req(corev1.LabelArchStable, corev1.NodeSelectorOpNotIn, "arm64")}},
		{constraints: []string{"node.labels.type==db", "engine.labels.com.example/zone!=eu"},
			want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req("type", corev1.NodeSelectorOpIn, "DB", "Db", "db"), req("com.example/zone", corev1.NodeSelectorOpNotIn, "EU", "Eu", "eu")}},
		{constraints: []string{"node.id==ABC123"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req(translate.NodeLabelID, corev1.NodeSelectorOpIn, "abc123")}},
		{constraints: []string{"node.ip==10.0.0.7"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{req(translate.NodeLabelIP, corev1.NodeSelectorOpIn, "10.0.0.7")}},
		{constraints: []string{"node.ip==10.0.0.0/8"}, wantErr: "only a single IP address is supported"},
		// One verdict at every door (swarmsyntax.ParseConstraint): a value with spaces can never
		// match a Kubernetes label, so it is refused as the API server and the plugin refuse it.
		{constraints: []string{"node.labels.type==two words"}, wantErr: "a VALUE without spaces"},
		{constraints: []string{"node.labels.type==a/b"}, wantErr: "not a valid Kubernetes label value"},
		{constraints: []string{"node.labels.bad key==x"}, wantErr: "must be KEY==VALUE or KEY!=VALUE"},
		{constraints: []string{"node.labels.a:b==x"}, wantErr: "not a valid Kubernetes label key"},
		{constraints: []string{"node.colour==blue"}, wantErr: "must be KEY==VALUE or KEY!=VALUE"},
		// Swarm compares keys case-insensitively (swarmkit manager/constraint).
		{constraints: []string{"NODE.ROLE==manager", "Node.Labels.Type==db"}, want: []corev1ac.NodeSelectorRequirementApplyConfiguration{
			req(translate.NodeLabelRole, corev1.NodeSelectorOpIn, "manager"), req("Type", corev1.NodeSelectorOpIn, "DB", "Db", "db")}},
		{constraints: []string{"node.role=manager"}, wantErr: "must be KEY==VALUE or KEY!=VALUE"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.constraints, ","), func(t *testing.T) {
			w := testutil.MakeService("s", "n")
			for _, c := range tc.constraints {
				w.Constraint(c)
			}
			got, err := Build(w.Obj(), Inputs{}, wide)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "placement.constraints") {
					t.Fatalf("err = %v, want one naming placement.constraints and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			terms := podSpec(got).Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(terms) != 1 {
				t.Fatalf("%d node selector terms, want 1 (constraints are ANDed)", len(terms))
			}
			if diff := cmp.Diff(tc.want, terms[0].MatchExpressions); diff != "" {
				t.Errorf("requirements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlacementPreferencesAndMaxReplicas(t *testing.T) {
	svc := testutil.MakeService("s", "n").Obj()
	svc.Spec.Placement = &swarmv1.Placement{Preferences: []swarmv1.PlacementPreference{{Spread: "node.labels.zone"}}, MaxReplicasPerNode: ptr.To[int32](1)}
	spec := podSpec(build(t, svc, wide))
	if n := len(spec.TopologySpreadConstraints); n != 2 || *spec.TopologySpreadConstraints[1].TopologyKey != "zone" ||
		*spec.TopologySpreadConstraints[1].WhenUnsatisfiable != corev1.ScheduleAnyway {
		t.Errorf("spread constraints = %+v, want hostname then zone, ScheduleAnyway", spec.TopologySpreadConstraints)
	}
	anti := spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(anti) != 1 || *anti[0].TopologyKey != corev1.LabelHostname {
		t.Errorf("maxReplicasPerNode=1: anti-affinity = %+v, want one required term on the hostname", anti)
	}

	svc.Spec.Placement.MaxReplicasPerNode = ptr.To[int32](2)
	got := build(t, svc, wide)
	spec = podSpec(got)
	if n := len(spec.TopologySpreadConstraints); n != 2 || spec.Affinity != nil || len(got.Notes) != 0 {
		t.Errorf("maxReplicasPerNode=2: spread %+v affinity %+v notes %q, want only the preferences' spreads, no anti-affinity, no note: the Service controller caps it (update.Admit)",
			spec.TopologySpreadConstraints, spec.Affinity, got.Notes)
	}
	if gates := spec.SchedulingGates; len(gates) != 1 || *gates[0].Name != update.Gate {
		t.Errorf("scheduling gates %+v, want the admission gate", gates)
	}
}

func TestUpdateConfig(t *testing.T) {
	cases := []struct {
		name               string
		uc                 *swarmv1.UpdateConfig
		surge, unavailable intstr.IntOrString
		minReady           *int32
	}{
		{name: "default: one at a time, stop first", surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(1)},
		{name: "parallelism 2", uc: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2)}, surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(2)},
		{name: "parallelism 0 is all at once", uc: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](0)}, surge: intstr.FromInt32(0), unavailable: intstr.FromString("100%")},
		{name: "start-first", uc: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](3), Order: swarmv1.OrderStartFirst}, surge: intstr.FromInt32(3), unavailable: intstr.FromInt32(0)},
		{name: "delay 10s", uc: &swarmv1.UpdateConfig{Delay: &metav1.Duration{Duration: 10 * time.Second}}, surge: intstr.FromInt32(0), unavailable: intstr.FromInt32(1), minReady: ptr.To[int32](10)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("s", "n").Obj()
			svc.Spec.UpdateConfig = tc.uc
			d := build(t, svc, wide).Deployment
			ru := d.Spec.Strategy.RollingUpdate
			if diff := cmp.Diff([]intstr.IntOrString{tc.surge, tc.unavailable}, []intstr.IntOrString{*ru.MaxSurge, *ru.MaxUnavailable}); diff != "" {
				t.Errorf("maxSurge, maxUnavailable (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.minReady, d.Spec.MinReadySeconds); diff != "" {
				t.Errorf("minReadySeconds (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTaskTemplateStability: fields outside Swarm's task template (replicas, service labels,
// update and rollback config) must not change the pod template, or tasks would restart.
func TestTaskTemplateStability(t *testing.T) {
	base := testutil.MakeService("s", "n").Replicas(2).Publish(8000, 80).Obj()
	changed := base.DeepCopy()
	changed.Spec.Replicas = ptr.To[int32](7)
	changed.Spec.Labels = map[string]string{"team": "web"}
	changed.Spec.UpdateConfig = &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](3), Delay: &metav1.Duration{Duration: time.Second}}
	changed.Spec.RollbackConfig = &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2)}
	if diff := cmp.Diff(build(t, base, wide).Deployment.Spec.Template, build(t, changed, wide).Deployment.Spec.Template); diff != "" {
		t.Errorf("the pod template changed (-before +after):\n%s", diff)
	}
	forced := base.DeepCopy()
	forced.Spec.ForceUpdate = 1
	if got := build(t, forced, wide).Deployment.Spec.Template.Annotations[translate.AnnotationForceUpdate]; got != "1" {
		t.Errorf("forceUpdate annotation = %q, want 1", got)
	}
}

func TestContainerOptions(t *testing.T) {
	svc := testutil.MakeService("s", "n").Env("A", "1").Env("B", "").Obj()
	s := &svc.Spec
	s.Entrypoint, s.Command, s.WorkingDir = []string{"/bin/app"}, []string{"--port", "80"}, "/srv"
	s.User, s.Groups = "1000:2000", []string{"3000"}
	s.Hostname, s.ReadOnly, s.TTY, s.Init = "web", true, true, ptr.To(true)
	s.CapAdd, s.CapDrop = []string{"CAP_NET_ADMIN"}, []string{"all"}
	s.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
	s.ExtraHosts = []swarmv1.HostEntry{{Hostname: "db", IP: "10.0.0.2"}, {Hostname: "cache", IP: "10.0.0.3"}, {Hostname: "db2", IP: "10.0.0.2"}}
	s.DNS, s.DNSSearch, s.DNSOptions = []string{"1.1.1.1"}, []string{"example.com"}, []string{"ndots:2", "rotate"}
	s.StopGracePeriod = &metav1.Duration{Duration: 90 * time.Second}
	s.ContainerLabels = map[string]string{"com.example.role": "frontend"}

	spec := podSpec(build(t, svc, wide))
	c := spec.Containers[0]
	want := corev1ac.Container().WithName("task").WithImage("nginx").WithImagePullPolicy(corev1.PullAlways).
		WithCommand("/bin/app").WithArgs("--port", "80").WithWorkingDir("/srv").WithTTY(true).
		WithEnv(corev1ac.EnvVar().WithName("A").WithValue("1"), corev1ac.EnvVar().WithName("B").WithValue("")).
		WithSecurityContext(corev1ac.SecurityContext().WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithAdd("NET_ADMIN").WithDrop("ALL")))
	if diff := cmp.Diff(*want, c); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	wantPod := corev1ac.PodSecurityContext().WithRunAsUser(1000).WithRunAsGroup(2000).WithSupplementalGroups(3000).
		WithSysctls(corev1ac.Sysctl().WithName("net.core.somaxconn").WithValue("1024"))
	if diff := cmp.Diff(wantPod, spec.SecurityContext); diff != "" {
		t.Errorf("pod security context (-want +got):\n%s", diff)
	}
	wantAliases := []corev1ac.HostAliasApplyConfiguration{*corev1ac.HostAlias().WithIP("10.0.0.2").WithHostnames("db", "db2"), *corev1ac.HostAlias().WithIP("10.0.0.3").WithHostnames("cache")}
	if diff := cmp.Diff(wantAliases, spec.HostAliases); diff != "" {
		t.Errorf("host aliases (-want +got):\n%s", diff)
	}
	wantDNS := corev1ac.PodDNSConfig().WithNameservers("1.1.1.1").WithSearches("example.com").
		WithOptions(corev1ac.PodDNSConfigOption().WithName("ndots").WithValue("2"), corev1ac.PodDNSConfigOption().WithName("rotate"))
	if diff := cmp.Diff(wantDNS, spec.DNSConfig); diff != "" {
		t.Errorf("dns config (-want +got):\n%s", diff)
	}
	if *spec.Hostname != "web" || !*spec.ShareProcessNamespace || *spec.TerminationGracePeriodSeconds != 90 {
		t.Errorf("hostname %v shareProcessNamespace %v grace %v", *spec.Hostname, *spec.ShareProcessNamespace, *spec.TerminationGracePeriodSeconds)
	}
}

func TestHealthcheck(t *testing.T) {
	svc := testutil.MakeService("s", "n").Obj()
	svc.Spec.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
		Interval: &metav1.Duration{Duration: 10 * time.Second}, Timeout: &metav1.Duration{Duration: 2500 * time.Millisecond},
		Retries: ptr.To[int32](5), StartPeriod: &metav1.Duration{Duration: 30 * time.Second}}
	c := podSpec(build(t, svc, wide)).Containers[0]
	probe := corev1ac.Probe().WithExec(corev1ac.ExecAction().WithCommand("/bin/sh", "-c", "curl -f http://localhost/ || exit 1")).
		WithPeriodSeconds(10).WithTimeoutSeconds(3).WithFailureThreshold(5).WithSuccessThreshold(1)
	if diff := cmp.Diff(probe, c.ReadinessProbe); diff != "" {
		t.Errorf("readiness (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(probe, c.LivenessProbe); diff != "" {
		t.Errorf("liveness (-want +got):\n%s", diff)
	}
	if s := c.StartupProbe; s == nil || *s.PeriodSeconds != 5 || *s.FailureThreshold != 30/5+5 {
		t.Errorf("startup probe = %+v, want every 5s for the 30s start period plus the retries", s)
	}

	svc.Spec.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD", "pg_isready"}, Disable: true}
	c = podSpec(build(t, svc, wide)).Containers[0]
	if c.ReadinessProbe != nil || c.LivenessProbe != nil || c.StartupProbe != nil {
		t.Errorf("disable left probes")
	}
	svc.Spec.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD", "pg_isready", "-q"}}
	c = podSpec(build(t, svc, wide)).Containers[0]
	if diff := cmp.Diff([]string{"pg_isready", "-q"}, c.LivenessProbe.Exec.Command); diff != "" {
		t.Errorf("CMD probe command (-want +got):\n%s", diff)
	}
}

func TestResources(t *testing.T) {
	q := resource.MustParse
	cases := []struct {
		name         string
		res          *swarmv1.Resources
		wantLimits   corev1.ResourceList
		wantRequests corev1.ResourceList
		wantErr      string
	}{
		{name: "limit only reserves nothing", res: &swarmv1.Resources{Limits: &swarmv1.ResourceLimits{CPUs: ptr.To(q("0.5")), Memory: ptr.To(q("512Mi"))}},
			wantLimits:   corev1.ResourceList{corev1.ResourceCPU: q("0.5"), corev1.ResourceMemory: q("512Mi")},
			wantRequests: corev1.ResourceList{corev1.ResourceCPU: q("0"), corev1.ResourceMemory: q("0")}},
		{name: "reservation and generic resource", res: &swarmv1.Resources{Reservations: &swarmv1.ResourceReservations{CPUs: ptr.To(q("250m")),
			GenericResources: []swarmv1.GenericResource{{Kind: "example.com/gpu", Value: 2}}}},
			wantLimits:   corev1.ResourceList{"example.com/gpu": q("2")},
			wantRequests: corev1.ResourceList{corev1.ResourceCPU: q("250m"), "example.com/gpu": q("2")}},
		{name: "reservation above limit", res: &swarmv1.Resources{Limits: &swarmv1.ResourceLimits{Memory: ptr.To(q("1Gi"))},
			Reservations: &swarmv1.ResourceReservations{Memory: ptr.To(q("2Gi"))}}, wantErr: "reservation 2Gi is above the limit 1Gi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("s", "n").Obj()
			svc.Spec.Resources = tc.res
			got, err := Build(svc, Inputs{}, wide)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := podSpec(got).Containers[0].Resources
			if diff := cmp.Diff(tc.wantLimits, *r.Limits, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRequests, *r.Requests, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	svc := testutil.MakeService("s", "n").
		Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/var/lib/data", ReadOnly: true}).
		Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Target: "/scratch"}).
		Mount(swarmv1.Mount{Type: swarmv1.MountTmpfs, Target: "/run/cache", Tmpfs: &swarmv1.TmpfsOptions{Size: ptr.To(resource.MustParse("64Mi"))}}).Obj()
	svc.Spec.Secrets = []swarmv1.FileReference{{Source: "db-pass"}, {Source: "tls", Target: "/etc/tls/key.pem"}}
	svc.Spec.Configs = []swarmv1.FileReference{{Source: "nginx-conf", Target: "/etc/nginx/nginx.conf"}}
	got, err := Build(svc, Inputs{}, wide)
	if err != nil {
		t.Fatal(err)
	}
	spec := podSpec(got)
	var mounts []string
	for _, m := range spec.Containers[0].VolumeMounts {
		mounts = append(mounts, *m.Name+"="+*m.MountPath+"|"+ptr.Deref(m.SubPath, ""))
	}
	// The named volume is per slot: the claim template's volume, which the StatefulSet adds.
	wantMounts := []string{"data=/var/lib/data|", "mount-1=/scratch|", "mount-2=/run/cache|", "secret-1=/etc/tls/key.pem|tls", "secrets=/run/secrets|", "config-0=/etc/nginx/nginx.conf|nginx-conf"}
	if diff := cmp.Diff(wantMounts, mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	vols := map[string]corev1ac.VolumeApplyConfiguration{}
	for _, v := range spec.Volumes {
		vols[*v.Name] = v
	}
	if _, ok := vols["data"]; ok {
		t.Errorf("named volume: %+v in the pod template, want it from the claim template", vols["data"])
	}
	if c := got.StatefulSet.Spec.VolumeClaimTemplates; len(c) != 1 || *c[0].Name != "data" {
		t.Errorf("claim templates %+v, want data", c)
	}
	if vols["mount-1"].EmptyDir == nil || vols["mount-2"].EmptyDir == nil || *vols["mount-2"].EmptyDir.Medium != corev1.StorageMediumMemory {
		t.Errorf("anonymous volume / tmpfs: %+v %+v", vols["mount-1"], vols["mount-2"])
	}
	p := vols["secrets"].Projected
	if p == nil || len(p.Sources) != 1 || *p.Sources[0].Secret.Name != "db-pass" || *p.Sources[0].Secret.Items[0].Path != "db-pass" || *p.Sources[0].Secret.Items[0].Mode != 0o444 {
		t.Errorf("secrets volume = %+v, want db-pass as /run/secrets/db-pass mode 0444", p)
	}

	bind := testutil.MakeService("s", "n").Mount(swarmv1.Mount{Type: swarmv1.MountBind, Source: "/var/log", Target: "/logs"}).Obj()
	if _, err := Build(bind, Inputs{}, wide); err == nil || !strings.Contains(err.Error(), "mounts[0]") || !strings.Contains(err.Error(), "--allow-bind-mounts") {
		t.Errorf("bind mount while forbidden: err = %v, want one naming mounts[0] and the flag", err)
	}
	allowed := wide
	allowed.AllowBindMounts = true
	if hp := podSpec(build(t, bind, allowed)).Volumes[0].HostPath; hp == nil || *hp.Path != "/var/log" {
		t.Errorf("bind mount while allowed: %+v, want hostPath /var/log", hp)
	}
}

func TestNotes(t *testing.T) {
	svc := testutil.MakeService("s", "n").Obj()
	svc.Spec.RestartPolicy = &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure}
	svc.Spec.Ulimits = []swarmv1.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}
	svc.Spec.Logging = &swarmv1.Logging{Driver: "syslog"}
	got := build(t, svc, wide)
	all := strings.Join(got.Notes, "\n")
	for _, want := range []string{"ulimits (nofile)", "logging.driver=syslog"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes %q do not mention %q", all, want)
		}
	}
}

func TestPortsSummary(t *testing.T) {
	ing := func(pub, tgt int32, proto string) swarmv1.PortStatus {
		return swarmv1.PortStatus{Published: pub, Target: tgt, Protocol: proto, Mode: swarmv1.PortModeIngress}
	}
	cases := []struct {
		ports []swarmv1.PortStatus
		want  string
	}{
		{nil, ""},
		{[]swarmv1.PortStatus{ing(8000, 80, "tcp")}, "*:8000->80/tcp"},
		{[]swarmv1.PortStatus{ing(81, 81, "tcp"), ing(80, 80, "tcp"), ing(53, 53, "udp")}, "*:80-81->80-81/tcp, *:53->53/udp"},
		{[]swarmv1.PortStatus{ing(8000, 80, "tcp"), {Published: 9000, Target: 90, Protocol: "tcp", Mode: swarmv1.PortModeHost}}, "*:8000->80/tcp"},
	}
	for _, tc := range cases {
		if got := translate.PortsSummary(tc.ports); got != tc.want {
			t.Errorf("translate.PortsSummary(%v) = %q, want %q", tc.ports, got, tc.want)
		}
	}
}

func TestPublishedPorts(t *testing.T) {
	spec := testutil.MakeService("s", "n").Publish(0, 80).Publish(8000, 8080).PublishHost(9000, 90).Obj().Spec
	live := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
		{Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80), NodePort: 31234},
		{Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromInt32(8080), NodePort: 8000},
	}}}
	want := []swarmv1.PortStatus{
		{Target: 80, Published: 31234, Protocol: "tcp", Mode: swarmv1.PortModeIngress},
		{Target: 8080, Published: 8000, Protocol: "tcp", Mode: swarmv1.PortModeIngress},
		{Target: 90, Published: 9000, Protocol: "tcp", Mode: swarmv1.PortModeHost},
	}
	if diff := cmp.Diff(want, translate.PublishedPorts(&spec, live)); diff != "" {
		t.Errorf("translate.PublishedPorts (-want +got):\n%s", diff)
	}
}

func TestTemplates(t *testing.T) {
	svc := testutil.MakeService("web", "n").
		Env("NODE", "{{.Node.Hostname}}").
		Env("WHO", "{{.Service.Name}} task {{ .Task.Name }} on {{.Node.ID}}").
		Env("SLOT", "{{.Task.Slot}}").
		Env("PLAIN", "x").Obj()
	svc.Spec.Hostname = "{{.Service.Name}}-host"
	got := build(t, svc, wide)
	spec := podSpec(got)
	field := func(name, path string) corev1ac.EnvVarApplyConfiguration {
		return *corev1ac.EnvVar().WithName(name).WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath(path)))
	}
	value := func(name, v string) corev1ac.EnvVarApplyConfiguration {
		return *corev1ac.EnvVar().WithName(name).WithValue(v)
	}
	want := []corev1ac.EnvVarApplyConfiguration{
		field("SWARM_NODE_HOSTNAME", "spec.nodeName"),
		field("SWARM_NODE_ID", "spec.nodeName"),
		field("SWARM_TASK_NAME", "metadata.name"),
		field("SWARM_TASK_SLOT", "metadata.labels['apps.kubernetes.io/pod-index']"),
		value("NODE", "$(SWARM_NODE_HOSTNAME)"),
		value("WHO", "web task $(SWARM_TASK_NAME) on $(SWARM_NODE_ID)"),
		value("SLOT", "$(SWARM_TASK_SLOT)"),
		value("PLAIN", "x"),
	}
	if diff := cmp.Diff(want, spec.Containers[0].Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if *spec.Hostname != "web-host" {
		t.Errorf("hostname %q", *spec.Hostname)
	}
	if got.StatefulSet == nil || len(got.Notes) != 1 || !strings.HasPrefix(got.Notes[0], "node failure:") {
		t.Errorf("workload %s, notes %q; want a StatefulSet (the slot is its pods' ordinal) and only the node failure note", got.WorkloadKind(), got.Notes)
	}
	// A global service's tasks have no slot: swarmkit gives the node's ID (template/context.go).
	global := testutil.MakeService("agent", "n").Mode(swarmv1.ModeGlobal).Env("SLOT", "{{.Task.Slot}}").Obj()
	g := build(t, global, wide)
	wantGlobal := []corev1ac.EnvVarApplyConfiguration{field("SWARM_NODE_ID", "spec.nodeName"), value("SLOT", "$(SWARM_NODE_ID)")}
	if diff := cmp.Diff(wantGlobal, podSpec(g).Containers[0].Env); diff != "" || len(g.Notes) != 0 {
		t.Errorf("global env (-want +got):\n%s\nnotes %q", diff, g.Notes)
	}
	// A replicated job's task slot is its completion index (swarmkit numbers them from 0); a
	// global job's, its node's ID as a global service's.
	jobField := *corev1ac.EnvVar().WithName("SWARM_TASK_SLOT").WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(
		corev1ac.ObjectFieldSelector().WithFieldPath("metadata.annotations['batch.kubernetes.io/job-completion-index']")))
	for mode, want := range map[swarmv1.ServiceMode][]corev1ac.EnvVarApplyConfiguration{
		swarmv1.ModeReplicatedJob: {jobField, value("SLOT", "$(SWARM_TASK_SLOT)")},
		swarmv1.ModeGlobalJob:     {field("SWARM_NODE_ID", "spec.nodeName"), value("SLOT", "$(SWARM_NODE_ID)")},
	} {
		job := testutil.MakeService("once", "n").Mode(mode).Env("SLOT", "{{.Task.Slot}}").Obj()
		j, err := Build(job, Inputs{Nodes: []string{"worker1"}}, wide)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, j.Jobs[0].Spec.Template.Spec.Containers[0].Env); diff != "" || len(j.Notes) != 0 {
			t.Errorf("%s env (-want +got):\n%s\nnotes %q", mode, diff, j.Notes)
		}
	}
	// A template swarmkit does not know stays as written, reported.
	odd := build(t, testutil.MakeService("odd", "n").Env("X", "{{.Task.Color}}").Obj(), wide)
	if len(odd.Notes) != 1 || !strings.Contains(odd.Notes[0], "{{.Task.Color}}") {
		t.Errorf("notes %q, want the unknown template named", odd.Notes)
	}
	// Per-task hostnames: TestHostname.
}

func TestVolumeDrivers(t *testing.T) {
	nfsOpts := map[string]string{"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/exports/data"}
	tests := []struct {
		name      string
		mount     swarmv1.Mount
		wantNFS   string // server:path
		wantClaim string
		wantNote  string
		wantErr   string
	}{
		{name: "docker's local driver over nfs mounts the export",
			mount:   swarmv1.Mount{Type: swarmv1.MountVolume, Source: "wp-data", Target: "/data", Volume: &swarmv1.VolumeOptions{DriverOptions: nfsOpts}},
			wantNFS: "10.0.0.5:/exports/data"},
		{name: "another driver gets the claim, said in Honored",
			mount:     swarmv1.Mount{Type: swarmv1.MountVolume, Source: "wp-data", Target: "/data", Volume: &swarmv1.VolumeOptions{Driver: "rexray/ebs"}},
			wantClaim: "wp-data", wantNote: `mounts[0]: volume driver "rexray/ebs" with options map[] has no Kubernetes equivalent; the claim wp-data is used`},
		{name: "an nfs volume without a server is refused",
			mount:   swarmv1.Mount{Type: swarmv1.MountVolume, Source: "wp-data", Target: "/data", Volume: &swarmv1.VolumeOptions{DriverOptions: map[string]string{"type": "nfs", "device": ":/x"}}},
			wantErr: "mounts[0]: an nfs volume needs the server's address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(testutil.MakeService("s", "n").Mount(tt.mount).Obj(), Inputs{}, wide)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StatefulSet != nil {
				// A replicated service's named volume is per slot: the claim template.
				if c := got.StatefulSet.Spec.VolumeClaimTemplates; len(c) != 1 || *c[0].Name != tt.wantClaim {
					t.Errorf("claim templates %+v, want %s", c, tt.wantClaim)
				}
				if tt.wantNote != "" && !slices.Contains(got.Notes, tt.wantNote) {
					t.Errorf("notes %q, want %q", got.Notes, tt.wantNote)
				}
				return
			}
			v := podSpec(got).Volumes[0]
			switch {
			case tt.wantNFS != "":
				if v.NFS == nil || *v.NFS.Server+":"+*v.NFS.Path != tt.wantNFS {
					t.Errorf("volume %+v, want NFS %s", v, tt.wantNFS)
				}
			case v.PersistentVolumeClaim == nil || *v.PersistentVolumeClaim.ClaimName != tt.wantClaim:
				t.Errorf("volume %+v, want claim %s", v, tt.wantClaim)
			}
			if tt.wantNote != "" && !slices.Contains(got.Notes, tt.wantNote) {
				t.Errorf("notes %q, want %q", got.Notes, tt.wantNote)
			}
		})
	}
}

// TestPullPolicy: the policy Kubernetes would default to, except that a digest is never pulled
// again.
func TestPullPolicy(t *testing.T) {
	const digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		image string
		want  corev1.PullPolicy
	}{
		{image: "nginx", want: corev1.PullAlways},
		{image: "nginx:latest", want: corev1.PullAlways},
		{image: "library/nginx", want: corev1.PullAlways},
		{image: "registry.example.com:5000/team/app", want: corev1.PullAlways},
		{image: "registry.example.com:5000/team/app:latest", want: corev1.PullAlways},
		{image: "nginx:1.27", want: corev1.PullIfNotPresent},
		{image: "registry.example.com:5000/team/app:v2", want: corev1.PullIfNotPresent},
		{image: "nginx@" + digest, want: corev1.PullIfNotPresent},
		{image: "nginx:latest@" + digest, want: corev1.PullIfNotPresent},
		{image: "kubeswarm.test/web:1", want: corev1.PullIfNotPresent},
	} {
		t.Run(tc.image, func(t *testing.T) {
			spec := podSpec(build(t, testutil.MakeService("s", "n").Image(tc.image).Obj(), wide))
			if got := *spec.Containers[0].ImagePullPolicy; got != tc.want {
				t.Errorf("imagePullPolicy of %s = %s, want %s", tc.image, got, tc.want)
			}
		})
	}
}

// TestFileOwners: a secret or config that belongs to a uid or gid other than root is installed by
// the init container when the operator knows its files image, and stays root's (reported)
// otherwise; a file of root's is always projected.
func TestFileOwners(t *testing.T) {
	const image = "kubeswarm/manager:v1"
	mode := func(m int32) *int32 { return &m }
	type want struct {
		mounts []string // container mounts: volume=path|subPath
		args   []string // the init container's arguments; nil: no init container
		notes  int
	}
	for _, tc := range []struct {
		name             string
		secrets, configs []swarmv1.FileReference
		image            string
		want             want
	}{
		{
			name:    "uid 999 mode 0400 without a files image: root's, reported",
			secrets: []swarmv1.FileReference{{Source: "key", UID: "999", GID: "999", Mode: mode(0o400)}},
			want:    want{mounts: []string{"secrets=/run/secrets|"}, notes: 1},
		},
		{
			name:    "uid 999 mode 0400: /run/secrets installed, every secret in it",
			secrets: []swarmv1.FileReference{{Source: "key", UID: "999", GID: "999", Mode: mode(0o400)}, {Source: "other", Target: "b/other"}},
			image:   image,
			want: want{
				mounts: []string{"files=/run/secrets|secrets"},
				args:   []string{"/kubeswarm/source", "/kubeswarm/files", "secret-0:999:999:0400:secrets/key", "secret-1:0:0:0444:secrets/b/other"},
			},
		},
		{
			name:    "an absolute target alone is installed; /run/secrets stays projected",
			secrets: []swarmv1.FileReference{{Source: "plain"}, {Source: "tls", Target: "/etc/tls/key.pem", UID: "101", Mode: mode(0o440)}},
			image:   image,
			want: want{
				mounts: []string{"files=/etc/tls/key.pem|secret-1", "secrets=/run/secrets|"},
				args:   []string{"/kubeswarm/source", "/kubeswarm/files", "secret-1:101:0:0440:secret-1"},
			},
		},
		{
			name:    "a config of gid 33",
			configs: []swarmv1.FileReference{{Source: "conf", Target: "/etc/app.conf", GID: "33", Mode: mode(0o640)}, {Source: "plain"}},
			image:   image,
			want: want{
				mounts: []string{"files=/etc/app.conf|config-0", "config-1=/plain|plain"},
				args:   []string{"/kubeswarm/source", "/kubeswarm/files", "config-0:0:33:0640:config-0"},
			},
		},
		{
			name:    "uid and gid 0 need nothing",
			secrets: []swarmv1.FileReference{{Source: "key", UID: "0", GID: "0", Mode: mode(0o400)}},
			configs: []swarmv1.FileReference{{Source: "conf"}},
			image:   image,
			want:    want{mounts: []string{"secrets=/run/secrets|", "config-0=/conf|conf"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := testutil.MakeService("s", "n").Obj()
			svc.Spec.Secrets, svc.Spec.Configs = tc.secrets, tc.configs
			objs, err := Build(svc, Inputs{}, translate.Options{FilesImage: tc.image})
			if err != nil {
				t.Fatal(err)
			}
			spec := podSpec(objs)
			var got want
			for _, m := range spec.Containers[0].VolumeMounts {
				got.mounts = append(got.mounts, *m.Name+"="+*m.MountPath+"|"+ptr.Deref(m.SubPath, ""))
				if !ptr.Deref(m.ReadOnly, false) {
					t.Errorf("mount %s is not read-only", *m.MountPath)
				}
			}
			vols := map[string]corev1ac.VolumeApplyConfiguration{}
			for _, v := range spec.Volumes {
				vols[*v.Name] = v
			}
			switch len(spec.InitContainers) {
			case 0:
			case 1:
				ic := spec.InitContainers[0]
				got.args = ic.Args
				if diff := cmp.Diff([]string{"/manager", "install-files"}, ic.Command); diff != "" {
					t.Errorf("command (-want +got):\n%s", diff)
				}
				if *ic.Image != image || *ic.ImagePullPolicy != corev1.PullIfNotPresent {
					t.Errorf("image %s %s, want %s IfNotPresent", *ic.Image, *ic.ImagePullPolicy, image)
				}
				sc := ic.SecurityContext
				if *sc.RunAsUser != 0 || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem ||
					!cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !cmp.Equal(sc.Capabilities.Add, []corev1.Capability{"CHOWN"}) {
					t.Errorf("init container security = %+v, want root with CAP_CHOWN only", sc)
				}
				if ed := vols["files"].EmptyDir; ed == nil || *ed.Medium != corev1.StorageMediumMemory {
					t.Errorf("files volume = %+v, want a memory-backed emptyDir", vols["files"])
				}
				src := vols["files-source"].Projected
				if src == nil || len(src.Sources) != len(ic.Args)-2 {
					t.Fatalf("files-source = %+v, want one projection per installed file", vols["files-source"])
				}
				for _, p := range src.Sources {
					items := p.Secret
					var it []corev1ac.KeyToPathApplyConfiguration
					if items != nil {
						it = items.Items
					} else {
						it = p.ConfigMap.Items
					}
					if *it[0].Mode != 0o400 {
						t.Errorf("source %s has mode %04o, want 0400 (root reads it)", *it[0].Path, *it[0].Mode)
					}
				}
			default:
				t.Fatalf("%d init containers", len(spec.InitContainers))
			}
			got.notes = len(objs.Notes)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got):\n%s\nnotes: %q", diff, objs.Notes)
			}
		})
	}
}

func TestFileOwnerInvalid(t *testing.T) {
	svc := testutil.MakeService("s", "n").Obj()
	svc.Spec.Configs = []swarmv1.FileReference{{Source: "conf", GID: "99999999999"}}
	_, err := Build(svc, Inputs{}, translate.Options{FilesImage: "m"})
	if err == nil || !strings.Contains(err.Error(), `configs[0].gid: "99999999999" is not a numeric id`) {
		t.Errorf("Build = %v, want an error naming configs[0].gid", err)
	}
}

// TestSharedClaimAffinity: the tasks of a replicated service that share a claim (kept shared:
// translate.AnnotationVolumes) run on one node (a ReadWriteOnce claim is mountable by one node's
// pods only), whatever the replicas, so that scaling never changes the template; the note is
// given when more than one task shares it. A claim that is not kept shared is per slot: no rule.
func TestSharedClaimAffinity(t *testing.T) {
	nfs := &swarmv1.VolumeOptions{DriverOptions: map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/x"}}
	shared := func(w *testutil.ServiceWrapper) *swarmv1.Service {
		svc := w.Obj()
		svc.Annotations = map[string]string{translate.AnnotationVolumes: `{"data": {"shared": true}}`}
		return svc
	}
	tests := []struct {
		name     string
		svc      *swarmv1.Service
		wantRule bool
		wantNote string
	}{
		{name: "three tasks on one claim", svc: shared(testutil.MakeService("db", "n").Replicas(3).
			Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"})),
			wantRule: true, wantNote: "mounts: the tasks share the claim data (ReadWriteOnce; kept shared: an external volume, one another service mounts, or one whose claim existed), so they all run on the node that holds it; Swarm gives each node its own volume"},
		{name: "one task: the rule, no note", svc: shared(testutil.MakeService("db", "n").Replicas(1).
			Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"})), wantRule: true},
		{name: "a claim per slot: no rule", svc: testutil.MakeService("db", "n").Replicas(3).
			Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data"}).Obj()},
		{name: "an anonymous volume is the task's own", svc: testutil.MakeService("db", "n").Replicas(3).
			Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Target: "/scratch"}).Obj()},
		{name: "an NFS export is shared by any node", svc: testutil.MakeService("db", "n").Replicas(3).
			Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data", Volume: nfs}).Obj()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := build(t, tt.svc, wide)
			a := podSpec(got).Affinity
			hasRule := a != nil && a.PodAffinity != nil && len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 1 &&
				*a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey == corev1.LabelHostname
			if hasRule != tt.wantRule {
				t.Errorf("pod affinity %+v, want the hostname rule: %v", a, tt.wantRule)
			}
			if tt.wantNote != "" && !slices.Contains(got.Notes, tt.wantNote) {
				t.Errorf("notes %q, want %q", got.Notes, tt.wantNote)
			}
			if tt.wantNote == "" && slices.ContainsFunc(got.Notes, func(n string) bool { return strings.HasPrefix(n, "mounts: the tasks share") }) {
				t.Errorf("notes %q: no sharing note wanted", got.Notes)
			}
		})
	}
}

// TestLatestPullPolicy: where nodes have their images loaded beforehand (--latest-pull-policy),
// :latest and untagged images are not pulled Always; other tags are untouched.
func TestLatestPullPolicy(t *testing.T) {
	opts := wide
	opts.LatestPullPolicy = corev1.PullIfNotPresent
	for image, want := range map[string]corev1.PullPolicy{"nginx": corev1.PullIfNotPresent, "nginx:latest": corev1.PullIfNotPresent, "nginx:1.27": corev1.PullIfNotPresent} {
		if got := *podSpec(build(t, testutil.MakeService("s", "n").Image(image).Obj(), opts)).Containers[0].ImagePullPolicy; got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
	if got := *podSpec(build(t, testutil.MakeService("s", "n").Image("nginx").Obj(), wide)).Containers[0].ImagePullPolicy; got != corev1.PullAlways {
		t.Errorf("default: %s, want Always", got)
	}
}
