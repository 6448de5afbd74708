package dockerapi

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/api/types/volume"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestVolumes: docker volume ls and inspect over the namespace's claims: a stack's shared volume
// by docker's name, each claim of a per-slot volume by its own, a claim kubeswarm did not make
// and no service mounts left out; docker's filters.
func TestVolumes(t *testing.T) {
	claim := func(name string, labels map[string]string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("standard")}}
	}
	slots := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: "data", translate.LabelSlotsOf: "web"}
	shared := map[string]string{translate.LabelManagedBy: translate.ManagedByValue, translate.LabelVolume: "mysql_vol", translate.LabelStack: "wp"}
	user := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-1"}}}}}}
	api, _ := newTestServer(t, claim("data-web-1", slots), claim("data-web-2", slots), claim("wp-mysql-vol", shared), claim("unrelated", nil), user)

	names := func(filters string) []string {
		t.Helper()
		path := "/v1.50/volumes"
		if filters != "" {
			path += "?filters=" + url.QueryEscape(filters)
		}
		var got volume.ListResponse
		if code := api.do("GET", path, nil, &got); code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		out := []string{}
		for _, v := range got.Volumes {
			out = append(out, v.Name)
		}
		return out
	}
	for _, tc := range []struct {
		filters string
		want    []string
	}{
		{"", []string{"data-web-1", "data-web-2", "wp_mysql_vol"}},
		{`{"dangling":{"true":true}}`, []string{"data-web-2", "wp_mysql_vol"}},
		{`{"dangling":{"false":true}}`, []string{"data-web-1"}},
		{`{"name":{"^data-":true}}`, []string{"data-web-1", "data-web-2"}},
		{`{"label":{"com.docker.stack.namespace=wp":true}}`, []string{"wp_mysql_vol"}},
	} {
		if diff := cmp.Diff(tc.want, names(tc.filters)); diff != "" {
			t.Errorf("volume ls %s (-want +got):\n%s", tc.filters, diff)
		}
	}

	var v volume.Volume
	if code := api.do("GET", "/v1.50/volumes/wp-mysql-vol", nil, &v); code != http.StatusOK || v.Name != "wp_mysql_vol" || v.Driver != "standard" || v.Status["Claim"] != "wp-mysql-vol" {
		t.Errorf("inspect by the claim's name: %d %+v", code, v)
	}
	var e common.ErrorResponse
	if code := api.do("GET", "/v1.50/volumes/unrelated", nil, &e); code != http.StatusNotFound || e.Message != "get unrelated: no such volume" {
		t.Errorf("inspect of a claim that is no docker volume: %d %q", code, e.Message)
	}
}
