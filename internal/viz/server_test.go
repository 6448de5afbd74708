package viz

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerSecurity(t *testing.T) {
	h := Handler(NewHub(), true)
	cases := []struct {
		name, method, host, path string
		code                     int
	}{
		{"page", http.MethodGet, "127.0.0.1:8080", "/", http.StatusOK},
		{"page on localhost", http.MethodGet, "localhost:8080", "/", http.StatusOK},
		{"page on ::1", http.MethodGet, "[::1]:8080", "/", http.StatusOK},
		{"script", http.MethodGet, "127.0.0.1:8080", "/static/app.js", http.StatusOK},
		{"snapshot", http.MethodGet, "127.0.0.1:8080", "/api/snapshot", http.StatusOK},
		{"head", http.MethodHead, "127.0.0.1:8080", "/", http.StatusOK},
		{"read-only", http.MethodPost, "127.0.0.1:8080", "/api/snapshot", http.StatusMethodNotAllowed},
		{"read-only delete", http.MethodDelete, "127.0.0.1:8080", "/", http.StatusMethodNotAllowed},
		{"DNS rebinding", http.MethodGet, "evil.example.com:8080", "/api/snapshot", http.StatusForbidden},
		{"unknown path", http.MethodGet, "127.0.0.1:8080", "/etc/passwd", http.StatusNotFound},
		{"no listing", http.MethodGet, "127.0.0.1:8080", "/static/", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d", rec.Code, tc.code)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
	// Bound to every interface, any host name is answered.
	rec := httptest.NewRecorder()
	Handler(NewHub(), false).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://viz.example.com/", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("not loopback-only: status %d", rec.Code)
	}
}

// TestPageHasNoInlineCode checks what the CSP relies on: the page loads its script and style
// from files, and the script never writes HTML.
func TestPageHasNoInlineCode(t *testing.T) {
	page, _ := static.ReadFile("static/index.html")
	for _, bad := range []string{"<script>", "<style", " style=", "onclick", "onload", "http://", "https://"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("index.html holds %q", bad)
		}
	}
	js, _ := static.ReadFile("static/app.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %q", bad)
		}
	}
}

func TestEventStream(t *testing.T) {
	hub := NewHub()
	c := GenerateCluster(3, 6, 3)
	v, _ := c.View(nil)
	hub.Publish(v)
	srv := httptest.NewServer(Handler(hub, true))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	next := func() (event, data string) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && event != "":
				return event, data
			}
		}
	}
	ev, data := next()
	var snap View
	if err := json.Unmarshal([]byte(data), &snap); ev != "snapshot" || err != nil || snap.Version != 1 || len(snap.Tasks) != 6 || len(snap.Nodes) != 3 {
		t.Fatalf("first event %q (%v): version %d, %d nodes, %d tasks", ev, err, snap.Version, len(snap.Nodes), len(snap.Tasks))
	}
	for hub.Subscribers() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	c.Churn(2)
	v, _ = c.View(nil)
	hub.Publish(v)
	ev, data = next()
	var d Delta
	if err := json.Unmarshal([]byte(data), &d); ev != "delta" || err != nil || d.Version != 2 || d.Empty() {
		t.Fatalf("second event %q (%v): %+v", ev, err, d)
	}
	if diff := Apply(snap, d); len(diff.Tasks) != 6 {
		t.Errorf("snapshot + delta: %d tasks", len(diff.Tasks))
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", NewHub(), func(u string) { urls <- u }) }()
	u := <-urls
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Errorf("URL %q", u)
	}
	resp, err := http.Get(u + "api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopping: %v", err)
	}
}
