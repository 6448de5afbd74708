package viz

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy allows the page its own script, style and the server's endpoints, and
// nothing else: no inline script or style, no other origin, no frames.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pingInterval keeps idle event streams open through proxies and tells the page the server's time.
const pingInterval = 20 * time.Second

// Handler serves the page, the JSON snapshot (/api/snapshot) and the event stream (/api/events)
// of hub. It answers only GET and HEAD. With loopbackOnly (the server listens on a loopback
// address) it answers only requests addressed to a loopback name, so that a web page cannot
// reach it by DNS rebinding.
func Handler(hub *Hub, loopbackOnly bool) http.Handler {
	mux := http.NewServeMux()
	files, _ := fs.Sub(static, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(files))
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) { fileServer.ServeHTTP(w, r) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})
	mux.HandleFunc("GET /api/snapshot", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(hub.snapshotJSON())
	})
	mux.HandleFunc("GET /api/events", func(w http.ResponseWriter, r *http.Request) { serveEvents(hub, w, r) })
	return guard(mux, loopbackOnly)
}

// guard sets the security headers and refuses what a read-only, local page never needs.
func guard(next http.Handler, loopbackOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		if loopbackOnly && !loopbackHost(r.Host) {
			http.Error(w, "this server answers only to localhost", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveEvents streams the current view as a "snapshot" event, then every change as a "delta"
// event, and a "ping" with the server's time when idle.
func serveEvents(hub *Hub, w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	snap, sub := hub.subscribe()
	defer hub.unsubscribe(sub)
	if err := writeEvent(w, "snapshot", snap, "retry: 2000\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case data, ok := <-sub.ch:
			if !ok {
				return // dropped for being slow: the page reconnects
			}
			if writeEvent(w, "delta", data, "") != nil {
				return
			}
			// Send what is queued in the same write, so that a burst costs one flush.
			for more := true; more; {
				select {
				case data, ok := <-sub.ch:
					if !ok {
						_ = rc.Flush()
						return
					}
					if writeEvent(w, "delta", data, "") != nil {
						return
					}
				default:
					more = false
				}
			}
		case now := <-ping.C:
			if writeEvent(w, "ping", fmt.Appendf(nil, `{"now":%q}`, now.UTC().Format(time.RFC3339Nano)), "") != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, event string, data []byte, prefix string) error {
	// The JSON holds no raw newline, so it fits on one data line.
	_, err := fmt.Fprintf(w, "%sevent: %s\ndata: %s\n\n", prefix, event, data)
	return err
}

// ListenAndServe serves hub on addr until ctx ends. ready, when not nil, gets the page's URL
// once the server listens (addr may have port 0).
func ListenAndServe(ctx context.Context, addr string, hub *Hub, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	srv := &http.Server{
		Handler:           Handler(hub, tcp.IP.IsLoopback()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends the event streams
	}
	if ready != nil {
		ready(PageURL(tcp))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the visualizer: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stopping the visualizer: %w", err)
	}
	return nil
}

// PageURL is the URL a browser opens for a server listening on a: an unspecified address
// (0.0.0.0, ::) is reached through localhost.
func PageURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() || a.IP == nil {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.Port)) + "/"
}
