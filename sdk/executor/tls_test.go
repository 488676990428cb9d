package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
	"github.com/mezzo-cluster/mezzo/sdk/executor"
)

// TestConfigFromEnvTLS checks MEZZO_TLS_CA, by which an agent serving TLS
// gives its executors the CA to verify it with.
func TestConfigFromEnvTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agent CA").WriteFiles(t, dir, "agent", []string{"127.0.0.1"}).CA
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		ca      string
		wantTLS bool
		wantErr string
	}{
		{name: "no CA: plain http"},
		{name: "CA", ca: ca, wantTLS: true},
		{name: "missing file", ca: filepath.Join(dir, "none.pem"), wantErr: "MEZZO_TLS_CA: open"},
		{name: "not a CA", ca: garbage, wantErr: "CA: not PEM certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				"MESOS_AGENT_ENDPOINT": "127.0.0.1:5051", "MESOS_FRAMEWORK_ID": "fw", "MESOS_EXECUTOR_ID": "ex",
				"MEZZO_TLS_CA": tc.ca,
			}
			cfg, err := executor.ConfigFromEnv(func(k string) string { return env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ConfigFromEnv: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.TLS != nil && cfg.TLS.RootCAs != nil; got != tc.wantTLS {
				t.Fatalf("TLS with a CA pool = %v, want %v", got, tc.wantTLS)
			}
		})
	}
}
