package api

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Check types, as in Mesos's HealthCheck.Type and CheckInfo.Type.
const (
	CheckTypeCommand = "COMMAND"
	CheckTypeHTTP    = "HTTP"
	CheckTypeTCP     = "TCP"
)

// Mesos's defaults for unset timing fields (mesos.proto).
const (
	checkDefaultDelay       = 15
	checkDefaultInterval    = 10
	checkDefaultTimeout     = 20
	checkDefaultFailures    = 3
	checkDefaultGracePeriod = 10
)

// CheckSchedule is a check's timing with Mesos's defaults applied: what
// the agent runs it by.
type CheckSchedule struct {
	Delay, Interval, Timeout time.Duration
	// Grace and Failures are a health check's: failures within Grace of
	// the task's start do not count until a check has passed, and
	// Failures in a row kill the task.
	Grace    time.Duration
	Failures uint64
}

// HealthCheckSchedule returns a health check's schedule, or an error
// naming the field at fault unless hc is one the agent can run: a known
// type with exactly the matching payload (a command with a value; an HTTP
// port in 1..65535 with scheme http or https and a path starting with
// '/'; a TCP port in 1..65535), protocol IPv4 or IPv6, and finite,
// non-negative durations. ValidateTaskInfo checks a task's with it, so
// that a task whose check cannot run is refused at launch, as Mesos does,
// rather than running unchecked.
func HealthCheckSchedule(hc *HealthCheck) (CheckSchedule, error) {
	if hc == nil {
		return CheckSchedule{}, errors.New("health check: missing")
	}
	if err := checkHealthPayload(hc); err != nil {
		return CheckSchedule{}, fmt.Errorf("health check: %w", err)
	}
	t, err := checkDurations(hc.DelaySeconds, hc.IntervalSeconds, hc.TimeoutSeconds)
	if err != nil {
		return CheckSchedule{}, fmt.Errorf("health check: %w", err)
	}
	if t.Grace, err = checkSeconds("grace_period_seconds", hc.GracePeriodSeconds, checkDefaultGracePeriod); err != nil {
		return CheckSchedule{}, fmt.Errorf("health check: %w", err)
	}
	t.Failures = checkDefaultFailures
	if hc.ConsecutiveFailures != nil {
		t.Failures = uint64(*hc.ConsecutiveFailures)
	}
	return t, nil
}

// CheckInfoSchedule is HealthCheckSchedule for a general check.
func CheckInfoSchedule(c *CheckInfo) (CheckSchedule, error) {
	if c == nil {
		return CheckSchedule{}, errors.New("check: missing")
	}
	if err := checkCheckPayload(c); err != nil {
		return CheckSchedule{}, fmt.Errorf("check: %w", err)
	}
	t, err := checkDurations(c.DelaySeconds, c.IntervalSeconds, c.TimeoutSeconds)
	if err != nil {
		return CheckSchedule{}, fmt.Errorf("check: %w", err)
	}
	return t, nil
}

func checkHealthPayload(hc *HealthCheck) error {
	if err := checkPayloadMatches(hc.Type, hc.Command != nil, hc.HTTP != nil, hc.TCP != nil); err != nil {
		return err
	}
	switch hc.Type {
	case CheckTypeCommand:
		return checkCommandValue("command", hc.Command)
	case CheckTypeHTTP:
		h := hc.HTTP
		if err := checkHTTPTarget(h.Port, h.Path, h.Protocol); err != nil {
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
		return checkTCPTarget(hc.TCP.Port, hc.TCP.Protocol)
	}
}

func checkCheckPayload(c *CheckInfo) error {
	if err := checkPayloadMatches(c.Type, c.Command != nil, c.HTTP != nil, c.TCP != nil); err != nil {
		return err
	}
	switch c.Type {
	case CheckTypeCommand:
		return checkCommandValue("command.command", &c.Command.Command)
	case CheckTypeHTTP:
		return checkHTTPTarget(c.HTTP.Port, c.HTTP.Path, c.HTTP.Protocol)
	default:
		return checkTCPTarget(c.TCP.Port, c.TCP.Protocol)
	}
}

// checkPayloadMatches checks that the type is known and that exactly its own
// payload is set.
func checkPayloadMatches(typ string, command, http, tcp bool) error {
	set := map[string]bool{CheckTypeCommand: command, CheckTypeHTTP: http, CheckTypeTCP: tcp}
	if typ == "" {
		return errors.New("'type' must be set to COMMAND, HTTP or TCP")
	}
	if _, known := set[typ]; !known {
		return fmt.Errorf("'type' must be COMMAND, HTTP or TCP, got %q", typ)
	}
	for _, other := range []string{CheckTypeCommand, CheckTypeHTTP, CheckTypeTCP} {
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

func checkCommandValue(field string, c *CommandInfo) error {
	if c.Value == "" {
		return fmt.Errorf("'%s.value' must be set", field)
	}
	return nil
}

func checkHTTPTarget(port Uint64, path, protocol string) error {
	if err := checkPort("http", port, protocol); err != nil {
		return err
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		return fmt.Errorf("'http.path' must start with '/', got %q", path)
	}
	return nil
}

func checkTCPTarget(port Uint64, protocol string) error {
	return checkPort("tcp", port, protocol)
}

func checkPort(field string, port Uint64, protocol string) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("'%s.port' must be in 1..65535, got %d", field, port)
	}
	switch protocol {
	case "", "IPv4", "IPv6":
		return nil
	}
	return fmt.Errorf("'%s.protocol' must be 'IPv4' or 'IPv6', got %q", field, protocol)
}

func checkDurations(delay, interval, timeout *Float64) (CheckSchedule, error) {
	var t CheckSchedule
	var err error
	if t.Delay, err = checkSeconds("delay_seconds", delay, checkDefaultDelay); err != nil {
		return t, err
	}
	if t.Interval, err = checkSeconds("interval_seconds", interval, checkDefaultInterval); err != nil {
		return t, err
	}
	t.Timeout, err = checkSeconds("timeout_seconds", timeout, checkDefaultTimeout)
	return t, err
}

// checkSeconds converts a duration field, nil meaning def seconds.
func checkSeconds(field string, v *Float64, def float64) (time.Duration, error) {
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
