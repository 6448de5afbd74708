// Package dockerapi serves Swarm's part of the Docker Engine API on top of kubeswarm, so that the
// unmodified docker CLI (DOCKER_HOST=…) runs `docker service`, `docker node` and `docker stack`
// against a Kubernetes cluster, with the user's own kubeconfig identity. Requests and answers
// use Docker's own types (github.com/moby/moby/api); a request's ServiceSpec becomes kubeswarm's
// through ToKube, the same Swarm rules (internal/swarmsyntax) as the plugin and the compose
// converter, and back through ToDocker.
package dockerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/common"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// API versions: the oldest the endpoint answers (Debian's 20.10 engine speaks 1.41) and the one
// it announces; clients use the lower of theirs and this.
const (
	MinAPIVersion = "1.41"
	APIVersion    = "1.50"
)

// Server answers the Engine API from the cluster that Client reads, in Namespace.
type Server struct {
	Client    client.Client
	Clientset kubernetes.Interface // for task logs; nil: logs are not served
	Namespace string
	// Version is kubeswarm's version, shown as the engine version.
	Version string
	Now     func() time.Time
}

// apiError is an error with its HTTP status, answered as Docker's {"message": …}.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error { return errorf(http.StatusNotFound, format, args...) }
func invalid(format string, args ...any) error  { return errorf(http.StatusBadRequest, format, args...) }

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// Handler is the Engine API's HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	mux := http.NewServeMux()
	h := func(pattern string, f func(w http.ResponseWriter, r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				writeError(w, err)
			}
		})
	}
	h("GET /_ping", s.ping)
	h("HEAD /_ping", s.ping)
	h("GET /version", s.version)
	h("GET /info", s.info)
	h("GET /swarm", s.swarmInspect)
	h("POST /swarm/init", s.swarmAlready)
	h("POST /swarm/join", s.swarmAlready)
	h("POST /swarm/leave", s.swarmLeave)

	h("GET /services", s.serviceList)
	h("POST /services/create", s.serviceCreate)
	h("GET /services/{id}", s.serviceInspect)
	h("POST /services/{id}/update", s.serviceUpdate)
	h("DELETE /services/{id}", s.serviceDelete)
	h("GET /services/{id}/logs", s.serviceLogs)
	h("GET /tasks", s.taskList)
	h("GET /tasks/{id}", s.taskInspect)
	h("GET /tasks/{id}/logs", s.taskLogs)

	h("GET /nodes", s.nodeList)
	h("GET /nodes/{id}", s.nodeInspect)
	h("POST /nodes/{id}/update", s.nodeUpdate)
	h("DELETE /nodes/{id}", s.nodeDelete)

	h("GET /networks", s.networkList)
	h("GET /networks/{id}", s.networkInspect)
	h("POST /networks/create", s.networkCreate)
	h("DELETE /networks/{id}", s.networkDelete)

	for _, kind := range []fileKind{secretKind, configKind} {
		k := kind
		h("GET /"+k.plural, func(w http.ResponseWriter, r *http.Request) error { return s.fileList(w, r, k) })
		h("POST /"+k.plural+"/create", func(w http.ResponseWriter, r *http.Request) error { return s.fileCreate(w, r, k) })
		h("GET /"+k.plural+"/{id}", func(w http.ResponseWriter, r *http.Request) error { return s.fileInspect(w, r, k) })
		h("POST /"+k.plural+"/{id}/update", func(w http.ResponseWriter, r *http.Request) error { return s.fileUpdate(w, r, k) })
		h("DELETE /"+k.plural+"/{id}", func(w http.ResponseWriter, r *http.Request) error { return s.fileDelete(w, r, k) })
	}
	h("GET /volumes", s.volumeList)
	h("GET /volumes/{name}", s.volumeInspect)
	h("GET /distribution/{name...}", s.distribution)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
			if older(m[1], MinAPIVersion) {
				writeError(w, invalid("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", m[1], MinAPIVersion))
				return
			}
			r.URL.Path = m[2]
		}
		w.Header().Set("Api-Version", APIVersion)
		w.Header().Set("Server", "kubeswarm/"+s.Version+" (linux)")
		w.Header().Set("Ostype", "linux")
		mux.ServeHTTP(w, r)
	})
}

// older tells whether API version a is older than b.
func older(a, b string) bool {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := range 2 {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.status
	}
	_ = writeJSON(w, status, common.ErrorResponse{Message: err.Error()})
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return invalid("decoding the request body: %v", err)
	}
	return nil
}

// ID is a Swarm object ID for a Kubernetes UID: its 128 bits in base 36, 25 characters, as
// swarmkit's identity package writes them. The same UID always gives the same ID.
func ID(uid types.UID) string {
	hex := strings.ReplaceAll(string(uid), "-", "")
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		return hex
	}
	s := n.Text(36)
	if len(s) < 25 {
		s = strings.Repeat("0", 25-len(s)) + s
	}
	return s
}

// match is Docker's lookup of an object by reference (daemon/cluster/helpers.go): a full ID, then
// a name, then a unique ID prefix. ambiguous is set when a prefix fits several.
func match[T any](items []T, ref string, id, name func(T) string) (found T, ok bool, ambiguous bool) {
	for _, it := range items {
		if id(it) == ref {
			return it, true, false
		}
	}
	for _, it := range items {
		if name(it) == ref {
			return it, true, false
		}
	}
	n := 0
	for _, it := range items {
		if ref != "" && strings.HasPrefix(id(it), ref) {
			found, n = it, n+1
		}
	}
	return found, n == 1, n > 1
}

// filters are the Engine API's filters argument: {"name":{"web":true}}.
type filters map[string]map[string]bool

func readFilters(r *http.Request) (filters, error) {
	f := filters{}
	raw := r.URL.Query().Get("filters")
	if raw == "" {
		return f, nil
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		// Old clients send {"name":["web"]}.
		var old map[string][]string
		if err2 := json.Unmarshal([]byte(raw), &old); err2 != nil {
			return nil, invalid("invalid filter: %v", err)
		}
		for k, vs := range old {
			f[k] = map[string]bool{}
			for _, v := range vs {
				f[k][v] = true
			}
		}
	}
	return f, nil
}

// any reports whether the filter key is unset, or whether pred holds for one of its values.
func (f filters) any(key string, pred func(v string) bool) bool {
	vs, ok := f[key]
	if !ok || len(vs) == 0 {
		return true
	}
	for v := range vs {
		if pred(v) {
			return true
		}
	}
	return false
}

// labels matches "label" filters: every value, key or key=value, must hold.
func (f filters) labels(key string, l map[string]string) bool {
	for v := range f[key] {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := l[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

func boolParam(r *http.Request, key string) bool {
	v := r.URL.Query().Get(key)
	b, _ := strconv.ParseBool(v)
	return b || v == "1"
}
