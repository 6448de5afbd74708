package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testConfig is a configuration independent of the machine running the tests.
func testConfig(t *testing.T, role string) config {
	t.Helper()
	dir := t.TempDir()
	return config{
		Role:          role,
		Version:       "7",
		NodeName:      "node-a",
		Hostname:      "task-1",
		DataDir:       filepath.Join(dir, "mysql"),
		DBHost:        defaultDBHost,
		UnhealthyFile: filepath.Join(dir, "unhealthy"),
	}
}

func startServer(t *testing.T, cfg config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newServer(cfg).handler())
	t.Cleanup(srv.Close)
	return srv
}

// answer is what a test compares of a response.
type answer struct {
	Status int
	Body   string
}

func send(t *testing.T, method, url, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("building request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, url, err)
	}
	return answer{Status: resp.StatusCode, Body: string(b)}
}

func TestIndex(t *testing.T) {
	cases := []struct {
		role string
		want answer
	}{
		{role: roleWeb, want: answer{200, "host=task-1 node=node-a version=7 role=web\n"}},
		{role: roleMySQL, want: answer{200, "host=task-1 node=node-a version=7 role=mysql rows=0\n"}},
	}
	for _, tc := range cases {
		t.Run(config{Role: tc.role}.roleName(), func(t *testing.T) {
			srv := startServer(t, testConfig(t, tc.role))
			if diff := cmp.Diff(tc.want, send(t, "GET", srv.URL+"/", "")); diff != "" {
				t.Errorf("GET / (-want +got):\n%s", diff)
			}
			if got := send(t, "GET", srv.URL+"/nope", ""); got.Status != http.StatusNotFound {
				t.Errorf("GET /nope: status %d, want 404", got.Status)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	cfg := testConfig(t, roleWeb)
	srv := startServer(t, cfg)
	steps := []struct {
		name   string
		do     func()
		method string
		path   string
		want   answer
	}{
		{name: "healthy at start", method: "GET", path: "/healthz", want: answer{200, "ok\n"}},
		{name: "fail", method: "POST", path: "/healthz/fail", want: answer{200, "unhealthy\n"}},
		{name: "unhealthy after fail", method: "GET", path: "/healthz", want: answer{500, "unhealthy: POST /healthz/fail\n"}},
		{name: "ok", method: "POST", path: "/healthz/ok", want: answer{200, "ok\n"}},
		{name: "healthy after ok", method: "GET", path: "/healthz", want: answer{200, "ok\n"}},
		{
			name:   "unhealthy while the file exists",
			do:     func() { writeFile(t, cfg.UnhealthyFile, "", 0o644) },
			method: "GET", path: "/healthz",
			want: answer{500, "unhealthy: " + cfg.UnhealthyFile + " exists\n"},
		},
		{
			name: "healthy once the file is gone",
			do: func() {
				if err := os.Remove(cfg.UnhealthyFile); err != nil {
					t.Fatal(err)
				}
			},
			method: "GET", path: "/healthz",
			want: answer{200, "ok\n"},
		},
		{name: "fail only by POST", method: "GET", path: "/healthz/fail", want: answer{405, "Method Not Allowed\n"}},
	}
	for _, step := range steps {
		if step.do != nil {
			step.do()
		}
		if diff := cmp.Diff(step.want, send(t, step.method, srv.URL+step.path, "")); diff != "" {
			t.Errorf("%s: %s %s (-want +got):\n%s", step.name, step.method, step.path, diff)
		}
	}
}

func TestHealthzUnhealthyEnv(t *testing.T) {
	cfg := testConfig(t, roleWeb)
	cfg.Unhealthy = true
	srv := startServer(t, cfg)
	send(t, "POST", srv.URL+"/healthz/ok", "")
	want := answer{500, "unhealthy: UNHEALTHY=1\n"}
	if diff := cmp.Diff(want, send(t, "GET", srv.URL+"/healthz", "")); diff != "" {
		t.Errorf("GET /healthz (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFile(t *testing.T) {
	srv := startServer(t, testConfig(t, roleWeb))
	p := filepath.Join(t.TempDir(), "a", "b", "c.txt")
	cases := []struct {
		name   string
		method string
		query  string
		body   string
		want   answer
	}{
		{name: "missing", method: "GET", query: "?path=" + p, want: answer{404, "open " + p + ": no such file or directory\n"}},
		{name: "write creates directories", method: "PUT", query: "?path=" + p, body: "hello\n", want: answer{200, "wrote 6 bytes to " + p + "\n"}},
		{name: "read back", method: "GET", query: "?path=" + p, want: answer{200, "hello\n"}},
		{name: "overwrite", method: "PUT", query: "?path=" + p, body: "bye", want: answer{200, "wrote 3 bytes to " + p + "\n"}},
		{name: "read again", method: "GET", query: "?path=" + p, want: answer{200, "bye"}},
		{name: "no path", method: "GET", want: answer{400, "want ?path=/absolute/path\n"}},
		{name: "relative path", method: "PUT", query: "?path=x/y", want: answer{400, "want ?path=/absolute/path\n"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, send(t, tc.method, srv.URL+"/file"+tc.query, tc.body)); diff != "" {
			t.Errorf("%s: %s /file%s (-want +got):\n%s", tc.name, tc.method, tc.query, diff)
		}
	}
}

func TestStat(t *testing.T) {
	srv := startServer(t, testConfig(t, roleWeb))
	dir := t.TempDir()
	cases := []struct {
		mode os.FileMode
		want string
	}{
		{mode: 0o400, want: "0400"},
		{mode: 0o440, want: "0440"},
		{mode: 0o644, want: "0644"},
		{mode: 0o755, want: "0755"},
		{mode: 0o000, want: "0000"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			p := filepath.Join(dir, "secret-"+tc.want)
			writeFile(t, p, "s3cr3t", tc.mode)
			// A link, as in a projected secret volume: the answer is about its target.
			link := p + ".link"
			if err := os.Symlink(p, link); err != nil {
				t.Fatal(err)
			}
			got := send(t, "GET", srv.URL+"/stat?path="+link, "")
			if tc.mode&0o400 == 0 && os.Getuid() != 0 {
				// Unreadable to a non-root test run; root reads anything, like the container.
				if got.Status != http.StatusInternalServerError {
					t.Errorf("status %d, want 500 for an unreadable file", got.Status)
				}
				return
			}
			if got.Status != http.StatusOK {
				t.Fatalf("status %d: %s", got.Status, got.Body)
			}
			var st fileStat
			if err := json.Unmarshal([]byte(got.Body), &st); err != nil {
				t.Fatalf("decoding %q: %v", got.Body, err)
			}
			want := fileStat{Content: "s3cr3t", Mode: tc.want, UID: os.Getuid(), GID: os.Getgid()}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("GET /stat (-want +got):\n%s", diff)
			}
		})
	}
	if got := send(t, "GET", srv.URL+"/stat?path="+filepath.Join(dir, "none"), ""); got.Status != http.StatusNotFound {
		t.Errorf("missing file: status %d, want 404", got.Status)
	}
}

// TestMySQLRowsPersist: rows outlive the task that wrote them, as on a Swarm volume.
func TestMySQLRowsPersist(t *testing.T) {
	cfg := testConfig(t, roleMySQL)
	first := startServer(t, cfg)
	for i, row := range []string{"alice", "bob\n"} {
		want := answer{200, "ok rows=" + strconv.Itoa(i+1) + "\n"}
		if diff := cmp.Diff(want, send(t, "POST", first.URL+"/rows", row)); diff != "" {
			t.Errorf("POST /rows %q (-want +got):\n%s", row, diff)
		}
	}
	if got := send(t, "POST", first.URL+"/rows", "two\nlines"); got.Status != http.StatusBadRequest {
		t.Errorf("POST of two lines: status %d, want 400", got.Status)
	}
	first.Close()

	second := startServer(t, cfg)
	if diff := cmp.Diff(answer{200, "alice\nbob\n"}, send(t, "GET", second.URL+"/rows", "")); diff != "" {
		t.Errorf("GET /rows on a new task (-want +got):\n%s", diff)
	}
	want := answer{200, "host=task-1 node=node-a version=7 role=mysql rows=2\n"}
	if diff := cmp.Diff(want, send(t, "GET", second.URL+"/", "")); diff != "" {
		t.Errorf("GET / (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "rows.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("alice\nbob\n", string(b)); diff != "" {
		t.Errorf("rows.txt (-want +got):\n%s", diff)
	}
}

func TestWordpress(t *testing.T) {
	db := startServer(t, testConfig(t, roleMySQL))
	cfg := testConfig(t, roleWordpress)
	cfg.DBHost = db.Listener.Addr().String()
	wp := startServer(t, cfg)

	if diff := cmp.Diff(answer{200, "ok rows=1\n"}, send(t, "POST", wp.URL+"/rows", "hello <world>")); diff != "" {
		t.Errorf("POST /rows through wordpress (-want +got):\n%s", diff)
	}
	if got := send(t, "POST", wp.URL+"/rows", ""); got.Status != http.StatusBadRequest {
		t.Errorf("POST of an empty row: status %d, want 400", got.Status)
	}
	want := answer{200, "<!DOCTYPE html>\n<html><head><title>WordPress stand-in</title></head><body><pre>\n" +
		"host=task-1 node=node-a version=7 role=wordpress\n" +
		"db=" + cfg.DBHost + " rows=1\n" +
		"hello &lt;world&gt;\n" +
		"</pre></body></html>\n"}
	if diff := cmp.Diff(want, send(t, "GET", wp.URL+"/", "")); diff != "" {
		t.Errorf("GET / (-want +got):\n%s", diff)
	}

	db.Close()
	for _, method := range []string{"GET", "POST"} {
		path := map[string]string{"GET": "/", "POST": "/rows"}[method]
		got := send(t, method, wp.URL+path, "row")
		if got.Status != http.StatusServiceUnavailable || !strings.HasPrefix(got.Body, "Error establishing a database connection: ") {
			t.Errorf("%s %s with the database down: got %+v, want 503 and the error", method, path, got)
		}
	}
}

func TestDBURL(t *testing.T) {
	cases := map[string]string{
		"dbcluster":      "http://dbcluster:3306/rows",
		"db:3307":        "http://db:3307/rows",
		"10.0.0.1":       "http://10.0.0.1:3306/rows",
		"fd00::1":        "http://[fd00::1]:3306/rows",
		"[fd00::1]:3307": "http://[fd00::1]:3307/rows",
	}
	for host, want := range cases {
		s := newServer(config{Role: roleWordpress, DBHost: host})
		if diff := cmp.Diff(want, s.dbURL()); diff != "" {
			t.Errorf("dbURL of %q (-want +got):\n%s", host, diff)
		}
	}
}

func TestFetchAndResolve(t *testing.T) {
	other := startServer(t, testConfig(t, roleWeb))
	srv := startServer(t, testConfig(t, roleWeb))
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "fetch", path: "/fetch?url=" + other.URL + "/", wantStatus: 200, wantBody: "host=task-1 node=node-a version=7 role=web\n"},
		{name: "fetch passes the status on", path: "/fetch?url=" + other.URL + "/nope", wantStatus: 404, wantBody: "404 page not found\n"},
		{name: "fetch of a closed server", path: "/fetch?url=" + closed.URL, wantStatus: 502, wantBody: "GET " + closed.URL + ": "},
		{name: "resolve an address", path: "/resolve?name=127.0.0.1", wantStatus: 200, wantBody: "127.0.0.1\n"},
		{name: "resolve nothing", path: "/resolve", wantStatus: 500, wantBody: "want a name\n"},
	}
	for _, tc := range cases {
		got := send(t, "GET", srv.URL+tc.path, "")
		if got.Status != tc.wantStatus || !strings.HasPrefix(got.Body, tc.wantBody) {
			t.Errorf("%s: GET %s = %+v, want status %d and a body starting %q", tc.name, tc.path, got, tc.wantStatus, tc.wantBody)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	base := config{Port: "80", DataDir: defaultDataDir, DBHost: defaultDBHost, UnhealthyFile: defaultUnhealthyAt, Hostname: host}
	cases := []struct {
		name    string
		env     map[string]string
		want    func(c config) config
		wantErr bool
	}{
		{name: "defaults", want: func(c config) config { return c }},
		{
			name: "mysql listens on 3306",
			env:  map[string]string{"ROLE": "mysql", "VERSION": "mysql-standin"},
			want: func(c config) config { c.Role, c.Port, c.Version = roleMySQL, "3306", "mysql-standin"; return c },
		},
		{
			name: "overrides",
			env: map[string]string{
				"ROLE": "wordpress", "PORT": "8080", "NODE_NAME": "n1", "DATA_DIR": "/data",
				"WORDPRESS_DB_HOST": "db:3307", "UNHEALTHY": "1", "CRASH": "1",
			},
			want: func(c config) config {
				c.Role, c.Port, c.NodeName, c.DataDir, c.DBHost = roleWordpress, "8080", "n1", "/data", "db:3307"
				c.Unhealthy, c.Crash = true, true
				return c
			},
		},
		{
			name: "a slow stop",
			env:  map[string]string{"STOP_DELAY": "5s"},
			want: func(c config) config { c.StopDelay = 5 * time.Second; return c },
		},
		{name: "a stop delay that is no duration", env: map[string]string{"STOP_DELAY": "5"}, wantErr: true},
		{name: "unknown role", env: map[string]string{"ROLE": "postgres"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := configFromEnv(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want(base), got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
