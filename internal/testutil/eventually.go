package testutil

import (
	"testing"
	"time"
)

// Eventually calls f every half second until it returns nil, and fails the test with f's last
// error when timeout passes first: the tiers that drive a real cluster wait with it.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
