package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestDurationsTheOperatorCanRead: the API server accepts exactly the durations Go's
// time.ParseDuration reads (metav1.Duration). One it accepted and the operator could not decode
// would make every Service of the cluster unreadable to the operator's informer.
func TestDurationsTheOperatorCanRead(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for i, d := range []string{"10s", "1m30s", "1.5h", "500ms", "0", "-5s", "+2m", "3µs", "forever", "1d", "10", "5 s", "", "1h-5m", ".5s", "s"} {
		t.Run(fmt.Sprintf("%q", d), func(t *testing.T) {
			_, parseErr := time.ParseDuration(d)
			u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
				"image": "nginx", "stopGracePeriod": d,
				"updateConfig": map[string]any{"delay": d},
				"healthcheck":  map[string]any{"test": []any{"CMD", "true"}, "interval": d},
			}}}
			u.SetAPIVersion(swarmv1.GroupVersion.String())
			u.SetKind("Service")
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("d%d", i))
			err := k8sClient.Create(ctx, u)
			switch {
			case parseErr == nil && err != nil:
				t.Errorf("refused %q, which Go reads: %v", d, err)
			case parseErr != nil && err == nil:
				t.Errorf("accepted %q, which Go cannot read (%v)", d, parseErr)
			case parseErr != nil && !apierrors.IsInvalid(err):
				t.Errorf("refused %q with %v, want Invalid naming the field", d, err)
			}
		})
	}
}
