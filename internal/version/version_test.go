package version

import "testing"

func TestCompare(t *testing.T) {
	cases := []struct {
		a, b    string
		want    int
		wantErr bool
	}{
		{a: "v0.3.0", b: "v0.3.0", want: 0},
		{a: "v0.2.9", b: "v0.3.0", want: -1},
		{a: "v0.10.0", b: "v0.9.1", want: 1},
		{a: "v1.0.0-rc.1", b: "v1.0.0", want: -1},
		{a: "dev", b: "v0.3.0", wantErr: true},
		{a: "v0.3.0", b: "", wantErr: true},
	}
	for _, tc := range cases {
		got, err := Compare(tc.a, tc.b)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Compare(%q, %q) = %d, %v; want %d, error %v", tc.a, tc.b, got, err, tc.want, tc.wantErr)
		}
	}
	if Released(Dev) || !Released("v0.3.0") {
		t.Errorf("Released: dev must not be a release, v0.3.0 must")
	}
}
