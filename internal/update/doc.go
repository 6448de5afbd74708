// Package update is Swarm's updater (swarmkit manager/orchestrator/update) in one place: the
// update and rollback defaults (Effective), the rolling-update strategy the workload follows
// (StrategyFor), the judgement of the new tasks (Observe, Decide, Tolerated), the state machine
// of UpdateStatus (Track, Start, Step), and the admission of held tasks (Gate, Admit, Release:
// stop-first and maxReplicasPerNode, which a Deployment cannot keep by itself). Kubernetes'
// Deployment and DaemonSet controllers replace the tasks; the Service controller lists them,
// calls this package and writes what it returns. Every function is pure.
package update
