//go:build upgrade

package upgrade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/routes"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

const gatewayAnnotation = routes.AnnotationGateway

// The update in flight when the operator is swapped: a service of three tasks updated one at a
// time, 10 s apart (stop-first, as Swarm's default), so that it takes about 30 s.
const (
	inFlight         = "api"
	inFlightReplicas = 3
	oldImage         = "nginx:1.26"
	newImage         = "nginx:1.27"
)

// services are the Services deploy makes: the seed's stack (wp), testdata/app (app) and the
// update's service.
var services = []string{"wp-wordpress", "wp-dbcluster", "app-web", "app-agent", "app-migrate", inFlight}

// deploy makes, with the previous release's plugin, the seed's stack (wordpress with a published
// port, mysql with a named volume), testdata/app's stack (secrets, a secret owned by a user, a
// config, a route, global, replicated job) and the service the update will change.
func deploy(t *testing.T, ns string) {
	t.Helper()
	plugin(t, previous, ns, "stack", "deploy", "--resolve-image", "never", "-c", "../compose/seed/docker-compose.yml", "wp")
	plugin(t, previous, ns, "stack", "deploy", "--resolve-image", "never", "-c", "testdata/app/docker-compose.yml", "app")
	plugin(t, previous, ns, "service", "create", "--detach", "--no-resolve-image", "--name", inFlight,
		"--replicas", fmt.Sprint(inFlightReplicas), "--update-parallelism", "1", "--update-delay", "10s", oldImage)
}

// waitConverged waits until every Service and Stack is Ready for its current spec (the job's
// tasks completed).
func waitConverged(t *testing.T, ns string) {
	t.Helper()
	testutil.Eventually(t, 3*time.Minute, "the services converge", func() error {
		var errs []error
		for _, err := range notReady(ns, "") {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// notReady is, by "Kind/name", why each Service and Stack of ns (but skip) is not Ready for its
// current spec; "" when it cannot tell.
func notReady(ns, skip string) map[string]error {
	ctx := context.Background()
	out := map[string]error{}
	svcs := &swarmv1.ServiceList{}
	if err := k8sClient.List(ctx, svcs, client.InNamespace(ns)); err != nil {
		return map[string]error{"": err}
	}
	var names []string
	for _, s := range svcs.Items {
		names = append(names, s.Name)
		if s.Name == skip {
			continue
		}
		if err := readyFor(s.Status.Conditions, s.Generation, s.Status.ObservedGeneration); err != nil {
			out["Service/"+s.Name] = err
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(services)); !slices.Equal(names, want) {
		out[""] = fmt.Errorf("Services %v, want %v", names, want)
	}
	stacks := &swarmv1.StackList{}
	if err := k8sClient.List(ctx, stacks, client.InNamespace(ns)); err != nil {
		out[""] = err
		return out
	}
	for _, s := range stacks.Items {
		if err := readyFor(s.Status.Conditions, s.Generation, s.Status.ObservedGeneration); err != nil {
			out["Stack/"+s.Name] = err
		}
	}
	return out
}

func readyFor(conds []metav1.Condition, generation, observed int64) error {
	c := meta.FindStatusCondition(conds, swarmv1.ConditionReady)
	switch {
	case observed != generation:
		return fmt.Errorf("generation %d observed %d", generation, observed)
	case c == nil:
		return errors.New("no Ready condition")
	case c.Status != metav1.ConditionTrue:
		return fmt.Errorf("Ready %s: %s: %s", c.Status, c.Reason, c.Message)
	}
	return nil
}

// startUpdate changes the image of the update's service with the previous plugin and waits
// until the previous operator has set its Deployment to it and the first new task exists.
func startUpdate(t *testing.T, ns string) {
	t.Helper()
	plugin(t, previous, ns, "service", "update", "--detach", "--no-resolve-image", "--image", newImage, inFlight)
	testutil.Eventually(t, 60*time.Second, "the update of "+inFlight+" is under way", func() error {
		s := &swarmv1.Service{}
		if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: inFlight}, s); err != nil {
			return err
		}
		if s.Status.UpdateStatus == nil || s.Status.UpdateStatus.State != swarmv1.UpdateStateUpdating {
			return fmt.Errorf("updateStatus %+v", s.Status.UpdateStatus)
		}
		byImage, err := tasksByImage(ns, inFlight)
		if err != nil {
			return err
		}
		if byImage[newImage] == 0 || byImage[oldImage] == 0 {
			return fmt.Errorf("tasks by image %v", byImage)
		}
		return nil
	})
}

// assertInFlight fails the test when the update finished before the operator was swapped: the
// test would then not show an upgrade in the middle of an update.
func assertInFlight(t *testing.T, ns string) {
	t.Helper()
	byImage, err := tasksByImage(ns, inFlight)
	if err != nil {
		t.Fatal(err)
	}
	if byImage[oldImage] == 0 {
		t.Fatalf("the update of %s was over before the operator was swapped (tasks by image %v): the upgrade was not made mid-update", inFlight, byImage)
	}
	t.Logf("the update is in flight across the swap: tasks by image %v", byImage)
}

// tasksByImage counts the service's tasks (not being deleted) by the image they run.
func tasksByImage(ns, service string) (map[string]int, error) {
	pods := &corev1.PodList{}
	if err := k8sClient.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{translate.LabelService: service}); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Spec.Containers[0].Image]++
		}
	}
	return out, nil
}

// restartedByRelease tells whether what ("Kind/name" of notReady) is a service this release
// restarts (releaseRestarts), or the stack of one (releaseRestartStacks), whose readiness
// follows its services'.
func restartedByRelease(what string) bool {
	kind, name, _ := strings.Cut(what, "/")
	if kind == "Stack" {
		return releaseRestartStacks[name]
	}
	return releaseRestarts[name]
}

// waitSettled waits, with a bound, until the update in flight has completed under the new
// operator (every task of the new image, running and ready, updateStatus completed) and the new
// operator has reconciled every object and has nothing left to do. All along, every other
// Service and Stack must stay Ready.
func waitSettled(t *testing.T, ns, metricsAddr string) {
	t.Helper()
	ctx := context.Background()
	lost := map[string]bool{}
	testutil.Eventually(t, 150*time.Second, "the update completes and the operator settles", func() error {
		var replacing error
		for what, err := range notReady(ns, inFlight) {
			if what == "" {
				return err
			}
			if restartedByRelease(what) {
				// Replaced by this release (releaseRestarts): it may go down while its task is
				// replaced, and must be Ready again.
				replacing = fmt.Errorf("%s, replaced by this release: %w", what, err)
				continue
			}
			if !lost[what] {
				lost[what] = true
				t.Errorf("after the upgrade, %s was not Ready: %v", what, err)
			}
		}
		s := &swarmv1.Service{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: inFlight}, s); err != nil {
			return err
		}
		if st := s.Status.UpdateStatus; st == nil || st.State != swarmv1.UpdateStateCompleted {
			return fmt.Errorf("%s: updateStatus %+v", inFlight, st)
		}
		if err := readyFor(s.Status.Conditions, s.Generation, s.Status.ObservedGeneration); err != nil {
			return fmt.Errorf("%s: %w", inFlight, err)
		}
		byImage, err := tasksByImage(ns, inFlight)
		if err != nil {
			return err
		}
		if byImage[newImage] != inFlightReplicas || len(byImage) != 1 {
			return fmt.Errorf("%s: tasks by image %v", inFlight, byImage)
		}
		if replacing != nil {
			return replacing
		}
		want := map[string]int{"service": len(services), "stack": 2}
		nodes := &swarmv1.NodeList{}
		if err := k8sClient.List(ctx, nodes); err != nil {
			return err
		}
		want["node"] = len(nodes.Items)
		return drained(metricsAddr, want)
	})
}

// podWatch records every pod of a namespace as it appears: the test must see each task the
// cluster made, not only those alive at its checks.
type podWatch struct {
	mu   sync.Mutex
	seen map[types.UID]seenPod
	// order is seen's keys in the order the pods appeared.
	order []types.UID
}

type seenPod struct {
	name, service, image string
	at                   time.Time
}

// watchPods starts recording the pods of ns, until the test ends.
func watchPods(t *testing.T, ns string) *podWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &podWatch{seen: map[types.UID]seenPod{}}
	rv, err := w.list(ctx, ns)
	if err != nil {
		t.Fatalf("listing pods: %v", err)
	}
	go func() {
		for ctx.Err() == nil {
			next, err := w.watch(ctx, ns, rv)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				// Expired (410) or broken: list again; a pod made and gone in between would be
				// missed, and is said so.
				t.Logf("watching pods: %v; listing them again", err)
				if next, err = w.list(ctx, ns); err != nil {
					time.Sleep(time.Second)
					continue
				}
			}
			rv = next
		}
	}()
	return w
}

func (w *podWatch) list(ctx context.Context, ns string) (string, error) {
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return "", err
	}
	for i := range pods.Items {
		w.add(&pods.Items[i])
	}
	return pods.ResourceVersion, nil
}

// watch records the pods of ns from resource version rv until the watch ends; it returns the
// last resource version seen.
func (w *podWatch) watch(ctx context.Context, ns, rv string) (string, error) {
	wi, err := k8sClient.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
	if err != nil {
		return rv, err
	}
	defer wi.Stop()
	for ev := range wi.ResultChan() {
		if ev.Type == watch.Error {
			return rv, apierrors.FromObject(ev.Object)
		}
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		rv = pod.ResourceVersion
		if ev.Type == watch.Added || ev.Type == watch.Modified {
			w.add(pod)
		}
	}
	return rv, nil
}

func (w *podWatch) add(p *corev1.Pod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.seen[p.UID]; ok {
		return
	}
	w.seen[p.UID] = seenPod{name: p.Name, service: p.Labels[translate.LabelService], image: p.Spec.Containers[0].Image, at: time.Now()}
	w.order = append(w.order, p.UID)
}

// checkUpdateOnce checks that the update in flight made each of its new tasks once (as many
// pods of the new image as replicas, since the update started), and that no other pod was made
// since the upgrade started.
func (w *podWatch) checkUpdateOnce(t *testing.T, updateAt, upgradeAt time.Time) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var updated, others []string
	for _, uid := range w.order {
		p := w.seen[uid]
		switch {
		case p.service == inFlight && p.image == newImage && !p.at.Before(updateAt):
			updated = append(updated, fmt.Sprintf("%s (%+.1fs from the upgrade)", p.name, p.at.Sub(upgradeAt).Seconds()))
		case !p.at.Before(upgradeAt) && !releaseRestarts[p.service]:
			// (releaseRestarts: replaced once by this release, as CHANGELOG.md says)
			others = append(others, fmt.Sprintf("%s (service %s, image %s, %+.1fs from the upgrade)", p.name, p.service, p.image, p.at.Sub(upgradeAt).Seconds()))
		}
	}
	sort.Strings(updated)
	t.Logf("tasks the update made: %s", strings.Join(updated, ", "))
	if len(updated) != inFlightReplicas {
		t.Errorf("the update of %s made %d tasks of %s, want %d (one per replica): %s", inFlight, len(updated), newImage, inFlightReplicas, strings.Join(updated, ", "))
	}
	if len(others) > 0 {
		t.Errorf("pods made after the upgrade started, other than the update's:\n  %s", strings.Join(others, "\n  "))
	}
}
