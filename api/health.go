package api

import "encoding/json"

// HealthCheck describes a task's health check. The timing fields have
// defaults in mesos.proto (delay 15 s, interval 10 s, timeout 20 s, three
// consecutive failures, grace period 10 s) and are always printed.
type HealthCheck struct {
	Type                string         `json:"type,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	HTTP                *HTTPCheckInfo `json:"http,omitempty"`
	TCP                 *TCPCheckInfo  `json:"tcp,omitempty"`
	DelaySeconds        *Float64       `json:"delay_seconds,omitempty"`
	IntervalSeconds     *Float64       `json:"interval_seconds,omitempty"`
	TimeoutSeconds      *Float64       `json:"timeout_seconds,omitempty"`
	ConsecutiveFailures *Uint64        `json:"consecutive_failures,omitempty"`
	GracePeriodSeconds  *Float64       `json:"grace_period_seconds,omitempty"`
}

// MarshalJSON prints the timing defaults when unset.
func (h HealthCheck) MarshalJSON() ([]byte, error) {
	type plain HealthCheck
	p := plain(h)
	setDefault(&p.DelaySeconds, checkDefaultDelay)
	setDefault(&p.IntervalSeconds, checkDefaultInterval)
	setDefault(&p.TimeoutSeconds, checkDefaultTimeout)
	setDefault(&p.GracePeriodSeconds, checkDefaultGracePeriod)
	if p.ConsecutiveFailures == nil {
		p.ConsecutiveFailures = Ptr(Uint64(checkDefaultFailures))
	}
	return json.Marshal(p)
}

// HTTPCheckInfo is an HTTP health check; Protocol defaults to IPv4.
type HTTPCheckInfo struct {
	Protocol string   `json:"protocol,omitempty"`
	Scheme   string   `json:"scheme,omitempty"`
	Port     Uint64   `json:"port"`
	Path     string   `json:"path,omitempty"`
	Statuses []Uint64 `json:"statuses,omitempty"`
}

// MarshalJSON prints the default protocol when unset.
func (h HTTPCheckInfo) MarshalJSON() ([]byte, error) {
	type plain HTTPCheckInfo
	p := plain(h)
	if p.Protocol == "" {
		p.Protocol = "IPv4"
	}
	return json.Marshal(p)
}

// TCPCheckInfo is a TCP health check.
type TCPCheckInfo struct {
	Protocol string `json:"protocol,omitempty"`
	Port     Uint64 `json:"port"`
}

// CheckInfo is a general check whose result is reported, not acted on.
// Delay, interval and timeout default to 15, 10 and 20 seconds.
type CheckInfo struct {
	Type            string        `json:"type,omitempty"`
	Command         *CheckCommand `json:"command,omitempty"`
	HTTP            *CheckHTTP    `json:"http,omitempty"`
	TCP             *CheckTCP     `json:"tcp,omitempty"`
	DelaySeconds    *Float64      `json:"delay_seconds,omitempty"`
	IntervalSeconds *Float64      `json:"interval_seconds,omitempty"`
	TimeoutSeconds  *Float64      `json:"timeout_seconds,omitempty"`
}

// MarshalJSON prints the timing defaults when unset.
func (c CheckInfo) MarshalJSON() ([]byte, error) {
	type plain CheckInfo
	p := plain(c)
	setDefault(&p.DelaySeconds, checkDefaultDelay)
	setDefault(&p.IntervalSeconds, checkDefaultInterval)
	setDefault(&p.TimeoutSeconds, checkDefaultTimeout)
	return json.Marshal(p)
}

// CheckCommand is a command check.
type CheckCommand struct {
	Command CommandInfo `json:"command"`
}

// CheckHTTP is an HTTP check.
type CheckHTTP struct {
	Port     Uint64 `json:"port"`
	Path     string `json:"path,omitempty"`
	Protocol string `json:"protocol,omitempty"`
}

// CheckTCP is a TCP check.
type CheckTCP struct {
	Port     Uint64 `json:"port"`
	Protocol string `json:"protocol,omitempty"`
}

// CheckStatusInfo is the latest result of a task's check.
type CheckStatusInfo struct {
	Type    string              `json:"type,omitempty"`
	Command *CheckStatusCommand `json:"command,omitempty"`
	HTTP    *CheckStatusHTTP    `json:"http,omitempty"`
	TCP     *CheckStatusTCP     `json:"tcp,omitempty"`
}

// CheckStatusCommand is a command check's exit code.
type CheckStatusCommand struct {
	ExitCode *Int64 `json:"exit_code,omitempty"`
}

// CheckStatusHTTP is an HTTP check's status code.
type CheckStatusHTTP struct {
	StatusCode *Uint64 `json:"status_code,omitempty"`
}

// CheckStatusTCP says whether a TCP check connected.
type CheckStatusTCP struct {
	Succeeded *bool `json:"succeeded,omitempty"`
}

func setDefault(p **Float64, v Float64) {
	if *p == nil {
		*p = &v
	}
}
