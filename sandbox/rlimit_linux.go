package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rlimits are what the rlimit init sets on a native task before it runs
// (see IsolationRlimits). Each applies to every process of the task on
// its own: a child inherits the limits, not a share of them.
type rlimits struct {
	data uint64 // RLIMIT_DATA in bytes; 0 for none
	cpu  uint64 // RLIMIT_CPU soft limit in whole seconds; 0 for none
}

// rlimitsOf returns the rlimits a task with spec gets under isolation
// rlimits: its memory cap as RLIMIT_DATA and its CPU-time budget,
// rounded up to whole seconds, as RLIMIT_CPU.
func rlimitsOf(spec Spec) rlimits {
	return rlimits{data: spec.MemoryBytes, cpu: uint64((spec.CPUTime + time.Second - 1) / time.Second)}
}

func (l rlimits) any() bool { return l.data > 0 || l.cpu > 0 }

// viaInit makes cmd start the rlimit init (this very binary, re-executed
// through /proc/self/exe, so that a binary replaced on disk since does
// not matter), which sets l and then execs what cmd was to run, with
// cmd's argv and environment. It returns the read end of the pipe by
// which the init reports a failed exec (see awaitExec); the caller
// closes it, and the write end once the child is started.
func viaInit(cmd *exec.Cmd, l rlimits) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe for the rlimit init: %w", err)
	}
	args := []string{initArg0, strconv.FormatUint(l.data, 10), strconv.FormatUint(l.cpu, 10), cmd.Path}
	cmd.Args = append(args, cmd.Args...)
	cmd.Path = "/proc/self/exe"
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the init
	return r, w, nil
}

// awaitExec reads what the init wrote on its pipe until the pipe closes
// (it is close-on-exec): its peak resident memory just before its exec
// (a line "rss <bytes>", its ru_maxrss), and then, if the exec failed,
// why. It returns the peak, or the init's error.
func awaitExec(r *os.File) (initRSS uint64, err error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return 0, fmt.Errorf("read from the rlimit init: %w", err)
	}
	line, rest, _ := strings.Cut(string(b), "\n")
	v, ok := strings.CutPrefix(line, "rss ")
	if ok {
		initRSS, err = strconv.ParseUint(v, 10, 64)
	}
	switch {
	case !ok:
		rest = string(b)
	case err != nil:
		return 0, fmt.Errorf("read from the rlimit init: %w", err)
	}
	if rest != "" {
		return 0, errors.New(rest)
	}
	if !ok {
		return 0, errors.New("rlimit init: exited before its exec")
	}
	return initRSS, nil
}

// taskPeak returns the peak resident memory of a task that ran without
// a cgroup. maxRSS, its leader's ru_maxrss, is the task's peak (its
// leader's, or a child's it waited for) only when it is above floor: at
// exec the kernel folds the peak of the memory it replaces into
// ru_maxrss, and os/exec forks with CLONE_VM, so that is first the
// caller's (an executor: its resident memory when it started the task,
// see resetPeakRSS), then the rlimit init's, if any (the mezzo binary,
// 15 to 30 MiB). floor is the larger of the two:
// the init reports its ru_maxrss, which holds both, and without an init
// the caller reads its own peak after the exec.
// Otherwise the task stayed below them, and seen, the largest VmHWM read
// from /proc while it ran, a lower bound, is all there is.
func taskPeak(maxRSS, floor, seen uint64) uint64 {
	// The init touches some pages between reading its peak and its exec
	// (its last calls; the kernel charges the new image's arguments to
	// the old one): 0.4 MiB measured, 1.7 MiB under the race detector.
	const slack = 2 << 20
	if maxRSS > floor+slack {
		return maxRSS
	}
	return seen
}

// resetPeakRSS lowers this process's peak resident memory to what it
// holds now (writing 5 to /proc/self/clear_refs, Linux 4.0 and later),
// just before it starts a task without a cgroup. Why: the task's own
// peak is known only above the peak the kernel folds into its
// ru_maxrss at exec (see taskPeak), which is that of the memory it
// replaces, shared with this process by os/exec's CLONE_VM. Without the
// reset that is this process's peak since it started: an executor that
// once ran a large Wasm task would leave every later native task under
// it with a floor above its memory cap, and a task killed at the cap
// would end as a plain exit. A kernel that refuses the write leaves the
// old floor, which taskPeak still accounts for.
func resetPeakRSS() {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	_, _ = f.WriteString("5")
	_ = f.Close()
}

// initStatusFD is the descriptor on which the init reports a failed exec
// (cmd.ExtraFiles[0]).
const initStatusFD = 3

// Init is the rlimit init: a process that StartCommand started with args
// (see IsInit) as [initArg0, data bytes, cpu seconds, path, argv...] sets
// RLIMIT_DATA and RLIMIT_CPU (0 leaves one as it is) and execs path with
// argv and env, the task's environment. It does not return: if it cannot
// do all that, it writes why to its status descriptor, which the parent
// reads to fail the launch with ReasonLaunchFailed, and to its stderr,
// the task's, and exits with code 127.
//
// It runs the moment main starts, in the task's process group, working
// directory, user and cgroup, and must do nothing else: whatever it did
// would be charged to the task. Programs call it only when IsInit says
// so.
func Init(args, env []string) {
	err := runInit(args, env)
	msg := fmt.Sprintf("rlimit init: %v", err)
	_, _ = unix.Write(initStatusFD, []byte(msg))
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(127)
}

// runInit does Init's work. It returns only when it fails before it sets
// the limits; after that, failing is execUnderLimits's to report.
func runInit(args, env []string) error {
	if len(args) < 5 {
		return fmt.Errorf("want %s DATA CPU PATH ARGV..., got %d arguments", initArg0, len(args))
	}
	var l rlimits
	var err error
	if l.data, err = strconv.ParseUint(args[1], 10, 64); err != nil {
		return fmt.Errorf("data limit: %w", err)
	}
	if l.cpu, err = strconv.ParseUint(args[2], 10, 64); err != nil {
		return fmt.Errorf("cpu limit: %w", err)
	}
	if _, err := unix.FcntlInt(initStatusFD, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("status descriptor: %w", err)
	}
	x, err := prepareExec(args[3], args[4:], env)
	if err != nil {
		return err
	}
	steps, err := l.steps()
	if err != nil {
		return err
	}
	restoreNofile()
	quiesce()
	// The peak last before the limits: setting them changes no memory,
	// and reporting it touches none that the kernel must map.
	if err := reportRSS(); err != nil {
		return err
	}
	execUnderLimits(steps, x)
	return nil // not reached: execUnderLimits execs or exits
}

// execImage is what the init hands execve, and what it says when that
// fails, all made before it sets the limits (see execUnderLimits).
type execImage struct {
	path      *byte
	argv, env []*byte
	failed    string // "rlimit init: exec PATH: ", to which the errno is appended
}

// prepareExec converts path, argv and env into the NUL-terminated
// strings and arrays execve takes, as syscall.Exec would, but before the
// limits rather than after them.
func prepareExec(path string, argv, env []string) (*execImage, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", path, err)
	}
	a, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return nil, fmt.Errorf("exec %s: argv: %w", path, err)
	}
	e, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("exec %s: environment: %w", path, err)
	}
	return &execImage{path: p, argv: a, env: e, failed: "rlimit init: exec " + path + ": "}, nil
}

// limitStep is one setrlimit the init makes before its exec, with what
// it says if the kernel refuses it.
type limitStep struct {
	resource int
	lim      unix.Rlimit
	failed   string // "rlimit init: set RLIMIT_X to N ...: ", to which the errno is appended
}

// steps returns the setrlimit calls that set l on the calling process.
// The soft CPU limit sends SIGXCPU, which kills a process that does not
// handle it; the hard one, a second later, SIGKILL. No limit is raised
// above its current hard limit, which only a privileged process may do.
func (l rlimits) steps() ([]limitStep, error) {
	var steps []limitStep
	if l.data > 0 {
		lim, err := lowered(unix.RLIMIT_DATA, l.data, l.data)
		if err != nil {
			return nil, fmt.Errorf("set RLIMIT_DATA to %d bytes: %w", l.data, err)
		}
		steps = append(steps, limitStep{unix.RLIMIT_DATA, lim, fmt.Sprintf("rlimit init: set RLIMIT_DATA to %d bytes: ", l.data)})
	}
	if l.cpu > 0 {
		lim, err := lowered(unix.RLIMIT_CPU, l.cpu, l.cpu+1)
		if err != nil {
			return nil, fmt.Errorf("set RLIMIT_CPU to %d s: %w", l.cpu, err)
		}
		steps = append(steps, limitStep{unix.RLIMIT_CPU, lim, fmt.Sprintf("rlimit init: set RLIMIT_CPU to %d s: ", l.cpu)})
	}
	return steps, nil
}

// lowered returns resource's limits set to soft and hard, or to its
// current hard limit where that is lower.
func lowered(resource int, soft, hard uint64) (unix.Rlimit, error) {
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err != nil {
		return unix.Rlimit{}, err
	}
	hard = min(hard, cur.Max)
	return unix.Rlimit{Cur: min(soft, hard), Max: hard}, nil
}

// restoreNofile gives the init back the soft RLIMIT_NOFILE it was
// started with, for the task to inherit: the one os/exec gives every
// child of the mezzo process (Go restores the limit its own start-up
// raised in the children it starts), and so the one a task started
// without the init, in a cgroup or not, has. The init's own Go start-up
// raised it in turn, and keeps the original where only syscall.Exec
// reads it; the init execs the task with a raw execve (execUnderLimits),
// so it asks syscall.Exec to restore the limit by calling it on the
// empty path, which execve refuses (ENOENT) after the restore, which
// stays. See RATIONALE.md, "Why RLIMIT_DATA where there are no cgroups?".
func restoreNofile() {
	_ = syscall.Exec("", nil, nil)
}

// quiesce keeps the init's runtime from asking the kernel for memory
// once the limits are set, where RLIMIT_DATA may refuse it and the
// runtime would die of it (it counts every private writable mapping:
// heap arenas, their metadata, thread stacks; the init's are already
// past a small cap). No garbage collection runs (SetGCPercent(-1) waits
// for one under way to finish), so none maps work buffers, starts mark
// workers or shrinks a stack; with one P, and no syscall after this
// that enters the scheduler (the init makes only raw ones, which do not
// release the P), no goroutine but the init's can run, and the
// scheduler has no reason to start an M, a thread whose stack it would
// map. The stack is grown beforehand, as no GC can shrink it now, so
// that no call after the limits has to grow it.
func quiesce() {
	debug.SetGCPercent(-1)
	runtime.GOMAXPROCS(1)
	growStack(stackReserve - 1)
}

// stackReserve is how much goroutine stack the init's last calls find
// already there, far more than they use.
const stackReserve = 16 << 10

// growStack has a frame of stackReserve bytes, which the runtime grows
// the goroutine's stack to hold before it runs; i, an index in it, only
// keeps the compiler from dropping it.
//
//go:noinline
func growStack(i int) byte {
	var b [stackReserve]byte
	b[i] = 1
	return b[i]
}

// execUnderLimits sets the limits in steps and execs x, and does not
// return: if the kernel refuses either, it says why on the status
// descriptor and stderr and exits with code 127, as Init does.
//
// From the first setrlimit on it allocates nothing, grows no stack and
// makes only raw syscalls (see quiesce): RLIMIT_DATA may be below what
// the init has mapped already, and then any new mapping fails. That is
// why it does not use syscall.Exec, which copies its arguments into the
// heap. What syscall.Exec does besides, without allocating, is hold the
// runtime's exec lock so that no thread is being created during execve
// (which can, for one, keep a set-user-ID task from getting its user;
// go.dev/issue/19546). Under quiesce no thread is being created: no
// goroutine but this one runs, and nothing else starts one. It may run
// on any thread, so it does not lock one: rlimits are the process's,
// and execve ends every other thread.
//
//go:norace
func execUnderLimits(steps []limitStep, x *execImage) {
	for i := range steps {
		s := &steps[i]
		_, _, errno := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, uintptr(s.resource), uintptr(unsafe.Pointer(&s.lim)), 0, 0, 0)
		if errno != 0 {
			exitUnderLimits(s.failed, errno)
		}
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE,
		uintptr(unsafe.Pointer(x.path)),
		uintptr(unsafe.Pointer(&x.argv[0])),
		uintptr(unsafe.Pointer(&x.env[0])))
	exitUnderLimits(x.failed, errno)
}

// exitUnderLimits writes prefix and errno on the status descriptor and
// stderr and exits with code 127 at once, allocating nothing: not
// through os.Exit, whose exit hooks (the race detector's, coverage) may.
//
//go:norace
func exitUnderLimits(prefix string, errno syscall.Errno) {
	why := errno.Error() // a string from syscall's table for every errno Linux has
	for _, fd := range []uintptr{initStatusFD, 2} {
		rawWrite(fd, prefix)
		rawWrite(fd, why)
	}
	rawWrite(2, "\n")
	unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
}

// rawWrite writes s on fd with a raw syscall, which does not enter the
// scheduler (see quiesce). The init writes little, on a pipe or the
// task's stderr; what does not go through is lost with the init.
//
//go:norace
func rawWrite(fd uintptr, s string) {
	if s != "" {
		unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(len(s)))
	}
}

// reportRSS writes the init's ru_maxrss on its status descriptor, as
// late as it can: the kernel folds it into the task's (see taskPeak),
// and it already holds the caller's peak, folded in when the init was
// executed. Every page the init touches after reading it is an error in
// the task's accounting, so it reads it twice and reports the second,
// for which the first has faulted in the code. The write is raw, so that
// it cannot lead the scheduler to start a thread (see quiesce).
func reportRSS() error {
	line := make([]byte, 0, 32)
	var ru unix.Rusage
	for range 2 {
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			return fmt.Errorf("getrusage: %w", err)
		}
		line = strconv.AppendInt(append(line[:0], "rss "...), ru.Maxrss*1024, 10) // KiB on Linux
	}
	line = append(line, '\n')
	if _, _, errno := unix.RawSyscall(unix.SYS_WRITE, initStatusFD, uintptr(unsafe.Pointer(&line[0])), uintptr(len(line))); errno != 0 {
		return fmt.Errorf("status descriptor: %w", errno)
	}
	return nil
}

// withRlimits completes r, the result of a task that ran under l, with
// the limit that ended it, if one did: RLIMIT_CPU when the leader died of
// SIGXCPU, or of a SIGKILL no one else sent past its hard CPU limit;
// RLIMIT_DATA when the task failed with its peak resident memory close to
// the cap (nearLimit, as for wasmtime: an allocation refused by
// RLIMIT_DATA leaves no trace but the failure it causes, so a task
// refused one large allocation far below its cap is not recognized).
func withRlimits(r Result, ws syscall.WaitStatus, l rlimits, killed bool) Result {
	if killed {
		return r
	}
	how := fmt.Sprintf("exited with code %d", r.ExitCode)
	if r.Signal != 0 {
		how = "was killed by signal " + r.Signal.String()
	}
	sig := ws.Signaled()
	switch {
	case l.cpu > 0 && sig && (ws.Signal() == syscall.SIGXCPU || ws.Signal() == syscall.SIGKILL && r.Usage.CPUSeconds >= float64(l.cpu)):
		r.Reason = ReasonCPULimit
		r.Err = fmt.Errorf("command exceeded its CPU time limit of %d s, an rlimit (RLIMIT_CPU, for each of its processes): it %s after %.2f s of CPU", l.cpu, how, r.Usage.CPUSeconds)
	case l.data > 0 && (sig || r.ExitCode != 0) && nearLimit(r.Usage.PeakMemoryBytes, l.data):
		r.Reason = ReasonMemoryLimit
		r.Err = fmt.Errorf("command exceeded its memory limit of %d bytes (%d MiB), an rlimit (RLIMIT_DATA, for each of its processes; no cgroup): it %s with a peak resident memory of %d bytes", l.data, l.data>>20, how, r.Usage.PeakMemoryBytes)
	}
	return r
}
