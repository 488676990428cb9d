package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
	"github.com/mezzo-cluster/mezzo/sandbox"
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
	// The agent, not the executor, ended it: its update still says what
	// it used, past its budget.
	v, _ := f.last("bomb-wazero").Labels.Get(api.CPUSecondsLabel)
	if cpu, err := strconv.ParseFloat(v, 64); err != nil || cpu < 0.05 {
		t.Errorf("the wazero bomb's terminal update says it used %q s of CPU, want its budget or more", v)
	}
	if st := f.last("bystander"); st.State != api.TaskFinished {
		t.Errorf("the bystander ended %s %s (%s), want TASK_FINISHED", st.State, st.Reason, st.Message)
	}
}

// recurse is sandbox/testdata/recurse.wat: a function that calls itself
// until the stack runs out.
var recurse = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0a, 0x01, 0x06, 0x5f, 0x73,
	0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x10,
	0x00, 0x0b,
}

// TestDeepRecursion runs a runaway recursion with a memory cap of 1 MB on
// both engines. Each must trap, TASK_FAILED with "call stack exhausted",
// and the wazero task's executor must not be OOM-killed: its cgroup
// allows 16 MiB for wazero's call stack (agent's wazeroStackOverhead),
// which was 168 MB before the sandbox bounded it.
func TestDeepRecursion(t *testing.T) {
	c := startMaster(t, t.TempDir())
	startAgentOn(t, c.addr, t.TempDir(), freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	status, body := c.post(t, "/api/v1/modules", "application/wasm", recurse)
	var m struct{ SHA256 string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("upload the recursion: %d %s", status, body)
	}
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 1))
	engines := []string{"wazero", "wasmtime"}
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		var tasks []api.TaskInfo
		for _, engine := range engines {
			ti := scheduler.WasmTask("recurse-"+engine, "recurse-"+engine, agent, m.SHA256, nil, res)
			ti.Container.Wasm.Engine = engine
			tasks = append(tasks, ti)
		}
		return tasks
	})
	for _, engine := range engines {
		id := "recurse-" + engine
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
		if st := f.last(id); st.State != api.TaskFailed || st.Reason == api.ReasonContainerLimitationMemory ||
			!strings.Contains(st.Message, "call stack exhausted") {
			t.Errorf("%s ended %s %s (%s), want TASK_FAILED saying the call stack was exhausted", id, st.State, st.Reason, st.Message)
		}
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
	// TASK_RUNNING leaves as the guest's goroutine starts: a kill that
	// came sooner than the guest entered its call tree would be one the
	// executor can still carry out (it failed so once, the launch path
	// being faster). A second is ample for it to be deep in the tree.
	time.Sleep(time.Second)
	if err := f.client.Kill(context.Background(), "bomb", agentID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.last("bomb").State.IsTerminal() }, "the bomb to end")
	if st := f.last("bomb"); st.State != api.TaskKilled || !strings.Contains(st.Message, "agent killed the executor") {
		t.Fatalf("the bomb ended %s (%s), want TASK_KILLED by the agent killing its executor", st.State, st.Message)
	}
}

// tableFill builds a module with tables tables of elems function
// references each, no maximum and never grown (a table may omit its
// maximum when the module never grows it), whose _start fills them all:
// elems × 8 bytes of host memory per table, outside the task's linear
// memory and so beyond its limit. It is the WAT
//
//	(module
//	  (table 1048576 funcref) ...
//	  (func (export "_start")
//	    (table.fill 0 (i32.const 0) (ref.null func) (i32.const 1048576)) ...))
func tableFill(tables int, elems uint32) []byte {
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, wasmSection(1, []byte{0x01, 0x60, 0x00, 0x00})...) // type: func [] -> []
	m = append(m, wasmSection(3, []byte{0x01, 0x00})...)             // one function of type 0
	ts := uleb128(uint64(tables))
	for range tables {
		ts = append(append(ts, 0x70, 0x00), uleb128(uint64(elems))...) // funcref, min only
	}
	m = append(m, wasmSection(4, ts)...)
	m = append(m, wasmSection(7, append([]byte{0x01, 0x06}, append([]byte("_start"), 0x00, 0x00)...))...)
	body := []byte{0x00} // no locals
	for i := range tables {
		body = append(body, 0x41, 0x00, 0xd0, 0x70, 0x41) // i32.const 0, ref.null func, i32.const
		body = append(body, sleb128(int64(elems))...)     // elems
		body = append(body, 0xfc, 17)                     // table.fill
		body = append(body, uleb128(uint64(i))...)        // table i
	}
	body = append(body, 0x0b)
	return append(m, wasmSection(10, append([]byte{0x01}, append(uleb128(uint64(len(body))), body...)...))...)
}

func wasmSection(id byte, content []byte) []byte {
	return append(append([]byte{id}, uleb128(uint64(len(content)))...), content...)
}

func uleb128(n uint64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		if n >>= 7; n != 0 {
			c |= 0x80
		}
		if b = append(b, c); n == 0 {
			return b
		}
	}
}

func sleb128(n int64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 && c&0x40 == 0 || n == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// TestExecutorMemoryCap checks the two walls against host memory a task
// takes outside its own limit. A module with 40 tables of a million
// elements (320 MiB of host memory under either engine, which no
// linear-memory limit counts; before validation capped tables together,
// this test ran it and its executor's cgroup stopped it) is refused at
// upload. A task whose custom executor allocates a gigabyte itself is
// stopped by that executor's cgroup: the kernel kills the hog and the task
// fails with REASON_CONTAINER_LIMITATION_MEMORY, while a wazero task
// filling the largest table allowed and a native task of the same
// framework, in executors of their own, finish untouched.
func TestExecutorMemoryCap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("executor cgroups need root")
	}
	if _, err := sandbox.CgroupsAvailable(); err != nil {
		t.Fatalf("running as root, but: %v", err)
	}
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	agent := startAgentOn(t, c.addr, agentDir, freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	if status, body := c.post(t, "/api/v1/modules", "application/wasm", tableFill(40, 1<<20)); status != http.StatusBadRequest ||
		!strings.Contains(body, "tables") {
		t.Errorf("upload 40 tables of a million elements: %d %s, want 400 naming the tables", status, body)
	}
	status, body := c.post(t, "/api/v1/modules", "application/wasm", tableFill(1, 1<<20))
	var m struct{ SHA256 string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("upload a table module: %d %s", status, body)
	}
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		tasks := []api.TaskInfo{scheduler.CommandTask("native", "native", agent, "sleep 1; echo fine", res)}
		ti := scheduler.WasmTask("table", "table", agent, m.SHA256, nil, res)
		ti.Container.Wasm.Engine = "wazero"
		tasks = append(tasks, ti)
		hog := api.TaskInfo{Name: "hog", TaskID: api.TaskID{Value: "hog"}, AgentID: api.AgentID{Value: agent}, Resources: res,
			Executor: &api.ExecutorInfo{Type: api.ExecutorCustom, ExecutorID: api.ExecutorID{Value: "hog"},
				Command: &api.CommandInfo{Value: "head -c 1024m /dev/zero | tail"}}}
		return append(tasks, hog)
	})
	for _, id := range []string{"hog", "table", "native"} {
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
	}
	if st := f.last("hog"); st.State != api.TaskFailed || st.Reason != api.ReasonContainerLimitationMemory ||
		!strings.Contains(st.Message, "the kernel killed the executor") {
		b, _ := os.ReadFile(filepath.Join(agentDir, "sandboxes", sandboxLabel(t, st), "executor.stderr"))
		t.Errorf("the hog ended %s %s (%s), want TASK_FAILED REASON_CONTAINER_LIMITATION_MEMORY; its executor's stderr:\n%s\nagent logs:\n%s", st.State, st.Reason, st.Message, b, agent.logs)
	}
	for _, id := range []string{"table", "native"} {
		if st := f.last(id); st.State != api.TaskFinished {
			t.Errorf("%s ended %s %s (%s), want TASK_FINISHED", id, st.State, st.Reason, st.Message)
		}
	}
	// The ended executors' cgroups are removed; the shared executor,
	// idle but alive, keeps its own.
	for _, id := range []string{"hog", "table", "native"} {
		cs := f.last(id).ContainerStatus
		if cs == nil || cs.ContainerID == nil {
			t.Fatalf("%s's update names no container", id)
		}
		if id == "native" {
			if dirs := executorCgroupDirs(t, cs.ContainerID.Value); len(dirs) != 1 {
				t.Errorf("the shared executor's cgroups: %v, want one", dirs)
			}
			continue
		}
		waitFor(t, func() bool { return len(executorCgroupDirs(t, cs.ContainerID.Value)) == 0 }, id+"'s executor cgroup to be removed")
	}
}

// TestIdleWazeroTaskKeepsItsBudget runs a Go module that barely uses CPU
// on wazero, with a small CPU budget, on an agent whose default engine is
// wasmtime. The task runs alone in an executor of its own, whose CPU time
// the agent counts against the budget from TASK_RUNNING: that executor
// must have compiled the module for wazero before, or the compile, not
// the task, would use up the budget and the agent would kill the task.
func TestIdleWazeroTaskKeepsItsBudget(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	startAgentOn(t, c.addr, agentDir, freePort(t), "--wasm-engine", "wasmtime")
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	sha := uploadModule(t, c, "./e2e/testdata/waitfile")
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 64))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		ti := scheduler.WasmTask("idle", "idle", agent, sha, []string{"/release"}, res)
		ti.Container.Wasm.Engine = "wazero"
		ti.Container.Wasm.Limits = &api.WasmLimits{CPUSeconds: 0.05}
		return []api.TaskInfo{ti}
	})
	waitFor(t, func() bool { return f.last("idle").State == api.TaskRunning || f.last("idle").State.IsTerminal() }, "the task to run")
	if st := f.last("idle"); st.State == api.TaskRunning {
		sandbox := filepath.Join(agentDir, "sandboxes", sandboxLabel(t, st))
		if err := os.WriteFile(filepath.Join(sandbox, "release"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return f.last("idle").State.IsTerminal() }, "the task to end")
	if st := f.last("idle"); st.State != api.TaskFinished {
		t.Errorf("the idle task ended %s %s: %s", st.State, st.Reason, st.Message)
	}
}

// TestManyFunctionsModule runs a module of 99,989 empty functions on
// wasmtime beside a task of the tiny module in the framework's shared
// executor. The module is 400 KB and within module.DefaultLimits, but
// compiling it takes wasmtime over 500 MB: an executor cgroup sized by
// the module's bytes had the kernel kill the executor, and both tasks
// failed with REASON_CONTAINER_LIMITATION_MEMORY. Both must finish.
func TestManyFunctionsModule(t *testing.T) {
	c := startMaster(t, t.TempDir())
	startAgentOn(t, c.addr, t.TempDir(), freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	upload := func(wasm []byte) string {
		status, body := c.post(t, "/api/v1/modules", "application/wasm", wasm)
		var m struct{ SHA256 string }
		if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("upload: %d %s", status, body)
		}
		return m.SHA256
	}
	many, tiny := upload(moduletest.ManyFunctions(99_989)), upload(tinyModule)
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 64))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		var tasks []api.TaskInfo
		for id, sha := range map[string]string{"many": many, "tiny": tiny} {
			ti := scheduler.WasmTask(id, id, agent, sha, nil, res)
			ti.Container.Wasm.Engine = sandbox.Wasmtime
			tasks = append(tasks, ti)
		}
		return tasks
	})
	for _, id := range []string{"many", "tiny"} {
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
		if st := f.last(id); st.State != api.TaskFinished {
			t.Errorf("%s ended %s %s (%s), want TASK_FINISHED", id, st.State, st.Reason, st.Message)
		}
	}
}
