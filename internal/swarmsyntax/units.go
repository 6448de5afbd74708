package compose

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// memory is a byte count as a Kubernetes quantity: the largest exact binary unit ("50Mi" for
// docker's "50M", which means 50 MiB), else bytes.
func memory(bytes types.UnitBytes) (*resource.Quantity, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("must not be negative: %d", bytes)
	}
	if bytes == 0 {
		return nil, nil
	}
	return resource.NewQuantity(int64(bytes), resource.BinarySI), nil
}

// cpus is docker's CPU count (e.g. "0.5") as a Kubernetes quantity ("500m"). compose-go holds
// it as a float32; it is read back as the shortest decimal of that float (what the file said)
// and, as docker's opts.ParseCPUs, must be a whole number of nano CPUs.
func cpus(n types.NanoCPUs) (*resource.Quantity, error) {
	s := strconv.FormatFloat(float64(n), 'f', -1, 32)
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("invalid value %s", s)
	}
	if r.Sign() < 0 {
		return nil, fmt.Errorf("must not be negative: %s", s)
	}
	if r.Sign() == 0 {
		return nil, nil
	}
	nano := new(big.Rat).Mul(r, big.NewRat(1_000_000_000, 1))
	if !nano.IsInt() || !nano.Num().IsInt64() {
		return nil, fmt.Errorf("value %s is too precise (the unit is a nano CPU)", s)
	}
	q := resource.NewScaledQuantity(nano.Num().Int64(), resource.Nano)
	// Re-parse so the quantity is in its canonical form ("500m", "2").
	canonical := resource.MustParse(q.String())
	return &canonical, nil
}

// duration is a compose duration as an API duration; nil when d is nil.
func duration(d *types.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	return &metav1.Duration{Duration: time.Duration(*d)}
}

// nonZeroDuration is a compose duration that is absent when zero (update_config's delay and
// monitor, where docker sends 0 for "not set").
func nonZeroDuration(d types.Duration) *metav1.Duration {
	if d == 0 {
		return nil
	}
	return &metav1.Duration{Duration: time.Duration(d)}
}

// ratio is max_failure_ratio as the API's decimal string.
func ratio(f float32) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(f), 'f', -1, 32)
}

// octalMode is a tmpfs mode as the API holds it: its octal digits ("1777" for 0o1777). compose
// reads the mode as a number, so a YAML `mode: 01777` (or 0o1777) is 0o1777, as for docker
// compose.
func octalMode(m uint32) int32 {
	v, _ := strconv.ParseInt(strconv.FormatUint(uint64(m), 8), 10, 32)
	return int32(v)
}
