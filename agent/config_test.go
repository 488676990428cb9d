package agent

import (
	"crypto/tls"
	"strings"
	"testing"
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
