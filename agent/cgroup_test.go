package agent

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// TestExecNeed checks the arithmetic of an executor cgroup's caps, and
// that removing tasks takes back exactly what adding them gave, but the
// room for idle modules that a Wasm task leaves.
func TestExecNeed(t *testing.T) {
	const mib = 1 << 20
	res := func(cpus, mem float64) []api.Resource {
		return api.NewResources(api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem))
	}
	native := func(mem float64) api.TaskInfo {
		return api.TaskInfo{Resources: res(0.5, mem), Command: &api.CommandInfo{Value: "true"}}
	}
	wasm := func(sha, engine string, mem float64, pages uint64) api.TaskInfo {
		w := &api.WasmInfo{SHA256: sha, Engine: engine}
		if pages > 0 {
			w.Limits = &api.WasmLimits{MemoryPages: api.Uint64(pages)}
		}
		return api.TaskInfo{Resources: res(0.25, mem), Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: w}}
	}
	noMemLimit := native(64)
	noMemLimit.Limits = map[string]api.Float64Value{"mem": {Value: api.Float64(math.Inf(1))}}
	higherLimit := native(64)
	higherLimit.Limits = map[string]api.Float64Value{"mem": {Value: 256}}
	costs := map[string]uint64{"a": compileCost(mib, 1800), "b": compileCost(2*mib, 1800), "d": compileCost(400<<10, 100_000)}
	for _, c := range []struct {
		name  string
		info  api.ExecutorInfo
		tasks []api.TaskInfo
		mem   uint64
		cpus  float64
	}{
		{name: "no tasks", mem: executorOverhead},
		{name: "native tasks", tasks: []api.TaskInfo{native(64), native(32)}, mem: executorOverhead + 96*mib, cpus: 1},
		{name: "a native limit above mem", tasks: []api.TaskInfo{higherLimit}, mem: executorOverhead + 256*mib, cpus: 0.5},
		{name: "a native task without a cap", tasks: []api.TaskInfo{native(64), noMemLimit}, mem: 0, cpus: 1},
		{name: "a native task without mem", tasks: []api.TaskInfo{native(0)}, mem: 0, cpus: 0.5},
		{name: "wasmtime", tasks: []api.TaskInfo{wasm("a", sandbox.Wasmtime, 32, 0)},
			mem: executorOverhead + 32*mib + wasmTaskOverhead + compileFactor*mib + idleModulesAllowance, cpus: 0.25},
		{name: "wazero counts memory twice, and a stack", tasks: []api.TaskInfo{wasm("a", sandbox.Wazero, 32, 0)},
			mem: executorOverhead + 64*mib + wazeroStackOverhead + wasmTaskOverhead + compileFactor*mib + idleModulesAllowance, cpus: 0.25},
		{name: "one compile per module", tasks: []api.TaskInfo{wasm("a", sandbox.Wasmtime, 32, 0), wasm("a", sandbox.Wasmtime, 32, 0), wasm("b", sandbox.Wasmtime, 32, 0)},
			mem: executorOverhead + 3*(32*mib+wasmTaskOverhead) + compileFactor*3*mib + idleModulesAllowance, cpus: 0.75},
		{name: "a module of many small functions", tasks: []api.TaskInfo{wasm("d", sandbox.Wasmtime, 64, 0)},
			mem: executorOverhead + 64*mib + wasmTaskOverhead + compilePerFunction*100_000 + idleModulesAllowance, cpus: 0.25},
		{name: "memory pages over mem", tasks: []api.TaskInfo{wasm("c", sandbox.Wasmtime, 32, 2048)},
			mem: executorOverhead + 128*mib + wasmTaskOverhead + idleModulesAllowance, cpus: 0.25},
		{name: "wasm without a cap gets 4 GiB", tasks: []api.TaskInfo{wasm("c", sandbox.Wasmtime, 0, 0)},
			mem: executorOverhead + 4<<30 + wasmTaskOverhead + idleModulesAllowance, cpus: 0.25},
		{name: "the executor's own resources", info: api.ExecutorInfo{Resources: res(0.1, 16)}, tasks: []api.TaskInfo{native(32)},
			mem: executorOverhead + 48*mib, cpus: 0.6},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &Agent{}
			n := newExecNeed(&c.info)
			empty := n.limits()
			var needs []taskNeed
			for _, ti := range c.tasks {
				needs = append(needs, a.needOf(ti))
				n.add(needs[len(needs)-1])
			}
			for sha, cost := range costs {
				n.setModuleCost(sha, cost)
			}
			if got := n.limits(); got.MemoryBytes != c.mem || math.Abs(got.CPUs-c.cpus) > 1e-9 {
				t.Errorf("limits = %d bytes, %g CPUs; want %d, %g", got.MemoryBytes, got.CPUs, c.mem, c.cpus)
			}
			ranWasm := false
			for _, tn := range needs {
				n.remove(tn)
				ranWasm = ranWasm || tn.wasm
			}
			if ranWasm && empty.MemoryBytes > 0 {
				empty.MemoryBytes += idleModulesAllowance // the idle modules' code stays
			}
			if got := n.limits(); got.MemoryBytes != empty.MemoryBytes || math.Abs(got.CPUs-empty.CPUs) > 1e-9 || len(n.modules) != 0 || n.compile != 0 {
				t.Errorf("after removing every task: %+v (%d modules, %d compile), want %+v", got, len(n.modules), n.compile, empty)
			}
		})
	}
}

// TestCgroupParent checks that agents on different work directories
// never share a cgroup parent, and one work directory always gets the
// same.
func TestCgroupParent(t *testing.T) {
	a, b := cgroupParent("/var/lib/mezzo/a"), cgroupParent("/var/lib/mezzo/b")
	if a == b || a != cgroupParent("/var/lib/mezzo/a/") {
		t.Errorf("cgroupParent: %q and %q", a, b)
	}
	if _, err := sandbox.SweepExecutorCgroups(a, nil); err != nil {
		t.Errorf("the parent %q is refused: %v", a, err)
	}
}

// TestCgroupLowersBySlack resizes a real executor cgroup as tasks come
// and go: a cap is raised at once, but lowered only when it falls by
// cgroupLowerBy or more, so that one short task after another does not
// cost two cgroup writes each.
func TestCgroupLowersBySlack(t *testing.T) {
	a, r := agentWithCgroupedRun(t)
	task := func(id string, mem float64) *execTask {
		info := api.TaskInfo{TaskID: api.TaskID{Value: id}, Command: &api.CommandInfo{Value: "true"},
			Resources: api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", mem))}
		return &execTask{info: info, need: a.needOf(info)}
	}
	small, big := task("small", 16), task("big", 256)
	empty := r.need.limits().MemoryBytes
	for _, step := range []struct {
		name string
		add  *execTask
		drop *execTask
		want uint64 // the cap in force after
	}{
		{name: "a small task raises the cap", add: small, want: empty + 16<<20},
		{name: "its end leaves it", drop: small, want: empty + 16<<20},
		{name: "a big task raises it", add: big, want: empty + 256<<20},
		{name: "its end lowers it", drop: big, want: empty},
	} {
		a.mu.Lock()
		if step.add != nil {
			r.add(step.add)
		} else {
			r.remove(step.drop)
		}
		a.mu.Unlock()
		a.resizeCgroup(r)
		a.mu.Lock()
		have := r.cgHave.MemoryBytes
		a.mu.Unlock()
		if have != step.want {
			t.Errorf("%s: cap %d MiB, want %d MiB", step.name, have>>20, step.want>>20)
		}
	}
}

// TestCgroupWritesOnlyWhatItEnforces checks that a launch which changes
// only an executor's CPUs leaves its cgroup alone on v1, which does not
// enforce them, and writes the CPU weight on v2, which does: a cap
// changed behind the agent's back shows whether it was written again.
func TestCgroupWritesOnlyWhatItEnforces(t *testing.T) {
	a, r := agentWithCgroupedRun(t)
	cg := r.cg
	version, err := sandbox.CgroupsAvailable()
	if err != nil {
		t.Fatal(err)
	}
	task := func(id string) *execTask {
		info := api.TaskInfo{TaskID: api.TaskID{Value: id}, Command: &api.CommandInfo{Value: "true"},
			Resources: api.NewResources(api.ScalarResource("cpus", 0.5), api.ScalarResource("mem", 16))}
		return &execTask{info: info, need: a.needOf(info)}
	}
	first, second := task("first"), task("second")
	a.mu.Lock()
	r.add(first)
	a.mu.Unlock()
	a.resizeCgroup(r)
	a.mu.Lock()
	r.remove(first)
	a.mu.Unlock()
	a.resizeCgroup(r) // the memory cap stays (cgroupLowerBy); the CPUs drop
	file := filepath.Join("/sys/fs/cgroup", "memory", cg.Path(), "memory.limit_in_bytes")
	if version == "v2" {
		file = filepath.Join("/sys/fs/cgroup", cg.Path(), "memory.max")
	}
	before := readCap(t, file)
	moved := before - 4<<20 // below the cap, so the kernel takes it whatever memsw is
	if err := os.WriteFile(file, []byte(strconv.FormatUint(moved, 10)), 0); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	r.add(second) // the same memory as first, and more CPUs than now
	a.mu.Unlock()
	a.resizeCgroup(r)
	after := readCap(t, file)
	want := moved // v1: nothing to write
	if version == "v2" {
		want = before // the weight is written, and the cap with it
	}
	if after != want {
		t.Errorf("cgroup %s: cap %d after the second launch, want %d (%d before it was moved)", version, after, want, before)
	}
}

// agentWithCgroupedRun returns an agent and an executor of it, never
// started, with a real cgroup that is removed when the test ends.
func agentWithCgroupedRun(t *testing.T) (*Agent, *executorRun) {
	t.Helper()
	a := newBareAgent(t, nil)
	if a.cgParent == "" {
		t.Fatal("this test needs cgroups, which .ci/run's machines have")
	}
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}})
	a.mu.Unlock()
	cg, err := a.newCgroup(r)
	if err != nil {
		t.Fatal(err)
	}
	r.cg = cg
	t.Cleanup(func() { a.removeCgroup(r) })
	return a, r
}

// readCap reads the number in a cgroup's memory cap file.
func readCap(t *testing.T, file string) uint64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return n
}

// TestCommandCheckInExecutorCgroup runs a task's COMMAND health check,
// which passes only if it runs in the cgroup of the task's executor: its
// memory is the task's, and what it leaves behind ends with the executor
// (removeTree kills what a cgroup holds), not in the agent's cgroup.
func TestCommandCheckInExecutorCgroup(t *testing.T) {
	a, r := agentWithCgroupedRun(t)
	zero, hour := api.Float64(0), api.Float64(3600)
	ti := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"},
		HealthCheck: &api.HealthCheck{Type: api.CheckTypeCommand,
			Command:      &api.CommandInfo{Value: "grep -q " + filepath.Base(r.cg.Path()) + " /proc/self/cgroup"},
			DelaySeconds: &zero, IntervalSeconds: &hour, GracePeriodSeconds: &zero}}
	task := &execTask{info: ti, dir: searchableTempDir(t), state: api.TaskRunning, queued: true, sent: true}
	a.mu.Lock()
	r.add(task)
	a.taskIndex[taskKey{"fw", "t"}] = r
	stop := a.startChecks(r, task)
	a.mu.Unlock()
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := a.updates.latest()[taskKey{"fw", "t"}]
		if st.Healthy != nil {
			if !*st.Healthy {
				t.Fatalf("the check did not run in the executor's cgroup %s: %s", r.cg.Path(), st.Message)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no health report")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killedExecutorEnv names, for TestHelperKilledExecutor, the sandbox
// directory of the task it starts.
const killedExecutorEnv = "MEZZO_TEST_KILLED_EXECUTOR"

// TestKilledExecutorLeavesNoTaskCgroups starts an "executor" (this test
// binary, TestHelperKilledExecutor) in an executor cgroup, where it runs
// a native task and makes a spare cgroup for the next, kills it with
// SIGKILL as the kernel's OOM killer or an operator would, and removes
// its cgroup as the agent does once an executor has exited: on cgroup
// v1, the task's and the spare's cgroups in the cpu and cpuacct
// hierarchies, which are not below the executor's, go too.
func TestKilledExecutorLeavesNoTaskCgroups(t *testing.T) {
	if os.Getenv(killedExecutorEnv) != "" {
		return // the helper is TestHelperKilledExecutor
	}
	a, r := agentWithCgroupedRun(t)
	if v, _ := sandbox.CgroupsAvailable(); v != "v1" {
		t.Skip("on cgroup v2 a task's cgroup is below its executor's, in the one hierarchy")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledExecutor$", "-test.v")
	cmd.Env = append(os.Environ(), killedExecutorEnv+"="+searchableTempDir(t))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := r.cg.Start(cmd); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The task's cgroup and the spare, below the executor's memory cgroup.
	mem := filepath.Join("/sys/fs/cgroup/memory", r.cg.Path(), sandbox.DefaultCgroupParent)
	var names []string
	for deadline := time.Now().Add(30 * time.Second); len(names) < 2; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the executor exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the executor's memory cgroup holds task cgroups %v, want its task's and a spare", names)
		}
		names = nil
		m, _ := filepath.Glob(filepath.Join(mem, "task-*"))
		for _, d := range m {
			names = append(names, filepath.Base(d))
		}
	}
	var outside []string
	for _, c := range []string{"cpu", "cpuacct"} {
		for _, n := range names {
			d := filepath.Join("/sys/fs/cgroup", c, ownCgroupV1(t, c), sandbox.DefaultCgroupParent, n)
			if _, err := os.Stat(d); err != nil {
				t.Fatalf("the task cgroup %s in %s: %v", n, c, err)
			}
			outside = append(outside, d)
		}
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	a.removeCgroup(r)
	for _, d := range append(outside, mem) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left behind (%v)", d, err)
		}
	}
}

// TestHelperKilledExecutor is the executor of
// TestKilledExecutorLeavesNoTaskCgroups: it starts a native task that
// sleeps, with spare cgroups, and waits to be killed.
func TestHelperKilledExecutor(t *testing.T) {
	dir := os.Getenv(killedExecutorEnv)
	if dir == "" {
		t.Skip("run by TestKilledExecutorLeavesNoTaskCgroups")
	}
	spec := sandbox.Spec{Dir: dir, Spares: sandbox.NewCgroupSpares(""), Isolation: sandbox.IsolationCgroups}
	if _, err := sandbox.StartCommand(context.Background(), spec, sandbox.CommandSpec{Shell: true, Value: "exec sleep 600"}); err != nil {
		t.Fatal(err)
	}
	select {} // until the test kills this process
}

// ownCgroupV1 is the calling process's cgroup in the v1 hierarchy of
// controller c.
func ownCgroupV1(t *testing.T, c string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), c) {
			return f[2]
		}
	}
	t.Fatalf("no %s cgroup in %q", c, b)
	return ""
}
