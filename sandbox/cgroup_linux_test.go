//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireCgroups skips the test when not running as root, and fails it
// when cgroups cannot be used as root: CI runs as root on a machine with
// a writable cgroup hierarchy, and must run these tests.
func requireCgroups(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroups can be written only as root; run the tests as root to check cgroup confinement")
	}
	if v, err := CgroupsAvailable(); err != nil {
		t.Fatalf("running as root, but: %v", err)
	} else {
		t.Logf("cgroup %s", v)
	}
}

// startInCgroup starts a native task and returns it with its cgroup,
// checking that it has one.
func startInCgroup(t *testing.T, spec Spec, c CommandSpec) (*commandProcess, *taskCgroup) {
	t.Helper()
	if spec.Dir == "" {
		spec.Dir = sandboxDir(t)
	}
	if spec.CgroupParent == "" {
		spec.CgroupParent = "mezzo-test"
	}
	p, err := StartCommand(context.Background(), spec, c)
	if err != nil {
		t.Fatal(err)
	}
	cp, ok := p.(*commandProcess)
	if !ok {
		t.Fatalf("StartCommand = %T (%+v), want a running task", p, p.Wait())
	}
	if cp.cg == nil {
		t.Fatal("the task has no cgroup")
	}
	t.Cleanup(func() { p.Kill(0); p.Wait() })
	return cp, cp.cg
}

// checkRemoved checks that a task's cgroup directories are gone.
func checkRemoved(t *testing.T, g *taskCgroup) {
	t.Helper()
	for _, d := range g.dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup directory %s left behind (stat: %v)", d, err)
		}
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	tests := []struct {
		name, script string
	}{
		{"the leader is OOM-killed", "exec tail /dev/zero"}, // tail keeps the unending line
		{"a child is OOM-killed", "head -c 200m /dev/zero | tail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, g := startInCgroup(t, Spec{MemoryBytes: 32 << 20}, CommandSpec{Shell: true, Value: tt.script})
			r := wait(t, p)
			checkResult(t, r, r.ExitCode, ReasonMemoryLimit, "memory limit of 33554432 bytes (32 MiB)", "OOM killer")
			if r.Usage.PeakMemoryBytes < 30<<20 || r.Usage.PeakMemoryBytes > 32<<20 {
				t.Errorf("peak memory %d, want about the 32 MiB cap", r.Usage.PeakMemoryBytes)
			}
			checkRemoved(t, g)
		})
	}
}

func TestCgroupWithinLimit(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	p, g := startInCgroup(t, Spec{MemoryBytes: 32 << 20},
		CommandSpec{Shell: true, Value: "head -c 8m /dev/zero | tail -c 1 | wc -c; grep memory /proc/self/cgroup"})
	r := wait(t, p)
	checkResult(t, r, 0, ReasonNone)
	if r.Usage.PeakMemoryBytes == 0 || r.Usage.PeakMemoryBytes >= 32<<20 {
		t.Errorf("peak memory %d, want > 0 and below the cap", r.Usage.PeakMemoryBytes)
	}
	// The task was in its cgroup from its first instruction: its own
	// /proc/self/cgroup says so (and a child inherits the cgroup).
	out := readFile(t, filepath.Join(p.cmd.Dir, StdoutFile))
	if want := strings.TrimPrefix(g.name, "memory:"); !strings.Contains(out, want) {
		t.Errorf("stdout %q, want the cgroup %s", out, want)
	}
	checkRemoved(t, g)
}

// TestCgroupCPU checks that CPU time is counted for the whole task: here
// a child that the leader has not waited for, which rusage misses.
func TestCgroupCPU(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	p, g := startInCgroup(t, Spec{}, CommandSpec{Shell: true, Value: "(while :; do :; done) & wait"})
	eventually(t, "CPU time counted", func() bool { return p.Usage().CPUSeconds >= 0.1 })
	if u := p.Usage(); u.PeakMemoryBytes == 0 {
		t.Errorf("usage %+v", u)
	}
	p.Kill(0)
	r := wait(t, p)
	checkResult(t, r, -1, ReasonKilled)
	if r.Usage.CPUSeconds < 0.1 {
		t.Errorf("usage %+v", r.Usage)
	}
	checkRemoved(t, g)
}

// TestCgroupCPUWeightAndQuota checks that a task's cpus become its
// cgroup's CPU weight and its CPU limit a CFS quota that holds: a busy
// loop capped at a tenth of a CPU gets no more than that (plus a period)
// of CPU time, however idle the machine.
func TestCgroupCPUWeightAndQuota(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	p, g := startInCgroup(t, Spec{CPUs: 0.5, CPULimit: 0.1}, CommandSpec{Shell: true, Value: "while :; do :; done"})
	read := func(dir, file string) string {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if g.v2 != nil {
		if w, max := read(g.dirs[0], "cpu.weight"), read(g.dirs[0], "cpu.max"); w != "20" || max != "10000 100000" {
			t.Errorf("cpu.weight %s, cpu.max %q; want 20 and \"10000 100000\"", w, max)
		}
	} else {
		cpu := g.dirs[1] // memory, cpu, cpuacct
		if s, q, per := read(cpu, "cpu.shares"), read(cpu, "cpu.cfs_quota_us"), read(cpu, "cpu.cfs_period_us"); s != "512" || q != "10000" || per != "100000" {
			t.Errorf("cpu.shares %s, cfs_quota_us %s, cfs_period_us %s; want 512, 10000, 100000", s, q, per)
		}
	}
	start := time.Now()
	time.Sleep(time.Second)
	cpu, wall := p.Usage().CPUSeconds, time.Since(start).Seconds()
	if cpu > 0.1*wall+0.1 {
		t.Errorf("%.2f s of CPU in %.2f s under a quota of 0.1 CPU", cpu, wall)
	}
	p.Kill(0)
	wait(t, p)
	checkRemoved(t, g)
}

// TestCgroupKill kills a task whose children ignore SIGTERM, one of them
// in a session of its own (out of the task's process group).
func TestCgroupKill(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	p, g := startInCgroup(t, Spec{}, CommandSpec{Shell: true,
		Value: `(trap "" TERM; sleep 1000) & setsid sh -c 'trap "" TERM; sleep 1000' & sleep 1000`})
	var pids []int
	eventually(t, "children started", func() bool { pids = g.pids(); return len(pids) >= 5 })
	p.Kill(100 * time.Millisecond)
	r := wait(t, p)
	checkResult(t, r, -1, ReasonKilled, "killed by signal terminated")
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d of the task is alive", pid)
		}
	}
	checkRemoved(t, g)
}

// TestCgroupStartingThreadGoesHome checks, on v1, that the thread that
// joined a task's cgroups to fork the task (writing "0", itself, to their
// tasks files) goes back to this process's own cgroups, leaving only the
// task in the task's cgroups, which are still removed at the task's end
// (the thread goes back after StartCommand has returned).
func TestCgroupStartingThreadGoesHome(t *testing.T) {
	requireCgroups(t)
	if probed().version != "v1" {
		t.Skip("on v2 the kernel places the child; no thread moves")
	}
	t.Parallel()
	p, g := startInCgroup(t, Spec{}, CommandSpec{Value: "/bin/sleep", Args: []string{"sleep", "1000"}})
	self := strconv.Itoa(os.Getpid())
	for _, d := range g.dirs {
		eventually(t, "only the task in "+d, func() bool {
			procs := strings.Fields(readFile(t, filepath.Join(d, "cgroup.procs")))
			return len(procs) == 1 && procs[0] == strconv.Itoa(p.pid)
		})
	}
	home := probed().v1Path("")
	for _, c := range v1Controllers {
		dir, err := home(c)
		if err != nil {
			t.Fatal(err)
		}
		if procs := strings.Fields(readFile(t, filepath.Join(cgroupRoot, string(c), dir, "cgroup.procs"))); !slices.Contains(procs, self) {
			t.Errorf("this process (%s) is not in its own %s cgroup %s any more", self, c, dir)
		}
	}
	p.Kill(0)
	checkResult(t, wait(t, p), -1, ReasonKilled)
	checkRemoved(t, g)
}

// TestCgroupLeftovers checks that a process that left the task's process
// group is killed when the task exits.
func TestCgroupLeftovers(t *testing.T) {
	requireCgroups(t)
	t.Parallel()
	p, g := startInCgroup(t, Spec{}, CommandSpec{Shell: true, Value: "setsid sleep 1000 & echo $! >pid; sleep 0.1"})
	checkResult(t, wait(t, p), 0, ReasonNone)
	checkRemoved(t, g)
	var pid int
	if _, err := fmt.Sscan(readFile(t, filepath.Join(p.cmd.Dir, "pid")), &pid); err != nil || alive(pid) {
		t.Errorf("leftover %d alive, or no pid (%v)", pid, err)
	}
}

func TestCgroupParentRefused(t *testing.T) {
	t.Parallel()
	for _, parent := range []string{"../x", "..", "a/../b", "a/", "/", "./a"} {
		_, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t), CgroupParent: parent}, CommandSpec{Value: "true"})
		if err == nil || !strings.Contains(err.Error(), "cgroup parent") {
			t.Errorf("CgroupParent %q: err %v", parent, err)
		}
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	f := statFields(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return len(f) > 0 && f[0] != "Z"
}

func TestSweepCgroups(t *testing.T) {
	requireCgroups(t)
	const parent = "mezzo-sweep-test"
	empty, err := newTaskCgroup(parent, cgroupLimits{memory: 32 << 20})
	if err != nil || empty == nil {
		t.Fatalf("create cgroup: %v", err)
	}
	busy, err := newTaskCgroup(parent, cgroupLimits{memory: 32 << 20})
	if err != nil || busy == nil {
		t.Fatalf("create cgroup: %v", err)
	}
	cmd := exec.Command("sleep", "60")
	if err := busy.start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		busy.killAll()
		cmd.Wait()
		busy.destroy(10 * time.Second)
	})
	if n := SweepCgroups(parent); n != 0 {
		t.Fatalf("SweepCgroups removed %d young cgroups; a starting task's must be left alone", n)
	}
	old := time.Now().Add(-2 * sweepAge)
	for _, d := range append(append([]string{}, empty.dirs...), busy.dirs...) {
		os.Chtimes(d, old, old)
	}
	if n := SweepCgroups(parent); n < 1 {
		t.Fatalf("SweepCgroups removed %d cgroups, want the empty ones", n)
	}
	for _, d := range empty.dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("empty leftover %s still exists", d)
		}
	}
	for _, d := range busy.dirs {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("the busy cgroup %s was removed: %v", d, err)
		}
	}
}

func TestCPUShares(t *testing.T) {
	tests := []struct {
		name           string
		cpus           float64
		shares, weight uint64
	}{
		{"one CPU", 1, 1024, 39},
		{"half", 0.5, 512, 20},
		{"tiny share floored at the kernel's minimum", 0.0001, 2, 1},
		{"past v1's maximum", 1000, 1024000, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := cgroupLimits{cpus: tt.cpus}
			if l.shares() != tt.shares || l.weight() != tt.weight {
				t.Fatalf("cpus %v: shares %d weight %d, want %d and %d", tt.cpus, l.shares(), l.weight(), tt.shares, tt.weight)
			}
		})
	}
}

// TestCgroupCPUShares starts native tasks with cpus resources: their
// cgroups carry the matching CPU weight.
func TestCgroupCPUShares(t *testing.T) {
	requireCgroups(t)
	for _, cpus := range []float64{0.25, 2} {
		_, g := startInCgroup(t, Spec{CPUs: cpus}, CommandSpec{Shell: true, Value: "sleep 5"})
		l := cgroupLimits{cpus: cpus}
		file, want := "cpu.shares", l.shares()
		dir := g.dirs[0]
		if g.v2 != nil {
			file, want = "cpu.weight", l.weight()
		} else {
			dir = g.dirs[1] // memory, cpu, cpuacct
		}
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != strconv.FormatUint(want, 10) {
			t.Errorf("cpus %v: %s = %s, want %d", cpus, file, got, want)
		}
	}
}
