package update

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestStateMachine(t *testing.T) {
	now := time.Unix(1000, 0)
	changed := func(*swarmv1.ServiceSpec) bool { return true }
	same := func(*swarmv1.ServiceSpec) bool { return false }
	v1 := swarmv1.ServiceSpec{Image: "nginx:1"}
	v2 := swarmv1.ServiceSpec{Image: "nginx:2"}

	status := &swarmv1.ServiceStatus{}
	if Track(status, &v1, changed, now) || status.AppliedSpec == nil || State(status) != "" {
		t.Fatalf("the first spec starts no update: %+v", status)
	}
	if !Track(status, &v2, changed, now) || State(status) != swarmv1.UpdateStateUpdating || status.PreviousSpec.Image != "nginx:1" {
		t.Fatalf("a new template starts an update: %+v", status)
	}
	if Step(status, Pause, "update paused", now); State(status) != swarmv1.UpdateStatePaused {
		t.Fatalf("pause: %+v", status.UpdateStatus)
	}
	scaled := v2
	scaled.Replicas = ptr.To[int32](3)
	if !Track(status, &scaled, same, now) || State(status) != swarmv1.UpdateStateUpdating {
		t.Fatalf("any update resumes a paused one: %+v", status.UpdateStatus)
	}
	if !Step(status, Rollback, "rolled back", now) {
		t.Fatal("a rollback with a previous spec is the caller's to perform")
	}
	RollbackStarted(status, status.PreviousSpec, "rolled back", now)
	if State(status) != swarmv1.UpdateStateRollbackStarted || status.PreviousSpec != nil {
		t.Fatalf("an automatic rollback clears the previous spec: %+v", status)
	}
	if Step(status, Pause, "rollback paused", now); State(status) != swarmv1.UpdateStateRollbackPaused {
		t.Fatalf("a failed rollback pauses: %+v", status.UpdateStatus)
	}
	Start(status, swarmv1.UpdateStateUpdating, "", now)
	if Step(status, Rollback, "x", now) || State(status) != swarmv1.UpdateStatePaused {
		t.Fatalf("no previous spec: paused instead: %+v", status.UpdateStatus)
	}
	Start(status, swarmv1.UpdateStateUpdating, "", now)
	if Step(status, Complete, "update completed", now); State(status) != swarmv1.UpdateStateCompleted || status.UpdateStatus.CompletedAt == nil {
		t.Fatalf("complete: %+v", status.UpdateStatus)
	}
}

func TestStrategyFor(t *testing.T) {
	spec := &swarmv1.ServiceSpec{
		UpdateConfig:   &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2), Order: swarmv1.OrderStartFirst},
		RollbackConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](0)},
	}
	if s := StrategyFor(spec, swarmv1.UpdateStateUpdating, 0); s.MaxSurge.IntValue() != 2 || s.MaxUnavailable.IntValue() != 0 || s.Paused {
		t.Errorf("start-first: %+v", s)
	}
	if s := StrategyFor(spec, swarmv1.UpdateStateRollbackPaused, 0); s.MaxUnavailable.String() != "100%" || !s.Paused {
		t.Errorf("rollback config, all at once, paused: %+v", s)
	}
	if s := StrategyFor(&swarmv1.ServiceSpec{}, "", 0); s.MaxSurge.IntValue() != 0 || s.MaxUnavailable.IntValue() != 1 {
		t.Errorf("Swarm's defaults: %+v", s)
	}
	if s := StrategyFor(&swarmv1.ServiceSpec{}, swarmv1.UpdateStateUpdating, 2); s.MaxSurge.IntValue() != 0 || s.MaxUnavailable.IntValue() != 3 {
		t.Errorf("stop-first stepping past 2 failed tasks: %+v", s)
	}
	if s := StrategyFor(spec, swarmv1.UpdateStateUpdating, 2); s.MaxSurge.IntValue() != 2 || s.MaxUnavailable.IntValue() != 2 {
		t.Errorf("start-first stepping past 2 failed tasks: %+v", s)
	}
}
