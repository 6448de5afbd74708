package testutil

import (
	"strings"
	"testing"
)

// Refused tells whether a table case ends in the refusal it wants (want: part of the error's
// words; "" wants none), failing the test when the outcome is another one.
func Refused(t testing.TB, err error, want string) bool {
	t.Helper()
	switch {
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("err = %v, want %q", err, want)
	case want == "" && err != nil:
		t.Fatal(err)
	}
	return want != ""
}

// SaysOnly checks that lines (notes, warnings) say want, or nothing when want is empty.
func SaysOnly(t testing.TB, what string, lines []string, want string) {
	t.Helper()
	all := strings.Join(lines, "\n")
	if want == "" && all != "" || !strings.Contains(all, want) {
		t.Errorf("%s %q, want %q", what, all, want)
	}
}
