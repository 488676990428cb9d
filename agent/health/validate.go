package health

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// Check types, as in Mesos's HealthCheck.Type and CheckInfo.Type.
const (
	typeCommand = "COMMAND"
	typeHTTP    = "HTTP"
	typeTCP     = "TCP"
)

// Mesos's defaults for unset timing fields (mesos.proto).
const (
	defaultDelay       = 15
	defaultInterval    = 10
	defaultTimeout     = 20
	defaultFailures    = 3
	defaultGracePeriod = 10
)

// timing is a check's schedule with defaults applied.
type timing struct {
	delay, interval, timeout, grace time.Duration
	failures                        uint64
}

// Validate returns an error, naming the field at fault, unless hc is a
// health check Start accepts: a known type with exactly the matching
// payload (a command with a value; an HTTP port in 1..65535 with scheme
// http or https and a path starting with '/'; a TCP port in 1..65535),
// protocol IPv4 or IPv6, and finite, non-negative durations.
func Validate(hc *api.HealthCheck) error {
	_, err := healthTiming(hc)
	return err
}

// ValidateCheck is Validate for a general check.
func ValidateCheck(c *api.CheckInfo) error {
	_, err := checkTiming(c)
	return err
}

func healthTiming(hc *api.HealthCheck) (timing, error) {
	if hc == nil {
		return timing{}, errors.New("health check: missing")
	}
	if err := validateHealthPayload(hc); err != nil {
		return timing{}, fmt.Errorf("health check: %w", err)
	}
	t, err := durations(hc.DelaySeconds, hc.IntervalSeconds, hc.TimeoutSeconds)
	if err != nil {
		return timing{}, fmt.Errorf("health check: %w", err)
	}
	if t.grace, err = seconds("grace_period_seconds", hc.GracePeriodSeconds, defaultGracePeriod); err != nil {
		return timing{}, fmt.Errorf("health check: %w", err)
	}
	t.failures = defaultFailures
	if hc.ConsecutiveFailures != nil {
		t.failures = uint64(*hc.ConsecutiveFailures)
	}
	return t, nil
}

func checkTiming(c *api.CheckInfo) (timing, error) {
	if c == nil {
		return timing{}, errors.New("check: missing")
	}
	if err := validateCheckPayload(c); err != nil {
		return timing{}, fmt.Errorf("check: %w", err)
	}
	t, err := durations(c.DelaySeconds, c.IntervalSeconds, c.TimeoutSeconds)
	if err != nil {
		return timing{}, fmt.Errorf("check: %w", err)
	}
	return t, nil
}

func validateHealthPayload(hc *api.HealthCheck) error {
	if err := payloadMatches(hc.Type, hc.Command != nil, hc.HTTP != nil, hc.TCP != nil); err != nil {
		return err
	}
	switch hc.Type {
	case typeCommand:
		return validateCommand("command", hc.Command)
	case typeHTTP:
		h := hc.HTTP
		if err := validateHTTP(h.Port, h.Path, h.Protocol); err != nil {
			return err
		}
		if h.Scheme != "" && h.Scheme != "http" && h.Scheme != "https" {
			return fmt.Errorf("'http.scheme' must be 'http' or 'https', got %q", h.Scheme)
		}
		for i, s := range h.Statuses {
			if s < 100 || s > 599 {
				return fmt.Errorf("'http.statuses[%d]' must be an HTTP status code in 100..599, got %d", i, s)
			}
		}
		return nil
	default:
		return validateTCP(hc.TCP.Port, hc.TCP.Protocol)
	}
}

func validateCheckPayload(c *api.CheckInfo) error {
	if err := payloadMatches(c.Type, c.Command != nil, c.HTTP != nil, c.TCP != nil); err != nil {
		return err
	}
	switch c.Type {
	case typeCommand:
		return validateCommand("command.command", &c.Command.Command)
	case typeHTTP:
		return validateHTTP(c.HTTP.Port, c.HTTP.Path, c.HTTP.Protocol)
	default:
		return validateTCP(c.TCP.Port, c.TCP.Protocol)
	}
}

// payloadMatches checks that the type is known and that exactly its own
// payload is set.
func payloadMatches(typ string, command, http, tcp bool) error {
	set := map[string]bool{typeCommand: command, typeHTTP: http, typeTCP: tcp}
	if typ == "" {
		return errors.New("'type' must be set to COMMAND, HTTP or TCP")
	}
	if _, known := set[typ]; !known {
		return fmt.Errorf("'type' must be COMMAND, HTTP or TCP, got %q", typ)
	}
	for _, other := range []string{typeCommand, typeHTTP, typeTCP} {
		field := "'" + strings.ToLower(other) + "'"
		switch {
		case other == typ && !set[other]:
			return fmt.Errorf("%s must be set when 'type' is %s", field, typ)
		case other != typ && set[other]:
			return fmt.Errorf("%s must not be set when 'type' is %s", field, typ)
		}
	}
	return nil
}

func validateCommand(field string, c *api.CommandInfo) error {
	if c.Value == "" {
		return fmt.Errorf("'%s.value' must be set", field)
	}
	return nil
}

func validateHTTP(port api.Uint64, path, protocol string) error {
	if err := validatePort("http", port, protocol); err != nil {
		return err
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		return fmt.Errorf("'http.path' must start with '/', got %q", path)
	}
	return nil
}

func validateTCP(port api.Uint64, protocol string) error {
	return validatePort("tcp", port, protocol)
}

func validatePort(field string, port api.Uint64, protocol string) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("'%s.port' must be in 1..65535, got %d", field, port)
	}
	switch protocol {
	case "", "IPv4", "IPv6":
		return nil
	}
	return fmt.Errorf("'%s.protocol' must be 'IPv4' or 'IPv6', got %q", field, protocol)
}

func durations(delay, interval, timeout *api.Float64) (timing, error) {
	var t timing
	var err error
	if t.delay, err = seconds("delay_seconds", delay, defaultDelay); err != nil {
		return t, err
	}
	if t.interval, err = seconds("interval_seconds", interval, defaultInterval); err != nil {
		return t, err
	}
	t.timeout, err = seconds("timeout_seconds", timeout, defaultTimeout)
	return t, err
}

// seconds converts a duration field, nil meaning def seconds.
func seconds(field string, v *api.Float64, def float64) (time.Duration, error) {
	s := def
	if v != nil {
		s = float64(*v)
	}
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0):
		return 0, fmt.Errorf("'%s' must be a finite number of seconds, got %v", field, s)
	case s < 0:
		return 0, fmt.Errorf("'%s' must be non-negative, got %v", field, s)
	case s*float64(time.Second) >= math.MaxInt64:
		return 0, fmt.Errorf("'%s' is too large: %v", field, s)
	}
	return time.Duration(s * float64(time.Second)), nil
}
