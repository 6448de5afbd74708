package tasks

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	restfake "k8s.io/client-go/rest/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestOpenLogs: a task whose container restarted in place and runs shows its earlier run
// (previous=true, never followed) before the current one; one that waits to start again, ended
// again, or never restarted, only its current log (the kubelet keeps one ended container).
func TestOpenLogs(t *testing.T) {
	ended := &corev1.ContainerStateTerminated{ExitCode: 1, ContainerID: "containerd://a"}
	cases := []struct {
		name   string
		status corev1.ContainerStatus
		want   []corev1.PodLogOptions
	}{
		{"never restarted", corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			[]corev1.PodLogOptions{{Container: "task", Follow: true}}},
		{"restarted, running", corev1.ContainerStatus{RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: ended}},
			[]corev1.PodLogOptions{{Container: "task", Previous: true}, {Container: "task", Follow: true}}},
		{"restarted, ended again: the kubelet removed the earlier run", corev1.ContainerStatus{RestartCount: 1,
			State:                corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "containerd://b"}},
			LastTerminationState: corev1.ContainerState{Terminated: ended}},
			[]corev1.PodLogOptions{{Container: "task", Follow: true}}},
		{"waiting to start again", corev1.ContainerStatus{RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: ended}},
			[]corev1.PodLogOptions{{Container: "task", Follow: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.status.Name = translate.ContainerName
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "n"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{tc.status}}}
			cs := k8sfake.NewClientset(pod)
			streams, err := OpenLogs(t.Context(), cs.CoreV1(), pod, corev1.PodLogOptions{Container: translate.ContainerName, Follow: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range streams {
				_, _ = io.ReadAll(s)
				_ = s.Close()
			}
			var got []corev1.PodLogOptions
			for _, a := range cs.Actions() {
				if a.GetSubresource() == "log" {
					got = append(got, *a.(k8stesting.GenericActionImpl).Value.(*corev1.PodLogOptions))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log requests (-want +got):\n%s", diff)
			}
			if len(streams) != len(tc.want) {
				t.Errorf("%d streams, want %d", len(streams), len(tc.want))
			}
		})
	}
}

// TestOpenLogsReadsRuns: what the streams read, in order: the earlier run, then the current
// one; an earlier run the kubelet removed meanwhile (it answers with its message as the body) is
// left out.
func TestOpenLogsReadsRuns(t *testing.T) {
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "n"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: translate.ContainerName, RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}}}
	cases := map[string]string{
		"earlier run\n": "earlier run\ncurrent run\n",
		"unable to retrieve container logs for containerd://0b7f3c3e": "current run\n",
	}
	for previous, want := range cases {
		rc := &restfake.RESTClient{NegotiatedSerializer: scheme.Codecs.WithoutConversion(), GroupVersion: corev1.SchemeGroupVersion,
			Client: restfake.CreateHTTPClient(func(r *http.Request) (*http.Response, error) {
				body := "current run\n"
				if r.URL.Query().Get("previous") == "true" {
					body = previous
				}
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, nil
			})}
		streams, err := OpenLogs(t.Context(), corev1client.New(rc), running, corev1.PodLogOptions{Container: translate.ContainerName})
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for _, s := range streams {
			b, _ := io.ReadAll(s)
			got.Write(b)
			_ = s.Close()
		}
		if diff := cmp.Diff(want, got.String()); diff != "" {
			t.Errorf("previous %q (-want +got):\n%s", previous, diff)
		}
	}
}
