//go:build linux

package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// execParent is where these tests make executor cgroups.
const execParent = "mezzo-test/executors"

// newTestExecutorCgroup makes an executor cgroup with a fresh name,
// removed when the test ends.
func newTestExecutorCgroup(t *testing.T, lim ExecutorLimits) *ExecutorCgroup {
	t.Helper()
	requireCgroups(t)
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	g, err := NewExecutorCgroup(execParent, "executor-"+hex.EncodeToString(id), lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Destroy(5 * time.Second); err != nil {
			t.Error(err)
		}
		_ = os.Remove(filepath.Dir(g.dir)) // execParent, when no other test uses it
	})
	return g
}

// memoryLimit reads the cgroup's memory cap.
func memoryLimit(t *testing.T, g *ExecutorCgroup) uint64 {
	t.Helper()
	f := "memory.limit_in_bytes"
	if g.v2 {
		f = "memory.max"
	}
	b, err := os.ReadFile(filepath.Join(g.dir, f))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// procCgroup returns the memory cgroup (v1) or the cgroup (v2) of pid.
func procCgroup(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (f[1] == "memory" || (f[0] == "0" && probed().version == "v2")) {
			return f[2]
		}
	}
	t.Fatalf("no memory cgroup for %d in %q", pid, b)
	return ""
}

// TestExecutorCgroupLimits starts a process in an executor cgroup, and
// raises, lowers and lifts the cap it runs under.
func TestExecutorCgroupLimits(t *testing.T) {
	g := newTestExecutorCgroup(t, ExecutorLimits{MemoryBytes: 64 << 20, CPUs: 1})
	cmd := exec.Command("/bin/sleep", "60")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	want := g.path
	if g.v2 {
		want = path.Join(g.path, executorLeaf)
	}
	if got := procCgroup(t, cmd.Process.Pid); got != want {
		t.Errorf("the process is in %s, want %s", got, want)
	}
	if got := procCgroup(t, os.Getpid()); got == want {
		t.Errorf("the caller stayed in the executor's cgroup %s", got)
	}
	for _, c := range []struct {
		name string
		mem  uint64
		want uint64
	}{
		{"created", 0, 64 << 20},
		{"raised", 128 << 20, 128 << 20},
		{"lowered", 32 << 20, 32 << 20},
		{"lifted", 0, 0},
		{"capped again", 48 << 20, 48 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "created" {
				if err := g.SetLimits(ExecutorLimits{MemoryBytes: c.mem, CPUs: 1}); err != nil {
					t.Fatal(err)
				}
			}
			got := memoryLimit(t, g)
			if c.want == 0 && got < 1<<60 || c.want != 0 && got != c.want {
				t.Errorf("cap %d, want %d (0: none)", got, c.want)
			}
		})
	}
	if g.MemoryBytes() == 0 {
		t.Error("MemoryBytes = 0 with a process running")
	}
	if g.OOMKilled() {
		t.Error("OOMKilled without an OOM")
	}
}

// TestExecutorCgroupOOM runs a process that needs more than its executor
// cgroup's cap: the kernel kills it, and OOMKilled says so.
func TestExecutorCgroupOOM(t *testing.T) {
	g := newTestExecutorCgroup(t, ExecutorLimits{MemoryBytes: 32 << 20})
	cmd := exec.Command("/bin/sh", "-c", "head -c 200m /dev/zero | tail")
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the hog exited with %v, want a failure", err)
	}
	if !g.OOMKilled() {
		t.Fatalf("OOMKilled = false after the hog ended with %v", err)
	}
	if peak := g.PeakMemoryBytes(); peak > 33<<20 || peak < 16<<20 {
		t.Errorf("peak memory %d, want near the 32 MiB cap", peak)
	}
}

// TestExecutorCgroupNestsTasks starts a helper process in an executor
// cgroup that finds the cap it runs under (MemoryLimit) and starts a
// native task with TaskParent: the task's cgroup is below the
// executor's, so the executor's cap covers it.
func TestExecutorCgroupNestsTasks(t *testing.T) {
	if os.Getenv("MEZZO_TEST_NESTED_TASK") != "" {
		return // the helper is TestHelperNestedTask
	}
	g := newTestExecutorCgroup(t, ExecutorLimits{MemoryBytes: 256 << 20})
	dir := sandboxDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNestedTask$", "-test.v")
	cmd.Env = append(os.Environ(), "MEZZO_TEST_NESTED_TASK="+dir, "MEZZO_TEST_PARENT="+g.TaskParent())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, StdoutFile))
	if err != nil {
		t.Fatal(err)
	}
	var task string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && (f[1] == "memory" || (f[0] == "0" && g.v2)) {
			task = f[2]
		}
	}
	if !strings.HasPrefix(task, g.path+"/") {
		t.Errorf("the task ran in cgroup %q, want one below the executor's %s", task, g.path)
	}
}

// TestHelperNestedTask is the executor of TestExecutorCgroupNestsTasks.
func TestHelperNestedTask(t *testing.T) {
	dir := os.Getenv("MEZZO_TEST_NESTED_TASK")
	if dir == "" {
		t.Skip("run by TestExecutorCgroupNestsTasks")
	}
	if limit, ok := MemoryLimit(); !ok || limit != 256<<20 {
		t.Errorf("MemoryLimit in the executor cgroup = %d, %v; want its cap, 256 MiB", limit, ok)
	}
	p, err := StartCommand(context.Background(), Spec{Dir: dir, MemoryBytes: 16 << 20, CgroupParent: os.Getenv("MEZZO_TEST_PARENT")},
		CommandSpec{Shell: true, Value: "cat /proc/self/cgroup"})
	if err != nil {
		t.Fatal(err)
	}
	if res := p.Wait(); res.Err != nil {
		t.Fatal(res.Err)
	}
}

// TestExecutorCgroupDestroy kills what is left in an executor cgroup and
// in a task cgroup below it, and removes both.
func TestExecutorCgroupDestroy(t *testing.T) {
	requireCgroups(t)
	g, err := NewExecutorCgroup(execParent, "executor-destroy-"+strconv.Itoa(os.Getpid()), ExecutorLimits{MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	exe := exec.Command("/bin/sleep", "60")
	if err := g.Start(exe); err != nil {
		t.Fatal(err)
	}
	// A task's cgroup, nested as the executor would make it.
	nested := filepath.Join(g.dir, "mezzo", "task-1")
	if g.v2 {
		nested = filepath.Join(g.dir, "task-1")
	}
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	task := exec.Command("/bin/sleep", "60")
	if g.v2 {
		err = startInto(task, nested)
	} else {
		err = startFromThread(task, func() error { return joinSelf(nested) }, "nested", nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Destroy(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Dir(g.dir))
	for _, c := range []*exec.Cmd{exe, task} {
		if err := c.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("%v ended with %v, want killed", c.Args, err)
		}
	}
	if _, err := os.Stat(g.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cgroup %s is still there: %v", g.dir, err)
	}
}

// TestSweepExecutorCgroups removes the executor cgroups it is not told to
// keep.
func TestSweepExecutorCgroups(t *testing.T) {
	requireCgroups(t)
	parent := execParent + "/sweep-" + strconv.Itoa(os.Getpid())
	var gs []*ExecutorCgroup
	for _, name := range []string{"executor-kept", "executor-gone"} {
		g, err := NewExecutorCgroup(parent, name, ExecutorLimits{})
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	t.Cleanup(func() { gs[0].Destroy(5 * time.Second) })
	n, err := SweepExecutorCgroups(parent, map[string]bool{gs[0].Path(): true})
	if err != nil || n != 1 {
		t.Fatalf("SweepExecutorCgroups = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(gs[0].dir); err != nil {
		t.Errorf("the kept cgroup is gone: %v", err)
	}
	if _, err := os.Stat(gs[1].dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the swept cgroup is still there: %v", err)
	}
	if g, err := LoadExecutorCgroup(gs[0].Path()); err != nil || g.dir != gs[0].dir {
		t.Errorf("LoadExecutorCgroup(%s) = %v, %v", gs[0].Path(), g, err)
	}
	if _, err := LoadExecutorCgroup(gs[1].Path()); err == nil {
		t.Error("LoadExecutorCgroup of a removed cgroup succeeded")
	}
	parentDir := filepath.Dir(gs[0].dir)
	if n, err := SweepExecutorCgroups(parent, nil); err != nil || n != 1 {
		t.Fatalf("SweepExecutorCgroups with nothing kept = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(parentDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied parent %s is still there: %v", parentDir, err)
	}
}

// TestExecutorCgroupNamesRefused checks the names NewExecutorCgroup,
// LoadExecutorCgroup and SweepExecutorCgroups refuse.
func TestExecutorCgroupNamesRefused(t *testing.T) {
	for _, c := range []struct{ name, parent, cgroup string }{
		{"empty parent", "", "executor-1"},
		{"absolute parent", "/mezzo", "executor-1"},
		{"parent out", "../mezzo", "executor-1"},
		{"unclean parent", "mezzo//x", "executor-1"},
		{"empty name", "mezzo", ""},
		{"name with a slash", "mezzo", "a/b"},
		{"dot dot", "mezzo", ".."},
		{"the leaf's name", "mezzo", executorLeaf},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewExecutorCgroup(c.parent, c.cgroup, ExecutorLimits{}); err == nil {
				t.Errorf("NewExecutorCgroup(%q, %q) succeeded", c.parent, c.cgroup)
			}
		})
	}
	for _, p := range []string{"", "relative", "/", "/a/../b"} {
		if _, err := LoadExecutorCgroup(p); err == nil {
			t.Errorf("LoadExecutorCgroup(%q) succeeded", p)
		}
	}
	if _, err := SweepExecutorCgroups("/abs", nil); err == nil {
		t.Error("SweepExecutorCgroups of an absolute parent succeeded")
	}
}
