package dockerapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/pkg/stdcopy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestLogLine: a pod log line (read with timestamps) as docker's stream has it.
func TestLogLine(t *testing.T) {
	const kube = "2026-11-27T16:00:01.5Z GET / 200"
	const details = "com.docker.swarm.node.id=n,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t"
	cases := map[string]struct {
		q    logQuery
		want string
	}{
		"plain":      {logQuery{}, "GET / 200\n"},
		"details":    {logQuery{details: true}, details + " GET / 200\n"},
		"timestamps": {logQuery{details: true, timestamps: true}, "2026-11-27T16:00:01.500000000Z " + details + " GET / 200\n"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := string(logLine(kube, details, c.q)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	if got := logDetails("a b", "s", "t"); got != "com.docker.swarm.node.id=a+b,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t" {
		t.Errorf("details: %q", got)
	}
}

// TestFrames: what writeFrame writes, stdcopy (the docker CLI's reader) reads back.
func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	_ = writeFrame(&buf, stdcopy.Stdout, []byte("out\n"))
	_ = writeFrame(&buf, stdcopy.Stderr, []byte("err\n"))
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, &buf); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}

// TestServiceLogs: GET /services/{id}/logs streams each running task's pod log with docker's
// details, multiplexed; bad parameters are refused as docker does.
func TestServiceLogs(t *testing.T) {
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10"}}
	pod := func(name, uid, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e1" + uid),
			Labels: map[string]string{translate.LabelService: "web"}}, Spec: corev1.PodSpec{NodeName: node}}
	}
	running, pending := pod("web-a", "1", "worker1"), pod("web-b", "2", "")
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(svc, running, pending).Build()
	srv := httptest.NewServer((&Server{Client: c, Clientset: k8sfake.NewClientset(running, pending), Namespace: "default"}).Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1.47/services/web/logs?stdout=1&stderr=1&details=1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, resp.Body); err != nil {
		t.Fatal(err)
	}
	// The fake clientset answers every log with "fake logs"; the pending task has none.
	want := logDetails("", ID(svc.UID), ID(running.UID)) + " logs\n"
	if diff := cmp.Diff(want, out.String()); diff != "" || errOut.Len() > 0 {
		t.Errorf("stdout (-want +got):\n%s\nstderr: %s", diff, errOut.String())
	}

	// A task restarted in place: its earlier run, then its current one, from the one task.
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: translate.ContainerName, RestartCount: 1,
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
	c2 := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(svc, running).Build()
	srv2 := httptest.NewServer((&Server{Client: c2, Clientset: k8sfake.NewClientset(running), Namespace: "default"}).Handler())
	defer srv2.Close()
	resp2, err := http.Get(srv2.URL + "/v1.47/tasks/" + ID(running.UID) + "/logs?stdout=1&details=1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp2.Body.Close() }()
	out.Reset()
	if _, err := stdcopy.StdCopy(&out, &errOut, resp2.Body); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want+want, out.String()); diff != "" {
		t.Errorf("restarted task's logs (-want +got):\n%s", diff)
	}

	for _, bad := range []string{"?stdout=0&stderr=0", "?stdout=1&tail=x", "?stdout=1&since=yesterday"} {
		resp, err := http.Get(srv.URL + "/services/web/logs" + bad)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "message") {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, b)
		}
	}
}

func TestUnixTimestamp(t *testing.T) {
	for in, want := range map[string]string{"1700000000": "2023-11-14T22:13:20Z", "1700000000.5": "2023-11-14T22:13:20.5Z"} {
		got, err := unixTimestamp(in)
		if err != nil || got.Format("2006-01-02T15:04:05.999999999Z07:00") != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
}

// TestServiceLogsFollow: following a service's logs also follows a task it starts meanwhile.
func TestServiceLogsFollow(t *testing.T) {
	defer func(d time.Duration) { followPoll = d }(followPoll)
	followPoll = 10 * time.Millisecond
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e10"}}
	pod := func(name string, uid types.UID) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: uid,
			Labels: map[string]string{translate.LabelService: "web"}}, Spec: corev1.PodSpec{NodeName: "worker1"}}
	}
	first, later := pod("web-a", "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e11"), pod("web-b", "0b7f3c3e-4a1d-4c53-9a55-1f5b2d7c9e12")
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(svc, first).Build()
	srv := httptest.NewServer((&Server{Client: c, Clientset: k8sfake.NewClientset(first, later), Namespace: "default"}).Handler())
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/services/web/logs?stdout=1&details=1&follow=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	lines := make(chan string, 4)
	go func() {
		pr, pw := io.Pipe()
		go func() { _, _ = stdcopy.StdCopy(pw, io.Discard, resp.Body); _ = pw.Close() }()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no log line within 5s")
		}
		return ""
	}
	if l := next(); !strings.Contains(l, ID(first.UID)) {
		t.Errorf("first line %q is not task %s's", l, ID(first.UID))
	}
	if err := c.Create(ctx, later); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.Contains(l, ID(later.UID)) {
		t.Errorf("second line %q is not the new task %s's", l, ID(later.UID))
	}
}
