package objects

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

func TestVolumeClaim(t *testing.T) {
	c := VolumeClaim("data", "n", map[string]string{translate.LabelVolume: "data"}, nil, nil)
	if got := c.Spec.Resources.Requests.Storage(); got.Cmp(DefaultClaimSize) != 0 {
		t.Errorf("size %s, want the default %s", got, &DefaultClaimSize)
	}
	if c.Spec.StorageClassName != nil {
		t.Errorf("storage class %q, want none", *c.Spec.StorageClassName)
	}
	c = VolumeClaim("data", "n", nil, ptr.To(resource.MustParse("5Gi")), ptr.To("fast"))
	if got := c.Spec.Resources.Requests.Storage().String(); got != "5Gi" || *c.Spec.StorageClassName != "fast" {
		t.Errorf("size %s, class %q; want 5Gi, fast", got, *c.Spec.StorageClassName)
	}
}
