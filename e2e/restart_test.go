package e2e

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var listening = regexp.MustCompile(`msg="master listening" url=https?://(\S+)`)

// startMaster starts `mezzo master` on a free port, with any extra flags,
// and returns its address.
func startMaster(t *testing.T, dir string, flags ...string) *devCluster {
	t.Helper()
	cmd := exec.Command(mezzoBin, append([]string{"master", "--port", "0", "--work-dir", dir}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &devCluster{cmd: cmd, logs: &bytes.Buffer{}}
	t.Cleanup(func() { c.stop(t) })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case c.addr = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("mezzo master did not say where it listens")
	}
	return c
}

// startAgent starts `mezzo agent` against the master, allowed to run
// native tasks, with any extra flags (which may undo that:
// --allow-native=false).
func startAgent(t *testing.T, master, dir string, flags ...string) *exec.Cmd {
	t.Helper()
	searchable(t, dir)
	cmd := exec.Command(mezzoBin, append([]string{"agent", "--master", master, "--port", "0", "--work-dir", dir, "--allow-native"}, flags...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAgent(cmd) })
	return cmd
}

// stopAgent stops an agent as an operator would, with SIGTERM, so that it
// shuts its executors down: SIGKILL would leave them, and their tasks,
// running, waiting for the agent to come back.
func stopAgent(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// TestAgentRestart kills an agent with SIGKILL and starts it again on the
// same work directory: it re-registers under the ID in its agent.db, and
// the cluster runs tasks on it as before.
func TestAgentRestart(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	agent := startAgent(t, c.addr, agentDir)
	var id string
	waitFor(t, func() bool {
		ids := c.agentIDs(t)
		if len(ids) == 1 {
			id = ids[0]
		}
		return id != ""
	}, "the agent to register")
	if out, _, code := c.mezzo(t, "run", "--command", "echo before"); code != 0 || !strings.Contains(out, "before") {
		t.Fatalf("run before the restart: %d %q", code, out)
	}
	agent.Process.Kill()
	agent.Wait()
	startAgent(t, c.addr, agentDir)
	waitFor(t, func() bool {
		stdout, _, _ := c.mezzo(t, "agents")
		return strings.Count(stdout, "ACTIVE") == 1 && strings.Contains(stdout, id)
	}, "the agent to re-register as "+id)
	if ids := c.agentIDs(t); len(ids) != 1 || ids[0] != id {
		t.Fatalf("agents after the restart %v, want just %s", ids, id)
	}
	if out, _, code := c.mezzo(t, "run", "--command", "echo after"); code != 0 || !strings.Contains(out, "after") {
		t.Fatalf("run after the restart: %d %q", code, out)
	}
}
