package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
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

// TestRunExitsLikeAShell runs native tasks that a signal ends through
// mezzo run, as a script would, and checks that it exits as a shell does
// after such a command, with 128 plus the signal, and prints Mesos's
// message naming it: a crash, a SIGTERM the task sent itself, the kernel's
// OOM kill (where the agent has cgroups to cap memory with), and last a
// drain's kill, whose SIGTERM ends the task.
func TestRunExitsLikeAShell(t *testing.T) {
	c := startDev(t)
	tests := []struct {
		name    string
		args    []string
		cgroups bool // needs a memory cgroup, which only an OOM kill ends
		code    int
		stderr  string
	}{
		{"SIGSEGV", []string{"--command", "kill -SEGV $$"}, false, 139,
			"TASK_FAILED: Command terminated with signal Segmentation fault"},
		{"SIGTERM", []string{"--command", "kill -TERM $$"}, false, 143,
			"TASK_FAILED: Command terminated with signal Terminated"},
		{"OOM kill", []string{"--mem", "32", "--command", "exec tail /dev/zero"}, true, 137,
			"TASK_FAILED: REASON_CONTAINER_LIMITATION_MEMORY: Memory limit exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sandbox.CgroupsAvailable(); tt.cgroups && (err != nil || os.Geteuid() != 0) {
				t.Skipf("native tasks get no memory cgroup here: %v", err)
			}
			_, errOut, code := c.mezzo(t, append([]string{"run"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("mezzo run %q: exit %d, stderr %q; want exit %d saying %q", tt.args, code, errOut, tt.code, tt.stderr)
			}
		})
	}
	t.Run("killed by a drain", func(t *testing.T) {
		run := exec.Command(mezzoBin, "run", "--master", c.addr, "--command", "echo started; exec sleep 765432")
		var stderr bytes.Buffer
		run.Stderr = &stderr
		stdout := startUntil(t, run, "started")
		if _, errOut, code := c.mezzo(t, "drain", c.agentIDs(t)[0], "--grace", "10s"); code != 0 {
			t.Fatalf("mezzo drain: %d %s", code, errOut)
		}
		go io.Copy(io.Discard, stdout)
		err := run.Wait()
		const want = "TASK_KILLED: Task killed: Command terminated with signal Terminated"
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 || !strings.Contains(stderr.String(), want) {
			t.Fatalf("mezzo run of a drained task: %v, stderr %q; want exit status 143 saying %q", err, stderr.String(), want)
		}
	})
}

// startUntil starts cmd, a mezzo run, and reads its stdout until the
// task has written first, so that the test acts on a running task; cmd
// is killed when the test ends. It returns the rest of the output.
func startUntil(t *testing.T, cmd *exec.Cmd, first string) io.Reader {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	line := make([]byte, len(first))
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != first {
		t.Fatalf("task output %q: %v, want %q first", line, err, first)
	}
	return stdout
}
