package integration

import (
	"context"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// createService creates a Service from a wrapper and waits for its Deployment (its StatefulSet,
// nil returned, for a service whose tasks need their slots).
func createService(t *testing.T, svc *swarmv1.Service, opts ...client.CreateOption) *appsv1.Deployment {
	t.Helper()
	svc.UID = ""
	if err := k8sClient.Create(context.Background(), svc, opts...); err != nil {
		t.Fatalf("creating Service %s: %v", svc.Name, err)
	}
	if translate.PerSlot(svc) {
		waitStatefulSet(t, svc.Namespace, svc.Name, func(*appsv1.StatefulSet) error { return nil })
		return nil
	}
	return waitDeployment(t, svc.Namespace, svc.Name, func(*appsv1.Deployment) error { return nil })
}

func waitDeployment(t *testing.T, ns, name string, check func(*appsv1.Deployment) error) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	eventually(t, "Deployment "+name, func() (err error) {
		if d, err = get(context.Background(), ns, name, &appsv1.Deployment{}); err != nil {
			return err
		}
		return check(d)
	})
	return d
}

func waitService(t *testing.T, ns, name, what string, check func(*swarmv1.Service) error) *swarmv1.Service {
	t.Helper()
	var s *swarmv1.Service
	eventually(t, what, func() (err error) {
		if s, err = get(context.Background(), ns, name, &swarmv1.Service{}); err != nil {
			return err
		}
		return check(s)
	})
	return s
}

// waitApplied waits until the operator has applied the service's spec of image: an update made
// before then would meet a service the operator has never seen, with no earlier spec to record
// (under load the creation and the update can reach one reconcile).
func waitApplied(t *testing.T, ns, name, image string) {
	t.Helper()
	waitService(t, ns, name, "the first spec is applied", func(s *swarmv1.Service) error {
		if s.Status.AppliedSpec == nil || s.Status.AppliedSpec.Image != image {
			return fmt.Errorf("appliedSpec %v", s.Status.AppliedSpec)
		}
		return nil
	})
}

func image(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

// fakeTask makes a task pod of the given template as the Deployment controller would (it does
// not run here), in a crash loop.
func crashingTask(t *testing.T, ns, service, hash string) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: service + "-", Namespace: ns, Labels: map[string]string{
			translate.LabelService: service, translate.LabelManagedBy: translate.ManagedByValue, translate.LabelTemplateHash: hash}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "task", Image: "x"}}},
	}
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatalf("creating a task: %v", err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "task", Image: "x", ImageID: "x", RestartCount: 1,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}}
	if err := k8sClient.Status().Update(ctx, pod); err != nil {
		t.Fatalf("setting the task's status: %v", err)
	}
}

// restartedTask makes a running, ready task of the given template whose container ran for ran
// before it restarted once.
func restartedTask(t *testing.T, ns, service, hash string, ran time.Duration) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: service + "-", Namespace: ns, Labels: map[string]string{
			translate.LabelService: service, translate.LabelManagedBy: translate.ManagedByValue, translate.LabelTemplateHash: hash}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "task", Image: "x"}}},
	}
	if err := k8sClient.Create(ctx, pod); err != nil {
		t.Fatalf("creating a task: %v", err)
	}
	end := metav1.NewTime(time.Now().Add(-time.Second).Truncate(time.Second))
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: end}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "task", Image: "x", ImageID: "x", RestartCount: 1, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: end}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137,
				StartedAt: metav1.NewTime(end.Add(-ran)), FinishedAt: end}}}}}
	if err := k8sClient.Status().Update(ctx, pod); err != nil {
		t.Fatalf("setting the task's status: %v", err)
	}
}

func updateState(s *swarmv1.Service) swarmv1.UpdateState {
	if s.Status.UpdateStatus == nil {
		return ""
	}
	return s.Status.UpdateStatus.State
}

// TestUpdatePausesOnFailure: failure_action pause (the default). A new task that crashes pauses
// the update: the Deployment is paused and status says why; the next update resumes.
func TestUpdatePausesOnFailure(t *testing.T) {
	ns := newNamespace(t)
	createService(t, testutil.MakeService("web", ns).Image("nginx:1").Replicas(3).Obj())
	waitApplied(t, ns, "web", "nginx:1")
	updateService(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:fail" })
	d := waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if image(d) != "nginx:fail" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	s := waitService(t, ns, "web", "the update starts", func(s *swarmv1.Service) error {
		if updateState(s) != swarmv1.UpdateStateUpdating || s.Status.PreviousSpec == nil || s.Status.PreviousSpec.Image != "nginx:1" {
			return fmt.Errorf("updateStatus %+v previousSpec %v", s.Status.UpdateStatus, s.Status.PreviousSpec)
		}
		return nil
	})
	if s.Status.UpdateStatus.StartedAt == nil {
		t.Errorf("updateStatus.startedAt is not set")
	}
	crashingTask(t, ns, "web", d.Spec.Template.Labels[translate.LabelTemplateHash])
	waitService(t, ns, "web", "the update is paused", func(s *swarmv1.Service) error {
		if u := s.Status.UpdateStatus; updateState(s) != swarmv1.UpdateStatePaused || !strings.Contains(u.Message, "update paused due to failure or early termination of task web-") {
			return fmt.Errorf("updateStatus %+v", u)
		}
		return nil
	})
	waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if !d.Spec.Paused {
			return fmt.Errorf("the Deployment is not paused")
		}
		return nil
	})
	updateService(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:2" })
	waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if d.Spec.Paused || image(d) != "nginx:2" {
			return fmt.Errorf("paused %v image %s", d.Spec.Paused, image(d))
		}
		return nil
	})
	waitService(t, ns, "web", "a new update resumes", func(s *swarmv1.Service) error {
		if updateState(s) != swarmv1.UpdateStateUpdating {
			return fmt.Errorf("updateStatus %+v", s.Status.UpdateStatus)
		}
		return nil
	})
}

// TestUpdateContinueCompletes: failure_action continue steps past failed tasks (the Deployment
// may have one more unavailable task per failure, so its rollout goes on) and the update reaches
// completed, as swarmkit's updater does.
func TestUpdateContinueCompletes(t *testing.T) {
	ns := newNamespace(t)
	w := testutil.MakeService("web", ns).Image("nginx:1").Replicas(2)
	w.Update(swarmv1.UpdateConfig{FailureAction: swarmv1.FailureActionContinue})
	createService(t, w.Obj())
	updateService(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Image = "nginx:fail" })
	d := waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if image(d) != "nginx:fail" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	hash := d.Spec.Template.Labels[translate.LabelTemplateHash]
	crashingTask(t, ns, "web", hash)
	waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if u := d.Spec.Strategy.RollingUpdate.MaxUnavailable; u.IntValue() != 2 || d.Spec.Paused {
			return fmt.Errorf("maxUnavailable %s paused %v, want 2 (parallelism 1 + 1 failed task), not paused", u, d.Spec.Paused)
		}
		return nil
	})
	if s, _ := get(context.Background(), ns, "web", &swarmv1.Service{}); updateState(s) != swarmv1.UpdateStateUpdating {
		t.Fatalf("one of two tasks replaced: updateStatus %+v, want updating", s.Status.UpdateStatus)
	}
	crashingTask(t, ns, "web", hash)
	waitService(t, ns, "web", "the update completes past its failed tasks", func(s *swarmv1.Service) error {
		if u := s.Status.UpdateStatus; updateState(s) != swarmv1.UpdateStateCompleted || u.Message != "update completed" || u.CompletedAt == nil {
			return fmt.Errorf("updateStatus %+v", u)
		}
		return nil
	})
	waitDeployment(t, ns, "web", func(d *appsv1.Deployment) error {
		if u := d.Spec.Strategy.RollingUpdate.MaxUnavailable; u.IntValue() != 1 {
			return fmt.Errorf("maxUnavailable %s, want 1 again once the update is over", u)
		}
		return nil
	})
}

// TestLateFailureIsNotUpdateFailure: a new task whose container restarted after running longer
// than the monitor period is not an update failure (swarmkit counts a failure only within the
// monitor period of the task starting): the update completes instead of pausing.
func TestLateFailureIsNotUpdateFailure(t *testing.T) {
	ns := newNamespace(t)
	w := testutil.MakeService("db", ns).Image("db:1").Replicas(1)
	w.Update(swarmv1.UpdateConfig{Monitor: &metav1.Duration{Duration: 2 * time.Second}})
	createService(t, w.Obj())
	updateService(t, ns, "db", func(s *swarmv1.Service) { s.Spec.Image = "db:2" })
	d := waitDeployment(t, ns, "db", func(d *appsv1.Deployment) error {
		if image(d) != "db:2" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	restartedTask(t, ns, "db", d.Spec.Template.Labels[translate.LabelTemplateHash], 20*time.Minute)
	waitService(t, ns, "db", "the update completes", func(s *swarmv1.Service) error {
		if u := s.Status.UpdateStatus; updateState(s) != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("updateStatus %+v", u)
		}
		return nil
	})
}

// TestAutomaticRollback: failure_action rollback puts the previous spec back by itself and
// clears it, so a manual rollback right after fails as in Swarm.
func TestAutomaticRollback(t *testing.T) {
	ns := newNamespace(t)
	w := testutil.MakeService("api", ns).Image("api:1").Replicas(2)
	w.Update(swarmv1.UpdateConfig{FailureAction: swarmv1.FailureActionRollback})
	createService(t, w.Obj())
	updateService(t, ns, "api", func(s *swarmv1.Service) { s.Spec.Image = "api:fail" })
	d := waitDeployment(t, ns, "api", func(d *appsv1.Deployment) error {
		if image(d) != "api:fail" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	crashingTask(t, ns, "api", d.Spec.Template.Labels[translate.LabelTemplateHash])
	waitService(t, ns, "api", "the spec is rolled back", func(s *swarmv1.Service) error {
		if s.Spec.Image != "api:1" || updateState(s) != swarmv1.UpdateStateRollbackStarted || s.Status.PreviousSpec != nil {
			return fmt.Errorf("image %s updateStatus %+v previousSpec %v", s.Spec.Image, s.Status.UpdateStatus, s.Status.PreviousSpec)
		}
		if !strings.Contains(s.Status.UpdateStatus.Message, "update rolled back due to failure") {
			return fmt.Errorf("message %q", s.Status.UpdateStatus.Message)
		}
		return nil
	})
	waitDeployment(t, ns, "api", func(d *appsv1.Deployment) error {
		if image(d) != "api:1" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	updateService(t, ns, "api", func(s *swarmv1.Service) {
		s.Annotations = map[string]string{swarmv1.AnnotationRollback: "1"}
	})
	eventually(t, "a manual rollback is refused: no previous spec", func() error {
		events := &corev1.EventList{}
		if err := k8sClient.List(context.Background(), events); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Namespace == ns && strings.Contains(e.Message, "service api does not have a previous spec") {
				return nil
			}
		}
		return fmt.Errorf("no such event among %d", len(events.Items))
	})
}

// TestManualRollbackTwice: docker service rollback swaps spec and previous spec; twice returns
// to where it began. Each new annotation value is one rollback.
func TestManualRollbackTwice(t *testing.T) {
	ns := newNamespace(t)
	// Created by a field manager of the user's own (the test's client and the operator share a
	// name), checked after the rollbacks.
	createService(t, testutil.MakeService("redis", ns).Image("redis:3.0.6").Replicas(2).Obj(), client.FieldOwner("someone"))
	waitApplied(t, ns, "redis", "redis:3.0.6")
	updateService(t, ns, "redis", func(s *swarmv1.Service) { s.Spec.Image = "redis:3.0.7" })
	waitService(t, ns, "redis", "the update is recorded", func(s *swarmv1.Service) error {
		if s.Status.AppliedSpec == nil || s.Status.AppliedSpec.Image != "redis:3.0.7" {
			return fmt.Errorf("appliedSpec %v", s.Status.AppliedSpec)
		}
		return nil
	})
	for i, want := range []string{"redis:3.0.6", "redis:3.0.7"} {
		updateService(t, ns, "redis", func(s *swarmv1.Service) {
			s.Annotations = map[string]string{swarmv1.AnnotationRollback: fmt.Sprint(time.Now().UnixNano())}
		})
		other := map[string]string{"redis:3.0.6": "redis:3.0.7", "redis:3.0.7": "redis:3.0.6"}[want]
		waitService(t, ns, "redis", fmt.Sprintf("rollback %d", i+1), func(s *swarmv1.Service) error {
			if s.Spec.Image != want || s.Status.PreviousSpec == nil || s.Status.PreviousSpec.Image != other || updateState(s) != swarmv1.UpdateStateRollbackStarted {
				return fmt.Errorf("image %s previous %v updateStatus %+v", s.Spec.Image, s.Status.PreviousSpec, s.Status.UpdateStatus)
			}
			if s.Status.UpdateStatus.Message != "manually requested rollback" {
				return fmt.Errorf("message %q", s.Status.UpdateStatus.Message)
			}
			return nil
		})
		waitDeployment(t, ns, "redis", func(d *appsv1.Deployment) error {
			if image(d) != want {
				return fmt.Errorf("image %s", image(d))
			}
			return nil
		})
	}
	// The operator caches its Services without managed fields and writes them back whole: the
	// server must keep the user's entry (an Update with a partial list would replace them).
	svc := &swarmv1.Service{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "redis"}, svc); err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, mf := range svc.ManagedFields {
		kept = kept || mf.Manager == "someone" && mf.FieldsV1 != nil && strings.Contains(mf.FieldsV1.GetRawString(), `"f:replicas"`)
	}
	if !kept {
		t.Errorf("after the rollbacks the user's field manager no longer owns spec.replicas: %+v", svc.ManagedFields)
	}
}

// TestMissingSecret: a service that mounts a Secret that does not exist says which and how to
// make it, keeps running as it was, and goes on by itself once the Secret is created.
func TestMissingSecret(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createService(t, testutil.MakeService("db", ns).Image("mysql:5.7").Obj())
	updateService(t, ns, "db", func(s *swarmv1.Service) {
		s.Spec.Image = "mysql:8"
		s.Spec.Secrets = []swarmv1.FileReference{{Source: "db-pass"}}
	})
	waitService(t, ns, "db", "Degraded names the secret", func(s *swarmv1.Service) error {
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Reason != "MissingObject" || !strings.Contains(c.Message, "secret not found: db-pass") || !strings.Contains(c.Message, "kubectl create secret generic db-pass") {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	if d, _ := get(ctx, ns, "db", &appsv1.Deployment{}); image(d) != "mysql:5.7" {
		t.Fatalf("the running Deployment was changed to %s while the secret is missing", image(d))
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-pass", Namespace: ns}, Data: map[string][]byte{"password": []byte("s3cret")}}
	if err := k8sClient.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	d := waitDeployment(t, ns, "db", func(d *appsv1.Deployment) error {
		if image(d) != "mysql:8" {
			return fmt.Errorf("image %s", image(d))
		}
		return nil
	})
	var found bool
	for _, v := range d.Spec.Template.Spec.Volumes {
		if p := v.Projected; p != nil && len(p.Sources) == 1 && p.Sources[0].Secret.Name == "db-pass" &&
			p.Sources[0].Secret.Items[0].Key == "password" && p.Sources[0].Secret.Items[0].Path == "db-pass" {
			found = true
		}
	}
	if !found {
		t.Errorf("the Secret's only key is not mounted as /run/secrets/db-pass: %+v", d.Spec.Template.Spec.Volumes)
	}
}

// TestNamedVolumeClaim: a replicated service's named volume is one claim per task: its
// StatefulSet's claim template (ordinals from 1, claims kept on removal and scale-down), which the
// operator does not make itself; a volume kept shared (translate.AnnotationVolumes) gets one
// PersistentVolumeClaim of its name, not owned by the service (docker volumes outlive services).
// docker's local driver over NFS is mounted from its export: no claim at all.
func TestNamedVolumeClaim(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	nfs := swarmv1.Mount{Type: swarmv1.MountVolume, Source: "nfs", Target: "/nfs", Volume: &swarmv1.VolumeOptions{
		Driver: "local", DriverOptions: map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/export"}}}
	createService(t, testutil.MakeService("db", ns).Replicas(3).Mount(nfs).Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/var/lib/mysql"}).Obj())
	sts := waitStatefulSet(t, ns, "db", func(*appsv1.StatefulSet) error { return nil })
	type claimTemplate struct {
		Name   string
		Labels map[string]string
	}
	var got []claimTemplate
	for _, c := range sts.Spec.VolumeClaimTemplates {
		got = append(got, claimTemplate{c.Name, c.Labels})
	}
	want := []claimTemplate{{"data", map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: "data", translate.LabelSlotsOf: "db"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claim templates (-want +got):\n%s", diff)
	}
	if o := sts.Spec.Ordinals; o == nil || o.Start != 1 {
		t.Errorf("ordinals %+v, want from 1 (the slots)", o)
	}
	if p := sts.Spec.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("claim retention %+v, want Retain on removal and scale-down", p)
	}
	for _, name := range []string{"data", "nfs"} {
		if _, err := get(ctx, ns, name, &corev1.PersistentVolumeClaim{}); err == nil {
			t.Errorf("the operator made a claim %s; the StatefulSet makes the slots' claims, and an NFS volume has none", name)
		}
	}

	shared := testutil.MakeService("cache", ns).Replicas(2).Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "cache", Target: "/cache"}).Obj()
	shared.Annotations = map[string]string{translate.AnnotationVolumes: `{"cache": {"shared": true}}`}
	createService(t, shared)
	var claim *corev1.PersistentVolumeClaim
	eventually(t, "the shared claim is created", func() (err error) {
		claim, err = get(ctx, ns, "cache", &corev1.PersistentVolumeClaim{})
		return err
	})
	if len(claim.OwnerReferences) != 0 || claim.Labels[translate.LabelVolume] != "cache" {
		t.Errorf("claim owners %v labels %v: want no owner and the volume label", claim.OwnerReferences, claim.Labels)
	}
	waitDeployment(t, ns, "cache", func(*appsv1.Deployment) error { return nil })
}

// TestPerSlotWorkload: a service that comes to need its tasks' slots ({{.Task.Slot}}) moves from
// its Deployment to a StatefulSet, and back; a StatefulSet whose volumes change is made anew
// (its claim templates cannot change).
func TestPerSlotWorkload(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	createService(t, testutil.MakeService("zk", ns).Replicas(3).Obj())
	waitDeployment(t, ns, "zk", func(*appsv1.Deployment) error { return nil })
	updateService(t, ns, "zk", func(s *swarmv1.Service) {
		s.Spec.Env = []swarmv1.EnvVar{{Name: "ZOO_MY_ID", Value: "{{.Task.Slot}}"}}
	})
	first := waitStatefulSet(t, ns, "zk", func(*appsv1.StatefulSet) error { return nil })
	eventually(t, "the Deployment is deleted", func() error {
		if d, err := get(ctx, ns, "zk", &appsv1.Deployment{}); err == nil && d.DeletionTimestamp.IsZero() {
			return fmt.Errorf("still there")
		}
		return nil
	})
	waitService(t, ns, "zk", "the workload is the StatefulSet", func(s *swarmv1.Service) error {
		if w := s.Status.Workload; w == nil || w.Kind != "StatefulSet" {
			return fmt.Errorf("workload %+v", w)
		}
		return nil
	})

	// A volume added: the claim templates change, so the StatefulSet is made anew.
	updateService(t, ns, "zk", func(s *swarmv1.Service) {
		s.Spec.Mounts = []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "data", Target: "/data"}}
	})
	second := waitStatefulSet(t, ns, "zk", func(sts *appsv1.StatefulSet) error {
		if sts.UID == first.UID || len(sts.Spec.VolumeClaimTemplates) != 1 {
			return fmt.Errorf("UID %s (was %s), claim templates %d", sts.UID, first.UID, len(sts.Spec.VolumeClaimTemplates))
		}
		return nil
	})
	// Scaling changes the StatefulSet in place, once: the same object, and no apply for nothing
	// (an Updated event each reconcile) afterwards.
	updateService(t, ns, "zk", func(s *swarmv1.Service) { s.Spec.Replicas = ptr.To[int32](4) })
	waitStatefulSet(t, ns, "zk", func(sts *appsv1.StatefulSet) error {
		if ptr.Deref(sts.Spec.Replicas, 0) != 4 {
			return fmt.Errorf("replicas %d", ptr.Deref(sts.Spec.Replicas, 0))
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if sts, err := get(ctx, ns, "zk", &appsv1.StatefulSet{}); err != nil || sts.UID != second.UID {
		t.Errorf("after scaling: %v, UID %s (was %s): the StatefulSet was made anew", err, sts.UID, second.UID)
	}
	events := &corev1.EventList{}
	if err := k8sClient.List(ctx, events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	updated := 0
	for _, e := range events.Items {
		if e.Reason == "Updated" && strings.Contains(e.Message, "StatefulSet zk") {
			updated += int(max(e.Count, 1))
		}
	}
	if updated > 1 {
		t.Errorf("%d Updated events for StatefulSet zk after one change of replicas: the operator applies an unchanged StatefulSet", updated)
	}

	// Back to no slots: the Deployment again.
	updateService(t, ns, "zk", func(s *swarmv1.Service) { s.Spec.Env, s.Spec.Mounts = nil, nil })
	waitDeployment(t, ns, "zk", func(*appsv1.Deployment) error { return nil })
	eventually(t, "the StatefulSet is deleted", func() error {
		if sts, err := get(ctx, ns, "zk", &appsv1.StatefulSet{}); err == nil && sts.DeletionTimestamp.IsZero() {
			return fmt.Errorf("still there")
		}
		return nil
	})
}

func waitStatefulSet(t *testing.T, ns, name string, check func(*appsv1.StatefulSet) error) *appsv1.StatefulSet {
	t.Helper()
	var sts *appsv1.StatefulSet
	eventually(t, "StatefulSet "+name, func() (err error) {
		if sts, err = get(context.Background(), ns, name, &appsv1.StatefulSet{}); err != nil {
			return err
		}
		return check(sts)
	})
	return sts
}
