package agent

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// TestConfigValidateTLS checks that an agent on TLS knows the CA file
// to hand its executors.
func TestConfigValidateTLS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tls     *tls.Config
		caFile  string
		wantErr string
	}{
		{name: "plain"},
		{name: "TLS with the CA file", tls: &tls.Config{}, caFile: "/etc/mezzo/ca.crt"},
		{name: "TLS without it", tls: &tls.Config{}, wantErr: "TLS needs TLSCAFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Masters, cfg.WorkDir, cfg.Port, cfg.ExecutorCommand = []string{"127.0.0.1:5050"}, t.TempDir(), 5051, []string{"mezzo", "executor"}
			cfg.TLS, cfg.TLSCAFile = tc.tls, tc.caFile
			err := cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigValidateNativeIsolation(t *testing.T) {
	_, noCgroups := sandbox.CgroupsAvailable()
	for _, tc := range []struct {
		name    string
		iso     sandbox.Isolation
		wantErr string
	}{
		{name: "auto", iso: sandbox.IsolationAuto},
		{name: "rlimits", iso: sandbox.IsolationRlimits},
		{name: "cgroups", iso: sandbox.IsolationCgroups},
		{name: "unknown", iso: "auto", wantErr: `NativeIsolation "auto" is not one of "", "cgroups", "rlimits"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.iso == sandbox.IsolationCgroups && noCgroups != nil {
				tc.wantErr = `NativeIsolation "cgroups": ` + noCgroups.Error() // refused where they cannot work
			}
			cfg := DefaultConfig()
			cfg.Masters, cfg.WorkDir, cfg.Port, cfg.ExecutorCommand = []string{"127.0.0.1:5050"}, t.TempDir(), 5051, []string{"mezzo", "executor"}
			cfg.NativeIsolation = tc.iso
			err := cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigValidateExecutorEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "none"},
		{name: "plain", env: map[string]string{"JAVA_HOME": "/usr/lib/jvm", "PATH": "/opt/bin:/usr/bin", "MESOS_NATIVE_JAVA_LIBRARY": "/usr/lib/libmesos.so"}},
		{name: "empty name", env: map[string]string{"": "x"}, wantErr: `environment variable name "" is invalid`},
		{name: "name with =", env: map[string]string{"A=B": "x"}, wantErr: `environment variable name "A=B" is invalid`},
		{name: "NUL in value", env: map[string]string{"A": "x\x00y"}, wantErr: "environment variable A contains NUL"},
		{name: "the agent's own", env: map[string]string{"MEZZO_WASM_FUEL": "1"}, wantErr: "MEZZO_WASM_FUEL: the MEZZO_ variables are the agent's to set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Masters, cfg.WorkDir, cfg.Port, cfg.ExecutorCommand = []string{"127.0.0.1:5050"}, t.TempDir(), 5051, []string{"mezzo", "executor"}
			cfg.ExecutorEnvironment = tc.env
			err := cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
