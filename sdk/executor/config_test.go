package executor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/sdk/executor"
)

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		"MESOS_AGENT_ENDPOINT": "10.0.0.1:5051",
		"MESOS_FRAMEWORK_ID":   "fw",
		"MESOS_EXECUTOR_ID":    "ex",
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(executor.Config) bool
		wantErr string // substring; "" for success
	}{
		{name: "mesos names", env: map[string]string{
			"MESOS_SANDBOX":                        "/sb",
			"MESOS_EXECUTOR_AUTHENTICATION_TOKEN":  "tok",
			"MESOS_CHECKPOINT":                     "1",
			"MESOS_RECOVERY_TIMEOUT":               "15mins",
			"MESOS_SUBSCRIPTION_BACKOFF_MAX":       "2secs",
			"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
		}, check: func(c executor.Config) bool {
			return c.AgentEndpoint == "10.0.0.1:5051" && c.FrameworkID == "fw" && c.ExecutorID == "ex" &&
				c.Sandbox == "/sb" && c.Token == "tok" && c.Checkpoint &&
				c.RecoveryTimeout == 15*time.Minute && c.MaxBackoff == 2*time.Second &&
				c.ShutdownGracePeriod == 5*time.Second
		}},
		{name: "defaults", check: func(c executor.Config) bool {
			d := executor.DefaultConfig()
			return c.RecoveryTimeout == d.RecoveryTimeout && c.MaxBackoff == d.MaxBackoff &&
				c.ShutdownGracePeriod == d.ShutdownGracePeriod && !c.Checkpoint && c.Token == ""
		}},
		{name: "mezzo names win", env: map[string]string{
			"MEZZO_AGENT_ENDPOINT":                 "http://127.0.0.1:9",
			"MEZZO_EXECUTOR_ID":                    "ex2",
			"MEZZO_SANDBOX":                        "/mz",
			"MESOS_SANDBOX":                        "/ms",
			"MEZZO_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "750ms",
		}, check: func(c executor.Config) bool {
			return c.AgentEndpoint == "http://127.0.0.1:9" && c.ExecutorID == "ex2" && c.FrameworkID == "fw" &&
				c.Sandbox == "/mz" && c.ShutdownGracePeriod == 750*time.Millisecond
		}},
		{name: "directory when no sandbox", env: map[string]string{"MESOS_DIRECTORY": "/dir"},
			check: func(c executor.Config) bool { return c.Sandbox == "/dir" }},
		{name: "small backoff max", env: map[string]string{"MESOS_SUBSCRIPTION_BACKOFF_MAX": "10ms"},
			check: func(c executor.Config) bool {
				return c.MaxBackoff == 10*time.Millisecond && c.MinBackoff <= c.MaxBackoff
			}},
		{name: "missing endpoint", env: map[string]string{"MESOS_AGENT_ENDPOINT": ""}, wantErr: "MESOS_AGENT_ENDPOINT"},
		{name: "missing executor", env: map[string]string{"MESOS_EXECUTOR_ID": ""}, wantErr: "MESOS_EXECUTOR_ID"},
		{name: "bad duration", env: map[string]string{"MEZZO_RECOVERY_TIMEOUT": "soon"}, wantErr: "MEZZO_RECOVERY_TIMEOUT"},
		{name: "negative duration", env: map[string]string{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "-5s"}, wantErr: "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"},
		{name: "bad checkpoint", env: map[string]string{"MESOS_CHECKPOINT": "yes"}, wantErr: "MESOS_CHECKPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := executor.ConfigFromEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config %+v is not as expected", cfg)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		bad  bool
	}{
		{name: "go", in: "1m30s", want: 90 * time.Second},
		{name: "mesos secs", in: "5secs", want: 5 * time.Second},
		{name: "mesos fraction", in: "1.5mins", want: 90 * time.Second},
		{name: "mesos hours", in: "2hrs", want: 2 * time.Hour},
		{name: "mesos days", in: "1days", want: 24 * time.Hour},
		{name: "mesos weeks", in: "2weeks", want: 14 * 24 * time.Hour},
		{name: "mesos ms", in: "100ms", want: 100 * time.Millisecond},
		{name: "mesos us", in: "7us", want: 7 * time.Microsecond},
		{name: "zero", in: "0", want: 0},
		{name: "no unit", in: "5", bad: true},
		{name: "unknown unit", in: "5fortnights", bad: true},
		{name: "negative", in: "-1secs", bad: true},
		{name: "overflow", in: "99999999999weeks", bad: true},
		{name: "empty", in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := executor.ParseDuration(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := executor.Config{AgentEndpoint: "a:1", FrameworkID: "f", ExecutorID: "e"}
	tests := []struct {
		name   string
		change func(*executor.Config)
		field  string
	}{
		{"endpoint", func(c *executor.Config) { c.AgentEndpoint = "" }, "AgentEndpoint"},
		{"framework", func(c *executor.Config) { c.FrameworkID = "" }, "FrameworkID"},
		{"executor", func(c *executor.Config) { c.ExecutorID = "" }, "ExecutorID"},
		{"recovery", func(c *executor.Config) { c.RecoveryTimeout = -1 }, "RecoveryTimeout"},
		{"backoff order", func(c *executor.Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, "MaxBackoff"},
		{"grace", func(c *executor.Config) { c.ShutdownGracePeriod = -1 }, "ShutdownGracePeriod"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}
