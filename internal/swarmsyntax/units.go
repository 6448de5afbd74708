package swarmsyntax

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bytes reads docker's byte sizes with docker's own parser (go-units RAMInBytes): "50M" and
// "50MiB" are both 50×1024×1024 bytes; a bare number is bytes.
func Bytes(s string) (int64, error) {
	return units.RAMInBytes(s)
}

// Memory is docker's byte size text ("50M") as an exact Kubernetes quantity ("50Mi").
func Memory(s string) (*resource.Quantity, error) {
	b, err := Bytes(s)
	if err != nil {
		return nil, err
	}
	return resource.NewQuantity(b, resource.BinarySI), nil
}

// MemoryQuantity is a byte count as a Kubernetes quantity: the largest exact binary unit
// ("50Mi" for docker's "50M", which means 50 MiB), else bytes; nil for 0.
func MemoryQuantity(bytes types.UnitBytes) (*resource.Quantity, error) {
	if bytes < 0 {
		return nil, fmt.Errorf("must not be negative: %d", bytes)
	}
	if bytes == 0 {
		return nil, nil
	}
	return resource.NewQuantity(int64(bytes), resource.BinarySI), nil
}

// CPUs is docker's decimal CPU count ("0.5", "1.25") as an exact Kubernetes quantity ("500m"):
// as docker's opts.ParseCPUs, it must be a whole number of nano CPUs.
func CPUs(s string) (*resource.Quantity, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("failed to parse %v as a rational number", s)
	}
	if r.Sign() < 0 {
		return nil, errors.New("value must be positive")
	}
	nano := new(big.Rat).Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() || !nano.Num().IsInt64() {
		return nil, fmt.Errorf("value %s is too precise (the unit is a nano CPU)", s)
	}
	q := resource.NewScaledQuantity(nano.Num().Int64(), resource.Nano)
	// Re-parse the canonical text so that the quantity compares and prints as the API returns it.
	c := resource.MustParse(q.String())
	return &c, nil
}

// CPUsQuantity is compose's CPU count (a float32) as a Kubernetes quantity; nil for 0. The float
// is read back as its shortest decimal (what the file said), then as CPUs.
func CPUsQuantity(n types.NanoCPUs) (*resource.Quantity, error) {
	s := strconv.FormatFloat(float64(n), 'f', -1, 32)
	if n < 0 {
		return nil, fmt.Errorf("must not be negative: %s", s)
	}
	if n == 0 {
		return nil, nil
	}
	return CPUs(s)
}

// Duration is a compose duration as an API duration; nil when d is nil.
func Duration(d *types.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	return &metav1.Duration{Duration: time.Duration(*d)}
}

// NonZeroDuration is a duration that is absent when zero (update_config's delay and monitor,
// where docker sends 0 for "not set").
func NonZeroDuration(d types.Duration) *metav1.Duration {
	if d == 0 {
		return nil
	}
	return &metav1.Duration{Duration: time.Duration(d)}
}

// Ratio is max_failure_ratio as the API's decimal string; "" for 0.
func Ratio(f float32) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(f), 'f', -1, 32)
}

// OctalDigits is a file mode as the API holds it: its octal digits (1777 for 0o1777).
func OctalDigits(m uint32) int32 {
	v, _ := strconv.ParseInt(strconv.FormatUint(uint64(m), 8), 10, 32)
	return int32(v)
}

// OctalMode reads a mode written in octal ("1777", "0400") up to limit, as docker reads
// tmpfs-mode and the mode of secrets and configs.
func OctalMode(s string, limit uint32) (uint32, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || uint32(n) > limit {
		return 0, fmt.Errorf("invalid mode %q: an octal mode up to %o", s, limit)
	}
	return uint32(n), nil
}
