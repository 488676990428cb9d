package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestClusterCLI drives the operator commands against a dev cluster as an
// operator would: list, watch, explain, set weights and quota, drain.
func TestClusterCLI(t *testing.T) {
	c := startDev(t)

	// Watch task changes while a task runs.
	watch := exec.Command(mezzoBin, "tasks", "--watch", "--master", c.addr)
	out, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watch.Process.Kill(); watch.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if _, _, code := c.mezzo(t, "run", "--name", "watched", "--command", "true"); code != 0 {
		t.Fatalf("mezzo run: exit %d", code)
	}
	waitLine(t, lines, "TASK_FINISHED")

	t.Run("agents", func(t *testing.T) {
		stdout, _, code := c.mezzo(t, "agents")
		if code != 0 || !strings.Contains(stdout, "ACTIVE") || !strings.Contains(stdout, "127.0.0.1") {
			t.Fatalf("mezzo agents: %d\n%s", code, stdout)
		}
	})
	t.Run("tasks as json", func(t *testing.T) {
		stdout, _, code := c.mezzo(t, "tasks", "-o", "json")
		var tasks api.GetTasksResponse
		if code != 0 || json.Unmarshal([]byte(stdout), &tasks) != nil || len(tasks.CompletedTasks) != 1 ||
			tasks.CompletedTasks[0].Name != "watched" {
			t.Fatalf("mezzo tasks -o json: %d\n%s", code, stdout)
		}
	})
	t.Run("frameworks", func(t *testing.T) {
		stdout, _, code := c.mezzo(t, "frameworks")
		if code != 0 || !strings.Contains(stdout, "COMPLETED") {
			t.Fatalf("mezzo frameworks: %d\n%s", code, stdout)
		}
	})
	t.Run("weights and quota", func(t *testing.T) {
		if out, errOut, code := c.mezzo(t, "weights", "set", "web=2"); code != 0 || !strings.Contains(out, "role web: weight 2") {
			t.Fatalf("weights set: %d %s %s", code, out, errOut)
		}
		if out, errOut, code := c.mezzo(t, "quota", "set", "web", "cpus=1", "mem=512"); code != 0 || !strings.Contains(out, "cpus=1,mem=512") {
			t.Fatalf("quota set: %d %s %s", code, out, errOut)
		}
		for _, bad := range []struct{ args, want string }{
			{"quota set web cpus=lots", "NAME=NUMBER"},
			{"quota set web ports=3", "not a scalar resource"},
			{"quota set * cpus=1", "Invalid role"},
			{"weights set web=-1", "must be positive"},
			{"weights set web", "NAME=NUMBER"},
		} {
			if _, errOut, code := c.mezzo(t, strings.Fields(bad.args)...); code == 0 || !strings.Contains(errOut, bad.want) {
				t.Errorf("mezzo %s: exit %d, %q; want an error saying %q", bad.args, code, errOut, bad.want)
			}
		}
		stdout, _, code := c.mezzo(t, "roles")
		if code != 0 || !strings.Contains(stdout, "web") || !strings.Contains(stdout, "cpus=1") {
			t.Fatalf("mezzo roles: %d\n%s", code, stdout)
		}
	})
	t.Run("why and drain", func(t *testing.T) {
		// A task that sleeps keeps a framework subscribed while we ask.
		run := exec.Command(mezzoBin, "run", "--master", c.addr, "--name", "sleeper", "--command", "exec sleep 876543")
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		defer run.Process.Kill()
		var fw api.FrameworkRecord
		waitFor(t, func() bool {
			stdout, _, _ := c.mezzo(t, "frameworks", "-o", "json")
			var resp api.GetFrameworksResponse
			json.Unmarshal([]byte(stdout), &resp)
			for _, f := range resp.Frameworks {
				fw = f
				return len(c.tasks(t).Tasks) == 1
			}
			return false
		}, "the sleeper to run")
		stdout, _, code := c.mezzo(t, "why", fw.FrameworkInfo.ID.Value)
		if code != 0 || !strings.Contains(stdout, fw.FrameworkInfo.ID.Value) {
			t.Fatalf("mezzo why: %d\n%s", code, stdout)
		}
		agents := c.agentIDs(t)
		if _, errOut, code := c.mezzo(t, "drain", agents[0], "--grace", "1s"); code != 0 {
			t.Fatalf("mezzo drain: %d %s", code, errOut)
		}
		if err := run.Wait(); err == nil {
			t.Fatalf("mezzo run of a drained task exited 0")
		}
		waitFor(t, func() bool {
			stdout, _, _ := c.mezzo(t, "agents")
			return strings.Contains(stdout, "DRAINED")
		}, "the agent to be DRAINED")
		waitFor(t, func() bool { return !processRunning(t, "sleep 876543") }, "the drained task's process to be gone")
	})
}

// waitLine waits for a line containing want.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before a line with %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no line with %q within 30s", want)
		}
	}
}
