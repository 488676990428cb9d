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
	// compileFactor times a module's size is what compiling it may cost,
	// once per distinct module among an executor's tasks: a 2.6 MB Go
	// wasip1 module peaked at 115 MB above the cached run on wazero.
	compileFactor = 64
	// wasmDefaultMemory is the linear memory of a Wasm task with no
	// memory cap: WebAssembly's 4 GiB.
	wasmDefaultMemory = 4 << 30
	// cgroupDestroyTimeout bounds how long removing an executor's
	// cgroup waits for its processes to die.
	cgroupDestroyTimeout = 5 * time.Second
)

// taskNeed is what executorLimits knows of a task.
type taskNeed struct {
	info        api.TaskInfo
	engine      string // a Wasm task's engine (Agent.engineOf)
	moduleBytes uint64 // a Wasm task's module size; 0 if unknown
}

// executorLimits is what the cgroup of an executor running tasks (info
// is its ExecutorInfo, whose resources are the executor's own, or nil)
// enforces. The memory
// cap is executorOverhead, plus each task's memory cap
// (api.TaskInfo.MemoryBytes), plus for a Wasm task wasmTaskOverhead and,
// once per distinct module, compileFactor times the module's size — and
// on wazero its memory again: wazero keeps linear memory on the Go heap
// and copies it when it grows, so old and new buffers live together for
// a while (the executor's soft memory limit, followMemoryLimit, keeps the
// rest of the garbage in check). A native task with no cap leaves the
// executor without one. The CPU weight is the tasks' cpus.
func executorLimits(info *api.ExecutorInfo, tasks []taskNeed) sandbox.ExecutorLimits {
	mem := uint64(executorOverhead)
	var cpus float64
	if info != nil {
		res := api.Resources(info.Resources)
		mem += uint64(max(res.ScalarValue("mem"), 0) * (1 << 20))
		cpus += res.ScalarValue("cpus")
	}
	unbounded := false
	compiled := map[string]bool{}
	for _, t := range tasks {
		cpus += api.Resources(t.info.Resources).ScalarValue("cpus")
		m := t.info.MemoryBytes()
		switch {
		case t.info.IsWasm():
			if m == 0 {
				m = wasmDefaultMemory
			}
			mem += m + wasmTaskOverhead
			if t.engine == sandbox.Wazero {
				mem += m
			}
			if sha := t.info.Container.Wasm.SHA256; !compiled[sha] {
				compiled[sha] = true
				mem += compileFactor * t.moduleBytes
			}
		case m == 0:
			unbounded = true
		default:
			mem += m
		}
	}
	if unbounded {
		mem = 0
	}
	return sandbox.ExecutorLimits{MemoryBytes: mem, CPUs: cpus}
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

// limitsOf is what r's cgroup must enforce now. a.mu must be held.
func (a *Agent) limitsOf(r *executorRun) sandbox.ExecutorLimits {
	tasks := make([]taskNeed, 0, len(r.tasks))
	for _, t := range r.tasks {
		n := taskNeed{info: t.info, moduleBytes: t.moduleBytes}
		if t.info.IsWasm() {
			n.engine = a.engineOf(t.info)
		}
		tasks = append(tasks, n)
	}
	return executorLimits(&r.rec.ExecutorInfo, tasks)
}

// newCgroup makes the cgroup r's process is to start in, sized for its
// tasks, or returns nil when executors get no cgroups.
func (a *Agent) newCgroup(r *executorRun) (*sandbox.ExecutorCgroup, error) {
	if a.cgParent == "" {
		return nil, nil
	}
	a.mu.Lock()
	lim := a.limitsOf(r)
	a.mu.Unlock()
	cg, err := sandbox.NewExecutorCgroup(a.cgParent, "executor-"+r.rec.Container, lim)
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	r.cgMu.Lock()
	a.mu.Lock()
	r.cgHave = lim
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

// resizeCgroup brings r's cgroup to what its tasks need now: before a
// launch goes out (prepare) and after tasks end (queueResize). A cap is
// lowered only once the executor's memory fits under the new one, which
// it may not at once (the Go runtime returns freed memory lazily), so
// that lowering never makes the kernel reclaim at length or, on cgroup
// v2, kill; a later resize tries again. a.mu must not be held.
func (a *Agent) resizeCgroup(r *executorRun) {
	r.cgMu.Lock()
	defer r.cgMu.Unlock()
	a.mu.Lock()
	cg, exited := r.cg, r.exited
	want := a.limitsOf(r)
	a.mu.Unlock()
	if cg == nil || exited || want == r.cgHave {
		return
	}
	lowers := want.MemoryBytes != 0 && (r.cgHave.MemoryBytes == 0 || want.MemoryBytes < r.cgHave.MemoryBytes)
	if lowers && cg.MemoryBytes() > want.MemoryBytes {
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
// native tasks' processes), once its executor has exited.
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
	r.cgHave = a.limitsOf(r)
	a.mu.Unlock()
}

// sweepCgroups removes the cgroups of executors that ended while the
// agent was down, keeping those of the executors in keep (by cgroup
// path), which survived it. It runs once, when the agent recovers.
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
