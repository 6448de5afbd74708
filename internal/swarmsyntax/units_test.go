package swarmsyntax

import (
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMemory(t *testing.T) {
	tests := []struct {
		docker string // as written in a compose file
		want   string // the Kubernetes quantity, "" for none
	}{
		{"50M", "50Mi"}, // docker's M is MiB
		{"50m", "50Mi"},
		{"1536M", "1536Mi"},
		{"2G", "2Gi"},
		{"1g", "1Gi"},
		{"512k", "512Ki"},
		{"1.5G", "1536Mi"},
		{"1000", "1k"}, // not a round binary unit: Kubernetes writes 1000 bytes as 1k
		{"1500", "1500"},
		{"100b", "100"},
		{"1T", "1Ti"},
		{"0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.docker, func(t *testing.T) {
			var b types.UnitBytes
			if err := b.DecodeMapstructure(tc.docker); err != nil {
				t.Fatal(err)
			}
			q, err := MemoryQuantity(b)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if q != nil {
				got = q.String()
			}
			if got != tc.want {
				t.Errorf("MemoryQuantity(%s) = %q, want %q", tc.docker, got, tc.want)
			}
		})
	}
	if _, err := MemoryQuantity(-1); err == nil {
		t.Error("a negative memory size is accepted")
	}
}

func TestCPUs(t *testing.T) {
	tests := []struct {
		docker string
		want   string
		err    string
	}{
		{docker: "0.50", want: "500m"},
		{docker: "0.5", want: "500m"},
		{docker: "1", want: "1"},
		{docker: "2.0", want: "2"},
		{docker: "1.5", want: "1500m"},
		{docker: "0.1", want: "100m"},
		{docker: "0.001", want: "1m"},
		{docker: "0.0001", want: "100u"},
		{docker: "0.000001", want: "1u"},
		{docker: "0.333", want: "333m"},
		{docker: "16", want: "16"},
		{docker: "0", want: ""},
		{docker: "0.0000000001", err: "too precise"},
	}
	for _, tc := range tests {
		t.Run(tc.docker, func(t *testing.T) {
			var n types.NanoCPUs
			if err := n.DecodeMapstructure(tc.docker); err != nil {
				t.Fatal(err)
			}
			q, err := CPUsQuantity(n)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("CPUsQuantity(%s): got error %v, want %q", tc.docker, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if q != nil {
				got = q.String()
			}
			if got != tc.want {
				t.Errorf("CPUsQuantity(%s) = %q, want %q", tc.docker, got, tc.want)
			}
		})
	}
	if _, err := CPUsQuantity(-1); err == nil {
		t.Error("negative cpus are accepted")
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		docker string
		want   time.Duration
	}{
		{"10s", 10 * time.Second},
		{"1m30s", 90 * time.Second},
		{"90s", 90 * time.Second},
		{"1h", time.Hour},
		{"500ms", 500 * time.Millisecond},
		{"2m", 2 * time.Minute},
		{"1d", 24 * time.Hour}, // compose-go's str2duration knows days
	}
	for _, tc := range tests {
		t.Run(tc.docker, func(t *testing.T) {
			var d types.Duration
			if err := d.DecodeMapstructure(tc.docker); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&metav1.Duration{Duration: tc.want}, Duration(&d)); diff != "" {
				t.Errorf("Duration(%s) (-want +got):\n%s", tc.docker, diff)
			}
		})
	}
	if Duration(nil) != nil {
		t.Error("Duration(nil) is not nil")
	}
	if NonZeroDuration(0) != nil {
		t.Error("NonZeroDuration(0) is not nil")
	}
	if got := NonZeroDuration(types.Duration(5 * time.Second)); got == nil || got.Duration != 5*time.Second {
		t.Errorf("NonZeroDuration(5s) = %v", got)
	}
}

func TestRatioAndModes(t *testing.T) {
	for f, want := range map[float32]string{0: "", 0.25: "0.25", 0.1: "0.1", 1: "1", 0.333: "0.333"} {
		if got := Ratio(f); got != want {
			t.Errorf("Ratio(%v) = %q, want %q", f, got, want)
		}
	}
	for m, want := range map[uint32]int32{0o1777: 1777, 0o777: 777, 0o700: 700, 0o644: 644, 1777: 3361} {
		if got := OctalDigits(m); got != want {
			t.Errorf("OctalDigits(%d) = %d, want %d", m, got, want)
		}
	}
}
