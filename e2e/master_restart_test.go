package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMasterOn starts `mezzo master` on a given port and waits until it
// listens.
func startMasterOn(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(mezzoBin, "master", "--port", strconv.Itoa(port), "--work-dir", dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if listening.MatchString(sc.Text()) {
				close(up)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatal("mezzo master did not come up")
	}
	return cmd
}

// TestMasterDies kills the master with SIGKILL while a task runs and starts
// a new one on the same address: the agent re-registers under its ID, and
// the new master adopts the task it still runs.
func TestMasterDies(t *testing.T) {
	port := freePort(t)
	c := &devCluster{addr: "127.0.0.1:" + strconv.Itoa(port), logs: &bytes.Buffer{}}
	first := startMasterOn(t, t.TempDir(), port)
	startAgent(t, c.addr, t.TempDir())
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	agentID := c.agentIDs(t)[0]

	run := exec.Command(mezzoBin, "run", "--master", c.addr, "--name", "survivor", "--command", "exec sleep 543210")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Process.Kill(); run.Wait() })
	waitFor(t, func() bool {
		tasks := c.tasks(t).Tasks
		return len(tasks) == 1 && tasks[0].State == api.TaskRunning
	}, "the task to run")

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	startMasterOn(t, t.TempDir(), port)
	waitFor(t, func() bool {
		ids := c.agentIDs(t)
		return len(ids) == 1 && ids[0] == agentID
	}, "the agent to re-register with the new master as "+agentID)
	waitFor(t, func() bool {
		for _, task := range c.tasks(t).Tasks {
			if task.Name == "survivor" && task.State == api.TaskRunning {
				return true
			}
		}
		return false
	}, "the new master to adopt the running task")
	if !processRunning(t, "sleep 543210") {
		t.Fatal("the task's process died with the master")
	}
	// mezzo run's scheduler client follows the master too: it re-subscribes
	// under its framework ID and owns the adopted task again.
	fid := c.tasks(t).Tasks[0].FrameworkID.Value
	waitFor(t, func() bool {
		stdout, _, _ := c.mezzo(t, "frameworks", "-o", "json")
		var resp api.GetFrameworksResponse
		json.Unmarshal([]byte(stdout), &resp)
		for _, f := range resp.Frameworks {
			if f.FrameworkInfo.ID.Value == fid && f.Connected && !f.Recovered {
				return true
			}
		}
		return false
	}, "mezzo run to re-subscribe as "+fid)
}
