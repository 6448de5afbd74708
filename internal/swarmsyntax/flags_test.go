package swarmsyntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHelpers(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "1k": 1024, "50M": 50 << 20, "50MiB": 50 << 20, "4GB": 4 << 30, "1.5g": 3 << 29, "2t": 2 << 40} {
		got, err := Bytes(in)
		if err != nil || got != want {
			t.Errorf("Bytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"0.5": "500m", "1": "1", "0.001": "1m", "1.25": "1250m", "0.0000005": "500n"} {
		got, err := CPUs(in)
		if err != nil || got.String() != want {
			t.Errorf("CPUs(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	split, err := ShellSplit(`sh -c "echo 'a b'" c\ d`)
	if err != nil || !cmp.Equal(split, []string{"sh", "-c", "echo 'a b'", "c d"}) {
		t.Errorf("shellSplit = %q, %v", split, err)
	}
	if _, err := ShellSplit(`"open`); err == nil {
		t.Error("shellSplit accepted an open quote")
	}
}
