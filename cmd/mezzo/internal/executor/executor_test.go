package executor_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/cmd/mezzo/internal/executor"
	"github.com/mezzo-cluster/mezzo/sandbox"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

func TestMain(m *testing.M) {
	if sandbox.IsInit(os.Args) { // native tasks under rlimits start as this binary
		sandbox.Init(os.Args, os.Environ())
	}
	dir, err := os.MkdirTemp("", "mezzo-executor-test-")
	if err != nil {
		panic(err)
	}
	shared.modulesDir = filepath.Join(dir, "modules")
	shared.cacheDir = filepath.Join(dir, "cache")
	os.Mkdir(shared.modulesDir, 0o755)
	code := m.Run()
	if code == 0 {
		if err := checkLeaks(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func skipUnlessLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process groups are checked through /proc")
	}
}

func TestNativeTaskFinishes(t *testing.T) {
	h := start(t, executortest.Options{})
	h.agent.Launch(shell("t1", `echo "$MESOS_TASK_ID $MEZZO_AGENT_ID $MESOS_EXECUTOR_ID $PWD"`))
	st := h.terminal("t1")
	if got := h.states("t1"); got != "[TASK_RUNNING TASK_FINISHED]" {
		t.Errorf("states = %s", got)
	}
	if st.Message != "Command exited with status 0" || label(st, "mezzo.exit_code") != "0" {
		t.Errorf("terminal update %q with exit code label %q", st.Message, label(st, "mezzo.exit_code"))
	}
	if st.ContainerStatus == nil || st.ContainerStatus.ContainerID == nil || st.ContainerStatus.ContainerID.Value != "container-1" {
		t.Errorf("terminal update names container %+v, want the executor's", st.ContainerStatus)
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v, want nil once the task ended and its updates were acknowledged", err)
	}
	want := "t1 agent-1 ex-1 " + h.sandbox + "\n"
	if got := readFile(filepath.Join(h.sandbox, "stdout")); got != want {
		t.Errorf("stdout = %q, want %q (the task runs in the executor's sandbox)", got, want)
	}
}

func TestNativeTaskFails(t *testing.T) {
	h := start(t, executortest.Options{})
	h.agent.Launch(shell("t1", "exit 3"))
	st := h.terminal("t1")
	if st.State != api.TaskFailed || st.Message != "Command exited with status 3" || label(st, "mezzo.exit_code") != "3" {
		t.Errorf("terminal update %s %q, exit code label %q", st.State, st.Message, label(st, "mezzo.exit_code"))
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestNativeTaskSignaled runs native tasks that a signal ends: each
// fails with Mesos's message naming the signal and carries its number in
// the label mezzo.signal, and no exit code, which it does not have.
func TestNativeTaskSignaled(t *testing.T) {
	skipUnlessLinux(t)
	for _, tt := range []struct {
		name, script, msg, signal string
	}{
		{"SIGSEGV", "kill -SEGV $$", "Command terminated with signal Segmentation fault", "11"},
		{"SIGTERM", "kill -TERM $$", "Command terminated with signal Terminated", "15"},
		{"SIGKILL", "kill -KILL $$", "Command terminated with signal Killed", "9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, executortest.Options{})
			h.agent.Launch(shell("t1", tt.script))
			st := h.terminal("t1")
			if st.State != api.TaskFailed || st.Message != tt.msg {
				t.Errorf("terminal update %s %q, want TASK_FAILED %q", st.State, st.Message, tt.msg)
			}
			if got := label(st, api.SignalLabel); got != tt.signal {
				t.Errorf("signal label %q, want %q", got, tt.signal)
			}
			if got := label(st, api.ExitCodeLabel); got != "" {
				t.Errorf("exit code label %q from a task a signal ended", got)
			}
			if err := h.result(); err != nil {
				t.Fatalf("Run = %v", err)
			}
		})
	}
}

// requireCgroups skips a test of native tasks' cgroups where they cannot
// be (not Linux, not root) and fails it where they should be and are not
// (root on Linux, as CI runs); it returns the cgroup version.
func requireCgroups(t *testing.T) string {
	t.Helper()
	skipUnlessLinux(t)
	if os.Geteuid() != 0 {
		t.Skip("native tasks' cgroups need root")
	}
	v, err := sandbox.CgroupsAvailable()
	if err != nil {
		t.Fatalf("running as root, but: %v", err)
	}
	t.Logf("cgroup %s", v)
	return v
}

// TestNativeTaskOverMemory runs a native task past its mem resource: its
// cgroup's OOM kill fails it with REASON_CONTAINER_LIMITATION_MEMORY,
// and its update carries the SIGKILL that ended it.
func TestNativeTaskOverMemory(t *testing.T) {
	requireCgroups(t)
	h := start(t, executortest.Options{})
	task := shell("hog", "exec tail /dev/zero") // tail keeps the unending line
	task.Resources = []api.Resource{{Name: "mem", Type: api.SCALAR, Scalar: &api.Scalar{Value: 32}}}
	h.agent.Launch(task)
	st := h.terminal("hog")
	if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLimitationMemory {
		t.Errorf("terminal update %s %s %q, want TASK_FAILED REASON_CONTAINER_LIMITATION_MEMORY", st.State, st.Reason, st.Message)
	}
	if !strings.Contains(st.Message, "Memory limit exceeded") || !strings.Contains(st.Message, "32 MiB") {
		t.Errorf("message %q", st.Message)
	}
	if got := label(st, api.SignalLabel); got != "9" {
		t.Errorf("signal label %q, want 9 (SIGKILL, the OOM killer's)", got)
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestNativeSpareCgroup runs native tasks one after another in a shared
// executor on cgroup v1: after the first starts, the executor makes the
// next task's cgroup ahead (sandbox.CgroupSpares), the second task runs
// in it, and the executor leaves no cgroup behind when it exits.
func TestNativeSpareCgroup(t *testing.T) {
	if v := requireCgroups(t); v != "v1" {
		t.Skipf("spare cgroups are made on cgroup v1 only; this is %s", v)
	}
	parent := "mezzo-test-spare-" + strconv.Itoa(os.Getpid())
	// The parent is made in each v1 hierarchy below this process's own
	// cgroup there; the memory one is looked in.
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	for line := range strings.Lines(string(b)) {
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) < 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			d := filepath.Join("/sys/fs/cgroup", c, f[2], parent)
			t.Cleanup(func() { os.Remove(d) })
			if c == "memory" {
				dir = d
			}
		}
	}
	cgroups := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "task-*"))
		return m
	}
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.Shared, c.CgroupParent = true, parent })
	h.agent.Launch(shell("one", "true"))
	h.terminal("one")
	h.wait("a spare cgroup", func() bool { return len(cgroups()) == 1 })
	spare := filepath.Base(cgroups()[0])
	h.agent.Launch(shell("two", "grep memory /proc/self/cgroup"))
	if st := h.terminal("two"); st.State != api.TaskFinished {
		t.Fatalf("two ended %s: %s", st.State, st.Message)
	}
	if out := readFile(filepath.Join(h.sandbox, "tasks", "two", "stdout")); !strings.Contains(out, parent+"/"+spare+"\n") {
		t.Errorf("the second task ran in %q, not in the spare %s", out, spare)
	}
	h.agent.Shutdown()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if left := cgroups(); len(left) > 0 {
		t.Errorf("cgroups left after the executor exited: %v", left)
	}
}

// TestNativeTaskUnderRlimits forces the fallback for machines without
// cgroups: a native task over its mem resource fails with
// REASON_CONTAINER_LIMITATION_MEMORY and a message that names the
// rlimit, and one within it finishes. The cap is 1 GiB: without a
// cgroup a task's peak memory, and so a failure at its cap, is known
// only above the resident memory of the process that started it, here
// this test binary under the race detector (see
// sandbox.Usage.PeakMemoryBytes).
func TestNativeTaskUnderRlimits(t *testing.T) {
	skipUnlessLinux(t)
	tests := []struct {
		name   string
		script string
		state  api.TaskState
		reason api.StatusReason
		msg    []string
	}{
		{"over its cap", "exec tail /dev/zero", api.TaskFailed, api.ReasonContainerLimitationMemory,
			[]string{"Memory limit exceeded", "1024 MiB", "RLIMIT_DATA"}},
		{"under its cap", "head -c 8m /dev/zero | tail -c 1 >/dev/null", api.TaskFinished, "",
			[]string{"Command exited with status 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, executortest.Options{}, func(c *executor.Config) { c.NativeIsolation = sandbox.IsolationRlimits })
			task := shell("t", tt.script)
			task.Resources = []api.Resource{{Name: "mem", Type: api.SCALAR, Scalar: &api.Scalar{Value: 1024}}}
			h.agent.Launch(task)
			st := h.terminal("t")
			if st.State != tt.state || st.Reason != tt.reason {
				t.Errorf("terminal update %s %s %q, want %s %s", st.State, st.Reason, st.Message, tt.state, tt.reason)
			}
			for _, m := range tt.msg {
				if !strings.Contains(st.Message, m) {
					t.Errorf("message %q does not contain %q", st.Message, m)
				}
			}
			if peak, _ := strconv.ParseUint(label(st, api.PeakMemoryLabel), 10, 64); tt.state == api.TaskFailed && peak < 960<<20 {
				t.Errorf("peak memory label %q, want about the cap, from the task's exit status", label(st, api.PeakMemoryLabel))
			}
			if err := h.result(); err != nil {
				t.Fatalf("Run = %v", err)
			}
		})
	}
}

// missingImportWasm is sandbox/testdata/missing_import.wat's shape: a
// _start that imports env.f, which no engine provides, so the module
// compiles and every start of it fails.
var missingImportWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
	0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00, // import env.f
	0x03, 0x02, 0x01, 0x00, // func 1 of type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x01, // export _start
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // its body: end
}

// TestLaunchFailures launches tasks that cannot start: each ends
// TASK_FAILED with REASON_CONTAINER_LAUNCH_FAILED and a message saying
// why, and none is ever reported TASK_RUNNING, since it never ran.
func TestLaunchFailures(t *testing.T) {
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "not-executable")
	notAProgram := filepath.Join(dir, "not-a-program")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notAProgram, []byte("no shebang, no ELF\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(missingImportWasm)
	missingImport := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(shared.modulesDir, missingImport+".wasm"), missingImportWasm, 0o644); err != nil {
		t.Fatal(err)
	}
	native := func(id, path string) api.TaskInfo {
		task := shell(id, path)
		task.Command.Shell = api.Ptr(false)
		return task
	}
	for _, tt := range []struct {
		name   string
		task   api.TaskInfo
		states string // a native task's start is quick: no TASK_STARTING
		msg    string
	}{
		{"missing executable", native("no-such-program", "/no/such/program"), "[TASK_FAILED]", "/no/such/program"},
		{"exec refused: not executable", native("not-executable", notExecutable), "[TASK_FAILED]", "permission denied"},
		{"exec refused: not a program", native("not-a-program", notAProgram), "[TASK_FAILED]", "exec format error"},
		{"missing module", wasmTask("no-such-module", strings.Repeat("ab", 32)), "[TASK_STARTING TASK_FAILED]", "ababab"},
		{"bad module hash", wasmTask("bad-hash", "../../etc/passwd"), "[TASK_STARTING TASK_FAILED]", "passwd"},
		{"missing import", wasmTask("missing-import", missingImport), "[TASK_STARTING TASK_FAILED]", "env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, executortest.Options{})
			id := tt.task.TaskID.Value
			h.agent.Launch(tt.task)
			st := h.terminal(id)
			if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLaunchFailed || !strings.Contains(st.Message, tt.msg) {
				t.Errorf("%s %s %q, want TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED saying %q", st.State, st.Reason, st.Message, tt.msg)
			}
			if got := h.states(id); got != tt.states {
				t.Errorf("states = %s, want %s", got, tt.states)
			}
			if label(st, "mezzo.exit_code") != "" {
				t.Error("a task that never ran has an exit code")
			}
			if err := h.result(); err != nil {
				t.Fatalf("Run = %v", err)
			}
		})
	}
}

func TestWasmTask(t *testing.T) {
	sha := hello(t)
	h := start(t, executortest.Options{})
	task := wasmTask("w1", sha, "world")
	task.Container.Wasm.Environment = &api.Environment{Variables: []api.EnvironmentVariable{{Name: "GREETING", Value: "hi"}}}
	h.agent.Launch(task)
	st := h.terminal("w1")
	if got := h.states("w1"); got != "[TASK_STARTING TASK_RUNNING TASK_FINISHED]" {
		t.Errorf("states = %s (last message %q)", got, st.Message)
	}
	if label(st, "mezzo.exit_code") != "0" {
		t.Errorf("exit code label = %q", label(st, "mezzo.exit_code"))
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := readFile(filepath.Join(h.sandbox, "stdout")); got != "hi world\n" {
		t.Errorf("stdout = %q, want %q", got, "hi world\n")
	}
}

// killingState is an agent whose framework has TASK_KILLING_STATE, so that
// a kill's start shows as TASK_KILLING.
func killingState() executortest.Options {
	return executortest.Options{Subscribed: &api.ExecutorSubscribed{
		FrameworkInfo: api.FrameworkInfo{User: "u", Name: "n", ID: &api.FrameworkID{Value: "fw-1"},
			Capabilities: []api.FrameworkCapability{{Type: api.CapTaskKillingState}}},
		AgentInfo: api.AgentInfo{Hostname: "localhost", ID: &api.AgentID{Value: "agent-1"}},
	}}
}

func TestKill(t *testing.T) {
	skipUnlessLinux(t)
	for _, tt := range []struct {
		name string
		opts executortest.Options
		want string
	}{
		{"with TASK_KILLING_STATE", killingState(), "[TASK_RUNNING TASK_KILLING TASK_KILLED]"},
		{"without", executortest.Options{}, "[TASK_RUNNING TASK_KILLED]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.opts)
			// The shell ignores SIGTERM, so only the SIGKILL after the
			// grace period ends the group.
			h.agent.Launch(shell("t1", `trap "" TERM; echo $$ > pid; sleep 300 & sleep 300 & wait`))
			pgid := h.pgid(h.sandbox)
			h.running("t1")
			began := time.Now()
			h.agent.Kill("t1", grace(200*time.Millisecond))
			st := h.terminal("t1")
			if got := h.states("t1"); got != tt.want {
				t.Errorf("states = %s, want %s", got, tt.want)
			}
			// SIGTERM was ignored: the SIGKILL after the grace period
			// ended the task, and its update says so.
			if want := "Task killed: Command terminated with signal Killed"; st.Message != want {
				t.Errorf("message = %q, want %q", st.Message, want)
			}
			if got := label(st, api.SignalLabel); got != "9" {
				t.Errorf("signal label %q, want 9", got)
			}
			if took := time.Since(began); took < 150*time.Millisecond {
				t.Errorf("killed after %v, before the grace period", took)
			}
			h.waitGroupGone(pgid)
			if err := h.result(); err != nil {
				t.Fatalf("Run = %v", err)
			}
		})
	}
}

// TestKillShortensGrace kills a task that ignores SIGTERM with an hour's
// grace, then ends it sooner: a KILL with no grace, a SHUTDOWN (whose
// kills have half the shutdown grace period), or the executor's own end
// (which kills what is left at once). Each must shorten the hour, as
// Mesos does when a later kill's policy is shorter; the test's deadline
// of 20 s bounds the waits and times nothing.
func TestKillShortensGrace(t *testing.T) {
	skipUnlessLinux(t)
	for _, tt := range []struct {
		name   string
		then   func(h *harness)
		killed bool // the task reports TASK_KILLED (an executor that is ending reports nothing)
	}{
		{"KILL with no grace", func(h *harness) { h.agent.Kill("t1", grace(0)) }, true},
		{"SHUTDOWN", func(h *harness) { h.agent.Shutdown() }, true},
		{"the executor ends", func(h *harness) { h.cancel() }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, killingState(), func(c *executor.Config) { c.Client.ShutdownGracePeriod = 2 * time.Second })
			h.agent.Launch(shell("t1", `trap "" TERM; echo $$ > pid; sleep 300 & sleep 300 & wait`))
			pgid := h.pgid(h.sandbox)
			h.running("t1")
			h.agent.Kill("t1", grace(time.Hour))
			// TASK_KILLING says the hour's kill is under way.
			h.wait("TASK_KILLING", func() bool { return slices.Contains(h.agent.States("t1"), api.TaskKilling) })
			tt.then(h)
			if err := h.result(); err != nil {
				t.Fatalf("Run = %v", err)
			}
			const want = "[TASK_RUNNING TASK_KILLING TASK_KILLED]"
			if got := h.states("t1"); tt.killed && got != want {
				t.Errorf("states = %s, want %s", got, want)
			}
			h.waitGroupGone(pgid)
		})
	}
}

// TestKillDuringLaunch kills native tasks right after launching them:
// each ends TASK_KILLED, either before it was reported running (before
// its start, with REASON_TASK_KILLED_DURING_LAUNCH, or during it) or
// after its TASK_RUNNING; never with TASK_STARTING, which a native task
// skips.
func TestKillDuringLaunch(t *testing.T) {
	skipUnlessLinux(t)
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.Shared = true })
	ids := []string{"k1", "k2", "k3", "k4", "k5"}
	for _, id := range ids {
		h.agent.Launch(shell(id, "exec sleep 300"))
		h.agent.Kill(id, grace(0))
	}
	const killedMsg = "Task killed: Command terminated with signal Killed" // no grace: SIGKILL at once
	for _, id := range ids {
		st := h.terminal(id)
		switch got := h.states(id); {
		case got == "[TASK_KILLED]" && st.Reason == api.ReasonTaskKilledDuringLaunch:
		case got == "[TASK_KILLED]" && st.Message == killedMsg: // killed as it started
		case got == "[TASK_RUNNING TASK_KILLED]" && st.Message == killedMsg:
		default:
			t.Errorf("%s went through %s, ending %s %q", id, got, st.Reason, st.Message)
		}
	}
	h.agent.Shutdown()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestGroupFailureKillsSiblings(t *testing.T) {
	skipUnlessLinux(t)
	h := start(t, executortest.Options{})
	h.agent.LaunchGroup(
		shell("a", "while [ ! -f ../b/pid ]; do sleep 0.01; done; exit 3"),
		shell("b", "echo $$ > pid; sleep 300"),
	)
	bdir := filepath.Join(h.sandbox, "tasks", "b")
	pgid := h.pgid(bdir)
	if a := h.terminal("a"); a.State != api.TaskFailed {
		t.Errorf("a ended %s, want TASK_FAILED", a.State)
	}
	if b := h.terminal("b"); b.State != api.TaskKilled {
		t.Errorf("b ended %s %q, want TASK_KILLED", b.State, b.Message)
	}
	h.waitGroupGone(pgid)
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.sandbox, "tasks", "a", "stdout")); err != nil {
		t.Errorf("group member a did not run in tasks/a: %v", err)
	}
}

func TestKillGroupMemberKillsGroup(t *testing.T) {
	h := start(t, executortest.Options{})
	h.agent.LaunchGroup(shell("a", "sleep 300"), shell("b", "sleep 300"))
	h.running("a", "b")
	h.agent.Kill("a", grace(0))
	for _, id := range []string{"a", "b"} {
		if st := h.terminal(id); st.State != api.TaskKilled {
			t.Errorf("%s ended %s, want TASK_KILLED", id, st.State)
		}
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestShutdown(t *testing.T) {
	skipUnlessLinux(t)
	const gracePeriod = 3 * time.Second
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.Client.ShutdownGracePeriod = gracePeriod })
	h.agent.Launch(shell("t1", "echo $$ > pid; sleep 300"))
	h.agent.Launch(shell("t2", "echo $$ > pid; sleep 300"))
	pgids := []int{h.pgid(h.sandbox), h.pgid(filepath.Join(h.sandbox, "tasks", "t2"))}
	h.running("t1", "t2")
	began := time.Now()
	h.agent.Shutdown()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if took := time.Since(began); took >= gracePeriod {
		t.Errorf("the executor took %v to exit, past its grace period %v", took, gracePeriod)
	}
	for _, id := range []string{"t1", "t2"} {
		if got := h.states(id); got != "[TASK_RUNNING TASK_KILLED]" {
			t.Errorf("%s went through %s", id, got)
		}
	}
	for _, pgid := range pgids {
		h.waitGroupGone(pgid)
	}
}

func TestShutdownWithoutTasks(t *testing.T) {
	h := start(t, executortest.Options{})
	h.agent.Shutdown()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// TestAgentGoesAway drops the agent's stream while a task runs: the task
// keeps running, the executor re-subscribes listing it, and its terminal
// update, made while the agent was down, arrives when the agent is back.
func TestAgentGoesAway(t *testing.T) {
	h := start(t, executortest.Options{})
	h.agent.Launch(shell("t1", "echo started > mark; while [ ! -f go ]; do sleep 0.01; done; touch done; exit 0"))
	h.running("t1")

	h.agent.Drop()
	h.wait("a second subscription", func() bool { return len(h.agent.Subscriptions()) == 2 && h.agent.Connected() })
	sub := h.agent.Subscriptions()[1]
	if len(sub.UnacknowledgedTasks) != 1 || sub.UnacknowledgedTasks[0].TaskID.Value != "t1" {
		t.Errorf("re-subscription lists tasks %+v, want t1", sub.UnacknowledgedTasks)
	}
	if len(sub.UnacknowledgedUpdates) != 0 {
		t.Errorf("re-subscription lists updates %+v; all were acknowledged", sub.UnacknowledgedUpdates)
	}

	h.agent.SetDown(true)
	if err := os.WriteFile(filepath.Join(h.sandbox, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Let the task end while the agent is down.
	h.wait("the task to end", func() bool { return fileExists(filepath.Join(h.sandbox, "done")) })
	time.Sleep(100 * time.Millisecond)
	if got := h.states("t1"); got != "[TASK_RUNNING]" {
		t.Fatalf("the agent got %s while it was down", got)
	}
	h.agent.SetDown(false)
	st := h.terminal("t1")
	if st.State != api.TaskFinished {
		t.Errorf("t1 ended %s %q", st.State, st.Message)
	}
	// The update was made while the agent was down, so it normally comes
	// listed in the SUBSCRIBE after the outage (or, on a slow machine,
	// by UPDATE just after it).
	subs := h.agent.Subscriptions()
	last := subs[len(subs)-1]
	if n := len(last.UnacknowledgedUpdates); n > 1 || n == 1 && last.UnacknowledgedUpdates[0].Status.State != api.TaskFinished {
		t.Errorf("the subscription after the outage lists updates %+v, want TASK_FINISHED", last.UnacknowledgedUpdates)
	}
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := readFile(filepath.Join(h.sandbox, "mark")); got != "started\n" {
		t.Errorf("the task ran more than once or not at all: mark = %q", got)
	}
}

// TestAgentNeverComesBack checks that the executor gives up after its
// recovery timeout and kills its tasks.
func TestAgentNeverComesBack(t *testing.T) {
	skipUnlessLinux(t)
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.Client.RecoveryTimeout = 300 * time.Millisecond })
	h.agent.Launch(shell("t1", "echo $$ > pid; sleep 300"))
	pgid := h.pgid(h.sandbox)
	h.agent.SetDown(true)
	if err := h.result(); !errors.Is(err, sdk.ErrRecoveryTimeout) {
		t.Fatalf("Run = %v, want ErrRecoveryTimeout", err)
	}
	h.waitGroupGone(pgid)
}

func TestConfigValidate(t *testing.T) {
	cfg := executor.DefaultConfig()
	cfg.Client = sdk.Config{AgentEndpoint: "a:1", FrameworkID: "f", ExecutorID: "e"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Sandbox") {
		t.Errorf("Validate without a sandbox = %v, want an error naming Client.Sandbox", err)
	}
	cfg.Client.Sandbox = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	for _, p := range []string{"/mezzo/agent-1/executor-2", "mezzo"} {
		cfg.CgroupParent = p
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate with CgroupParent %q = %v", p, err)
		}
	}
	for _, p := range []string{"/", "../x", "a/../b", "a/"} {
		cfg.CgroupParent = p
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "CgroupParent") {
			t.Errorf("Validate with CgroupParent %q = %v, want an error naming it", p, err)
		}
	}
	cfg.CgroupParent = ""
	for _, iso := range []sandbox.Isolation{sandbox.IsolationAuto, sandbox.IsolationCgroups, sandbox.IsolationRlimits} {
		cfg.NativeIsolation = iso
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate with NativeIsolation %q = %v", iso, err)
		}
	}
	cfg.NativeIsolation = "auto" // ParseIsolation's spelling, not a value
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `NativeIsolation "auto"`) {
		t.Errorf("Validate with NativeIsolation %q = %v, want an error naming it", cfg.NativeIsolation, err)
	}
	cfg.NativeIsolation = ""
	cfg.DefaultKillGrace = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "DefaultKillGrace") {
		t.Errorf("Validate with a negative grace = %v", err)
	}
}

// TestSharedExecutor runs a framework's shared executor: every task runs
// in tasks/<task ID>, the executor outlives its tasks (a task launched
// after the first ones ended still runs), and SHUTDOWN ends it.
func TestSharedExecutor(t *testing.T) {
	sha := hello(t)
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.Shared = true })
	h.agent.Launch(wasmTask("w1", sha, "one"))
	h.agent.Launch(shell("t1", "echo native"))
	for _, id := range []string{"w1", "t1"} {
		if st := h.terminal(id); st.State != api.TaskFinished {
			t.Fatalf("%s ended %s: %s", id, st.State, st.Message)
		}
	}
	// Every update is acknowledged by now or soon: an unshared executor
	// would exit; this one must still take the next task.
	h.agent.Launch(wasmTask("w2", sha, "two"))
	if st := h.terminal("w2"); st.State != api.TaskFinished {
		t.Fatalf("w2 ended %s: %s", st.State, st.Message)
	}
	select {
	case err := <-h.done:
		h.done <- err
		t.Fatalf("the shared executor exited while idle: %v", err)
	default:
	}
	// A task of a module the executor has compiled starts at once: it
	// goes from TASK_STAGING straight to TASK_RUNNING. The first task
	// of the module reports TASK_STARTING first (it compiles the module);
	// a native task, a fork and an exec, does not.
	for id, want := range map[string]string{
		"w1": "[TASK_STARTING TASK_RUNNING TASK_FINISHED]",
		"t1": "[TASK_RUNNING TASK_FINISHED]",
		"w2": "[TASK_RUNNING TASK_FINISHED]",
	} {
		if got := h.states(id); got != want {
			t.Errorf("%s: states = %s, want %s", id, got, want)
		}
	}
	for id, want := range map[string]string{"w1": "hello one\n", "t1": "native\n", "w2": "hello two\n"} {
		if got := readFile(filepath.Join(h.sandbox, "tasks", id, "stdout")); got != want {
			t.Errorf("tasks/%s/stdout = %q, want %q", id, got, want)
		}
	}
	if fileExists(filepath.Join(h.sandbox, "stdout")) {
		t.Error("a task ran in the shared executor's own sandbox")
	}
	h.agent.Shutdown()
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v after SHUTDOWN", err)
	}
}

// TestLaunchPlacesAsTheAgentSays launches tasks alone with LAUNCHes
// that say where the agent placed them (api.ExecutorLaunch
// ExecutorSandbox): the first, which the agent placed in tasks/<task
// ID> because the task it gave the executor's sandbox failed before it
// was sent, runs there, not in the sandbox; the second runs in the
// sandbox, which the agent gave it; one of a LAUNCH that does not say
// follows the executor's own rule, and the sandbox being taken, runs in
// tasks/<task ID>.
func TestLaunchPlacesAsTheAgentSays(t *testing.T) {
	h := start(t, executortest.Options{})
	no, yes := false, true
	launches := []struct {
		id   string
		own  *bool
		want string // where its stdout goes, in the sandbox
	}{
		{id: "b", own: &no, want: "tasks/b/stdout"},
		{id: "c", own: &yes, want: "stdout"},
		{id: "d", want: "tasks/d/stdout"},
	}
	for _, l := range launches { // all at once: the executor exits when it has no task left
		ev := api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: shell(l.id, "echo "+l.id), ExecutorSandbox: l.own}}
		if err := h.agent.Send(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range launches {
		if st := h.terminal(l.id); st.State != api.TaskFinished {
			t.Fatalf("%s ended %s: %s", l.id, st.State, st.Message)
		}
		if got := readFile(filepath.Join(h.sandbox, filepath.FromSlash(l.want))); got != l.id+"\n" {
			t.Errorf("task %s: %s holds %q, want %q", l.id, l.want, got, l.id+"\n")
		}
	}
}

// TestUsage runs a task that burns CPU: the executor reports its usage
// while it runs, and its terminal update carries what it used in all.
func TestUsage(t *testing.T) {
	h := start(t, executortest.Options{}, func(c *executor.Config) { c.UsageInterval = 20 * time.Millisecond })
	task := shell("busy", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	task.Resources = []api.Resource{{Name: "mem", Type: api.SCALAR, Scalar: &api.Scalar{Value: 64}},
		{Name: "cpus", Type: api.SCALAR, Scalar: &api.Scalar{Value: 0.5}}}
	h.agent.Launch(task)
	st := h.terminal("busy")
	if st.State != api.TaskFinished {
		t.Fatalf("busy ended %s: %s", st.State, st.Message)
	}
	cpu, err := strconv.ParseFloat(label(st, api.CPUSecondsLabel), 64)
	if err != nil || cpu <= 0 {
		t.Errorf("terminal update's %s = %q, want the task's positive CPU time", api.CPUSecondsLabel, label(st, api.CPUSecondsLabel))
	}
	if label(st, api.ExitCodeLabel) != "0" {
		t.Errorf("the usage labels displaced the exit code label: %+v", st.Labels)
	}
	var reported *api.TaskUsage
	for _, u := range h.agent.Usage() {
		for i := range u.Tasks {
			if u.Tasks[i].TaskID.Value == "busy" {
				reported = &u.Tasks[i]
			}
		}
	}
	if reported == nil {
		t.Fatal("no usage reported while the task ran")
	}
	s := reported.Statistics
	if s.Timestamp <= 0 || s.CPUsUserTimeSecs == nil || s.CPUsLimit == nil || *s.CPUsLimit != 0.5 ||
		s.MemLimitBytes == nil || *s.MemLimitBytes != 64<<20 {
		t.Errorf("reported statistics %+v, want a timestamp, CPU time and the task's limits", s)
	}
}

// TestWasmFuel runs the hello module under wasmtime with and without
// Config.WasmFuel: only with it does the terminal update carry the fuel
// the task burnt (a Go program's start-up alone is well over 100,000
// units).
func TestWasmFuel(t *testing.T) {
	sha := hello(t)
	for _, fuel := range []bool{true, false} {
		t.Run(strconv.FormatBool(fuel), func(t *testing.T) {
			h := start(t, executortest.Options{}, func(c *executor.Config) { c.WasmFuel = fuel })
			task := wasmTask("w", sha, "fuel")
			task.Container.Wasm.Engine = "wasmtime"
			h.agent.Launch(task)
			st := h.terminal("w")
			if st.State != api.TaskFinished {
				t.Fatalf("w ended %s: %s", st.State, st.Message)
			}
			got := label(st, api.FuelLabel)
			if !fuel {
				if got != "" {
					t.Errorf("%s = %q without WasmFuel, want no label", api.FuelLabel, got)
				}
				return
			}
			if n, err := strconv.ParseUint(got, 10, 64); err != nil || n < 100_000 {
				t.Errorf("%s = %q, want the fuel of a Go program's run", api.FuelLabel, got)
			}
		})
	}
}
