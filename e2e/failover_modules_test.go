package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pushModule uploads a module to one master and returns its sha256; the
// master must answer 200.
func pushModule(t *testing.T, addr, wasmPath string) string {
	t.Helper()
	data, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/api/v1/modules", "application/wasm", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("upload to %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m struct{ SHA256 string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &m) != nil || m.SHA256 == "" {
		t.Fatalf("upload to %s: %s %s", addr, resp.Status, body)
	}
	return m.SHA256
}

// TestModuleSurvivesLeaderDeath uploads a module to the leader of three
// replicated masters and SIGKILLs the leader at once: a Wasm task of that
// module, launched through the new leader, runs and prints its output. The
// upload's 200 means a majority of the masters hold the bytes, and a new
// leader lacking them fetches them from another master.
func TestModuleSurvivesLeaderDeath(t *testing.T) {
	tests := []struct {
		name string
		// standbyDown SIGKILLs a standby before the upload and starts it
		// again after the leader's death, so that the new majority
		// includes a master that never saw the upload.
		standbyDown bool
	}{
		{name: "all masters up"},
		{name: "a standby down during the upload", standbyDown: true},
	}
	wasm := buildModule(t, "./samples/modules/hello")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startReplicated(t, 3)
			leader := c.waitLeader(t)
			masters := strings.Join(c.addrs(), ",")
			startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
			var down *masterProc
			if tt.standbyDown {
				for _, m := range c.masters {
					if m != leader {
						down = m
						break
					}
				}
				c.kill(down, syscall.SIGKILL)
			}
			sha := pushModule(t, leader.addr, wasm)
			c.kill(leader, syscall.SIGKILL)
			if down != nil {
				c.start(down)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			run := exec.CommandContext(ctx, mezzoBin, "run", "--master", masters, sha, "--", "world")
			var stdout, stderr bytes.Buffer
			run.Stdout, run.Stderr = &stdout, &stderr
			if err := run.Run(); err != nil || stdout.String() != "hello world\n" {
				t.Fatalf("mezzo run %s through the new leader: %v\nstdout: %q\nstderr: %s", sha, err, stdout.String(), stderr.String())
			}
		})
	}
}
