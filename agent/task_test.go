package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
)

// TestRefuseNative checks what an agent that runs WebAssembly only
// (Config.AllowNative false) refuses: whatever would run native code on
// it — a native task, a custom executor, and a Wasm task's command check,
// which runs a shell command as the task's user.
func TestRefuseNative(t *testing.T) {
	wasm := func() api.TaskInfo {
		return api.TaskInfo{Name: "w", TaskID: api.TaskID{Value: "w"},
			Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: strings.Repeat("a", 64)}}}
	}
	healthChecked, checked, httpChecked := wasm(), wasm(), wasm()
	healthChecked.HealthCheck = &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{Value: "id"}}
	checked.Check = &api.CheckInfo{Type: "COMMAND", Command: &api.CheckCommand{Command: api.CommandInfo{Value: "id"}}}
	httpChecked.HealthCheck = &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: 80}}
	native := api.TaskInfo{Name: "n", TaskID: api.TaskID{Value: "n"}, Command: &api.CommandInfo{Value: "id"}}
	custom := &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}, Command: &api.CommandInfo{Value: "./my-executor"}}
	tests := []struct {
		name    string
		info    *api.ExecutorInfo
		task    api.TaskInfo
		refused bool
	}{
		{"a Wasm task", nil, wasm(), false},
		{"a Wasm task with an HTTP health check", nil, httpChecked, false},
		{"a Wasm task with a command health check", nil, healthChecked, true},
		{"a Wasm task with a command check", nil, checked, true},
		{"a native task", nil, native, true},
		{"a Wasm task in a custom executor", custom, wasm(), true},
	}
	a := newBareAgent(t, func(c *Config) { c.AllowNative = false })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.task.TaskID.Value = tt.name
			if got := a.refuseNative("fw", tt.info, []api.TaskInfo{tt.task}); got != tt.refused {
				t.Fatalf("refused %v, want %v", got, tt.refused)
			}
			st, reported := a.updates.latest()[taskKey{"fw", tt.name}]
			if reported != tt.refused || tt.refused && (st.State != api.TaskError || !strings.Contains(st.Message, "--allow-native")) {
				t.Errorf("update %v (%s %q), want one only when refused", reported, st.State, st.Message)
			}
		})
	}
}

// TestHealthKill fails a task's health check in an executor of its own
// that ignores the KILL (as a wazero guest may): the checks report no
// more once the kill is sent — a check passing during its grace period
// does not make it healthy again — and the agent kills the executor
// after the grace period, as it does for a kill from the framework, so
// that the task ends TASK_KILLED instead of running for ever.
func TestHealthKill(t *testing.T) {
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"sleep", "600"} // never subscribes, never stops a task
		c.ExecutorRegistrationTimeout = time.Hour
	})
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "t1"}})
	a.executors[r.key] = r
	task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t1"},
		KillPolicy: &api.KillPolicy{GracePeriod: &api.DurationInfo{Nanoseconds: 0}}},
		state: api.TaskRunning, queued: true, sent: true}
	r.add(task)
	a.taskIndex[taskKey{"fw", "t1"}] = r
	a.mu.Unlock()
	if _, err := a.startExecutor(r); err != nil {
		t.Fatal(err)
	}

	a.healthChanged(r, task, health.Result{Healthy: false, Consecutive: 3, Kill: true, Message: "failed"})
	if st := a.updates.latest()[taskKey{"fw", "t1"}]; st.Healthy == nil || *st.Healthy {
		t.Fatalf("the failed check's update: %+v", st)
	}
	a.healthChanged(r, task, health.Result{Healthy: true, Message: "passed"})
	if st := a.updates.latest()[taskKey{"fw", "t1"}]; st.Healthy == nil || *st.Healthy {
		t.Fatalf("a check passing after the kill was reported: %+v", st)
	}
	select {
	case <-r.done:
	case <-time.After(killEscalation + 20*time.Second):
		t.Fatal("the executor of a task killed by its health check was never killed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := a.updates.latest()[taskKey{"fw", "t1"}]
		if st.State == api.TaskKilled {
			if st.Healthy == nil || *st.Healthy {
				t.Errorf("the TASK_KILLED of a task its health check killed does not say it was unhealthy: %v", st.Healthy)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task's last update %s, want TASK_KILLED", st.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
