package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StartCommand starts a native task and returns at once.
//
// The task runs in its own process group, in spec.Dir, with exactly
// spec.Env (plus DefaultPath when it has no PATH), stdin from /dev/null,
// and stdout and stderr appended to spec.Dir/stdout and spec.Dir/stderr,
// as spec.User when it is set (with that user's uid, gid and supplementary
// groups and none of the caller's).
//
// Where cgroups are usable (see CgroupsAvailable) and spec.Isolation
// allows, the task runs in a cgroup of its own, made under
// spec.CgroupParent before the task runs and removed when it ends:
// spec.MemoryBytes caps its memory there, and Usage and Result.Usage
// come from the cgroup. Elsewhere, or under IsolationRlimits, it runs
// without one, started through the rlimit init (see Init) that sets
// spec.MemoryBytes as RLIMIT_DATA and spec.CPUTime as RLIMIT_CPU before
// the task runs, and its usage comes from /proc and its exit status (see
// Spec). A CPU-time budget is an RLIMIT_CPU set by the init in a cgroup
// too.
//
// When the task's process (the group leader) exits, whatever it left
// running in its group or its cgroup is killed: the task is over, and it
// does not leak processes. Without a cgroup, a process that leaves the
// group (setsid, setpgid) escapes this.
//
// StartCommand returns an error, and no Process, only when it cannot try:
// spec or c is invalid, the output files cannot be opened, or ctx is
// already done. A task that cannot start (its executable is missing or
// not executable, its cgroup cannot be made) gets a Process all the
// same, whose Wait reports ReasonLaunchFailed. ctx does not bound the task; Kill does.
func StartCommand(ctx context.Context, spec Spec, c CommandSpec) (Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start command %q: %w", c.Value, err)
	}
	dir, err := spec.validate()
	if err == nil {
		err = c.check()
	}
	if err != nil {
		return nil, fmt.Errorf("start command %q: %w", c.Value, err)
	}
	path, args, err := c.argv(dir, spec.Env)
	if err != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start command %q: %w", c.Value, err)), nil
	}
	cred, err := spec.User.Credential()
	if err != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start command %q: %w", c.Value, err)), nil
	}
	out, err := openOutput(dir, spec.outputLimits())
	if err != nil {
		return nil, fmt.Errorf("start command %q: %w", c.Value, err)
	}
	defer out.close() // the child has its own descriptors

	cmd := &exec.Cmd{
		Path:        path,
		Args:        args,
		Dir:         dir,
		Env:         environ(spec.Env),
		Stdout:      out.stdout,
		Stderr:      out.stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: cred},
	}
	cg, rl, err := confine(spec)
	if err != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start command %q: %w", c.Value, err)), nil
	}
	initRSS, err := start(cmd, cg, rl)
	if err != nil {
		return launchFailed(ReasonLaunchFailed, fmt.Errorf("start command %q: %w", path, err)), nil
	}
	p := &commandProcess{
		cmd:       cmd,
		cg:        cg,
		rl:        rl,
		rssFloor:  initRSS,
		out:       out,
		pid:       cmd.Process.Pid,
		done:      make(chan struct{}),
		escalated: make(chan struct{}),
	}
	if cg == nil {
		// See taskPeak. Read after the exec: the caller's peak can only
		// have grown since.
		p.rssFloor = max(p.rssFloor, procUsage(os.Getpid()).PeakMemoryBytes)
		p.peakSeen = procUsage(p.pid).PeakMemoryBytes // the task's own, since the exec
	}
	go p.reap()
	return p, nil
}

// confine makes what holds a task with spec, as spec.Isolation says: a
// cgroup, or rlimits set by the init, or both (a CPU-time budget is an
// rlimit in a cgroup too). Without a cgroup, a task with neither a
// memory cap nor a CPU-time budget gets no rlimits either: it needs no
// init.
func confine(spec Spec) (*taskCgroup, rlimits, error) {
	var rl rlimits
	if spec.CPUTime > 0 {
		rl.cpu = rlimitsOf(spec).cpu
	}
	if spec.Isolation == IsolationRlimits {
		return nil, rlimitsOf(spec), nil
	}
	lim := cgroupLimits{memory: spec.MemoryBytes, cpus: spec.CPUs, cpuLimit: spec.CPULimit}
	if cg := spec.Spares.take(spec.CgroupParent, lim); cg != nil {
		return cg, rl, nil
	}
	cg, err := newTaskCgroup(spec.CgroupParent, lim)
	switch {
	case err != nil:
		return nil, rl, err
	case cg != nil:
		return cg, rl, nil
	case spec.Isolation == IsolationCgroups:
		_, why := CgroupsAvailable()
		return nil, rl, fmt.Errorf("isolation %s: %w", IsolationCgroups, why)
	}
	return nil, rlimitsOf(spec), nil
}

// start starts cmd in cg (if not nil) through the rlimit init when rl
// sets any limit, and returns once what cmd names has been executed,
// with the init's peak resident memory (see taskPeak) or the error that
// kept the task from running.
func start(cmd *exec.Cmd, cg *taskCgroup, rl rlimits) (initRSS uint64, err error) {
	var status, w *os.File
	if rl.any() {
		if status, w, err = viaInit(cmd, rl); err != nil {
			if cg != nil {
				_, cgErr := cg.destroy(cgroupTimeout)
				err = errors.Join(err, cgErr)
			}
			return 0, err
		}
		defer status.Close()
	}
	if cg == nil {
		resetPeakRSS()
		err = cmd.Start()
	} else {
		err = cg.start(cmd)
	}
	if w != nil {
		w.Close() // the child has its own; EOF comes when it execs
		if err == nil {
			if initRSS, err = awaitExec(status); err != nil {
				_ = cmd.Wait() // the init has exited
			}
		}
	}
	if err != nil && cg != nil {
		_, cgErr := cg.destroy(cgroupTimeout)
		err = errors.Join(err, cgErr)
	}
	return initRSS, err
}

// commandProcess is a native task. Its pid is also its process group id.
//
// Signals go to the group only while the leader is not reaped: until then
// the leader, alive or a zombie, keeps the group id from being reused, so
// a signal cannot reach an unrelated group.
type commandProcess struct {
	cmd *exec.Cmd
	out output      // its copies, when output rotates, end once the task is gone
	cg  *taskCgroup // nil when the task runs without a cgroup
	rl  rlimits     // what the rlimit init set; zero without the init
	// rssFloor is, without a cgroup, the largest peak resident memory
	// the kernel may have folded into the leader's ru_maxrss that is not
	// the task's: the caller's and the init's (see taskPeak).
	rssFloor uint64
	pid      int
	done     chan struct{} // closed when result is set

	mu        sync.Mutex // guards the fields below
	reaped    bool       // cmd.Wait has returned; no more signals
	killed    bool       // Kill was called before the leader was reaped
	sigkilled bool       // Kill sent SIGKILL; escalated is closed
	deadline  time.Time  // when timer sends SIGKILL
	timer     *time.Timer
	escalated chan struct{} // closed when Kill sent SIGKILL

	result Result // set before done is closed

	// peakSeen is the largest VmHWM of the leader read from /proc (by
	// StartCommand and Usage) since the task was executed, without a
	// cgroup; see taskPeak.
	peakSeen uint64
}

// cgroupTimeout bounds how long a task's end waits for the processes
// left in its cgroup to die of SIGKILL before giving up on removing it.
const cgroupTimeout = 10 * time.Second

// reap waits for the leader to exit, kills what it left in its group and
// its cgroup, reaps it, and removes its cgroup.
func (p *commandProcess) reap() {
	defer close(p.done)
	var waitErr error
	if err := waitExited(p.pid); err != nil {
		// Cannot wait without reaping; reap, and leave the group alone.
		waitErr = p.cmd.Wait()
		p.mu.Lock()
		p.markReaped()
	} else {
		p.awaitGroup()
		p.mu.Lock()
		_ = unix.Kill(-p.pid, unix.SIGKILL)
		waitErr = p.cmd.Wait() // at once: the leader has exited
		p.markReaped()
	}
	killed, seen := p.killed, p.peakSeen
	p.mu.Unlock()
	// Without p.mu: removing the cgroup may wait for processes to die,
	// and Kill must not wait for that.
	r := resultOf(p.cmd.ProcessState, waitErr, killed)
	if p.cg == nil {
		r.Usage.PeakMemoryBytes = taskPeak(r.Usage.PeakMemoryBytes, p.rssFloor, seen)
	}
	if p.rl.any() {
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		r = withRlimits(r, ws, p.rl, killed)
	}
	if p.cg != nil {
		cs, err := p.cg.destroy(cgroupTimeout)
		r = p.withCgroup(r, cs, err, killed)
	}
	p.out.drain(outputDrainTimeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.result = r
}

// markReaped records that the leader is reaped: from now on no signal is
// sent to its group. p.mu must be held.
func (p *commandProcess) markReaped() {
	p.reaped = true
	if p.timer != nil {
		p.timer.Stop()
	}
}

// withCgroup completes r, the leader's result, with what the task's
// cgroup counted: usage for the whole task and, if the memory cap is why
// the task failed, ReasonMemoryLimit. A cgroup that could not be removed
// is reported in Err when the task did not end normally anyway (Err must
// stay nil for a normal exit).
func (p *commandProcess) withCgroup(r Result, cs cgroupStats, cgErr error, killed bool) Result {
	if cs.usage.CPUSeconds > 0 {
		r.Usage.CPUSeconds = max(r.Usage.CPUSeconds, cs.usage.CPUSeconds)
	}
	if cs.usage.PeakMemoryBytes > 0 {
		r.Usage.PeakMemoryBytes = cs.usage.PeakMemoryBytes
	}
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !killed && p.cg.limit > 0 && cs.oomKilled(ws) {
		how := fmt.Sprintf("exited with code %d", r.ExitCode)
		if r.Signal != 0 {
			how = "was killed by signal " + r.Signal.String()
		}
		r.Reason = ReasonMemoryLimit
		r.Err = fmt.Errorf("command exceeded its memory limit of %d bytes (%d MiB): the kernel's OOM killer killed %d of its processes; it %s",
			p.cg.limit, p.cg.limit>>20, max(cs.oomKills, 1), how)
	}
	if cgErr != nil && r.Err != nil {
		r.Err = fmt.Errorf("%w (and %w)", r.Err, cgErr)
	}
	return r
}

// awaitGroup gives the rest of a killed task's group its grace period: it
// returns when no live process is left in the group or when Kill has sent
// SIGKILL, whichever comes first. For a task that was not killed it
// returns at once.
func (p *commandProcess) awaitGroup() {
	p.mu.Lock()
	killed := p.killed
	p.mu.Unlock()
	if !killed {
		return
	}
	for d := time.Millisecond; p.othersLeft(); d = min(2*d, 100*time.Millisecond) {
		select {
		case <-p.escalated:
			return
		case <-time.After(d):
		}
	}
}

// othersLeft reports whether a live process other than the leader is
// left in the task's process group or cgroup.
func (p *commandProcess) othersLeft() bool {
	if groupHasOthers(p.pid) {
		return true
	}
	if p.cg == nil {
		return false
	}
	for _, pid := range p.cg.pids() {
		if pid != p.pid {
			return true
		}
	}
	return false
}

// signal sends sig to the task's process group and to every process in
// its cgroup (some may have left the group). p.mu must be held and the
// leader not reaped.
func (p *commandProcess) signal(sig unix.Signal) {
	_ = unix.Kill(-p.pid, sig)
	if p.cg != nil {
		for _, pid := range p.cg.pids() {
			_ = unix.Kill(pid, sig)
		}
	}
}

// waitExited blocks until process pid has exited, without reaping it.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

// resultOf turns how the leader ended into a Result.
func resultOf(st *os.ProcessState, waitErr error, killed bool) Result {
	if st == nil { // cannot happen: the leader was started
		return Result{ExitCode: -1, Reason: ReasonSignaled, Err: fmt.Errorf("wait for command: %w", waitErr)}
	}
	r := Result{ExitCode: st.ExitCode()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		r.Usage = Usage{
			CPUSeconds:      seconds(ru.Utime) + seconds(ru.Stime),
			PeakMemoryBytes: uint64(ru.Maxrss) * 1024, // Linux reports KiB
		}
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && killed:
		r.Signal = ws.Signal()
		r.Reason, r.Err = ReasonKilled, fmt.Errorf("command killed by signal %s", r.Signal)
	case ws.Signaled():
		r.Signal = ws.Signal()
		r.Reason, r.Err = ReasonSignaled, fmt.Errorf("command died by signal %s", r.Signal)
	case killed:
		r.Reason, r.Err = ReasonKilled, fmt.Errorf("command killed; it exited with code %d", r.ExitCode)
	}
	return r
}

func seconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

func (p *commandProcess) Wait() Result {
	<-p.done
	return p.result
}

// Kill sends SIGTERM, then SIGKILL once grace has passed (at once when
// grace <= 0). A later Kill may shorten the grace period under way, never
// lengthen it: SIGKILL then comes after the shorter of what is left and
// the new grace, as Mesos's executors do when a second kill's policy is
// shorter. SIGTERM is sent once.
func (p *commandProcess) Kill(grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped || p.sigkilled {
		return
	}
	first := !p.killed
	p.killed = true
	if grace <= 0 {
		p.escalate()
		return
	}
	deadline := time.Now().Add(grace)
	if !first && !deadline.Before(p.deadline) {
		return
	}
	if first {
		p.signal(unix.SIGTERM)
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.deadline = deadline
	p.timer = time.AfterFunc(grace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.reaped && !p.sigkilled {
			p.escalate()
		}
	})
}

// escalate sends SIGKILL to the group and the cgroup. p.mu must be held,
// the leader not reaped, and escalate not called before.
func (p *commandProcess) escalate() {
	p.sigkilled = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.signal(unix.SIGKILL)
	close(p.escalated)
}

// Usage reads the task's cgroup while it runs, or, without one, the group
// leader's /proc entries: CPU time in clock ticks and VmHWM, its peak
// resident set (children are then not counted until the leader has
// waited for them). Under rlimits the CPU time includes the init's few
// milliseconds.
func (p *commandProcess) Usage() Usage {
	p.mu.Lock()
	if p.reaped {
		p.mu.Unlock()
		<-p.done
		return p.Wait().Usage
	}
	defer p.mu.Unlock()
	if p.cg != nil {
		if u := p.cg.stats().usage; u.CPUSeconds > 0 || u.PeakMemoryBytes > 0 {
			return u
		}
	}
	u := procUsage(p.pid)
	p.peakSeen = max(p.peakSeen, u.PeakMemoryBytes)
	return u
}

// clockTicks is USER_HZ, the unit of CPU times in /proc; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procUsage reads the usage of process pid from /proc; what cannot be
// read is left zero.
func procUsage(pid int) Usage {
	var u Usage
	dir := "/proc/" + strconv.Itoa(pid)
	if f := statFields(dir + "/stat"); len(f) > 12 {
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		u.CPUSeconds = float64(utime+stime) / clockTicks
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		for line := range bytes.Lines(b) {
			v, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
			if f := bytes.Fields(v); ok && len(f) > 0 {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				u.PeakMemoryBytes = kb * 1024
			}
		}
	}
	return u
}

// statFields returns the fields of a /proc/<pid>/stat file after the
// command name (which may hold spaces and parentheses): the state is
// field 0, the process group 2, utime 11 and stime 12.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	var f []string
	for _, w := range bytes.Fields(b[i+1:]) {
		f = append(f, string(w))
	}
	return f
}

// groupHasOthers reports whether a live process other than pgid itself is
// in process group pgid. It scans /proc: it is called only while a killed
// task's group is given its grace period.
func groupHasOthers(pgid int) bool {
	d, err := os.Open("/proc")
	if err != nil {
		return false
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	want := strconv.Itoa(pgid)
	for _, name := range names {
		if name == want || name[0] < '0' || name[0] > '9' {
			continue
		}
		f := statFields("/proc/" + name + "/stat")
		if len(f) > 2 && f[2] == want && f[0] != "Z" {
			return true
		}
	}
	return false
}
