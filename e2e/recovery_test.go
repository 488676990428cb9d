package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// agentProc is a `mezzo agent` process with its logs.
type agentProc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a process's writes and a test's
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startAgentOn starts `mezzo agent` on a given port and work directory.
func startAgentOn(t *testing.T, master, dir string, port int, args ...string) *agentProc {
	t.Helper()
	searchable(t, dir)
	cmd := exec.Command(mezzoBin, append([]string{"agent", "--master", master, "--port", strconv.Itoa(port), "--work-dir", dir, "--allow-native"}, args...)...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAgent(cmd) })
	return &agentProc{cmd: cmd, logs: logs}
}

// pidOf returns the PID of the live process whose command line is
// cmdline, or 0.
func pidOf(t *testing.T, cmdline string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")) != cmdline {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err != nil || strings.Contains(string(stat), ") Z ") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		return pid
	}
	return 0
}

// executorPID returns the PID of the executor process whose
// MESOS_EXECUTOR_ID is id, or 0.
func executorPID(t *testing.T, id string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || string(b) != mezzoBin+"\x00executor\x00" {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte("\x00MESOS_EXECUTOR_ID="+id+"\x00")) && !bytes.HasPrefix(env, []byte("MESOS_EXECUTOR_ID="+id+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err != nil || strings.Contains(string(stat), ") Z ") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		return pid
	}
	return 0
}

// framework runs a scheduler that launches tasks on the first offer and
// records every status update it receives.
type framework struct {
	client *scheduler.Client

	mu       sync.Mutex
	updates  []api.TaskStatus
	id       string
	launched bool // tasks were launched on an offer; the rest are declined
}

func startFramework(t *testing.T, master string, tasks func(agentID string) []api.TaskInfo) *framework {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := scheduler.New(scheduler.Config{Master: master, Framework: api.FrameworkInfo{Name: "recovery-test"}})
	f := &framework{client: client}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
			switch ev.Type {
			case api.EventSubscribed:
				f.mu.Lock()
				f.id = ev.Subscribed.FrameworkID.Value
				f.mu.Unlock()
			case api.EventOffers:
				for _, o := range ev.Offers.Offers {
					f.mu.Lock()
					launched := f.launched
					f.launched = true
					f.mu.Unlock()
					if launched {
						client.Decline(ctx, 3600, o.ID)
						continue
					}
					if err := client.Launch(ctx, o.ID, tasks(o.AgentID.Value)...); err != nil {
						t.Errorf("launch: %v", err)
					}
				}
			case api.EventUpdate:
				f.mu.Lock()
				f.updates = append(f.updates, ev.Update.Status)
				f.mu.Unlock()
			}
			return nil
		})
	}()
	return f
}

// launchAgain has the framework launch tasks on its next offer (calling
// its tasks function again).
func (f *framework) launchAgain(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	f.launched = false
	f.mu.Unlock()
	if err := f.client.Revive(context.Background()); err != nil {
		t.Fatalf("revive: %v", err)
	}
}

// states returns the states of the task's updates, leaving out the
// answers to reconciliation.
func (f *framework) states(task string) []api.TaskState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.TaskState
	for _, u := range f.updates {
		if u.TaskID.Value == task && u.Reason != api.ReasonReconciliation {
			out = append(out, u.State)
		}
	}
	return out
}

// distinct counts the task's updates in state by UUID: an update
// delivered more than once counts once.
func (f *framework) distinct(task string, state api.TaskState) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, u := range f.updates {
		if u.TaskID.Value == task && u.State == state && u.Reason != api.ReasonReconciliation {
			seen[string(u.UUID)] = true
		}
	}
	return len(seen)
}

// last returns the task's last update, leaving out reconciliation.
func (f *framework) last(task string) api.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.updates) - 1; i >= 0; i-- {
		if u := f.updates[i]; u.TaskID.Value == task && u.Reason != api.ReasonReconciliation {
			return u
		}
	}
	return api.TaskStatus{}
}

func (f *framework) frameworkID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.id
}

func count(states []api.TaskState, s api.TaskState) int {
	n := 0
	for _, x := range states {
		if x == s {
			n++
		}
	}
	return n
}

func terminalCount(states []api.TaskState) int {
	n := 0
	for _, x := range states {
		if x.IsTerminal() {
			n++
		}
	}
	return n
}

func uploadModule(t *testing.T, c *devCluster, pkg string) string {
	t.Helper()
	data, err := os.ReadFile(buildModule(t, pkg))
	if err != nil {
		t.Fatal(err)
	}
	status, body := c.post(t, "/api/v1/modules", "application/wasm", data)
	var m struct{ SHA256 string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("upload %s: %d %s", pkg, status, body)
	}
	return m.SHA256
}

// TestAgentKilledTasksKeepRunning kills a real agent with SIGKILL while a
// native task and a Wasm task run, and starts it again on the same port
// and work directory: the tasks' executors re-subscribe, the tasks keep
// running (the native one as the same process, in the same executor
// cgroup, while a dead executor's leftover cgroup is swept), finish after
// the restart, and each terminal update reaches the framework exactly
// once; nothing is launched twice.
func TestAgentKilledTasksKeepRunning(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	port := freePort(t)
	first := startAgentOn(t, c.addr, agentDir, port)
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	agentID := c.agentIDs(t)[0]
	sha := uploadModule(t, c, "./e2e/testdata/waitfile")

	const sleeper = "sleep 12.345"
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		return []api.TaskInfo{
			scheduler.CommandTask("native", "native", agent, "exec "+sleeper, res),
			scheduler.WasmTask("wasm", "wasm", agent, sha, []string{"/release"}, res),
		}
	})
	waitFor(t, func() bool {
		return count(f.states("native"), api.TaskRunning) == 1 && count(f.states("wasm"), api.TaskRunning) == 1
	}, "both tasks to run")
	// TASK_RUNNING comes once the process started, perhaps before the
	// shell has exec'd sleep.
	var pid int
	waitFor(t, func() bool { pid = pidOf(t, sleeper); return pid != 0 }, "a "+sleeper+" process")

	execCgroup, leftover := executorCgroupOf(t, pid), ""
	if execCgroup != "" {
		// What an executor that died with the agent would leave.
		leftover = filepath.Join(filepath.Dir(cgroupDir(execCgroup)), "executor-leftover")
		if err := os.Mkdir(leftover, 0o755); err != nil {
			t.Fatal(err)
		}
	} else if os.Geteuid() == 0 {
		t.Errorf("running as root, but the native task %d runs in no executor cgroup (%s)", pid, memoryCgroup(t, pid))
	}

	first.cmd.Process.Kill()
	first.cmd.Wait()
	if pidOf(t, sleeper) != pid {
		t.Fatalf("the native task's process died with the agent")
	}
	second := startAgentOn(t, c.addr, agentDir, port)
	// Both tasks run in the framework's shared executor.
	waitFor(t, func() bool {
		return strings.Count(second.logs.String(), "executor subscribed") == 1
	}, "the shared executor to re-subscribe; agent logs:\n"+second.logs.String())
	waitFor(t, func() bool {
		stdout, _, _ := c.mezzo(t, "agents")
		return strings.Count(stdout, "ACTIVE") == 1 && strings.Contains(stdout, agentID)
	}, "the agent to re-register as "+agentID)
	if got := pidOf(t, sleeper); got != pid {
		t.Fatalf("after the restart the native task runs as pid %d, want %d (the same process)", got, pid)
	}
	if execCgroup != "" {
		if got := executorCgroupOf(t, pid); got != execCgroup {
			t.Errorf("after the restart the native task runs in executor cgroup %q, want %q", got, execCgroup)
		}
		if _, err := os.Stat(cgroupDir(execCgroup)); err != nil {
			t.Errorf("the executor's cgroup is gone after the restart: %v", err)
		}
		if _, err := os.Stat(leftover); !os.IsNotExist(err) {
			t.Errorf("the leftover executor cgroup %s was not swept: %v", leftover, err)
		}
	}

	sandbox := filepath.Join(agentDir, "sandboxes", sandboxLabel(t, f.last("wasm")))
	if err := os.WriteFile(filepath.Join(sandbox, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.last("wasm").State.IsTerminal() }, "the Wasm task to end")
	deadline := time.Now().Add(30 * time.Second)
	for !f.last("native").State.IsTerminal() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show up
	for _, task := range []string{"native", "wasm"} {
		states := f.states(task)
		if last := f.last(task); last.State != api.TaskFinished {
			t.Errorf("task %s ended %s (%s %s), want TASK_FINISHED; updates %v", task, last.State, last.Reason, last.Message, states)
		}
		if n := terminalCount(states); n != 1 {
			t.Errorf("task %s: %d terminal updates (%v), want exactly 1", task, n, states)
		}
		// TASK_RUNNING, not TASK_STARTING, which a native task and a
		// cached module's skip: a task started twice would report it
		// twice, under two UUIDs (an update delivered again, as
		// at-least-once allows, keeps its UUID).
		if n := f.distinct(task, api.TaskRunning); n != 1 {
			t.Errorf("task %s started %d times (%v), want once", task, n, states)
		}
		runs, _ := filepath.Glob(filepath.Join(agentDir, "sandboxes", f.frameworkID(), "*", "runs", "*-*", "tasks", task))
		if len(runs) != 1 {
			t.Errorf("task %s has sandboxes %v, want exactly one", task, runs)
		}
	}
	seen := map[string]int{}
	tasks := c.tasks(t)
	for _, list := range [][]api.Task{tasks.Tasks, tasks.CompletedTasks} {
		for _, task := range list {
			seen[task.TaskID.Value]++
		}
	}
	if seen["native"] != 1 || seen["wasm"] != 1 {
		t.Errorf("GET_TASKS lists %v, want each task once", seen)
	}
	if n := strings.Count(first.logs.String()+second.logs.String(), "started executor"); n != 1 {
		t.Errorf("%d executors started, want the framework's one shared executor; logs:\n%s\n---\n%s", n, first.logs, second.logs)
	}
}

// TestExecutorKilled kills a framework's shared executor with SIGKILL
// while it runs a native and a Wasm task: both fail with
// REASON_EXECUTOR_TERMINATED, the native task's process is gone, and the
// framework's next task gets a new executor.
func TestExecutorKilled(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agent := startAgentOn(t, c.addr, t.TempDir(), freePort(t))
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	sha := uploadModule(t, c, "./e2e/testdata/waitfile")
	// Far longer than the test: the Wasm task's module may take many
	// seconds to compile on a loaded machine, and a sleeper that ended
	// before both tasks were seen running would end TASK_FINISHED before
	// the kill (what a CI run under load saw).
	const sleeper = "sleep 613.579"
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	launches := 0
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		launches++
		if launches > 1 {
			return []api.TaskInfo{scheduler.CommandTask("after", "after", agent, "true", res)}
		}
		return []api.TaskInfo{
			scheduler.CommandTask("doomed", "doomed", agent, "exec "+sleeper, res),
			scheduler.WasmTask("doomed-wasm", "doomed-wasm", agent, sha, []string{"/never"}, res),
		}
	})
	waitFor(t, func() bool {
		return count(f.states("doomed"), api.TaskRunning) == 1 && count(f.states("doomed-wasm"), api.TaskRunning) == 1
	}, "the tasks to run")
	exec := f.last("doomed").ExecutorID
	if exec == nil || f.last("doomed-wasm").ExecutorID == nil || f.last("doomed-wasm").ExecutorID.Value != exec.Value {
		t.Fatalf("the tasks run in executors %v and %v, want one shared executor", exec, f.last("doomed-wasm").ExecutorID)
	}
	pid := executorPID(t, exec.Value)
	if pid == 0 {
		t.Fatal("no executor process for the tasks")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The executor must be gone before its tasks' fate is read; if it
	// ever outlives the signal, what it is doing is what to look at.
	for deadline := time.Now().Add(30 * time.Second); ; {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or dead and not yet reaped
		}
		if time.Now().After(deadline) {
			wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
			stack, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stack", pid))
			t.Fatalf("executor %d outlived SIGKILL by 30 s: stat %s; wchan %s; stack:\n%s\nagent logs:\n%s", pid, stat, wchan, stack, agent.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"doomed", "doomed-wasm"} {
		waitFor(t, func() bool { return f.last(id).State.IsTerminal() }, id+" to end")
		if st := f.last(id); st.State != api.TaskFailed || st.Reason != api.ReasonExecutorTerminated {
			t.Fatalf("%s ended %s %s (%s), want TASK_FAILED REASON_EXECUTOR_TERMINATED; killed pid %d; agent logs:\n%s",
				id, st.State, st.Reason, st.Message, pid, agent.logs)
		}
	}
	waitFor(t, func() bool { return !processRunning(t, sleeper) }, "the task's process to be gone")
	f.launchAgain(t)
	waitFor(t, func() bool { return f.last("after").State.IsTerminal() }, "the next task to end")
	if st := f.last("after"); st.State != api.TaskFinished || st.ExecutorID == nil || st.ExecutorID.Value == exec.Value {
		t.Fatalf("the next task ended %s (%s) in executor %v, want TASK_FINISHED in a new executor", st.State, st.Message, st.ExecutorID)
	}
}

// sandboxLabel is the task's sandbox as its update names it
// (api.SandboxLabel), relative to the agent's sandboxes directory.
func sandboxLabel(t *testing.T, st api.TaskStatus) string {
	t.Helper()
	if st.Labels != nil {
		for _, l := range st.Labels.Labels {
			if l.Key == api.SandboxLabel {
				return filepath.FromSlash(strings.TrimPrefix(l.Value, "/"))
			}
		}
	}
	t.Fatalf("the update of %s (%s) names no sandbox", st.TaskID.Value, st.State)
	return ""
}

// TestAgentRecoverCleanup restarts a killed agent with --recover=cleanup:
// the executor it left is killed, with its task's process, and the task
// fails with REASON_EXECUTOR_TERMINATED.
func TestAgentRecoverCleanup(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agentDir := t.TempDir()
	port := freePort(t)
	first := startAgentOn(t, c.addr, agentDir, port)
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	const sleeper = "sleep 14.321"
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		return []api.TaskInfo{scheduler.CommandTask("cleaned", "cleaned", agent, "exec "+sleeper, res)}
	})
	waitFor(t, func() bool { return count(f.states("cleaned"), api.TaskRunning) == 1 }, "the task to run")
	first.cmd.Process.Kill()
	first.cmd.Wait()
	startAgentOn(t, c.addr, agentDir, port, "--recover", "cleanup")
	waitFor(t, func() bool { return f.last("cleaned").State.IsTerminal() }, "the task to end")
	if st := f.last("cleaned"); st.State != api.TaskFailed || st.Reason != api.ReasonExecutorTerminated {
		t.Fatalf("task ended %s %s (%s), want TASK_FAILED REASON_EXECUTOR_TERMINATED", st.State, st.Reason, st.Message)
	}
	waitFor(t, func() bool { return !processRunning(t, sleeper) }, "the task's process to be gone")
}
