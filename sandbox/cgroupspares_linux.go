package sandbox

import (
	"cmp"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// CgroupSpares keeps one native task's cgroup made ahead of its task,
// with a thread of the calling process already in it, waiting to fork
// the task there: a launch then only writes the limits that differ from
// the last task's (Spec.Spares). Why: on cgroup v1, making a task's
// cgroup (a directory in each of three hierarchies, its limits written)
// took 0.28 ms at the median of a native launch of 2.5 ms, on a machine
// where a bare fork, exec and wait took 1.5 ms and a native launch
// should cost at most twice that (RATIONALE.md, "Why one cgroup per
// native task?").
//
// The next spare is made as each native task starts, off the launch
// path, so an executor that never starts a native task never makes one,
// and one that starts a single task makes one spare in vain. A spare's
// thread keeps it from being removed as a leftover (SweepCgroups, which
// removes only empty cgroups); a process killed with SIGKILL leaves an
// empty spare behind, which the next SweepCgroups removes. Spares are
// made on cgroup v1 only: on v2 the kernel starts a task in its cgroup
// without a thread moving (clone3 with CLONE_INTO_CGROUP), and an empty
// spare could be swept.
//
// Its methods are safe for concurrent use, and a nil *CgroupSpares
// keeps none.
type CgroupSpares struct {
	parent string // as Spec.CgroupParent, "" resolved

	mu      sync.Mutex
	ready   *taskCgroup  // the spare; nil when none is ready
	made    cgroupLimits // what ready was made with
	limits  cgroupLimits // what the next spare is made with: the last task's
	filling bool         // a goroutine is making one
	closed  bool
	fills   sync.WaitGroup
}

// NewCgroupSpares returns an empty CgroupSpares for tasks whose
// Spec.CgroupParent is parent. Close removes its spare.
func NewCgroupSpares(parent string) *CgroupSpares {
	return &CgroupSpares{parent: cgroupParent(parent)}
}

// Close removes the spare, if any, once its thread has left it, and
// keeps any more from being made. It waits for a spare being made.
func (s *CgroupSpares) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	g := s.ready
	s.ready = nil
	s.mu.Unlock()
	s.fills.Wait() // a spare made meanwhile is discarded by its maker
	if g != nil {
		_, _ = g.destroy(cgroupTimeout)
	}
}

// take hands out the spare for a task under parent with limits lim,
// and has the next one made. It returns nil when none is ready, when
// parent is not the spares' or when lim cannot be written (the caller
// then makes the task's cgroup itself, and meets the error there).
func (s *CgroupSpares) take(parent string, lim cgroupLimits) *taskCgroup {
	if s == nil {
		return nil
	}
	if cgroupParent(parent) != s.parent {
		return nil
	}
	s.mu.Lock()
	g, was := s.ready, s.made
	s.ready, s.limits = nil, lim
	s.fillLocked()
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	if err := g.setLimitsV1(was, lim); err != nil {
		_, _ = g.destroy(cgroupTimeout)
		return nil
	}
	return g
}

// fillLocked starts making a spare unless one is ready or being made.
// s.mu must be held.
func (s *CgroupSpares) fillLocked() {
	if s.closed || s.filling || s.ready != nil || probed().version != "v1" {
		return
	}
	s.filling = true
	s.fills.Add(1)
	go s.fill()
}

// fill makes a spare. A spare that cannot be made is not retried until
// the next take: the launch that finds none makes its task's cgroup
// itself and reports why that failed, if it does.
func (s *CgroupSpares) fill() {
	defer s.fills.Done()
	s.mu.Lock()
	lim := s.limits
	s.mu.Unlock()
	g, err := newSpareCgroup(s.parent, lim)
	s.mu.Lock()
	s.filling = false
	keep := err == nil && !s.closed
	if keep {
		s.ready, s.made = g, lim
	}
	s.mu.Unlock()
	if err == nil && !keep {
		_, _ = g.destroy(cgroupTimeout)
	}
}

// newSpareCgroup makes a task cgroup under parent with limits lim and
// moves a forker's thread into it.
func newSpareCgroup(parent string, lim cgroupLimits) (*taskCgroup, error) {
	name := taskCgroupName(parent)
	g, err := newCgroup1(name, probed().v1Path(name), lim)
	if err != nil {
		return nil, err
	}
	joined := make(chan error, 1)
	g.home = make(chan struct{})
	g.thread = goFork(func() error {
		err := g.addThreadV1()
		joined <- err
		return err
	}, g.name, g.home)
	if <-joined != nil {
		err := <-g.thread.errc // the join's error, naming the cgroup
		g.thread = nil
		_, _ = g.destroy(cgroupTimeout)
		return nil, err
	}
	return g, nil
}

// setLimitsV1 changes the limits of a v1 cgroup made by newCgroup1
// with the limits was to lim, writing only what differs: the memory cap
// (and the same cap on memory and swap), the CPU weight, the CFS quota.
// No limit is the kernel's default (no cap, 1024 shares, no quota).
func (g *taskCgroup) setLimitsV1(was, lim cgroupLimits) error {
	mem, cpu := g.dirs[0], g.dirs[1] // in the order of v1Controllers
	if lim.memory != was.memory {
		c := int64(min(cmp.Or(lim.memory, 1<<62), 1<<62)) // no cap is a huge one, as the kernel's own
		if err := setMemoryV1(mem, c); err != nil {
			return err
		}
	}
	write := func(file string, v int64) error {
		return os.WriteFile(filepath.Join(cpu, file), []byte(strconv.FormatInt(v, 10)), 0)
	}
	if lim.cpus != was.cpus {
		shares := int64(1024)
		if lim.cpus > 0 {
			shares = int64(lim.shares())
		}
		if err := write("cpu.shares", shares); err != nil {
			return err
		}
	}
	if lim.cpuLimit != was.cpuLimit {
		quota := int64(-1)
		if lim.cpuLimit > 0 {
			quota = lim.quota()
		}
		if err := write("cpu.cfs_period_us", cfsPeriod); err != nil {
			return err
		}
		if err := write("cpu.cfs_quota_us", quota); err != nil {
			return err
		}
	}
	g.limit = lim.memory
	return nil
}
