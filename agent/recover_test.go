package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestRecoveredTaskKeepsItsChecks restarts an agent over the checkpoint
// of a running task that has a health check, its executor's process
// alive: the check runs again. It was started by the task's
// TASK_RUNNING, which came before the restart and does not come again,
// so a task that went unhealthy after a restart was never killed.
func TestRecoveredTaskKeepsItsChecks(t *testing.T) {
	dir := searchableTempDir(t)
	executor := exec.Command("sleep", "600") // stands in for the executor process
	if err := executor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { executor.Process.Kill(); executor.Wait() })
	taskDir := filepath.Join(dir, "sandboxes", "fw", "e", "runs", "c")
	if err := os.MkdirAll(taskDir, 0o755); err != nil {
		t.Fatal(err)
	}
	interval := api.Float64(3600)
	task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"},
		HealthCheck: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}, IntervalSeconds: &interval}}
	rec := executorRecord{Framework: "fw", FrameworkInfo: api.FrameworkInfo{Name: "fw", ID: &api.FrameworkID{Value: "fw"}},
		ExecutorInfo: api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}}, Container: "c", Dir: taskDir,
		PID: executor.Process.Pid, StartTime: processStartTime(executor.Process.Pid)}

	first := newBareAgent(t, func(c *Config) { c.WorkDir = dir })
	w := first.store.checkpoint("fw", "e", &rec, []taskChange{{index: 0, rec: &recordedTask{Info: task, Dir: taskDir, State: api.TaskRunning, Sent: true}}}, false)
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	first.store.close()

	second := newBareAgent(t, func(c *Config) { c.WorkDir = dir })
	second.mu.Lock()
	defer second.mu.Unlock()
	r := second.executors[execKey{"fw", "e"}]
	if r == nil || r.tasks["t"] == nil {
		t.Fatalf("the executor or its task was not recovered: %+v", r)
	}
	if r.tasks["t"].stopChecks == nil {
		t.Error("the recovered running task's health check was not started again")
	}
}
