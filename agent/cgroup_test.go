package agent

import (
	"math"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// TestExecutorLimits checks the arithmetic of an executor cgroup's caps.
func TestExecutorLimits(t *testing.T) {
	const mib = 1 << 20
	res := func(cpus, mem float64) []api.Resource {
		return api.NewResources(api.ScalarResource("cpus", cpus), api.ScalarResource("mem", mem))
	}
	native := func(mem float64) taskNeed {
		return taskNeed{info: api.TaskInfo{Resources: res(0.5, mem), Command: &api.CommandInfo{Value: "true"}}}
	}
	wasm := func(sha, engine string, mem float64, pages uint64, size uint64) taskNeed {
		w := &api.WasmInfo{SHA256: sha}
		if pages > 0 {
			w.Limits = &api.WasmLimits{MemoryPages: api.Uint64(pages)}
		}
		return taskNeed{info: api.TaskInfo{Resources: res(0.25, mem), Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: w}},
			engine: engine, moduleBytes: size}
	}
	noMemLimit := native(64)
	noMemLimit.info.Limits = map[string]api.Float64Value{"mem": {Value: api.Float64(math.Inf(1))}}
	higherLimit := native(64)
	higherLimit.info.Limits = map[string]api.Float64Value{"mem": {Value: 256}}
	for _, c := range []struct {
		name  string
		info  *api.ExecutorInfo
		tasks []taskNeed
		mem   uint64
		cpus  float64
	}{
		{name: "no tasks", mem: executorOverhead},
		{name: "native tasks", tasks: []taskNeed{native(64), native(32)}, mem: executorOverhead + 96*mib, cpus: 1},
		{name: "a native limit above mem", tasks: []taskNeed{higherLimit}, mem: executorOverhead + 256*mib, cpus: 0.5},
		{name: "a native task without a cap", tasks: []taskNeed{native(64), noMemLimit}, mem: 0, cpus: 1},
		{name: "a native task without mem", tasks: []taskNeed{native(0)}, mem: 0, cpus: 0.5},
		{name: "wasmtime", tasks: []taskNeed{wasm("a", sandbox.Wasmtime, 32, 0, mib)},
			mem: executorOverhead + 32*mib + wasmTaskOverhead + compileFactor*mib, cpus: 0.25},
		{name: "wazero counts memory twice", tasks: []taskNeed{wasm("a", sandbox.Wazero, 32, 0, mib)},
			mem: executorOverhead + 64*mib + wasmTaskOverhead + compileFactor*mib, cpus: 0.25},
		{name: "one compile per module", tasks: []taskNeed{wasm("a", sandbox.Wasmtime, 32, 0, mib), wasm("a", sandbox.Wasmtime, 32, 0, mib), wasm("b", sandbox.Wasmtime, 32, 0, 2*mib)},
			mem: executorOverhead + 3*(32*mib+wasmTaskOverhead) + compileFactor*3*mib, cpus: 0.75},
		{name: "memory pages over mem", tasks: []taskNeed{wasm("a", sandbox.Wasmtime, 32, 2048, 0)},
			mem: executorOverhead + 128*mib + wasmTaskOverhead, cpus: 0.25},
		{name: "wasm without a cap gets 4 GiB", tasks: []taskNeed{wasm("a", sandbox.Wasmtime, 0, 0, 0)},
			mem: executorOverhead + 4<<30 + wasmTaskOverhead, cpus: 0.25},
		{name: "custom executor's own resources", info: &api.ExecutorInfo{Resources: res(0.1, 16)}, tasks: []taskNeed{native(32)},
			mem: executorOverhead + 48*mib, cpus: 0.6},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := executorLimits(c.info, c.tasks)
			if got.MemoryBytes != c.mem || math.Abs(got.CPUs-c.cpus) > 1e-9 {
				t.Errorf("executorLimits = %d bytes, %g CPUs; want %d, %g", got.MemoryBytes, got.CPUs, c.mem, c.cpus)
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
