package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Spec is what every task needs, Wasm or native.
//
// The zero value is not usable: Dir must name an existing directory.
type Spec struct {
	// Dir is the sandbox directory. It must exist. It is the working
	// directory of a native task and the only directory a Wasm task sees:
	// it is preopened at "/" and is the guest's working directory. The
	// task's output goes to the files Dir/stdout and Dir/stderr, which are
	// created if missing and appended to otherwise.
	//
	// A Wasm guest cannot create symbolic links (see RATIONALE.md, "Why
	// may a Wasm guest not create symbolic links?"), but links already in
	// Dir are followed: by wazero wherever they lead, by wasmtime only
	// within Dir. Whoever fills Dir must not leave a link that points
	// outside it.
	Dir string

	// Env is the task's whole environment. Nothing is inherited from the
	// calling process, with one exception for native tasks: when Env has no
	// PATH, the task gets DefaultPath. A nil Env is an empty environment.
	// Keys must be non-empty and contain neither '=' nor NUL; values must
	// not contain NUL.
	Env map[string]string

	// MemoryBytes caps the task's memory; 0 means no cap beyond the
	// engine's own (4 GiB of linear memory for Wasm).
	//
	// For Wasm it caps linear memory: it is rounded down to whole 64 KiB
	// pages, and anything from 1 to 65535 bytes means one page. A
	// memory.grow past the cap fails in the guest (it returns -1), and a
	// task that then ends abnormally is reported with ReasonMemoryLimit.
	//
	// For a native task it caps the memory of its cgroup (memory.max on
	// cgroup v2, memory.limit_in_bytes on v1), that is of the task and
	// every process it starts, page cache included, with swap use
	// disabled where the kernel accounts for swap. When the kernel's OOM
	// killer then kills one of them and the task does not exit
	// successfully, the task ends with ReasonMemoryLimit. Where no cgroup
	// can be made (see CgroupsAvailable: not root, hierarchies read-only
	// or missing), or under IsolationRlimits, it is each of the task's
	// processes' RLIMIT_DATA (its heap, private writable mappings and
	// data segment), set before the task runs: an allocation past it
	// fails in the process, and a task that then ends with a non-zero
	// code or a signal, its peak resident memory (Usage.PeakMemoryBytes,
	// known only above the caller's own peak) within a sixteenth of the
	// cap (at most 16 MiB below), ends with ReasonMemoryLimit. Not
	// RLIMIT_AS: it caps address space, and the Go runtime (among
	// others) reserves far more of it than it touches. See RATIONALE.md,
	// "Why RLIMIT_DATA where there are no cgroups?".
	MemoryBytes uint64

	// CPUTime is the task's CPU-time budget; 0 means none. A Wasm task
	// whose CPU time (Usage.CPUSeconds, host functions included) passes it
	// is stopped as Process.Kill stops a task, and ends with
	// ReasonCPULimit: what Kill cannot stop, the budget cannot either.
	// The budget is checked when it could first have been spent (a
	// thread's CPU time never runs ahead of wall time) and again whenever
	// the rest could have been, at least a millisecond apart, so a task
	// is stopped within a few milliseconds of its budget. Where there is
	// no per-thread CPU clock (outside Linux), wall time since the start
	// stands in for CPU time, and a sleeping guest is charged too.
	//
	// For a native task it is rounded up to whole seconds and set as
	// RLIMIT_CPU on each of its processes before the task runs, cgroup or
	// not: a process past it gets SIGXCPU, and SIGKILL a second later,
	// and a task whose leader dies of either ends with ReasonCPULimit.
	// The executor gives native tasks none (api.WasmLimits.CPUSeconds is
	// a Wasm task's; Mesos commands have no CPU-time budget): their CPU
	// is weighted (CPUs) and capped (CPULimit) by their cgroup.
	CPUTime time.Duration

	// CPUs is the task's share of CPU (its "cpus" resource): a native
	// task's cgroup gets a CPU weight in proportion (cpu.shares = 1024
	// per CPU on v1, the matching cpu.weight on v2), so under contention
	// tasks get CPU as their resources say and are not capped when the
	// machine is idle, as Mesos and Kubernetes treat CPU requests. 0
	// leaves the kernel's default weight.
	CPUs float64

	// CPULimit, when positive, caps a native task's cgroup at that many
	// CPUs of CPU time per wall-clock period (CFS quota: cpu.cfs_quota_us
	// on v1, cpu.max on v2, over a 100 ms period), as a task's
	// limits.cpus does in Mesos and a CPU limit in Kubernetes; 0 means no
	// cap. Wasm tasks, which share their executor's process, are held to
	// CPUTime instead.
	CPULimit float64

	// OutputMaxBytes, when positive, bounds each of the task's stdout
	// and stderr files: once the next write would pass it the file is
	// renamed stdout.1 (stdout.1 becoming stdout.2, and so on) and a new
	// one begun, keeping OutputKeep old files (0: none, the old output is
	// dropped). What the task writes then goes through a pipe, copied by
	// the executor, and is all in the files before the task's result is
	// reported. 0 means unbounded files written directly, as Mesos's
	// default sandbox logger does. The task owns its directory and may
	// get in the rotation's way: a file that cannot be renamed (the task
	// made a directory named stdout.1, say) is dropped rather than kept,
	// and output that cannot be written at all is dropped, with a line in
	// stderr saying how many bytes, rather than left to block the task.
	OutputMaxBytes int64
	OutputKeep     int

	// CgroupParent is where the cgroups of native tasks are made, one
	// per task (named task-<random hex>); "" means DefaultCgroupParent.
	// An absolute path is taken from the root of each hierarchy. A
	// relative one is, on cgroup v1, below the calling process's own
	// cgroup in each hierarchy, so that tasks stay within whatever
	// confines their executor; on cgroup v2 it is below the root, since a
	// v2 cgroup that holds processes (the caller's) cannot hand
	// controllers to children. It must be clean: no "." or ".."
	// elements. Wasm tasks ignore it.
	CgroupParent string

	// Spares, when set, may hold a cgroup made ahead for a native task
	// under CgroupParent (see CgroupSpares); the task then starts in it,
	// and the next one is made. nil makes each task's cgroup as it
	// starts. Wasm tasks ignore it.
	Spares *CgroupSpares

	// Isolation says what confines a native task: cgroups where usable
	// (IsolationAuto, the zero value), cgroups or a failed launch
	// (IsolationCgroups), or rlimits and /proc accounting
	// (IsolationRlimits). Wasm tasks ignore it.
	Isolation Isolation

	// User, when set, is who a native task runs as: its uid, gid and
	// supplementary groups (see LookupUser). nil runs it as the caller.
	// Only a caller running as root can run a task as another user; the
	// task then cannot write in Dir unless Dir is the user's (User.Chown).
	// Wasm tasks ignore it: they run inside the caller and reach only Dir.
	User *User
}

// CheckCgroupParent reports why p cannot be a Spec.CgroupParent: it must
// be clean, with no "." or ".." elements, and not the root.
func CheckCgroupParent(p string) error {
	if path.Clean(p) != p || p == "/" || strings.HasPrefix(p, "../") || p == ".." || strings.ContainsRune(p, 0) {
		return fmt.Errorf("cgroup parent %q is not a clean path", p)
	}
	return nil
}

// DefaultCgroupParent is the Spec.CgroupParent used when it is empty.
const DefaultCgroupParent = "mezzo"

// Names of the files, inside Spec.Dir, that receive a task's output.
const (
	StdoutFile = "stdout"
	StderrFile = "stderr"
)

// Result is how a task ended. Wait returns it.
//
// Err is nil exactly when Reason is ReasonNone: the task ran and exited by
// itself, with any exit code.
type Result struct {
	// ExitCode is the process or WASI exit code. It is -1 when the task
	// was killed by a signal, trapped, was stopped by Kill before it could
	// exit, or never started.
	ExitCode int

	// Signal is the signal that ended a native task's process, whoever
	// sent it (a crash, the kernel's OOM killer, RLIMIT_CPU, another
	// process, or Kill), and 0 when the process exited or never ran, and
	// always for Wasm tasks, which have no signals. It is kept whole, not
	// only its name ("killed", "terminated": its String), because
	// callers report its number as a shell does, 128 plus it.
	Signal syscall.Signal

	// Err says why the task did not exit normally: a trap, the memory
	// limit, a missing import, a failed start, a kill, a signal. It is nil
	// on a normal exit, whatever the exit code.
	Err error

	// Reason classifies Err for callers that branch on it.
	Reason Reason

	// Usage is what the task consumed in all.
	Usage Usage
}

// Reason classifies how a task ended. The zero value, ReasonNone, is a
// normal exit.
type Reason int

const (
	// ReasonNone means the task exited by itself (any exit code).
	ReasonNone Reason = iota

	// ReasonKilled means Kill was called before the task ended, however
	// it then ended: by the signal, by exiting when asked to, or by being
	// stopped as a Wasm guest. Engine.Close kills the tasks still running.
	ReasonKilled

	// ReasonMemoryLimit means the task needed more memory than
	// Spec.MemoryBytes allowed: a Wasm guest had a memory.grow refused at
	// the cap and then trapped or exited with a non-zero code, or its
	// initial memory is already larger than the cap. wazero reports the
	// refused grow; wasmtime does not, so under wasmtime a guest that
	// ends abnormally with its memory within a sixteenth of the cap (at
	// most 16 MiB below it) is taken to have hit it. See RATIONALE.md, "How
	// is a memory limit told from a crash?". A native task in a cgroup
	// ends with it when the kernel's OOM killer killed one of its
	// processes and the task did not exit with code 0; one under
	// rlimits, when it failed with its peak memory at its RLIMIT_DATA
	// (see Spec.MemoryBytes).
	ReasonMemoryLimit

	// ReasonTrap means a Wasm guest trapped (unreachable, out-of-bounds
	// access, a call stack exhausted, ...) or a host function it called
	// failed. Both engines say "call stack exhausted" when the guest's
	// stack passes its limit.
	ReasonTrap

	// ReasonLaunchFailed means the task never ran: a Wasm module imports
	// something the host lacks or lacks its entry point, or a native
	// executable is missing or cannot be executed.
	ReasonLaunchFailed

	// ReasonSignaled means a native task died by a signal that Kill did
	// not send (a crash such as SIGSEGV, or another process's kill).
	ReasonSignaled

	// ReasonCPULimit means a Wasm task was stopped because its CPU time
	// passed Spec.CPUTime, or a native task's leader was killed by its
	// RLIMIT_CPU. Like ReasonKilled, it says how the task was
	// stopped, whatever it was doing then; of Kill and the budget, the
	// first to stop a task decides its Reason.
	ReasonCPULimit
)

var reasonNames = [...]string{
	ReasonNone:         "none",
	ReasonKilled:       "killed",
	ReasonMemoryLimit:  "memory limit",
	ReasonTrap:         "trap",
	ReasonLaunchFailed: "launch failed",
	ReasonSignaled:     "signaled",
	ReasonCPULimit:     "cpu limit",
}

// String returns a short lower-case name, such as "memory limit".
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Usage is what a task consumed.
type Usage struct {
	// CPUSeconds is CPU time, user plus system. For a native task in a
	// cgroup it is the whole cgroup's (cpuacct.usage on v1, cpu.stat's
	// usage_usec on v2); without a cgroup it is the group leader's and
	// the children it waited for. For a Wasm task
	// on Linux it is the CPU time of the OS thread the guest ran on, which
	// the guest has to itself while it runs; elsewhere it is wall time
	// since the start, an upper bound.
	CPUSeconds float64

	// PeakMemoryBytes is the largest memory footprint seen: for a native
	// task in a cgroup the cgroup's peak charge, page cache included
	// (memory.max_usage_in_bytes on v1, memory.peak on v2, or the current
	// charge where the kernel has no memory.peak); without a cgroup the
	// peak resident set of the group leader (or of a child it waited for,
	// if larger) when that is above the resident memory of the process
	// that called StartCommand at the time (and the rlimit init's peak),
	// which the kernel folds into the same count, and otherwise the largest the leader's /proc entry
	// showed while it ran, a lower bound (0 for a task gone before it was
	// read); for a Wasm task the size of its linear memory (which never
	// shrinks).
	PeakMemoryBytes uint64

	// Fuel is what a Wasm task executed, in wasmtime's fuel units (about
	// one per WebAssembly instruction), counted only under wasmtime with
	// EngineConfig.Fuel; zero otherwise. While the task runs it is
	// sampled at each epoch tick (every millisecond), and wasmtime brings
	// its count up to date at calls: a guest spinning in a loop that
	// calls nothing shows what it burnt only when it ends.
	Fuel uint64
}

// Process is a started task. Its methods are safe for concurrent use.
type Process interface {
	// Wait blocks until the task has ended and returns its Result. It may
	// be called any number of times, from any goroutine; every call
	// returns the same Result.
	Wait() Result

	// Kill stops the task and returns at once, without waiting for it to
	// end; use Wait for that.
	//
	// A native task's process group gets SIGTERM, then SIGKILL after
	// grace (at once if grace <= 0). A Wasm guest has no signals and is
	// stopped at once, whatever grace says: at its next loop iteration
	// (wazero) or epoch tick (wasmtime, about a millisecond), or when a
	// sleep it is in is cut short. wazero checks for a stop only at loop
	// headers, so a guest that runs a long loop-free call tree (an
	// exponential recursion of a few hundred bytes) cannot be stopped
	// in-process under wazero; the executor process is the blast wall for
	// it (see RATIONALE.md). wasmtime also checks at function entries, and
	// stops it.
	//
	// Kill does nothing once the task has ended. A later call with a
	// shorter grace period shortens the one under way, as Mesos's
	// executors do for a later kill with a shorter policy; a longer one
	// does not lengthen it.
	Kill(grace time.Duration)

	// Usage returns what the task has consumed so far; after the task has
	// ended it returns Result.Usage.
	Usage() Usage
}

// validate checks what StartWasm and StartCommand refuse before trying to
// launch, and returns Dir made absolute.
func (s Spec) validate() (dir string, err error) {
	if s.Dir == "" {
		return "", errors.New("sandbox directory is empty")
	}
	dir, err = filepath.Abs(s.Dir)
	if err != nil {
		return "", fmt.Errorf("resolve sandbox directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("stat sandbox directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("sandbox directory %s is not a directory", dir)
	}
	if s.OutputMaxBytes < 0 || s.OutputKeep < 0 || s.OutputKeep > 1000 {
		return "", fmt.Errorf("output bounds %d bytes, %d files: want a size ≥ 0 and 0 to 1000 files", s.OutputMaxBytes, s.OutputKeep)
	}
	if s.CPUTime < 0 {
		return "", fmt.Errorf("CPU time budget %v is negative", s.CPUTime)
	}
	switch s.Isolation {
	case IsolationAuto, IsolationCgroups, IsolationRlimits:
	default:
		return "", fmt.Errorf("native isolation %q is not one of %q (auto), %q, %q", string(s.Isolation), "", IsolationCgroups, IsolationRlimits)
	}
	if s.CgroupParent != "" {
		if err := CheckCgroupParent(s.CgroupParent); err != nil {
			return "", err
		}
	}
	if err := CheckEnv(s.Env); err != nil {
		return "", err
	}
	return dir, nil
}

// CheckEnv reports the first variable of env that no process can be
// given: a name that is empty or holds '=' or NUL, a value holding NUL.
// Such a variable would otherwise fail the exec that carries it, far
// from whoever wrote it.
func CheckEnv(env map[string]string) error {
	for _, k := range envKeys(env) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("environment variable name %q is invalid", k)
		}
		if strings.ContainsRune(env[k], 0) {
			return fmt.Errorf("environment variable %s contains NUL", k)
		}
	}
	return nil
}

// envKeys returns the keys of env in sorted order, so tasks see their
// environment in a stable order.
func envKeys(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkArgs refuses arguments no OS or WASI can pass.
func checkArgs(args []string) error {
	for i, a := range args {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("argument %d contains NUL", i)
		}
	}
	return nil
}

// ended is a Process that never ran: its Result is fixed at birth. Launch
// failures are reported this way so that callers have one path, Wait, to
// learn how a task ended.
type ended struct{ r Result }

func launchFailed(reason Reason, err error) *ended {
	return &ended{r: Result{ExitCode: -1, Reason: reason, Err: err}}
}

// Started reports whether p's task got to run: false for the Process
// that StartCommand and StartWasm return for a task that could not start
// (its executable missing, its cgroup not made, its module's imports
// unmet...), whose Wait reports why at once. A caller that reports task
// states asks it before reporting the task running, so that TASK_RUNNING
// always means the task's code was started with its limits in force.
func Started(p Process) bool {
	_, never := p.(*ended)
	return !never
}

func (e *ended) Wait() Result       { return e.r }
func (e *ended) Kill(time.Duration) {}
func (e *ended) Usage() Usage       { return e.r.Usage }
