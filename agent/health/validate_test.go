package health

import (
	"math"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestValidate(t *testing.T) {
	cmd := &api.CommandInfo{Value: "true"}
	http := &api.HTTPCheckInfo{Port: 8080}
	tcp := &api.TCPCheckInfo{Port: 8080}
	tests := []struct {
		name string
		hc   *api.HealthCheck
		err  string // "" for valid
	}{
		{name: "command", hc: &api.HealthCheck{Type: "COMMAND", Command: cmd}},
		{name: "http", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 1, Scheme: "https", Path: "/x", Protocol: "IPv6"}}},
		{name: "tcp", hc: &api.HealthCheck{Type: "TCP", TCP: tcp}},
		{name: "zero durations", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, DelaySeconds: sec(0), IntervalSeconds: sec(0), TimeoutSeconds: sec(0), GracePeriodSeconds: sec(0)}},
		{name: "nil", err: "health check: missing"},
		{name: "no type", hc: &api.HealthCheck{TCP: tcp}, err: "'type' must be set"},
		{name: "unknown type", hc: &api.HealthCheck{Type: "UDP"}, err: `'type' must be COMMAND, HTTP or TCP, got "UDP"`},
		{name: "http without port", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{}}, err: "'http.port' must be in 1..65535, got 0"},
		{name: "http port too big", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 65536}}, err: "'http.port' must be in 1..65535, got 65536"},
		{name: "tcp without port", hc: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{}}, err: "'tcp.port' must be in 1..65535"},
		{name: "http without http", hc: &api.HealthCheck{Type: "HTTP"}, err: "'http' must be set when 'type' is HTTP"},
		{name: "command with http", hc: &api.HealthCheck{Type: "COMMAND", Command: cmd, HTTP: http}, err: "'http' must not be set when 'type' is COMMAND"},
		{name: "tcp with command", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, Command: cmd}, err: "'command' must not be set when 'type' is TCP"},
		{name: "command without value", hc: &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{}}, err: "'command.value' must be set"},
		{name: "bad scheme", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 1, Scheme: "ftp"}}, err: "'http.scheme'"},
		{name: "relative path", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 1, Path: "health"}}, err: "'http.path' must start with '/'"},
		{name: "bad status", hc: &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 1, Statuses: []api.Uint64{200, 9}}}, err: "'http.statuses[1]'"},
		{name: "bad protocol", hc: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1, Protocol: "IPX"}}, err: "'tcp.protocol'"},
		{name: "negative interval", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, IntervalSeconds: sec(-1)}, err: "'interval_seconds' must be non-negative, got -1"},
		{name: "negative delay", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, DelaySeconds: sec(-0.5)}, err: "'delay_seconds' must be non-negative"},
		{name: "negative timeout", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, TimeoutSeconds: sec(-1)}, err: "'timeout_seconds' must be non-negative"},
		{name: "negative grace", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, GracePeriodSeconds: sec(-1)}, err: "'grace_period_seconds' must be non-negative"},
		{name: "NaN timeout", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, TimeoutSeconds: sec(math.NaN())}, err: "'timeout_seconds' must be a finite number"},
		{name: "huge interval", hc: &api.HealthCheck{Type: "TCP", TCP: tcp, IntervalSeconds: sec(1e300)}, err: "'interval_seconds' is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, Validate(tt.hc), tt.err)
		})
	}
}

func TestValidateCheck(t *testing.T) {
	tests := []struct {
		name string
		c    *api.CheckInfo
		err  string
	}{
		{name: "command", c: &api.CheckInfo{Type: "COMMAND", Command: &api.CheckCommand{Command: api.CommandInfo{Value: "true"}}}},
		{name: "http", c: &api.CheckInfo{Type: "HTTP", HTTP: &api.CheckHTTP{Port: 80, Path: "/"}}},
		{name: "tcp", c: &api.CheckInfo{Type: "TCP", TCP: &api.CheckTCP{Port: 80}}},
		{name: "nil", err: "check: missing"},
		{name: "command without value", c: &api.CheckInfo{Type: "COMMAND", Command: &api.CheckCommand{}}, err: "'command.command.value' must be set"},
		{name: "http without port", c: &api.CheckInfo{Type: "HTTP", HTTP: &api.CheckHTTP{}}, err: "'http.port' must be in 1..65535"},
		{name: "mismatch", c: &api.CheckInfo{Type: "HTTP", TCP: &api.CheckTCP{Port: 80}}, err: "'http' must be set when 'type' is HTTP"},
		{name: "negative interval", c: &api.CheckInfo{Type: "TCP", TCP: &api.CheckTCP{Port: 80}, IntervalSeconds: sec(-2)}, err: "'interval_seconds' must be non-negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateCheck(tt.c), tt.err)
		})
	}
}

func TestDefaults(t *testing.T) {
	tm, err := healthTiming(&api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := timing{delay: 15e9, interval: 10e9, timeout: 20e9, grace: 10e9, failures: 3}
	if tm != want {
		t.Errorf("health check defaults = %+v, want %+v", tm, want)
	}
	tm, err = checkTiming(&api.CheckInfo{Type: "TCP", TCP: &api.CheckTCP{Port: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (timing{delay: 15e9, interval: 10e9, timeout: 20e9}); tm != want {
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
