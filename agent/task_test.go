package agent

import (
	"strings"
	"testing"

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
