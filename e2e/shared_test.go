package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// TestTaskUsage runs a busy native task and a waiting Wasm task on a real
// agent that counts fuel: the agent's /monitor/statistics lists both with
// their usage while they run (the Wasm task's fuel too), and the native
// task's terminal update carries its CPU time.
func TestTaskUsage(t *testing.T) {
	c := startMaster(t, t.TempDir())
	port := freePort(t)
	startAgentOn(t, c.addr, t.TempDir(), port, "--wasm-fuel")
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	sha := uploadModule(t, c, "./e2e/testdata/waitfile")
	res := api.NewResources(api.ScalarResource("cpus", 0.5), api.ScalarResource("mem", 64))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		return []api.TaskInfo{
			scheduler.CommandTask("busy", "busy", agent, "end=$(($(date +%s)+3)); while [ $(date +%s) -lt $end ]; do :; done", res),
			scheduler.WasmTask("waiting", "waiting", agent, sha, []string{"/never"}, res),
		}
	})
	stats := map[string]api.ResourceStatistics{}
	waitFor(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/monitor/statistics", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var mon []api.MonitorStatistics
		if json.NewDecoder(resp.Body).Decode(&mon) != nil {
			return false
		}
		for _, m := range mon {
			stats[m.Source] = m.Statistics
		}
		busy, wasm := stats["busy"], stats["waiting"]
		return busy.CPUsUserTimeSecs != nil && *busy.CPUsUserTimeSecs > 0 && wasm.MemPeakBytes != nil && *wasm.MemPeakBytes > 0 &&
			wasm.FuelConsumed != nil && *wasm.FuelConsumed > 0
	}, "both tasks' usage on /monitor/statistics, with the Wasm task's fuel")
	if s := stats["busy"]; s.CPUsLimit == nil || *s.CPUsLimit != 0.5 || s.MemLimitBytes == nil || *s.MemLimitBytes != 64<<20 {
		t.Errorf("busy's statistics %+v lack its limits (0.5 cpus, 64 MiB)", s)
	}
	waitFor(t, func() bool { return f.last("busy").State.IsTerminal() }, "the busy task to end")
	st := f.last("busy")
	cpu := ""
	if st.Labels != nil {
		for _, l := range st.Labels.Labels {
			if l.Key == api.CPUSecondsLabel {
				cpu = l.Value
			}
		}
	}
	if v, err := strconv.ParseFloat(cpu, 64); err != nil || v < 0.1 {
		t.Errorf("busy ended %s with %s=%q, want TASK_FINISHED and the CPU time of a 3 s busy loop", st.State, api.CPUSecondsLabel, cpu)
	}
}
