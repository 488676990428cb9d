package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// TestSharedExecutor runs a native task, a wasmtime task and a wazero
// task of one framework on a real agent: the first two share the
// framework's executor, the wazero task gets an executor of its own;
// each task's update names its sandbox, where its stdout is. Once idle
// past --executor-idle-timeout the shared executor is shut down, and the
// framework's next task starts a new one.
func TestSharedExecutor(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	agent := startAgentOn(t, c.addr, agentDir, freePort(t), "--executor-idle-timeout", "300ms")
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	sha := uploadModule(t, c, "./samples/modules/hello")
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	launches := 0
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		launches++
		if launches > 1 {
			return []api.TaskInfo{scheduler.CommandTask("later", "later", agent, "echo later", res)}
		}
		wt := scheduler.WasmTask("wt", "wt", agent, sha, []string{"wasmtime"}, res)
		wt.Container.Wasm.Engine = "wasmtime"
		wz := scheduler.WasmTask("wz", "wz", agent, sha, []string{"wazero"}, res)
		wz.Container.Wasm.Engine = "wazero"
		return []api.TaskInfo{scheduler.CommandTask("native", "native", agent, "echo native", res), wt, wz}
	})
	want := map[string]string{"native": "native\n", "wt": "hello wasmtime\n", "wz": "hello wazero\n"}
	for id, out := range want {
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
		st := f.last(id)
		if st.State != api.TaskFinished {
			t.Fatalf("%s ended %s (%s)", id, st.State, st.Message)
		}
		b, err := os.ReadFile(filepath.Join(agentDir, "sandboxes", sandboxLabel(t, st), "stdout"))
		if err != nil || string(b) != out {
			t.Errorf("%s's stdout in the sandbox its update names: %q, %v; want %q", id, b, err, out)
		}
	}
	shared := f.last("native").ExecutorID
	if shared == nil || !strings.HasPrefix(shared.Value, "mezzo-executor-") {
		t.Fatalf("the native task ran in executor %v, want the framework's shared one", shared)
	}
	if e := f.last("wt").ExecutorID; e == nil || e.Value != shared.Value {
		t.Errorf("the wasmtime task ran in executor %v, want the shared %s", e, shared.Value)
	}
	if e := f.last("wz").ExecutorID; e == nil || e.Value != "wz" {
		t.Errorf("the wazero task ran in executor %v, want one of its own named wz", e)
	}
	waitFor(t, func() bool { return strings.Contains(agent.logs.String(), "shutting down an idle shared executor") },
		"the idle shared executor to be shut down")
	waitFor(t, func() bool { return executorPID(t, shared.Value) == 0 }, "the shared executor's process to exit")
	f.launchAgain(t)
	waitFor(t, func() bool { return f.last("later").State.IsTerminal() }, "the next task to end")
	if st := f.last("later"); st.State != api.TaskFinished || st.ExecutorID == nil || st.ExecutorID.Value == shared.Value {
		t.Fatalf("the next task ended %s (%s) in executor %v, want TASK_FINISHED in a new shared executor", st.State, st.Message, st.ExecutorID)
	}
}
