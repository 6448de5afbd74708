package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// stateOrder is Swarm's task state order, which sets the length of a task's progress bar
// (cli/command/service/progress: new=1 … running=9).
var stateOrder = map[string]int{"new": 1, "allocated": 2, "pending": 3, "assigned": 4, "accepted": 5,
	"preparing": 6, "ready": 7, "starting": 8, "running": 9, "complete": 9}

// progressBar is docker's jsonmessage bar for current/total.
func progressBar(current, total int) string {
	pct := current * 100 / total
	return fmt.Sprintf("[%s>%s]", strings.Repeat("=", pct/2), strings.Repeat(" ", 50-pct/2))
}

// isTerminal tells whether w is a terminal (a character device), without a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter draws docker's progress: on a terminal the lines are redrawn in place; on a
// pipe each status line is printed once, when it changes, and bars are left out.
type progressPrinter struct {
	out   io.Writer
	tty   bool
	drawn int
	last  map[string]string
}

// lines are (id, status, bar) triples; an empty id is a plain status line.
type progressLine struct{ id, status, bar string }

func (p *progressPrinter) draw(lines []progressLine) {
	if p.tty {
		if p.drawn > 0 {
			fmt.Fprintf(p.out, "\x1b[%dA", p.drawn)
		}
		for _, l := range lines {
			fmt.Fprint(p.out, "\x1b[2K")
			fmt.Fprintln(p.out, l.text(true))
		}
		// Clear what is left of a longer previous frame.
		for i := len(lines); i < p.drawn; i++ {
			fmt.Fprintln(p.out, "\x1b[2K")
		}
		p.drawn = max(p.drawn, len(lines))
		return
	}
	if p.last == nil {
		p.last = map[string]string{}
	}
	for _, l := range lines {
		key := l.id
		if key == "" {
			key = "\x00" + strings.SplitN(l.status, ":", 2)[0]
		}
		t := l.text(false)
		if strings.HasPrefix(t, "verify: Waiting") {
			// A pipe gets the stable wait once, not its countdown.
			key = "\x00verify-wait"
			if p.last[key] != "" {
				continue
			}
		}
		if strings.HasPrefix(t, "verify: Detected") {
			delete(p.last, "\x00verify-wait")
		}
		if p.last[key] != t {
			p.last[key] = t
			fmt.Fprintln(p.out, t)
		}
	}
}

func (l progressLine) text(withBar bool) string {
	if l.id == "" {
		return l.status
	}
	if withBar && l.bar != "" {
		return fmt.Sprintf("%s: %-9s %s", l.id, l.status, l.bar)
	}
	return fmt.Sprintf("%s: %s", l.id, l.status)
}

// pollInterval is how often the wait looks at the service; tests shorten it.
var pollInterval = 500 * time.Millisecond

// stableWait, when set, replaces the service's monitor period as the time tasks must keep
// running before the service counts as converged; tests set it to zero.
var stableWait *time.Duration

// waitForService waits until the service converges, drawing docker's progress, as `docker
// service create/update/scale/rollback` do without -d. rollbackValue, when set, is the rollback
// request that must be acted on first.
func waitForService(ctx context.Context, c client.Client, streams genericiooptions.IOStreams, ns, name string, w *waitOptions, rollbackValue string) error {
	out := streams.Out
	if w.quiet {
		out = io.Discard
	}
	p := &progressPrinter{out: out, tty: isTerminal(out)}
	timeout := w.timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	var stableSince time.Time
	verifying := false
	interrupted := func() error {
		fmt.Fprintf(streams.ErrOut, "Operation continuing in background.\nUse `kubectl swarm service ps %s` to check progress.\n", name)
		return nil
	}
	for {
		svc, err := getService(ctx, c, ns, name)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return err
		}
		tasks, err := serviceTasks(ctx, c, svc)
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return err
		}
		lines, converged, failure := progressLines(svc, tasks, rollbackValue)
		if failure != nil {
			p.draw(lines)
			return failure
		}
		if converged && svc.Spec.Mode.IsJob() {
			// Jobs end with docker's "job complete", without the stable wait.
			p.draw(append(lines, progressLine{status: "job complete"}))
			return nil
		}
		if converged {
			if !verifying {
				verifying, stableSince = true, time.Now()
				if since := runningSince(tasks); !since.IsZero() && since.Before(stableSince) {
					stableSince = since
				}
			}
			monitor := 5 * time.Second
			if uc := svc.Spec.UpdateConfig; uc != nil && uc.Monitor != nil {
				monitor = uc.Monitor.Duration
			}
			if stableWait != nil {
				monitor = *stableWait
			}
			if time.Since(stableSince) >= monitor {
				lines = append(lines, progressLine{status: "verify: Service converged"})
				if rollbackValue != "" {
					lines = append(lines, progressLine{status: "rollback: rollback completed"})
				}
				p.draw(lines)
				return nil
			}
			lines = append(lines, progressLine{status: fmt.Sprintf("verify: Waiting %d seconds to verify that tasks are stable...", int((monitor - time.Since(stableSince) + time.Second - 1).Seconds()))})
		} else if verifying {
			verifying = false
			lines = append(lines, progressLine{status: "verify: Detected task failure"})
		}
		p.draw(lines)
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for service %s to converge; it goes on in the background: use `kubectl swarm service ps %s` to check progress", timeout, name, name)
		}
		select {
		case <-ctx.Done():
			return interrupted()
		case <-time.After(pollInterval):
		}
	}
}

// runningSince is when the last of the tasks' containers started running (zero when none
// runs). Docker's monitor period counts from when the CLI first sees the service converged
// (cli/command/service/progress/progress.go); the tasks' own start says as much without
// watching, so that a stack's services, waited on one after the other as docker does
// (cli/command/stack/deploy_composefile.go waitOnServices), are not each watched anew for a
// period that has already passed: a task that failed and was restarted within it started later.
func runningSince(tasks []task) time.Time {
	var last time.Time
	for _, t := range tasks {
		if t.history {
			continue
		}
		for _, cs := range t.pod.Status.ContainerStatuses {
			if r := cs.State.Running; r != nil && r.StartedAt.After(last) {
				last = r.StartedAt.Time
			}
		}
	}
	return last
}

// progressLines is one frame of the progress display, whether the service has converged, and
// the error when the update paused.
func progressLines(svc *swarmv1.Service, tasks []task, rollbackValue string) ([]progressLine, bool, error) {
	var lines []progressLine
	// Until the operator has seen the new spec (or the rollback request), the tasks say nothing
	// about it: nothing to draw yet.
	if svc.Status.ObservedGeneration < svc.Generation || (rollbackValue != "" && svc.Status.LastRollbackRequest != rollbackValue) {
		return nil, false, nil
	}
	us := svc.Status.UpdateStatus
	rollingBack := rollbackValue != "" || (us != nil && strings.HasPrefix(string(us.State), "rollback"))
	if us != nil {
		switch us.State {
		case swarmv1.UpdateStatePaused:
			return lines, false, fmt.Errorf("service update paused: %s", us.Message)
		case swarmv1.UpdateStateRollbackPaused:
			return lines, false, fmt.Errorf("service rollback paused: %s", us.Message)
		}
	}
	// During an update only the tasks of the new template count, as docker counts only
	// up-to-date tasks: the newest task's template is the new one.
	newest := ""
	if us != nil && (us.State == swarmv1.UpdateStateUpdating || us.State == swarmv1.UpdateStateRollbackStarted) {
		var newestTime time.Time
		for _, t := range tasks {
			if !t.history && !t.pod.CreationTimestamp.Time.Before(newestTime) {
				newestTime, newest = t.pod.CreationTimestamp.Time, t.pod.Labels[translate.LabelTemplateHash]
			}
		}
	}
	var current []task
	for _, t := range tasks {
		if !t.history && (newest == "" || t.pod.Labels[translate.LabelTemplateHash] == newest) {
			current = append(current, t)
		}
	}
	desired := int(svc.Status.DesiredTasks)
	if svc.Spec.Replicas != nil && !svc.Spec.Mode.IsGlobal() && !svc.Spec.Mode.IsJob() {
		desired = int(*svc.Spec.Replicas)
	}
	running, completed := 0, 0
	states := make([]string, len(current))
	for i, t := range current {
		st, _, errMsg := taskState(t)
		if errMsg != "" {
			if len(errMsg) > 75 {
				errMsg = errMsg[:75]
			}
			st = errMsg
		}
		states[i] = st
		switch st {
		case "running":
			running++
		case "complete":
			completed++
		}
	}
	if svc.Spec.Mode.IsJob() {
		total := desired
		if svc.Spec.Replicas != nil && svc.Spec.Mode == swarmv1.ModeReplicatedJob {
			total = int(*svc.Spec.Replicas)
		}
		if total < 1 {
			total = 1
		}
		lines = append(lines, progressLine{id: "job progress", status: fmt.Sprintf("%d out of %d complete", completed, total), bar: progressBar(min(completed, total), total)})
		lines = append(lines, progressLine{status: fmt.Sprintf("active tasks: %d out of %d tasks", running, len(current))})
	} else {
		overall := fmt.Sprintf("overall progress: %d out of %d tasks", min(running, max(desired, 0)), desired)
		if svc.Spec.Mode.IsGlobal() && desired == 0 && len(current) == 0 {
			overall = "overall progress: waiting for new tasks"
		}
		if rollingBack {
			overall = fmt.Sprintf("overall progress: rolling back update: %d out of %d tasks", min(running, max(desired, 0)), desired)
		}
		lines = append(lines, progressLine{status: overall})
		if len(current) <= 20 {
			for i, t := range current {
				id := fmt.Sprintf("%d/%d", i+1, max(desired, len(current)))
				if svc.Spec.Mode.IsGlobal() {
					id = taskNode(t.pod)
				}
				bar := ""
				if n, ok := stateOrder[states[i]]; ok {
					bar = progressBar(n, 9)
				}
				lines = append(lines, progressLine{id: id, status: states[i], bar: bar})
			}
		}
	}
	if rollingBack && us != nil && us.Message != "" {
		lines = append(lines, progressLine{status: "rollback: " + us.Message})
	}
	if rollbackValue != "" && svc.Status.LastRollbackRequest != rollbackValue {
		return lines, false, nil
	}
	return lines, serviceConverged(svc), nil
}

// serviceConverged: the operator has seen the current spec, every desired task runs it, and no
// update is under way.
func serviceConverged(svc *swarmv1.Service) bool {
	if svc.Status.ObservedGeneration < svc.Generation {
		return false
	}
	if us := svc.Status.UpdateStatus; us != nil && (us.State == swarmv1.UpdateStateUpdating || us.State == swarmv1.UpdateStateRollbackStarted) {
		return false
	}
	cond := meta.FindStatusCondition(svc.Status.Conditions, swarmv1.ConditionReady)
	return cond != nil && cond.Status == "True" && cond.ObservedGeneration >= svc.Generation
}
