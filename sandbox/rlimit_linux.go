package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

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
// caller's (an executor, tens of MiB), then the rlimit init's, if any
// (the mezzo binary, 15 to 30 MiB). floor is the larger of the two:
// the init reports its ru_maxrss, which holds both, and without an init
// the caller reads its own peak after the exec.
// Otherwise the task stayed below them, and seen, the largest VmHWM read
// from /proc while it ran, a lower bound, is all there is.
func taskPeak(maxRSS, floor, seen uint64) uint64 {
	// The init touches some pages between reading its peak and its exec
	// (Go's exec path; the kernel charges the new image's arguments to
	// the old one): 0.4 MiB measured, 1.7 MiB under the race detector.
	const slack = 2 << 20
	if maxRSS > floor+slack {
		return maxRSS
	}
	return seen
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

// runInit does Init's work, and returns only when it fails.
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
	// The peak first: setting the limits changes no memory, but with a
	// small RLIMIT_DATA the init may not grow its heap any more, and
	// reporting allocates.
	if err := reportRSS(); err != nil {
		return err
	}
	if err := l.set(); err != nil {
		return err
	}
	path := args[3]
	err = syscall.Exec(path, args[4:], env)
	return fmt.Errorf("exec %s: %w", path, err)
}

// reportRSS writes the init's ru_maxrss on its status descriptor, as
// late as it can: the kernel folds it into the task's (see taskPeak),
// and it already holds the caller's peak, folded in when the init was
// executed. Every page the init touches after reading it is an error in
// the task's accounting, so it reads it twice and reports the second,
// for which the first has faulted in the code.
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
	if _, err := unix.Write(initStatusFD, line); err != nil {
		return fmt.Errorf("status descriptor: %w", err)
	}
	return nil
}

// set sets the limits on the calling process. The soft CPU limit sends
// SIGXCPU, which kills a process that does not handle it; the hard one,
// a second later, SIGKILL. No limit is raised above its current hard
// limit, which only a privileged process may do.
func (l rlimits) set() error {
	if l.data > 0 {
		if err := lower(unix.RLIMIT_DATA, l.data, l.data); err != nil {
			return fmt.Errorf("set RLIMIT_DATA to %d bytes: %w", l.data, err)
		}
	}
	if l.cpu > 0 {
		if err := lower(unix.RLIMIT_CPU, l.cpu, l.cpu+1); err != nil {
			return fmt.Errorf("set RLIMIT_CPU to %d s: %w", l.cpu, err)
		}
	}
	return nil
}

// lower sets resource's limits to soft and hard, or to its current hard
// limit where that is lower.
func lower(resource int, soft, hard uint64) error {
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err != nil {
		return err
	}
	hard = min(hard, cur.Max)
	return unix.Setrlimit(resource, &unix.Rlimit{Cur: min(soft, hard), Max: hard})
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
	if r.Signal != "" {
		how = "killed by signal " + r.Signal
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
