package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// upstreamTimeout bounds every outgoing request and lookup, so a broken network answers with an
// error inside a test's patience instead of hanging the probe.
const upstreamTimeout = 5 * time.Second

// maxBody bounds request bodies: rows and files in the tests are small.
const maxBody = 16 << 20

// server holds the state behind the handlers: the health flag a test flips over HTTP and, for the
// mysql role, the row store.
type server struct {
	cfg    config
	failed atomic.Bool
	rows   *rowStore
	client *http.Client
}

func newServer(cfg config) *server {
	s := &server{cfg: cfg, client: &http.Client{Timeout: upstreamTimeout}}
	if cfg.Role == roleMySQL {
		s.rows = &rowStore{path: filepath.Join(cfg.DataDir, "rows.txt")}
	}
	return s
}

// handler routes the endpoints every role has, plus the role's own.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("POST /healthz/fail", func(w http.ResponseWriter, _ *http.Request) {
		s.failed.Store(true)
		fmt.Fprintln(w, "unhealthy")
	})
	mux.HandleFunc("POST /healthz/ok", func(w http.ResponseWriter, _ *http.Request) {
		s.failed.Store(false)
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /file", getFile)
	mux.HandleFunc("PUT /file", putFile)
	mux.HandleFunc("GET /stat", statFile)
	mux.HandleFunc("GET /resolve", resolve)
	mux.HandleFunc("GET /fetch", s.fetch)
	switch s.cfg.Role {
	case roleMySQL:
		mux.HandleFunc("GET /{$}", s.mysqlIndex)
		mux.HandleFunc("GET /rows", s.mysqlRows)
		mux.HandleFunc("POST /rows", s.mysqlAppend)
	case roleWordpress:
		mux.HandleFunc("GET /{$}", s.wordpressIndex)
		mux.HandleFunc("POST /rows", s.wordpressAppend)
	default:
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, s.identity())
		})
	}
	return mux
}

// identity is the line that tells which task answered: the mesh and rolling-update tests parse it.
func (s *server) identity() string {
	return fmt.Sprintf("host=%s node=%s version=%s role=%s", s.cfg.Hostname, s.cfg.NodeName, s.cfg.Version, s.cfg.roleName())
}

// healthz fails while any of the three switches is on: UNHEALTHY=1 in the environment (an image
// born unhealthy), POST /healthz/fail (until POST /healthz/ok), or the file UnhealthyFile.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	reason := ""
	switch {
	case s.cfg.Unhealthy:
		reason = "UNHEALTHY=1"
	case s.failed.Load():
		reason = "POST /healthz/fail"
	default:
		if _, err := os.Stat(s.cfg.UnhealthyFile); err == nil {
			reason = s.cfg.UnhealthyFile + " exists"
		}
	}
	if reason != "" {
		http.Error(w, "unhealthy: "+reason, http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

// pathParam reads the path query parameter, answering 400 when it is missing or relative: the
// file endpoints look at the container's own file system and relative paths would depend on the
// working directory.
func pathParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := r.URL.Query().Get("path")
	if p == "" || !filepath.IsAbs(p) {
		http.Error(w, "want ?path=/absolute/path", http.StatusBadRequest)
		return "", false
	}
	return p, true
}

func getFile(w http.ResponseWriter, r *http.Request) {
	p, ok := pathParam(w, r)
	if !ok {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		fileError(w, err)
		return
	}
	_, _ = w.Write(b)
}

func putFile(w http.ResponseWriter, r *http.Request) {
	p, ok := pathParam(w, r)
	if !ok {
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		fileError(w, err)
		return
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		fileError(w, err)
		return
	}
	fmt.Fprintf(w, "wrote %d bytes to %s\n", len(b), p)
}

// fileStat is the answer of GET /stat. Mode is the octal permission bits ("0400"), the form
// docker's secret and config mode options take.
type fileStat struct {
	Content string `json:"content"`
	Mode    string `json:"mode"`
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
}

// statFile follows symbolic links: Kubernetes projects secrets and configs as links into a
// timestamped directory, and the test wants the mode of the file a task reads.
func statFile(w http.ResponseWriter, r *http.Request) {
	p, ok := pathParam(w, r)
	if !ok {
		return
	}
	fi, err := os.Stat(p)
	if err != nil {
		fileError(w, err)
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		fileError(w, err)
		return
	}
	st := fileStat{Content: string(b), Mode: fmt.Sprintf("%04o", fi.Mode().Perm())}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID = int(sys.Uid), int(sys.Gid)
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(st); err != nil {
		http.Error(w, "encoding: "+err.Error(), http.StatusInternalServerError)
	}
}

func fileError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, fs.ErrNotExist) {
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

// resolve goes through the pure Go resolver of a CGO_ENABLED=0 binary, which reads the pod's
// /etc/resolv.conf (search list and ndots), so a short name exercises cluster DNS like a real
// client would.
func resolve(w http.ResponseWriter, r *http.Request) {
	addrs, err := lookupHost(r.Context(), r.URL.Query().Get("name"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, strings.Join(addrs, "\n"))
}

// lookupHost returns the sorted addresses of name.
func lookupHost(ctx context.Context, name string) ([]string, error) {
	if name == "" {
		return nil, errors.New("want a name")
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", name, err)
	}
	sort.Strings(addrs)
	return addrs, nil
}

// fetch answers with the body and the status of GET url, or 502 when the request fails, so one
// task can probe another through the service mesh.
func (s *server) fetch(w http.ResponseWriter, r *http.Request) {
	url := r.URL.Query().Get("url")
	if url == "" {
		http.Error(w, "want ?url=URL", http.StatusBadRequest)
		return
	}
	status, body, err := s.do(r.Context(), http.MethodGet, url, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// do sends one request and reads the whole answer.
func (s *server) do(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("reading %s: %w", url, err)
	}
	return resp.StatusCode, b, nil
}

// readRow reads one row from the request body: a single line, its line ending dropped.
func readRow(w http.ResponseWriter, r *http.Request) (string, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return "", false
	}
	row := strings.TrimRight(string(b), "\r\n")
	if row == "" || strings.ContainsAny(row, "\r\n") {
		http.Error(w, "want one non-empty line", http.StatusBadRequest)
		return "", false
	}
	return row, true
}

func (s *server) mysqlIndex(w http.ResponseWriter, _ *http.Request) {
	rows, err := s.rows.all()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s rows=%d\n", s.identity(), len(rows))
}

func (s *server) mysqlRows(w http.ResponseWriter, _ *http.Request) {
	rows, err := s.rows.all()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, row := range rows {
		fmt.Fprintln(w, row)
	}
}

func (s *server) mysqlAppend(w http.ResponseWriter, r *http.Request) {
	row, ok := readRow(w, r)
	if !ok {
		return
	}
	n, err := s.rows.add(row)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "ok rows=%d\n", n)
}

// dbURL is the database's row endpoint. WORDPRESS_DB_HOST is host or host:port as in the official
// image; the host is resolved by the pod's resolver, so the short service name goes through
// cluster DNS.
func (s *server) dbURL() string {
	addr := s.cfg.DBHost
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, mysqlPort)
	}
	return "http://" + addr + "/rows"
}

// wordpressIndex shows the rows it reads from the database, so a test sees the two services talk
// over the overlay network; 503 when the database cannot be reached, like WordPress's "Error
// establishing a database connection".
func (s *server) wordpressIndex(w http.ResponseWriter, r *http.Request) {
	status, body, err := s.do(r.Context(), http.MethodGet, s.dbURL(), nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", s.dbURL(), status, strings.TrimSpace(string(body)))
	}
	if err != nil {
		http.Error(w, "Error establishing a database connection: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	rows := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	if len(body) == 0 {
		rows = nil
	}
	// The text sits in a <pre> block, one fact a line, so a test can parse it like the plain role's
	// answer.
	var page strings.Builder
	fmt.Fprintf(&page, "<!DOCTYPE html>\n<html><head><title>WordPress stand-in</title></head><body><pre>\n")
	fmt.Fprintf(&page, "%s\n", html.EscapeString(s.identity()))
	fmt.Fprintf(&page, "db=%s rows=%d\n", html.EscapeString(s.cfg.DBHost), len(rows))
	for _, row := range rows {
		fmt.Fprintf(&page, "%s\n", html.EscapeString(row))
	}
	fmt.Fprintf(&page, "</pre></body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, page.String())
}

// wordpressAppend forwards a row to the database and answers with the database's status.
func (s *server) wordpressAppend(w http.ResponseWriter, r *http.Request) {
	row, ok := readRow(w, r)
	if !ok {
		return
	}
	status, body, err := s.do(r.Context(), http.MethodPost, s.dbURL(), []byte(row+"\n"))
	if err != nil {
		http.Error(w, "Error establishing a database connection: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
