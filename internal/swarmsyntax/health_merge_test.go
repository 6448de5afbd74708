package swarmsyntax

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestMergeHealth: the service's healthcheck over the image's, field by field, as the daemon
// merges them (moby daemon/commit.go merge); disabling wins.
func TestMergeHealth(t *testing.T) {
	d := func(s int) *metav1.Duration { return &metav1.Duration{Duration: time.Duration(s) * time.Second} }
	image := &swarmv1.Healthcheck{Test: []string{"CMD-SHELL", "exit 1"}, Interval: d(60), Timeout: d(5), Retries: ptr.To[int32](2)}
	cases := []struct {
		name           string
		service, image *swarmv1.Healthcheck
		want           *swarmv1.Healthcheck
		wantNeeds      bool
	}{
		{name: "no image healthcheck", service: nil, image: nil, want: nil, wantNeeds: true},
		{name: "the image's whole", service: nil, image: image, want: image, wantNeeds: true},
		{name: "an interval over the image's test", service: &swarmv1.Healthcheck{Interval: d(10)}, image: image,
			want: &swarmv1.Healthcheck{Test: []string{"CMD-SHELL", "exit 1"}, Interval: d(10), Timeout: d(5), Retries: ptr.To[int32](2)}, wantNeeds: true},
		{name: "a written test keeps the image's timing", service: &swarmv1.Healthcheck{Test: []string{"CMD", "true"}}, image: image,
			want: &swarmv1.Healthcheck{Test: []string{"CMD", "true"}, Interval: d(60), Timeout: d(5), Retries: ptr.To[int32](2)}, wantNeeds: true},
		{name: "--no-healthcheck", service: &swarmv1.Healthcheck{Disable: true}, image: image, want: &swarmv1.Healthcheck{Disable: true}},
		{name: "NONE", service: &swarmv1.Healthcheck{Test: []string{"NONE"}}, image: image,
			want: &swarmv1.Healthcheck{Test: []string{"NONE"}, Interval: d(60), Timeout: d(5), Retries: ptr.To[int32](2)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MergeHealth(tc.service, tc.image)); diff != "" {
				t.Errorf("MergeHealth (-want +got):\n%s", diff)
			}
			if got := NeedsImageHealth(tc.service); got != tc.wantNeeds {
				t.Errorf("NeedsImageHealth = %v, want %v", got, tc.wantNeeds)
			}
			if tc.name == "NONE" && EffectiveHealth(MergeHealth(tc.service, tc.image)) != nil {
				t.Errorf("NONE runs a healthcheck")
			}
		})
	}
}
