package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSampleExecute runs samples/execute, the smallest framework, against a
// dev cluster as a framework author would after copying it.
func TestSampleExecute(t *testing.T) {
	c := startDev(t)
	run := func(args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./samples/execute", "--master", c.addr}, args...)...)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("go run ./samples/execute: %v\n%s", err, out)
		}
		return string(out), code
	}
	out, code := run("--instances", "3", "--", "echo hello from $MESOS_TASK_ID")
	if code != 0 || strings.Count(out, "TASK_FINISHED") != 3 {
		t.Fatalf("three instances: exit %d\n%s", code, out)
	}
	out, code = run("--", "exit 5")
	if code != 1 || !strings.Contains(out, "TASK_FAILED") || !strings.Contains(out, "status 5") {
		t.Fatalf("a failing command: exit %d\n%s", code, out)
	}
	if tasks := c.tasks(t); len(tasks.Tasks) != 0 || len(tasks.CompletedTasks) != 4 {
		t.Fatalf("tasks after the samples: %d live, %d completed; want 0 and 4", len(tasks.Tasks), len(tasks.CompletedTasks))
	}
}
