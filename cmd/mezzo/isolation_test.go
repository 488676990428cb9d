package main

import (
	"strings"
	"testing"
)

// TestNativeIsolationErrors starts an agent and an executor with a
// native isolation that does not exist: each refuses to start, saying
// which setting is wrong and what it may be.
func TestNativeIsolationErrors(t *testing.T) {
	const want = `native isolation "bogus" is not one of auto, cgroups, rlimits`
	work := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"agent flag", []string{"agent", "--master", "127.0.0.1:5050", "--port", "0", "--work-dir", work, "--native-isolation", "bogus"}, nil,
			"--native-isolation: " + want},
		{"agent environment", []string{"agent", "--master", "127.0.0.1:5050", "--port", "0", "--work-dir", work}, map[string]string{"MEZZO_NATIVE_ISOLATION": "bogus"},
			"--native-isolation: " + want},
		{"executor environment", []string{"executor"}, map[string]string{
			"MESOS_AGENT_ENDPOINT": "127.0.0.1:5051", "MESOS_FRAMEWORK_ID": "f", "MESOS_EXECUTOR_ID": "e", "MESOS_SANDBOX": work,
			"MEZZO_NATIVE_ISOLATION": "bogus",
		}, "MEZZO_NATIVE_ISOLATION: " + want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			root := newRoot()
			root.SetArgs(tc.args)
			if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("mezzo %v: %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
