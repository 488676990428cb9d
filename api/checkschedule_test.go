package api

import (
	"math"
	"strings"
	"testing"
)

func TestHealthCheckSchedule(t *testing.T) {
	cmd := &CommandInfo{Value: "true"}
	http := &HTTPCheckInfo{Port: 8080}
	tcp := &TCPCheckInfo{Port: 8080}
	tests := []struct {
		name string
		hc   *HealthCheck
		err  string // "" for valid
	}{
		{name: "command", hc: &HealthCheck{Type: "COMMAND", Command: cmd}},
		{name: "http", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 1, Scheme: "https", Path: "/x", Protocol: "IPv6"}}},
		{name: "tcp", hc: &HealthCheck{Type: "TCP", TCP: tcp}},
		{name: "zero durations", hc: &HealthCheck{Type: "TCP", TCP: tcp, DelaySeconds: sec(0), IntervalSeconds: sec(0), TimeoutSeconds: sec(0), GracePeriodSeconds: sec(0)}},
		{name: "nil", err: "health check: missing"},
		{name: "no type", hc: &HealthCheck{TCP: tcp}, err: "'type' must be set"},
		{name: "unknown type", hc: &HealthCheck{Type: "UDP"}, err: `'type' must be COMMAND, HTTP or TCP, got "UDP"`},
		{name: "http without port", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{}}, err: "'http.port' must be in 1..65535, got 0"},
		{name: "http port too big", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 65536}}, err: "'http.port' must be in 1..65535, got 65536"},
		{name: "tcp without port", hc: &HealthCheck{Type: "TCP", TCP: &TCPCheckInfo{}}, err: "'tcp.port' must be in 1..65535"},
		{name: "http without http", hc: &HealthCheck{Type: "HTTP"}, err: "'http' must be set when 'type' is HTTP"},
		{name: "command with http", hc: &HealthCheck{Type: "COMMAND", Command: cmd, HTTP: http}, err: "'http' must not be set when 'type' is COMMAND"},
		{name: "tcp with command", hc: &HealthCheck{Type: "TCP", TCP: tcp, Command: cmd}, err: "'command' must not be set when 'type' is TCP"},
		{name: "command without value", hc: &HealthCheck{Type: "COMMAND", Command: &CommandInfo{}}, err: "'command.value' must be set"},
		{name: "bad scheme", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 1, Scheme: "ftp"}}, err: "'http.scheme'"},
		{name: "relative path", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 1, Path: "health"}}, err: "'http.path' must start with '/'"},
		{name: "bad status", hc: &HealthCheck{Type: "HTTP", HTTP: &HTTPCheckInfo{Port: 1, Statuses: []Uint64{200, 9}}}, err: "'http.statuses[1]'"},
		{name: "bad protocol", hc: &HealthCheck{Type: "TCP", TCP: &TCPCheckInfo{Port: 1, Protocol: "IPX"}}, err: "'tcp.protocol'"},
		{name: "negative interval", hc: &HealthCheck{Type: "TCP", TCP: tcp, IntervalSeconds: sec(-1)}, err: "'interval_seconds' must be non-negative, got -1"},
		{name: "negative delay", hc: &HealthCheck{Type: "TCP", TCP: tcp, DelaySeconds: sec(-0.5)}, err: "'delay_seconds' must be non-negative"},
		{name: "negative timeout", hc: &HealthCheck{Type: "TCP", TCP: tcp, TimeoutSeconds: sec(-1)}, err: "'timeout_seconds' must be non-negative"},
		{name: "negative grace", hc: &HealthCheck{Type: "TCP", TCP: tcp, GracePeriodSeconds: sec(-1)}, err: "'grace_period_seconds' must be non-negative"},
		{name: "NaN timeout", hc: &HealthCheck{Type: "TCP", TCP: tcp, TimeoutSeconds: sec(math.NaN())}, err: "'timeout_seconds' must be a finite number"},
		{name: "huge interval", hc: &HealthCheck{Type: "TCP", TCP: tcp, IntervalSeconds: sec(1e300)}, err: "'interval_seconds' is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HealthCheckSchedule(tt.hc)
			checkErr(t, err, tt.err)
		})
	}
}

func TestCheckInfoSchedule(t *testing.T) {
	tests := []struct {
		name string
		c    *CheckInfo
		err  string
	}{
		{name: "command", c: &CheckInfo{Type: "COMMAND", Command: &CheckCommand{Command: CommandInfo{Value: "true"}}}},
		{name: "http", c: &CheckInfo{Type: "HTTP", HTTP: &CheckHTTP{Port: 80, Path: "/"}}},
		{name: "tcp", c: &CheckInfo{Type: "TCP", TCP: &CheckTCP{Port: 80}}},
		{name: "nil", err: "check: missing"},
		{name: "command without value", c: &CheckInfo{Type: "COMMAND", Command: &CheckCommand{}}, err: "'command.command.value' must be set"},
		{name: "http without port", c: &CheckInfo{Type: "HTTP", HTTP: &CheckHTTP{}}, err: "'http.port' must be in 1..65535"},
		{name: "mismatch", c: &CheckInfo{Type: "HTTP", TCP: &CheckTCP{Port: 80}}, err: "'http' must be set when 'type' is HTTP"},
		{name: "negative interval", c: &CheckInfo{Type: "TCP", TCP: &CheckTCP{Port: 80}, IntervalSeconds: sec(-2)}, err: "'interval_seconds' must be non-negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckInfoSchedule(tt.c)
			checkErr(t, err, tt.err)
		})
	}
}

func TestCheckScheduleDefaults(t *testing.T) {
	tm, err := HealthCheckSchedule(&HealthCheck{Type: "TCP", TCP: &TCPCheckInfo{Port: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := CheckSchedule{Delay: 15e9, Interval: 10e9, Timeout: 20e9, Grace: 10e9, Failures: 3}
	if tm != want {
		t.Errorf("health check defaults = %+v, want %+v", tm, want)
	}
	tm, err = CheckInfoSchedule(&CheckInfo{Type: "TCP", TCP: &CheckTCP{Port: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (CheckSchedule{Delay: 15e9, Interval: 10e9, Timeout: 20e9}); tm != want {
		t.Errorf("check defaults = %+v, want %+v", tm, want)
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func sec(v float64) *Float64 { return Ptr(Float64(v)) }
