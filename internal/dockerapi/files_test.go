package dockerapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestFileUpdate: as swarmkit, a secret or config takes new labels but never a new content
// (docker stack deploy sends the whole spec again); what the front door creates is immutable.
func TestFileUpdate(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"secrets", "configs"} {
		t.Run(kind, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme).Build()
			srv := httptest.NewServer((&Server{Client: c, Namespace: "default"}).Handler())
			defer srv.Close()
			post := func(path string, spec swarm.SecretSpec) (int, string) {
				t.Helper()
				b, _ := json.Marshal(spec)
				resp, err := http.Post(srv.URL+"/v1.47/"+kind+path, "application/json", strings.NewReader(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db_pass"}, Data: []byte("s3cret")}
			if code, body := post("/create", spec); code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
			var obj client.Object = &corev1.Secret{}
			if kind == "configs" {
				obj = &corev1.ConfigMap{}
			}
			if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "db-pass"}, obj); err != nil {
				t.Fatal(err)
			}
			switch o := obj.(type) {
			case *corev1.Secret:
				if !ptr.Deref(o.Immutable, false) {
					t.Error("the Secret is not immutable")
				}
			case *corev1.ConfigMap:
				if !ptr.Deref(o.Immutable, false) {
					t.Error("the ConfigMap is not immutable")
				}
			}

			for _, tc := range []struct {
				name     string
				data     []byte
				wantCode int
				wantBody string
			}{
				{name: "new content", data: []byte("n3w"), wantCode: http.StatusBadRequest, wantBody: "rpc error: code = InvalidArgument desc = only updates to Labels are allowed"},
				{name: "same content, new labels", data: []byte("s3cret"), wantCode: http.StatusOK},
				{name: "labels only", wantCode: http.StatusOK},
			} {
				t.Run(tc.name, func(t *testing.T) {
					upd := swarm.SecretSpec{Annotations: swarm.Annotations{Name: "db_pass", Labels: map[string]string{"v": "2"}}, Data: tc.data}
					code, body := post("/db_pass/update", upd)
					if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
						t.Errorf("update: %d %s, want %d %q", code, body, tc.wantCode, tc.wantBody)
					}
				})
			}
		})
	}
}
