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

// TestPublishHostIP: a host IP is ignored with docker's warning (the plugin's --publish and the
// compose converter give the same answer), and a malformed one is refused.
func TestPublishHostIP(t *testing.T) {
	cases := []struct{ value, warning, err string }{
		{"8080:80", "", ""},
		{"0.0.0.0:8080:80", "", ""},
		{"127.0.0.1:8080:80", "ignoring IP-address (127.0.0.1:8080:80/tcp) service will listen on '0.0.0.0'", ""},
		{"[::1]:53:53/udp", "ignoring IP-address ([::1]:53:53/udp) service will listen on '0.0.0.0'", ""},
		{"300.1.1.1:8080:80", "", "invalid IP address: 300.1.1.1"},
	}
	for _, tc := range cases {
		ports, err := ParsePublish(tc.value)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParsePublish(%q) error %v, want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || len(ports) != 1 {
			t.Errorf("ParsePublish(%q) = %v, %v", tc.value, ports, err)
		}
		if got := PublishWarning(tc.value); got != tc.warning {
			t.Errorf("PublishWarning(%q) = %q, want %q", tc.value, got, tc.warning)
		}
	}
}
