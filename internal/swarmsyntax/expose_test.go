package swarmsyntax

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestParseExpose(t *testing.T) {
	tests := []struct {
		in      string
		want    []swarmv1.ExposedPort
		wantErr string
	}{
		{in: "3000", want: []swarmv1.ExposedPort{{Port: 3000, Protocol: "tcp"}}},
		{in: "53/udp", want: []swarmv1.ExposedPort{{Port: 53, Protocol: "udp"}}},
		{in: "8000-8002/TCP", want: []swarmv1.ExposedPort{{Port: 8000, Protocol: "tcp"}, {Port: 8001, Protocol: "tcp"}, {Port: 8002, Protocol: "tcp"}}},
		{in: "http", wantErr: `invalid port "http": invalid start port 'http': invalid syntax`},
		{in: "0", wantErr: `invalid port "0": ports are between 1 and 65535`},
		{in: "80/icmp", wantErr: `invalid protocol "icmp": must be tcp, udp or sctp`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseExpose(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
