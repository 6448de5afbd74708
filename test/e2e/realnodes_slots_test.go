//go:build e2e && realnodes

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestRealPerSlotVolumes: Swarm's slots on real containers. A replicated service with a named
// volume gets, as on Swarm where each node has its own local volume, one volume per task:
//
//	docker service create --name slots --replicas 3 --mount source=data,target=/data \
//	  -e MYID={{.Task.Slot}} --hostname {{.Service.Name}}-{{.Task.Slot}} kubeswarm.test/web:1
//
// The three tasks spread over the three nodes; each reads its slot (1..3) from MYID and its
// hostname, and writes it into its volume. After an update (an env change replaces every task),
// after a task's restart and after scaling down and up, each slot reads back its own data.
// `service rm` keeps the three claims, which `volume ls` lists.
func TestRealPerSlotVolumes(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	mustSwarm(t, ns, "service", "create", "-d", "--name", "slots", "--replicas", "3",
		"--mount", "type=volume,source=data,target=/data", "-e", "MYID={{.Task.Slot}}",
		"--hostname", "{{.Service.Name}}-{{.Task.Slot}}", "kubeswarm.test/web:1")

	byNode := waitRunning(t, 3*time.Minute, ns, "slots", 3)
	if len(byNode) != 3 {
		t.Errorf("tasks on %v, want one on each of the three nodes (each slot its own claim)", byNode)
	}
	sts := &appsv1.StatefulSet{}
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "slots"}, sts); err != nil {
		t.Fatalf("the service's StatefulSet: %v", err)
	}
	// Each task: its slot in MYID and in its hostname; it writes the slot into its own volume.
	bySlot := slotTasks(t, ns, 3)
	for slot, p := range bySlot {
		env := readTaskFile(t, p, "/proc/self/environ")
		if !slices.Contains(strings.Split(env, "\x00"), fmt.Sprintf("MYID=%d", slot)) {
			t.Errorf("task %s: environment %q, want MYID=%d", p.Name, strings.ReplaceAll(env, "\x00", " "), slot)
		}
		body, err := get("http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/")
		if err != nil {
			t.Fatal(err)
		}
		if h := parseAnswer(body).Host; h != fmt.Sprintf("slots-%d", slot) {
			t.Errorf("task %s: hostname %q, want slots-%d", p.Name, h, slot)
		}
		if _, err := send("PUT", fileURL(p, "/data/slot"), fmt.Sprintf("slot %d on %s", slot, p.Spec.NodeName)); err != nil {
			t.Fatal(err)
		}
	}
	written := map[int]string{}
	for slot, p := range bySlot {
		written[slot] = fmt.Sprintf("slot %d on %s", slot, p.Spec.NodeName)
	}
	readBack := func(when string) {
		t.Helper()
		for slot, p := range slotTasks(t, ns, 3) {
			if got := readTaskFile(t, p, "/data/slot"); got != written[slot] {
				t.Errorf("%s: task %s reads %q from its volume, want %q", when, p.Name, got, written[slot])
			}
		}
	}

	// An update replaces every task; each slot's new task mounts its slot's claim again.
	before := taskUIDs(t, ns)
	mustSwarm(t, ns, "service", "update", "-d", "--env-add", "COLOR=blue", "slots")
	eventually(t, 3*time.Minute, "every slot runs a new task", func() error {
		pods := runningTasks(t, ns, "slots")
		if len(pods) != 3 {
			return fmt.Errorf("%d running", len(pods))
		}
		for _, p := range pods {
			if before[string(p.UID)] {
				return fmt.Errorf("task %s not replaced yet", p.Name)
			}
		}
		return nil
	})
	readBack("after the update")

	// A task that is deleted comes back in its slot, with its slot's data.
	victim := slotTasks(t, ns, 3)[2]
	if err := k8sClient.Delete(context.Background(), &victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "slot 2 runs again", func() error {
		p, ok := slotTasks(t, ns, 0)[2]
		if !ok || p.UID == victim.UID {
			return fmt.Errorf("slot 2 not back yet")
		}
		if len(runningTasks(t, ns, "slots")) != 3 {
			return fmt.Errorf("not all running")
		}
		return nil
	})
	readBack("after slot 2's restart")

	// Scaled down and up again: slot 3's claim stays, and its data comes back with the slot.
	mustSwarm(t, ns, "service", "scale", "-d", "slots=2")
	waitRunning(t, 2*time.Minute, ns, "slots", 2)
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "data-slots-3"}, &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("slot 3's claim after scaling down: %v, want it kept", err)
	}
	mustSwarm(t, ns, "service", "scale", "-d", "slots=3")
	waitRunning(t, 2*time.Minute, ns, "slots", 3)
	readBack("after scaling down to 2 and up to 3")

	out := mustSwarm(t, ns, "service", "ps", "slots", "--format", "{{.Name}} {{.DesiredState}}")
	for slot := 1; slot <= 3; slot++ {
		if !strings.Contains(out, fmt.Sprintf("slots.%d Running", slot)) {
			t.Errorf("service ps:\n%s\nwant slots.%d running", out, slot)
		}
	}

	// service rm keeps the volumes: three claims, listed by volume ls.
	mustSwarm(t, ns, "service", "rm", "slots")
	eventually(t, 2*time.Minute, "the service's tasks are gone", func() error {
		if n := len(tasks(t, ns, "slots")); n > 0 {
			return fmt.Errorf("%d tasks left", n)
		}
		return nil
	})
	claims := &corev1.PersistentVolumeClaimList{}
	if err := k8sClient.List(context.Background(), claims, client.InNamespace(ns), client.MatchingLabels{translate.LabelSlotsOf: "slots"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range claims.Items {
		if c.DeletionTimestamp == nil {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"data-slots-1", "data-slots-2", "data-slots-3"}; !slices.Equal(names, want) {
		t.Errorf("claims after service rm %v, want %v", names, want)
	}
	ls := strings.Fields(mustSwarm(t, ns, "volume", "ls", "-q"))
	for _, n := range []string{"data-slots-1", "data-slots-2", "data-slots-3"} {
		if !slices.Contains(ls, n) {
			t.Errorf("volume ls -q %v, want %s", ls, n)
		}
	}
}

// slotTasks maps slots to the running tasks of service slots (their ordinals); want > 0 fails
// the test unless there are that many.
func slotTasks(t *testing.T, ns string, want int) map[int]corev1.Pod {
	t.Helper()
	out := map[int]corev1.Pod{}
	for _, p := range runningTasks(t, ns, "slots") {
		n, err := strconv.Atoi(p.Labels[appsv1.PodIndexLabel])
		if err != nil {
			t.Fatalf("task %s has no ordinal: %v", p.Name, p.Labels)
		}
		if p.Name != fmt.Sprintf("slots-%d", n) {
			t.Errorf("task %s has ordinal %d", p.Name, n)
		}
		out[n] = p
	}
	if want > 0 && len(out) != want {
		t.Fatalf("slots %v, want %d", out, want)
	}
	return out
}

func taskUIDs(t *testing.T, ns string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, p := range tasks(t, ns, "slots") {
		out[string(p.UID)] = true
	}
	return out
}

func fileURL(p corev1.Pod, path string) string {
	return "http://" + net.JoinHostPort(p.Status.PodIP, "80") + "/file?path=" + path
}

func readTaskFile(t *testing.T, p corev1.Pod, path string) string {
	t.Helper()
	body, err := get(fileURL(p, path))
	if err != nil {
		t.Fatalf("reading %s in task %s: %v", path, p.Name, err)
	}
	return body
}
