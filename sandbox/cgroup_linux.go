package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroupRoot is where the cgroup hierarchies are mounted: the v1
// controllers in directories named after them, or the unified (v2)
// hierarchy itself.
const cgroupRoot = "/sys/fs/cgroup"

// v1Controllers are the cgroup v1 hierarchies a native task's cgroup is
// made in. Where cpu and cpuacct are mounted together, /sys/fs/cgroup/cpu
// and /sys/fs/cgroup/cpuacct are the same directory.
var v1Controllers = []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Cpuacct}

// CgroupsAvailable reports which cgroup version native tasks are
// confined with: "v2" when the unified hierarchy is mounted at
// /sys/fs/cgroup, offers the memory and cpu controllers and is writable,
// else "v1" when the memory, cpu and cpuacct hierarchies are mounted and
// the caller's cgroups in them are writable. Otherwise it returns an
// error saying why neither can be used; native tasks then run without a
// cgroup, their Spec.MemoryBytes an rlimit (see Spec).
//
// It reads the system each time; an agent or executor calls it once at
// start to log what its tasks get. It is safe for concurrent use.
func CgroupsAvailable() (string, error) {
	err2 := v2Usable()
	if err2 == nil {
		return "v2", nil
	}
	err1 := v1Usable()
	if err1 == nil {
		return "v1", nil
	}
	return "", fmt.Errorf("no usable cgroup hierarchy: %w; %w", err2, err1)
}

// v2Usable says why the unified hierarchy cannot confine tasks, if it
// cannot.
func v2Usable() error {
	if cgroups.Mode() != cgroups.Unified {
		return errors.New("cgroup v2: the unified hierarchy is not mounted at " + cgroupRoot)
	}
	b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	have := strings.Fields(string(b))
	for _, c := range []string{"memory", "cpu"} {
		if !slices.Contains(have, c) {
			return fmt.Errorf("cgroup v2: controller %s is not available", c)
		}
	}
	if err := unix.Access(cgroupRoot, unix.W_OK); err != nil {
		return fmt.Errorf("cgroup v2: %s is not writable: %w", cgroupRoot, err)
	}
	return nil
}

// v1Usable says why the v1 hierarchies cannot confine tasks, if they
// cannot.
func v1Usable() error {
	own, err := cgroup1.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return fmt.Errorf("cgroup v1: %w", err)
	}
	for _, c := range v1Controllers {
		dir := filepath.Join(cgroupRoot, string(c))
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.CGROUP_SUPER_MAGIC {
			return fmt.Errorf("cgroup v1: controller %s is not mounted at %s", c, dir)
		}
		if _, ok := own[string(c)]; !ok {
			return fmt.Errorf("cgroup v1: this process is in no %s cgroup", c)
		}
		p, err := cgroup1.NestedPath("")(c)
		if err != nil {
			return fmt.Errorf("cgroup v1: %s: %w", c, err)
		}
		if err := unix.Access(filepath.Join(dir, p), unix.W_OK); err != nil {
			return fmt.Errorf("cgroup v1: %s is not writable: %w", filepath.Join(dir, p), err)
		}
	}
	return nil
}

// taskCgroup is the cgroup of one native task: it caps the task's memory
// and accounts for its CPU time and memory, children included. Its
// methods are safe for concurrent use; once deleted it answers from what
// it read last.
type taskCgroup struct {
	name  string   // for messages: the cgroup's path in its hierarchy
	dirs  []string // its directories, one per v1 hierarchy or the v2 one
	limit uint64   // memory cap in bytes; 0 for none

	// home is closed once the thread that forked the task (v1), or a
	// spare's thread that forked none, has left the cgroup (see start
	// and destroy); nil on v2, where no thread moves.
	home chan struct{}
	// thread is a spare's forker (see CgroupSpares), already in the
	// cgroup and waiting for the task; nil once it has forked, and for
	// a cgroup made for its task.
	thread *forker

	mu      sync.Mutex
	v1      cgroup1.Cgroup   // exactly one of v1 and v2 is set
	v2      *cgroup2.Manager //
	deleted bool
	last    cgroupStats // the last stats read
}

// cgroupStats is what a task's cgroup has counted.
type cgroupStats struct {
	usage    Usage
	oomKills uint64 // processes the OOM killer killed in the cgroup
	failcnt  uint64 // times the memory cap was hit (v1), or "max" events (v2)
}

// cgroupLimits is what a task's cgroup enforces.
type cgroupLimits struct {
	memory   uint64  // bytes; 0 for no cap
	cpus     float64 // CPU weight, in CPUs; 0 for the default
	cpuLimit float64 // CFS quota, in CPUs; 0 for none
}

// cfsPeriod is the CFS period of a task's CPU quota, the kernel's default.
const cfsPeriod = 100_000 // µs

// shares converts CPUs to v1 cpu.shares (1024 per CPU, at least the
// kernel's minimum of 2), the conversion Mesos and Kubernetes use.
func (l cgroupLimits) shares() uint64 {
	return max(2, uint64(l.cpus*1024))
}

// weight converts the shares to a v2 cpu.weight (1–10000), as runc and
// the kubelet map one onto the other.
func (l cgroupLimits) weight() uint64 {
	s := min(l.shares(), 262144)
	return 1 + ((s-2)*9999)/262142
}

// quota is the CFS quota in µs per cfsPeriod, at least the kernel's
// minimum of 1 ms.
func (l cgroupLimits) quota() int64 {
	return max(1000, int64(l.cpuLimit*cfsPeriod))
}

// newTaskCgroup creates a cgroup for a task under parent (see
// Spec.CgroupParent) with the given limits, with the cgroup version
// CgroupsAvailable picks. It returns a nil cgroup and no error when
// neither version is usable.
func newTaskCgroup(parent string, lim cgroupLimits) (*taskCgroup, error) {
	name := taskCgroupName(parent)
	pr := probed()
	switch pr.version {
	case "v2":
		return newCgroup2(name, lim)
	case "v1":
		return newCgroup1(name, pr.v1Path(name), lim)
	}
	return nil, nil
}

// cgroupParent is a Spec.CgroupParent with "" resolved.
func cgroupParent(p string) string {
	return cmp.Or(p, DefaultCgroupParent)
}

// taskCgroupName is a new task cgroup's path under parent: task-<random
// hex>, the names SweepCgroups looks for.
func taskCgroupName(parent string) string {
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails
	return path.Join(cgroupParent(parent), "task-"+hex.EncodeToString(id))
}

// probe is what this process learned once about its cgroups: which
// version confines tasks, and for v1 its own cgroup in each hierarchy,
// under which relative task cgroups are nested. Resolving these for every
// task (containerd's NestedPath parses /proc/self/mountinfo each time) was
// half of a native launch.
type probe struct {
	version string
	own     map[cgroup1.Name]string
}

var (
	probeOnce sync.Once
	probeRes  probe
)

func probed() probe {
	probeOnce.Do(func() {
		switch {
		case v2Usable() == nil:
			probeRes.version = "v2"
		case v1Usable() == nil:
			own := map[cgroup1.Name]string{}
			for _, c := range v1Controllers {
				dir, err := cgroup1.NestedPath("")(c)
				if err != nil {
					return
				}
				own[c] = dir
			}
			probeRes = probe{version: "v1", own: own}
		}
	})
	return probeRes
}

// v1Path places a task cgroup: an absolute name as it is, a relative one
// under this process's own cgroup in each hierarchy.
func (p probe) v1Path(name string) cgroup1.Path {
	if path.IsAbs(name) {
		return cgroup1.StaticPath(name)
	}
	return func(c cgroup1.Name) (string, error) {
		own, ok := p.own[c]
		if !ok {
			return "", fmt.Errorf("no %s cgroup of our own", c)
		}
		return path.Join(own, name), nil
	}
}

func newCgroup1(name string, p cgroup1.Path, lim cgroupLimits) (*taskCgroup, error) {
	limit := lim.memory
	res := &specs.LinuxResources{}
	if lim.cpus > 0 || lim.cpuLimit > 0 {
		res.CPU = &specs.LinuxCPU{}
		if lim.cpus > 0 {
			res.CPU.Shares = new(lim.shares())
		}
		if lim.cpuLimit > 0 {
			res.CPU.Quota, res.CPU.Period = new(lim.quota()), new(uint64(cfsPeriod))
		}
	}
	if limit > 0 {
		l := int64(min(limit, 1<<62))
		res.Memory = &specs.LinuxMemory{Limit: &l}
		// memsw = memory: no swap on top of the cap. The file exists only
		// where the kernel accounts for swap.
		if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes")); err == nil {
			res.Memory.Swap = &l
		}
	}
	hierarchy := func() ([]cgroup1.Subsystem, error) {
		return []cgroup1.Subsystem{
			cgroup1.NewMemory(cgroupRoot, cgroup1.OptionalSwap()),
			cgroup1.NewCpu(cgroupRoot),
			cgroup1.NewCpuacct(cgroupRoot),
		}, nil
	}
	cg, err := cgroup1.New(p, res, cgroup1.WithHierarchy(hierarchy))
	if err != nil {
		// New leaves behind what it created before failing.
		if c, lerr := cgroup1.Load(p, cgroup1.WithHierarchy(hierarchy)); lerr == nil {
			_ = c.Delete()
		}
		return nil, fmt.Errorf("create cgroup v1 %s: %w", name, err)
	}
	g := &taskCgroup{limit: limit, v1: cg}
	for _, c := range v1Controllers {
		dir, _ := p(c) // New succeeded: p has a path for each
		g.dirs = append(g.dirs, filepath.Join(cgroupRoot, string(c), dir))
		if c == cgroup1.Memory {
			g.name = "memory:" + dir
		}
	}
	return g, nil
}

func newCgroup2(name string, lim cgroupLimits) (*taskCgroup, error) {
	limit := lim.memory
	// Under the root: the caller's own cgroup holds the caller, and v2
	// lets no cgroup with processes delegate controllers to children.
	group := path.Join("/", name)
	res := &cgroup2.Resources{CPU: &cgroup2.CPU{}, Memory: &cgroup2.Memory{}}
	if lim.cpus > 0 {
		res.CPU.Weight = new(lim.weight())
	}
	if lim.cpuLimit > 0 {
		res.CPU.Max = cgroup2.NewCPUMax(new(lim.quota()), new(uint64(cfsPeriod)))
	}
	if limit > 0 {
		l := int64(min(limit, 1<<62))
		res.Memory.Max = &l
		res.Memory.OOMGroup = new(true) // an OOM kill takes the whole task
	}
	m, err := cgroup2.NewManager(cgroupRoot, group, res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup v2 %s: %w", group, err)
	}
	if limit > 0 {
		err := os.WriteFile(filepath.Join(cgroupRoot, group, "memory.swap.max"), []byte("0"), 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) { // no swap accounting
			_ = m.Delete()
			return nil, fmt.Errorf("disable swap in cgroup v2 %s: %w", group, err)
		}
	}
	return &taskCgroup{name: group, dirs: []string{filepath.Join(cgroupRoot, group)}, limit: limit, v2: m}, nil
}

// start starts cmd with its first process already in the cgroup, so that
// nothing of the task ever runs outside it.
//
// On v2 the kernel places the child (clone3 with CLONE_INTO_CGROUP, Go's
// SysProcAttr.UseCgroupFD). v1 has no such call, but a v1 cgroup holds
// threads, and a child starts in the cgroups of the thread that forked
// it: an OS thread locked to a goroutine joins the task's cgroups, forks
// the task, and goes back to the cgroups it came from (those of the
// calling process). While it is away, the caller's pid shows in the
// task's cgroup.procs; pids leaves it out. If it cannot go back, it stays
// locked and so exits with its goroutine. See RATIONALE.md, "Why one
// cgroup per native task?".
func (g *taskCgroup) start(cmd *exec.Cmd) error {
	if g.v2 != nil {
		return startInto(cmd, g.dirs[0])
	}
	if f := g.thread; f != nil {
		g.thread = nil
		f.cmds <- cmd
		return <-f.errc
	}
	g.home = make(chan struct{})
	return startFromThread(cmd, g.addThreadV1, g.name, g.home)
}

// startInto starts cmd with its first process in the v2 cgroup at dir
// (clone3 with CLONE_INTO_CGROUP).
func startInto(cmd *exec.Cmd, dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open cgroup: %w", err)
	}
	defer f.Close()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(f.Fd())
	return cmd.Start()
}

// startFromThread starts cmd from an OS thread that join has moved into
// the v1 cgroups named name, and moves that thread back to the calling
// process's own cgroups (see taskCgroup.start). With a home channel it
// returns as soon as cmd has started and closes home once the thread has
// tried to go back; without, it returns after. join and the way back
// write "0" (the writing thread itself) rather than the thread's id: see
// joinSelf.
func startFromThread(cmd *exec.Cmd, join func() error, name string, home chan<- struct{}) error {
	f := goFork(join, name, home)
	f.cmds <- cmd
	return <-f.errc
}

// forker is an OS thread, locked to its goroutine, that joins a v1
// cgroup, forks one command there (or none) and goes back to the calling
// process's own cgroups: what startFromThread does at once, and what a
// spare cgroup (CgroupSpares) keeps waiting until its task comes.
type forker struct {
	cmds chan *exec.Cmd // capacity 1: the command to fork, or nil to fork none
	errc chan error     // capacity 1: why joining or forking failed, or nil
}

// goFork starts a forker: join moves its thread into the cgroups named
// name. With a home channel the forker answers on errc as soon as the
// command has started (or the join has failed) and closes home once its
// thread has tried to go back; without, it answers after.
func goFork(join func() error, name string, home chan<- struct{}) *forker {
	f := &forker{cmds: make(chan *exec.Cmd, 1), errc: make(chan error, 1)}
	go f.run(join, name, home, probed().v1Path(""))
	return f
}

// run is the forker's goroutine: it locks a thread other than the
// process's main thread, joins, forks, and goes back.
//
// Not the main thread: on v1 the memory cgroup of the process's main
// thread is the one its whole memory is charged to (the mm's owner), so
// with the main thread in a task's cgroup every allocation of this
// process would count against the task's cap, for as long as a spare's
// thread waits there. A goroutine that finds itself on the main thread
// keeps it locked while it starts the forker again, which can then run
// only on another thread, and lets the main thread go once that one is
// locked.
func (f *forker) run(join func() error, name string, home chan<- struct{}, own cgroup1.Path) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			f.forkFrom(join, name, home, own)
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	f.forkFrom(join, name, home, own)
}

// forkFrom does run's work on the locked thread of the calling goroutine.
func (f *forker) forkFrom(join func() error, name string, home chan<- struct{}, own cgroup1.Path) {
	err := join()
	if err != nil {
		err = fmt.Errorf("move thread into cgroup %s: %w", name, err)
	} else if cmd := <-f.cmds; cmd != nil {
		err = cmd.Start()
	}
	// A task's start answers before going back: the way back (0.2 ms
	// at the median here) need not hold the launch up. Until the
	// thread is back, the caller's pid is in the task's cgroup.procs,
	// which pids leaves out, and the cgroup cannot be removed, which
	// destroy waits for on home.
	if home != nil {
		f.errc <- err
		defer close(home)
	}
	if moveThread(own) == nil {
		runtime.UnlockOSThread()
	} // else the thread ends with this goroutine, and leaves the cgroup
	if home == nil {
		f.errc <- err
	}
}

// joinSelf moves the calling OS thread (which must be locked to its
// goroutine) into the v1 cgroup directory dir, by writing "0" to its
// tasks file. Why "0" rather than the thread's id: the kernel moves the
// writer itself without taking the global cgroup_threadgroup_rwsem for
// writing, which for any other id waits for an RCU grace period whenever
// no migration ran in the last few milliseconds: 7–20 ms on this machine
// for one launch in ten, in and again on the way back, against 0.5 ms
// for "0" (RATIONALE.md, "Why one cgroup per native task?").
func joinSelf(dir string) error {
	return os.WriteFile(filepath.Join(dir, "tasks"), []byte("0"), 0)
}

// moveThread moves the calling OS thread into the v1 cgroups at p.
func moveThread(p cgroup1.Path) error {
	for _, c := range v1Controllers {
		dir, err := p(c)
		if err != nil {
			return err
		}
		if err := joinSelf(filepath.Join(cgroupRoot, string(c), dir)); err != nil {
			return err
		}
	}
	return nil
}

// pids returns the processes in the cgroup, leaving out the calling
// process (see start).
func (g *taskCgroup) pids() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return nil
	}
	// Read cgroup.procs directly: task cgroups have no children, and
	// containerd's Processes walks the tree, which cost a fifth of a
	// native launch. The memory hierarchy (v1) or the one (v2) suffices.
	var pids []int
	if b, err := os.ReadFile(filepath.Join(g.dirs[0], "cgroup.procs")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	self := os.Getpid()
	return slices.DeleteFunc(pids, func(pid int) bool { return pid == self })
}

// killAll sends SIGKILL to every process in the cgroup. A pid read from
// cgroup.procs could be reused before the signal if that process exits
// and enough others are forked in between; this is the same race every
// cgroup-based killer without cgroup.kill accepts.
func (g *taskCgroup) killAll() {
	for _, pid := range g.pids() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// stats reads what the cgroup has counted so far; once the cgroup is
// deleted it returns what was read last.
func (g *taskCgroup) stats() cgroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return g.last
	}
	var s cgroupStats
	if g.v2 != nil {
		m, err := g.v2.Stat()
		if err != nil {
			return g.last
		}
		if m.CPU != nil {
			s.usage.CPUSeconds = float64(m.CPU.UsageUsec) / 1e6
		}
		if m.Memory != nil {
			s.usage.PeakMemoryBytes = max(m.Memory.MaxUsage, m.Memory.Usage, g.last.usage.PeakMemoryBytes)
		}
		if m.MemoryEvents != nil {
			s.oomKills, s.failcnt = m.MemoryEvents.OomKill, m.MemoryEvents.Max
		}
	} else {
		var ok bool
		if s, ok = g.statsV1(); !ok {
			return g.last
		}
	}
	g.last = s
	return s
}

// statsV1 reads the four numbers a v1 task cgroup is asked for directly
// from their files; containerd's Stat parses every file of every
// controller (all of memory.stat among them), a fifth of a native launch.
// dirs are in v1Controllers order: memory, cpu, cpuacct.
func (g *taskCgroup) statsV1() (cgroupStats, bool) {
	var s cgroupStats
	mem, acct := g.dirs[0], g.dirs[2]
	ns, err := readCgroupUint(filepath.Join(acct, "cpuacct.usage"))
	if err != nil {
		return s, false
	}
	s.usage.CPUSeconds = float64(ns) / 1e9
	s.usage.PeakMemoryBytes, _ = readCgroupUint(filepath.Join(mem, "memory.max_usage_in_bytes"))
	s.failcnt, _ = readCgroupUint(filepath.Join(mem, "memory.failcnt"))
	if b, err := os.ReadFile(filepath.Join(mem, "memory.oom_control")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				s.oomKills, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	return s, true
}

// readCgroupUint reads a cgroup file holding one unsigned number.
func readCgroupUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// destroy kills what is left in the cgroup, reads its final stats and
// removes it. It gives up after timeout, returning an error, if
// processes remain (one stuck in uninterruptible sleep, say).
func (g *taskCgroup) destroy(timeout time.Duration) (cgroupStats, error) {
	if f := g.thread; f != nil {
		// A spare's thread that forked nothing: it goes back unused.
		g.thread = nil
		f.cmds <- nil
		<-f.errc
	}
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; ; d = min(2*d, 50*time.Millisecond) {
		g.killAll()
		if len(g.pids()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return g.stats(), fmt.Errorf("remove cgroup %s: processes %v outlived SIGKILL", g.name, g.pids())
		}
		time.Sleep(d)
	}
	if g.home != nil {
		<-g.home // our thread, not a process: rmdir would fail until it left
	}
	s := g.stats()
	g.mu.Lock()
	defer g.mu.Unlock()
	var err error
	for d := time.Millisecond; ; d = min(2*d, 50*time.Millisecond) {
		if g.v2 != nil {
			err = g.v2.Delete()
		} else {
			err = g.removeV1()
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(d) // a process may still be leaving the cgroup
	}
	if err != nil {
		return s, fmt.Errorf("remove cgroup %s: %w", g.name, err)
	}
	g.deleted = true
	return s, nil
}

// oomKilled reports whether the task's end is the memory cap's doing,
// given how its leader ended: the kernel's OOM killer killed a process in
// the cgroup and the task did not exit successfully, or the leader died
// of SIGKILL after the cap had been hit (kernels without an oom_kill
// counter).
func (s cgroupStats) oomKilled(ws syscall.WaitStatus) bool {
	failed := ws.Signaled() || ws.ExitStatus() != 0
	if s.oomKills > 0 {
		return failed
	}
	return ws.Signaled() && ws.Signal() == syscall.SIGKILL && s.failcnt > 0
}

// SweepCgroups removes the empty task cgroups under parent ("" means
// DefaultCgroupParent, resolved as Spec.CgroupParent is) that a dead
// process left behind: an executor killed with SIGKILL never removes its
// tasks' cgroups. Removing a cgroup that still holds a process or a child
// fails in the kernel, so a live task's cgroup is never touched, and a
// cgroup younger than a minute is left alone: it may belong to a task
// another executor is starting. It returns how many it removed.
func SweepCgroups(parent string) int {
	parent = cgroupParent(parent)
	var dirs []string
	pr := probed()
	switch pr.version {
	case "v2":
		dirs = []string{filepath.Join(cgroupRoot, path.Join("/", parent))}
	case "v1":
		p := pr.v1Path(parent)
		for _, c := range v1Controllers {
			if dir, err := p(c); err == nil {
				dirs = append(dirs, filepath.Join(cgroupRoot, string(c), dir))
			}
		}
	}
	removed := 0
	for _, d := range dirs {
		leftovers, _ := filepath.Glob(filepath.Join(d, "task-*"))
		for _, l := range leftovers {
			// A cgroup another executor has just made is empty until its
			// task moves in: only old ones are leftovers.
			if fi, err := os.Stat(l); err != nil || time.Since(fi.ModTime()) < sweepAge {
				continue
			}
			if os.Remove(l) == nil { // rmdir: refused while in use
				removed++
			}
		}
	}
	return removed
}

// sweepAge is how old an empty task cgroup must be before SweepCgroups
// takes it for a dead executor's leftover.
const sweepAge = time.Minute

// removeV1 removes the task's v1 cgroup directories. They have no child
// cgroups and, by now, no processes, so rmdir is all it takes; the kernel
// refuses it (EBUSY) while a process remains, and destroy retries.
// containerd's Delete would walk every hierarchy for processes first,
// which cost two fifths of a native launch.
func (g *taskCgroup) removeV1() error {
	var first error
	for _, d := range g.dirs {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return first
}

// addThreadV1 moves the calling OS thread (not its whole process: the
// "tasks" file, not "cgroup.procs") into the task's v1 cgroups, writing
// the files directly rather than through containerd's per-call path
// resolution.
func (g *taskCgroup) addThreadV1() error {
	for _, d := range g.dirs {
		if err := joinSelf(d); err != nil {
			return err
		}
	}
	return nil
}
