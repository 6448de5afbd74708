package update

import (
	"math"

	"k8s.io/apimachinery/pkg/util/intstr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Strategy is how the workload replaces its tasks in the updater's present state: the rolling
// update of the config in force (rollbackConfig while rolling back), and whether the rollout is
// paused.
type Strategy struct {
	// MaxSurge and MaxUnavailable: stop-first replaces parallelism tasks at a time by stopping
	// them first (surge 0); start-first starts parallelism new tasks before stopping old ones
	// (unavailable 0). Parallelism 0 means all at once.
	MaxSurge, MaxUnavailable intstr.IntOrString
	// MinReadySeconds makes each new task wait the update delay before it counts as available,
	// so the rollout moves to its next batch only after the delay, as Swarm's does; 0 when unset.
	MinReadySeconds int32
	// Paused stops the rollout where it is (an update paused after a failure).
	Paused bool
}

// Paused tells whether the updater is paused (after a failed update or rollback).
func Paused(state swarmv1.UpdateState) bool {
	return state == swarmv1.UpdateStatePaused || state == swarmv1.UpdateStateRollbackPaused
}

// Active tells whether an update or a rollback is under way (neither paused nor done).
func Active(state swarmv1.UpdateState) bool {
	return state == swarmv1.UpdateStateUpdating || state == swarmv1.UpdateStateRollbackStarted
}

// RollingBack tells whether the updater is restoring the previous spec.
func RollingBack(state swarmv1.UpdateState) bool {
	return state == swarmv1.UpdateStateRollbackStarted || state == swarmv1.UpdateStateRollbackPaused
}

// ConfigInForce is the update config that governs state: the rollback config while rolling back.
func ConfigInForce(spec *swarmv1.ServiceSpec, state swarmv1.UpdateState) *swarmv1.UpdateConfig {
	if RollingBack(state) {
		return spec.RollbackConfig
	}
	return spec.UpdateConfig
}

// StrategyFor is the rolling update a service's workload follows in the updater's state.
// tolerated is the number of failed new tasks the update steps past (Tolerated): they count as
// unavailable, so the rollout may have that many more unavailable tasks to go on replacing
// parallelism tasks at a time, as Swarm's updater moves on to the next slots.
func StrategyFor(spec *swarmv1.ServiceSpec, state swarmv1.UpdateState, tolerated int32) Strategy {
	c := Effective(ConfigInForce(spec, state))
	n := intstr.FromInt32(c.Parallelism)
	if c.Parallelism == 0 {
		n = intstr.FromString("100%")
	}
	s := Strategy{MaxSurge: intstr.FromInt32(0), MaxUnavailable: n, Paused: Paused(state)}
	if c.Order == swarmv1.OrderStartFirst {
		s.MaxSurge, s.MaxUnavailable = n, intstr.FromInt32(0)
	}
	if s.MaxUnavailable.Type == intstr.Int {
		s.MaxUnavailable = intstr.FromInt32(s.MaxUnavailable.IntVal + tolerated)
	}
	s.MinReadySeconds = int32(math.Ceil(c.Delay.Seconds()))
	return s
}
