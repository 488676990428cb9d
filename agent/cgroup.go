package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// Each executor process runs in a cgroup of its own, made by the agent
// before the executor runs anything and removed when it ends: the blast
// wall for what the executor cannot stop in-process (RATIONALE.md, "Why a
// cgroup per executor, above the task cgroups?"). Its memory cap is its
// tasks' memory plus overheads, raised before a task is launched and
// lowered after one ends. The figures are measured in RATIONALE.md.
const (
	// executorOverhead is what an executor needs besides its tasks: the
	// Go runtime, buffers for its tasks' output, the client's
	// connections, the engine. Custom executors get the same allowance,
	// plus their ExecutorInfo's own mem.
	executorOverhead = 64 << 20
	// wasmTaskOverhead is what a Wasm task needs besides its linear
	// memory: its instance (2.2 MB for a Go wasip1 module on wazero, 32
	// KB on wasmtime) and its WASI state and files.
	wasmTaskOverhead = 16 << 20
	// wazeroStackOverhead is what a wazero task may need besides: its
	// call stack, which wazero grows on the Go heap by doubling a slice.
	// The sandbox bounds it (RATIONALE.md, "Why does wazero code count
	// its own stack?"): a deep recursion that traps made the Go heap
	// allocate at most 2.5 MiB in all while it ran, and 12.8 MiB with
	// frames written to be five times larger than estimated (sandbox's
	// TestDeepRecursionMemory), and its executor's cgroup peaked at 9 MB
	// in all (e2e's TestDeepRecursion); without the bound an executor
	// peaked at 167 MB, and this allowance gets it OOM-killed.
	wazeroStackOverhead = 16 << 20
	// compileFactor times a module's size, or compilePerFunction times
	// its functions if more, is what compiling it may cost, once per
	// distinct module among an executor's tasks (compileCost): a 2.6 MB
	// Go wasip1 module (1,800 functions) peaked at 115 MB above the cached
	// run on wazero; a 400 KB module of 100,000 empty functions, which
	// module.DefaultLimits admits, peaked at 569 MB on wasmtime (298 MB
	// for 50,000: 5.4 KiB a function), and a cap sized by its bytes alone
	// got the shared executor OOM-killed with every task in it.
	compileFactor      = 64
	compilePerFunction = 8 << 10
	// idleModulesAllowance is room for the compiled code of the modules
	// a built-in executor keeps once no task runs them, for the next task
	// of the same module (cmd/mezzo/internal/executor: at most 8 MiB of
	// wasm, about 7× that in code). It stays in the cap of an executor
	// that has run a Wasm task: the code stays when the tasks end.
	idleModulesAllowance = 64 << 20
	// wasmDefaultMemory is the linear memory of a Wasm task with no
	// memory cap: WebAssembly's 4 GiB.
	wasmDefaultMemory = 4 << 30
	// cgroupDestroyTimeout bounds how long removing an executor's
	// cgroup waits for its processes to die.
	cgroupDestroyTimeout = 5 * time.Second
)

// taskNeed is what a task adds to its executor's cgroup.
type taskNeed struct {
	cpus   float64
	mem    uint64 // its memory cap, with wazero's second helping; 0 for a native task without one
	wasm   bool
	module string // a Wasm task's module, by SHA-256
}

// needOf is what a task adds to its executor's cgroup (execNeed).
func (a *Agent) needOf(ti api.TaskInfo) taskNeed {
	n := taskNeed{cpus: api.Resources(ti.Resources).ScalarValue("cpus"), mem: ti.MemoryBytes()}
	if ti.IsWasm() {
		n.wasm, n.module = true, ti.Container.Wasm.SHA256
		if n.mem == 0 {
			n.mem = wasmDefaultMemory
		}
		if a.engineOf(ti) == sandbox.Wazero {
			n.mem = 2*n.mem + wazeroStackOverhead
		}
	}
	return n
}

// execNeed adds up what an executor's tasks need of its cgroup as they
// come and go (Agent.mu guards it), so that sizing the cgroup costs the
// same whatever the number of tasks. limits says what the cgroup must
// enforce. The zero value is not usable: see newExecNeed.
//
// The memory cap is executorOverhead, plus the executor's own mem (its
// ExecutorInfo's resources), plus each task's memory cap
// (api.TaskInfo.MemoryBytes; 4 GiB for a Wasm task without one), plus for
// a Wasm task wasmTaskOverhead and, once per distinct module, what
// compiling it may cost (compileCost; and, from the first Wasm task
// on, idleModulesAllowance) — and on wazero the task's
// memory again, and wazeroStackOverhead: wazero keeps linear memory and
// the call stack on the Go heap and copies them when they grow, so old
// and new buffers live together for a while (the executor's soft memory
// limit, followMemoryLimit, keeps the rest of the garbage in check). A
// native task with no cap leaves the executor without one. The CPU
// weight is the executor's and its tasks' cpus.
type execNeed struct {
	own       uint64  // executorOverhead and the executor's own mem
	ownCPUs   float64 //
	mem       uint64  // the tasks' memory and per-task overheads
	cpus      float64
	unbounded int                   // native tasks without a cap
	modules   map[string]*moduleUse // the Wasm tasks' modules, by SHA-256
	compile   uint64                // the modules' compileCosts
	idle      uint64                // idleModulesAllowance once a Wasm task came
}

// moduleUse counts the tasks of an executor that run one module.
type moduleUse struct {
	tasks int
	cost  uint64 // what compiling the module may cost (compileCost); 0 until known
}

// compileCost is what compiling a module of size bytes with functions
// functions may take in memory.
func compileCost(bytes, functions uint64) uint64 {
	return max(compileFactor*bytes, compilePerFunction*functions)
}

// newExecNeed is the need of an executor with no tasks; info is its
// ExecutorInfo, whose resources are the executor's own.
func newExecNeed(info *api.ExecutorInfo) execNeed {
	res := api.Resources(info.Resources)
	return execNeed{
		own:     executorOverhead + uint64(max(res.ScalarValue("mem"), 0)*(1<<20)),
		ownCPUs: res.ScalarValue("cpus"),
		modules: map[string]*moduleUse{},
	}
}

func (n *execNeed) add(t taskNeed) {
	n.cpus += t.cpus
	switch {
	case t.wasm:
		n.mem += t.mem + wasmTaskOverhead
		n.idle = idleModulesAllowance
		m := n.modules[t.module]
		if m == nil {
			m = &moduleUse{}
			n.modules[t.module] = m
		}
		m.tasks++
	case t.mem == 0:
		n.unbounded++
	default:
		n.mem += t.mem
	}
}

func (n *execNeed) remove(t taskNeed) {
	n.cpus -= t.cpus
	switch {
	case t.wasm:
		n.mem -= t.mem + wasmTaskOverhead
		if m := n.modules[t.module]; m != nil {
			if m.tasks--; m.tasks <= 0 {
				n.compile -= m.cost
				delete(n.modules, t.module)
			}
		}
	case t.mem == 0:
		n.unbounded--
	default:
		n.mem -= t.mem
	}
}

// setModuleCost records what compiling a module the executor's tasks run
// may cost (compileCost), once it is known (fetched).
func (n *execNeed) setModuleCost(sha string, cost uint64) {
	if m := n.modules[sha]; m != nil {
		n.compile = n.compile - m.cost + cost
		m.cost = cost
	}
}

// limits is what the executor's cgroup must enforce now.
func (n *execNeed) limits() sandbox.ExecutorLimits {
	lim := sandbox.ExecutorLimits{CPUs: max(n.ownCPUs+n.cpus, 0)}
	if n.unbounded > 0 {
		return lim
	}
	lim.MemoryBytes = n.own + n.mem + n.compile + n.idle
	return lim
}

// cgroupParent is where an agent makes its executors' cgroups: one
// directory per work directory, so that agents sharing a machine (or a
// test process) never sweep each other's.
func cgroupParent(workDir string) string {
	abs, err := filepath.Abs(workDir)
	if err != nil {
		abs = workDir
	}
	sum := sha256.Sum256([]byte(abs))
	return sandbox.DefaultCgroupParent + "/agent-" + hex.EncodeToString(sum[:6])
}

// initCgroups decides, once, whether executors get cgroups, and logs why
// not when they do not.
func (a *Agent) initCgroups() {
	v, err := sandbox.CgroupsAvailable()
	if err != nil {
		a.log.Warn("executors run without cgroups: their memory is not capped", "err", err)
		return
	}
	a.cgParent = cgroupParent(a.cfg.WorkDir)
	a.log.Info("executors run in cgroups", "version", v, "parent", a.cgParent)
}

// newCgroup makes the cgroup r's process is to start in, sized for its
// tasks, or returns nil when executors get no cgroups.
func (a *Agent) newCgroup(r *executorRun) (*sandbox.ExecutorCgroup, error) {
	if a.cgParent == "" {
		return nil, nil
	}
	a.mu.Lock()
	lim := r.need.limits()
	a.mu.Unlock()
	cg, err := sandbox.NewExecutorCgroup(a.cgParent, "executor-"+r.rec.Container, lim)
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	r.cgMu.Lock()
	a.mu.Lock()
	r.cgHave = cg.Enforced(lim)
	a.mu.Unlock()
	r.cgMu.Unlock()
	return cg, nil
}

// dropCgroup removes the cgroup of an executor that did not start.
func (a *Agent) dropCgroup(cg *sandbox.ExecutorCgroup) {
	if cg == nil {
		return
	}
	if err := cg.Destroy(cgroupDestroyTimeout); err != nil {
		a.log.Error("remove the cgroup of an executor that did not start", "err", err)
	}
}

// cgroupLowerBy is how much lower than the cap in force a new cap must
// be to be written: a framework that runs one short task after another
// would otherwise have its executor's cap raised before each and lowered
// after, two writes to the cgroup (40–130 µs each here) on every launch.
// The executor keeps at most this much beyond what its tasks need.
const cgroupLowerBy = 64 << 20

// resizeCgroup brings r's cgroup to what its tasks need now: before a
// launch goes out (prepare) and after tasks end (queueResize); what the
// cgroup does not enforce (CPUs on v1) is never written. A cap is
// raised at once, lowered only by cgroupLowerBy or more, and only once
// the executor's memory fits under the new one, which
// it may not at once (the Go runtime returns freed memory lazily), so
// that lowering never makes the kernel reclaim at length or, on cgroup
// v2, kill; a later resize tries again. a.mu must not be held.
func (a *Agent) resizeCgroup(r *executorRun) {
	r.cgMu.Lock()
	defer r.cgMu.Unlock()
	a.mu.Lock()
	cg, exited := r.cg, r.exited
	want := r.need.limits()
	a.mu.Unlock()
	if cg == nil || exited {
		return
	}
	if want = cg.Enforced(want); want == r.cgHave {
		return
	}
	lowers := want.MemoryBytes != 0 && (r.cgHave.MemoryBytes == 0 || want.MemoryBytes < r.cgHave.MemoryBytes)
	if lowers && (r.cgHave.MemoryBytes != 0 && r.cgHave.MemoryBytes-want.MemoryBytes < cgroupLowerBy || cg.MemoryBytes() > want.MemoryBytes) {
		want.MemoryBytes = r.cgHave.MemoryBytes
		if want == r.cgHave {
			return
		}
	}
	if err := cg.SetLimits(want); err != nil {
		a.log.Warn("cannot resize an executor's cgroup", "executor", r.key.executor, "err", err)
		return
	}
	a.mu.Lock()
	r.cgHave = want
	a.mu.Unlock()
}

// queueResize resizes r's cgroup on a goroutine of its own, unless one
// is already waiting to: tasks that end together cost one resize. a.mu
// must be held.
func (a *Agent) queueResize(r *executorRun) {
	if r.cg == nil || a.stopping || !r.resizeQueued.CompareAndSwap(false, true) {
		return
	}
	a.execWG.Add(1)
	go func() {
		defer a.execWG.Done()
		r.resizeQueued.Store(false)
		a.resizeCgroup(r)
	}()
}

// oomKilled reports whether r's executor was killed by the kernel for
// want of memory in its cgroup. a.mu need not be held: r.cg is set
// before the process starts.
func (r *executorRun) oomKilled() bool {
	return r.cg != nil && r.cg.OOMKilled()
}

// peakMemory is the most memory r's cgroup has used, 0 if it has none.
func (r *executorRun) peakMemory() uint64 {
	if r.cg == nil {
		return 0
	}
	return r.cg.PeakMemoryBytes()
}

// removeCgroup removes r's cgroup, killing what is left in it (its
// native tasks' processes), once its executor has exited; on cgroup v1
// its tasks' cgroups in the cpu and cpuacct hierarchies, which are not
// below it, go too (sandbox.ExecutorCgroup.Destroy).
func (a *Agent) removeCgroup(r *executorRun) {
	if r.cg == nil {
		return
	}
	if err := r.cg.Destroy(cgroupDestroyTimeout); err != nil {
		a.log.Error("remove executor cgroup", "executor", r.key.executor, "err", err)
	}
}

// recoverCgroup finds the cgroup of an executor that survived an agent
// restart; its limits are taken to be what its tasks need, as the agent
// before this one left them.
func (a *Agent) recoverCgroup(r *executorRun) {
	if r.rec.Cgroup == "" || a.cgParent == "" {
		return
	}
	cg, err := sandbox.LoadExecutorCgroup(r.rec.Cgroup)
	if err != nil {
		a.log.Warn("a recovered executor's cgroup is gone: its memory is no longer capped", "executor", r.key.executor, "err", err)
		r.rec.Cgroup = ""
		return
	}
	a.mu.Lock()
	r.cg = cg
	r.cgHave = cg.Enforced(r.need.limits())
	a.mu.Unlock()
}

// sweepCgroups removes the cgroups of executors that ended while the
// agent was down, keeping those of the executors in keep (by cgroup
// path), which survived it, and the agent's cgroup parent once empty. It
// runs when the agent recovers, and once Run has shut the executors
// down.
func (a *Agent) sweepCgroups(keep map[string]bool) {
	if a.cgParent == "" {
		return
	}
	n, err := sandbox.SweepExecutorCgroups(a.cgParent, keep)
	if err != nil {
		a.log.Warn("sweep executor cgroups", "err", err)
	}
	if n > 0 {
		a.log.Info("removed the cgroups of executors that ended while the agent was down", "count", n)
	}
}
