package agent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// The agent is the blast wall for what an executor cannot stop
// in-process: a wazero task, which runs alone in its executor, whose CPU
// time goes on past its budget (a loop-free call tree that wazero cannot
// interrupt). See RATIONALE.md, "Why do wazero tasks get an executor of
// their own?".
const (
	// cpuGrace is how far past its budget a task alone in its executor
	// may run before the agent kills the executor: the executor stops a
	// task that it can stop well within it (wazero: milliseconds).
	cpuGrace = 250 * time.Millisecond
	// cpuWatchInterval is how often the agent reads the executor's CPU
	// time; a runaway is killed at most this long after cpuGrace.
	cpuWatchInterval = 50 * time.Millisecond
	// userHZ is the unit of CPU times in /proc/<pid>/stat, fixed at 100
	// per second by the kernel's user ABI whatever its own tick rate.
	userHZ = 100
)

// cpuBudget is a Wasm task's CPU-time budget; 0 means none.
func cpuBudget(ti api.TaskInfo) time.Duration {
	if !ti.IsWasm() || ti.Container.Wasm.Limits == nil {
		return 0
	}
	return time.Duration(float64(ti.Container.Wasm.Limits.CPUSeconds) * float64(time.Second))
}

// watchCPU starts watching the CPU time of t's executor, when t has a
// CPU budget and runs alone in an executor that is not shared (a task in
// a shared executor runs on wasmtime, which enforces the budget itself,
// and its executor's CPU time is not the task's). The executor's CPU time
// is counted from now, when t runs; once it exceeds the budget by
// cpuGrace the agent kills the executor and t fails with
// REASON_CONTAINER_LIMITATION. Should another task join t's executor (one
// a framework names), the executor's CPU time is no longer t's, and the
// watch ends: killing the executor would end the other task too, for t's
// budget. A custom executor's CPU time is never its task's. a.mu must be
// held.
func (a *Agent) watchCPU(r *executorRun, t *execTask) {
	budget := cpuBudget(t.info)
	if budget <= 0 || r.rec.Shared || r.rec.ExecutorInfo.Command != nil || len(r.allTasks) != 1 || a.stopping {
		return
	}
	pid, start := r.rec.PID, r.rec.StartTime
	base, ok := processCPU(pid)
	if !ok {
		a.log.Warn("cannot read an executor's CPU time: its task's CPU budget is left to the executor", "executor", r.key.executor, "pid", pid)
		return
	}
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		tick := time.NewTicker(cpuWatchInterval)
		defer tick.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-a.quit:
				return
			case <-tick.C:
			}
			used, ok := processCPU(pid)
			if !ok || !processAlive(pid, start) {
				return
			}
			used -= base
			if used <= budget+cpuGrace {
				continue
			}
			a.mu.Lock()
			live := r.tasks[t.info.TaskID.Value] == t
			if live && len(r.allTasks) != 1 {
				a.mu.Unlock()
				a.log.Warn("no longer watching a task's CPU budget: its executor runs another task", "executor", r.key.executor,
					"task", t.info.TaskID.Value, "budget", budget)
				return
			}
			if live {
				// Alone in its executor, the task used what the executor
				// used: more than its last report said.
				s := api.ResourceStatistics{}
				if t.stats != nil {
					s = *t.stats
				}
				s.CPUsUserTimeSecs, s.CPUsSystemTimeSecs = api.Ptr(api.Float64(used.Seconds())), nil
				t.stats = &s
				r.exitReason = api.ReasonContainerLimitation
				r.exitMsg = fmt.Sprintf("CPU time limit exceeded: the task used %v of CPU, past its budget of %v, and its executor could not stop it; the agent killed the executor",
					used.Round(time.Millisecond), budget)
			}
			a.mu.Unlock()
			if live {
				a.log.Warn("killing an executor whose task runs past its CPU budget", "executor", r.key.executor,
					"task", t.info.TaskID.Value, "cpu", used, "budget", budget)
				a.killExecutor(r)
			}
			return
		}
	}()
}

// processCPU returns the CPU time (user and system, all threads) a
// process has used, from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	// Fields 14 and 15 (utime, stime), counted from field 3 after the
	// command name.
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / userHZ, true
}
