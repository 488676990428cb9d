package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// callTree is sandbox/testdata/calltree.wat: a loop-free exponential call
// tree (2^64 calls, 64 deep) that wazero cannot interrupt in-process.
var callTree = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
	0x01, 0x7f, 0x00, 0x60, 0x00, 0x00, 0x03, 0x03, 0x02, 0x00, 0x01, 0x07,
	0x0a, 0x01, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x01, 0x0a,
	0x1f, 0x02, 0x15, 0x00, 0x20, 0x00, 0x04, 0x40, 0x20, 0x00, 0x41, 0x01,
	0x6b, 0x10, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00, 0x0b, 0x0b,
	0x07, 0x00, 0x41, 0xc0, 0x00, 0x10, 0x00, 0x0b,
}

// TestRunawayWazeroTask runs the call-tree bomb with a 50 ms CPU budget on
// both engines, beside a native task of the same framework: on wasmtime
// the shared executor stops it itself; on wazero, where it runs alone in
// its own executor, the agent kills that executor past the budget. Both
// fail with REASON_CONTAINER_LIMITATION, and the native task, in the
// shared executor, finishes untouched.
func TestRunawayWazeroTask(t *testing.T) {
	c := startMaster(t, t.TempDir())
	startAgentOn(t, c.addr, t.TempDir(), freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	status, body := c.post(t, "/api/v1/modules", "application/wasm", callTree)
	var m struct{ SHA256 string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("upload the call tree: %d %s", status, body)
	}
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		tasks := []api.TaskInfo{scheduler.CommandTask("bystander", "bystander", agent, "sleep 1; echo fine", res)}
		for _, engine := range []string{"wazero", "wasmtime"} {
			ti := scheduler.WasmTask("bomb-"+engine, "bomb-"+engine, agent, m.SHA256, nil, res)
			ti.Container.Wasm.Engine = engine
			ti.Container.Wasm.Limits = &api.WasmLimits{CPUSeconds: 0.05}
			tasks = append(tasks, ti)
		}
		return tasks
	})
	for _, id := range []string{"bomb-wazero", "bomb-wasmtime", "bystander"} {
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
	}
	for _, id := range []string{"bomb-wazero", "bomb-wasmtime"} {
		if st := f.last(id); st.State != api.TaskFailed || st.Reason != api.ReasonContainerLimitation {
			t.Errorf("%s ended %s %s (%s), want TASK_FAILED REASON_CONTAINER_LIMITATION", id, st.State, st.Reason, st.Message)
		}
	}
	if st := f.last("bomb-wazero"); !strings.Contains(st.Message, "the agent killed the executor") {
		t.Errorf("the wazero bomb's message %q does not say the agent stopped it", st.Message)
	}
	if st := f.last("bystander"); st.State != api.TaskFinished {
		t.Errorf("the bystander ended %s %s (%s), want TASK_FINISHED", st.State, st.Reason, st.Message)
	}
}

// TestUnstoppableWazeroTaskKilled kills the call-tree bomb running on
// wazero without a CPU budget: its executor cannot stop it, so the agent
// kills that executor once the kill's grace period (and the agent's
// escalation delay) has passed, and the task ends TASK_KILLED.
func TestUnstoppableWazeroTaskKilled(t *testing.T) {
	c := startMaster(t, t.TempDir())
	startAgentOn(t, c.addr, t.TempDir(), freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	status, body := c.post(t, "/api/v1/modules", "application/wasm", callTree)
	var m struct{ SHA256 string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("upload the call tree: %d %s", status, body)
	}
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	var agentID string
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		agentID = agent
		ti := scheduler.WasmTask("bomb", "bomb", agent, m.SHA256, nil, res)
		ti.Container.Wasm.Engine = "wazero"
		ti.KillPolicy = &api.KillPolicy{GracePeriod: &api.DurationInfo{Nanoseconds: api.Int64(100 * time.Millisecond)}}
		return []api.TaskInfo{ti}
	})
	waitFor(t, func() bool { return f.last("bomb").State == api.TaskRunning }, "the bomb to run")
	if err := f.client.Kill(context.Background(), "bomb", agentID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.last("bomb").State.IsTerminal() }, "the bomb to end")
	if st := f.last("bomb"); st.State != api.TaskKilled || !strings.Contains(st.Message, "agent killed the executor") {
		t.Fatalf("the bomb ended %s (%s), want TASK_KILLED by the agent killing its executor", st.State, st.Message)
	}
}
