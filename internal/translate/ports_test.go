package translate

import "testing"

func TestParsePortRange(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    PortRange
		wantErr bool
	}{
		{in: "30000-32767", want: PortRange{Min: 30000, Max: 32767}},
		{in: "1-32767", want: PortRange{Min: 1, Max: 32767}},
		{in: "30000+2767", want: PortRange{Min: 30000, Max: 32767}},
		{in: "8000", want: PortRange{Min: 8000, Max: 8000}},
		{in: "0-100", wantErr: true},
		{in: "32767-30000", wantErr: true},
		{in: "1-65536", wantErr: true},
		{in: "ports", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePortRange(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParsePortRange(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err == nil && got.String() != tc.want.String() {
				t.Errorf("String() = %s", got.String())
			}
		})
	}
}
