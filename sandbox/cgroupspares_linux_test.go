package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCgroupSpares starts native tasks one after another through a
// CgroupSpares, as an executor does. On v1 each task after the first
// starts in the spare made after the one before, from its first
// instruction, with its own limits written over those the spare was made
// with; a task that cannot start leaves its spare removed; Close removes
// the last spare once its thread has gone back. On v2 no spare is made
// and tasks start in cgroups of their own.
func TestCgroupSpares(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	const parent = "mezzo-test-spares"
	s := NewCgroupSpares(parent)
	t.Cleanup(s.Close)
	run := func(spec Spec, c CommandSpec) Process {
		t.Helper()
		spec.Dir, spec.CgroupParent, spec.Spares = sandboxDir(t), parent, s
		p, err := StartCommand(context.Background(), spec, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Kill(0); p.Wait() })
		return p
	}
	first := run(Spec{}, CommandSpec{Value: "true"})
	checkResult(t, wait(t, first), 0, ReasonNone)

	if v, _ := CgroupsAvailable(); v == "v2" {
		p := run(Spec{MemoryBytes: 32 << 20}, CommandSpec{Value: "true"})
		checkResult(t, wait(t, p), 0, ReasonNone)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ready != nil || s.filling {
			t.Error("a spare was made on cgroup v2")
		}
		return
	}

	spare := func() *taskCgroup {
		t.Helper()
		var g *taskCgroup
		eventually(t, "a spare made", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			g = s.ready
			return g != nil
		})
		return g
	}
	read := func(dir, file string) uint64 {
		t.Helper()
		n, err := readCgroupUint(filepath.Join(dir, file))
		if err != nil {
			// cfs_quota_us reads -1 for no quota.
			b, _ := os.ReadFile(filepath.Join(dir, file))
			if strings.TrimSpace(string(b)) == "-1" {
				return 0
			}
			t.Fatal(err)
		}
		return n
	}
	const show = "grep memory /proc/self/cgroup; exec sleep 60"
	tests := []struct {
		name    string
		spec    Spec
		cmd     CommandSpec
		mem     uint64 // memory.limit_in_bytes; 0 for none (huge)
		shares  uint64
		quota   uint64 // 0 for none
		reason  Reason
		noStart bool
	}{
		{"limits written over none", Spec{MemoryBytes: 32 << 20, CPUs: 0.5, CPULimit: 0.1},
			CommandSpec{Shell: true, Value: show}, 32 << 20, 512, 10000, ReasonKilled, false},
		{"the same limits again", Spec{MemoryBytes: 32 << 20, CPUs: 0.5, CPULimit: 0.1},
			CommandSpec{Shell: true, Value: "exec tail /dev/zero"}, 32 << 20, 512, 10000, ReasonMemoryLimit, false},
		{"limits taken away", Spec{},
			CommandSpec{Shell: true, Value: show}, 0, 1024, 0, ReasonKilled, false},
		{"an executable that is missing", Spec{MemoryBytes: 16 << 20},
			CommandSpec{Value: "/nonexistent/task"}, 16 << 20, 1024, 0, ReasonLaunchFailed, true},
		{"a cap after a failed start", Spec{MemoryBytes: 64 << 20, CPUs: 2},
			CommandSpec{Shell: true, Value: show}, 64 << 20, 2048, 0, ReasonKilled, false},
	}
	for _, tt := range tests {
		g := spare()
		p := run(tt.spec, tt.cmd)
		if tt.noStart {
			checkResult(t, wait(t, p), -1, tt.reason)
			checkRemoved(t, g)
			continue
		}
		cp := p.(*commandProcess)
		if cp.cg != g {
			t.Fatalf("%s: the task's cgroup is %s, not the spare %s", tt.name, cp.cg.name, g.name)
		}
		mem, cpu := g.dirs[0], g.dirs[1]
		if m := read(mem, "memory.limit_in_bytes"); tt.mem == 0 && m < 1<<62 || tt.mem != 0 && m != tt.mem {
			t.Errorf("%s: memory.limit_in_bytes %d, want %d (0: none)", tt.name, m, tt.mem)
		}
		if n := read(cpu, "cpu.shares"); n != tt.shares {
			t.Errorf("%s: cpu.shares %d, want %d", tt.name, n, tt.shares)
		}
		if q := read(cpu, "cpu.cfs_quota_us"); q != tt.quota {
			t.Errorf("%s: cpu.cfs_quota_us %d, want %d (0: none)", tt.name, q, tt.quota)
		}
		if tt.reason == ReasonKilled {
			want := strings.TrimPrefix(g.name, "memory:")
			eventually(t, "the task's /proc/self/cgroup in its stdout", func() bool {
				out, _ := os.ReadFile(filepath.Join(cp.cmd.Dir, StdoutFile))
				return strings.Contains(string(out), want)
			})
			p.Kill(0)
		}
		r := wait(t, p)
		if r.Reason != tt.reason {
			t.Errorf("%s: reason %v (%v), want %v", tt.name, r.Reason, r.Err, tt.reason)
		}
		checkRemoved(t, g)
	}

	// The last spare holds a thread of this process: the kernel refuses
	// to remove it (SweepCgroups cannot take it for a leftover) until
	// Close has sent the thread back.
	last := spare()
	for _, d := range last.dirs {
		if err := syscall.Rmdir(d); !errors.Is(err, syscall.EBUSY) {
			t.Errorf("rmdir %s of a spare = %v, want EBUSY", d, err)
		}
	}
	s.Close()
	checkRemoved(t, last)
	tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), parent+"/") {
			t.Errorf("%s after Close: %s", f, b)
		}
	}
	if p := run(Spec{}, CommandSpec{Value: "true"}); wait(t, p).Reason != ReasonNone {
		t.Error("a task after Close did not run")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready != nil || s.filling {
		t.Error("a spare was made after Close")
	}
}

// TestSpareThreads makes spares over and over and checks where their
// threads are: never the process's main thread, whose memory cgroup on
// v1 is the one the whole process's memory is charged to (one spare in
// eight had it before the forker checked), and back home once a spare
// that forked nothing is destroyed, as a launch that fails before its
// fork destroys its cgroup.
func TestSpareThreads(t *testing.T) {
	requireCgroups(t)
	if v, _ := CgroupsAvailable(); v != "v1" {
		t.Skipf("spares are made on cgroup v1 only; this is %s", v)
	}
	t.Parallel()
	main := fmt.Sprintf("/proc/self/task/%d/cgroup", os.Getpid())
	for i := range 200 {
		g, err := newSpareCgroup("mezzo-test-spare-threads", cgroupLimits{memory: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if b := readFile(t, main); strings.Contains(b, strings.TrimPrefix(g.name, "memory:")) {
			t.Fatalf("spare %d: the main thread is the one parked in %s:\n%s", i, g.name, b)
		}
		if _, err := g.destroy(time.Minute); err != nil {
			t.Fatalf("spare %d: %v", i, err)
		}
		checkRemoved(t, g)
	}
}
