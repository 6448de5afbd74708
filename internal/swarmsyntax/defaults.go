package swarmsyntax

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// Swarm's defaults (swarmkit api/defaults, docker/cli opts) for what a spec leaves out. The
// update and rollback defaults are Swarm's updater's, in internal/update.
const (
	DefaultStopGracePeriod     = 10 * time.Second
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthRetries       = int32(3)
	DefaultHealthStartInterval = 5 * time.Second
)

// Health is a healthcheck with Swarm's defaults filled in; nil when the service has none
// (no test, NONE, or disabled).
type Health struct {
	Command                        []string // CMD's words, or CMD-SHELL's line under /bin/sh -c
	Interval, Timeout, StartPeriod time.Duration
	StartInterval                  time.Duration
	Retries                        int32
}

// EffectiveHealth fills in Swarm's healthcheck defaults.
func EffectiveHealth(h *swarmv1.Healthcheck) *Health {
	if h == nil || h.Disable || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	out := &Health{
		Command:       h.Test[1:],
		Interval:      DurationOr(h.Interval, DefaultHealthInterval),
		Timeout:       DurationOr(h.Timeout, DefaultHealthTimeout),
		StartPeriod:   DurationOr(h.StartPeriod, 0),
		StartInterval: DurationOr(h.StartInterval, DefaultHealthStartInterval),
		Retries:       ptr.Deref(h.Retries, DefaultHealthRetries),
	}
	if h.Test[0] == "CMD-SHELL" {
		out.Command = []string{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}
	}
	return out
}

// DurationOr is d, or def when d is not set.
func DurationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// MergeHealth is the healthcheck a task runs: the service's, with what it leaves out taken from
// the image's HEALTHCHECK, as the daemon merges a container's config with its image's (moby
// daemon/commit.go merge): no service healthcheck takes the image's whole; one without a test
// takes the image's test; each zero interval, timeout, start period, start interval and retries
// the image's. A disabled one (--no-healthcheck, NONE) stays disabled. image may be nil.
func MergeHealth(service, image *swarmv1.Healthcheck) *swarmv1.Healthcheck {
	if image == nil || service != nil && service.Disable {
		return service
	}
	if service == nil {
		return image.DeepCopy()
	}
	out := service.DeepCopy()
	if len(out.Test) == 0 {
		out.Test = image.Test
	}
	if out.Interval == nil {
		out.Interval = image.Interval
	}
	if out.Timeout == nil {
		out.Timeout = image.Timeout
	}
	if out.StartPeriod == nil {
		out.StartPeriod = image.StartPeriod
	}
	if out.StartInterval == nil {
		out.StartInterval = image.StartInterval
	}
	if out.Retries == nil {
		out.Retries = image.Retries
	}
	return out
}

// NeedsImageHealth tells whether the image's HEALTHCHECK could change the task's healthcheck:
// the service's does not disable it and leaves something out.
func NeedsImageHealth(h *swarmv1.Healthcheck) bool {
	if h == nil {
		return true
	}
	if h.Disable || len(h.Test) > 0 && h.Test[0] == "NONE" {
		return false
	}
	return len(h.Test) == 0 || h.Interval == nil || h.Timeout == nil || h.StartPeriod == nil || h.StartInterval == nil || h.Retries == nil
}
