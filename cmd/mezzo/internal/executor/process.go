package executor

import (
	"fmt"
	"os"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// start creates the task's sandbox directory and starts its Wasm module
// or command there.
func (x *executor) start(t *task) (sandbox.Process, error) {
	if t.wasKilled() {
		return nil, errKilledBeforeStart
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	spec := sandbox.Spec{Dir: t.dir, MemoryBytes: memoryBytes(t.info.Resources),
		CPUs: api.Resources(t.info.Resources).ScalarValue("cpus")}
	switch {
	case t.info.IsWasm():
		w := t.info.Container.Wasm
		engine, mod, err := x.modules.get(x.ctx, w.SHA256)
		if err != nil {
			return nil, err
		}
		spec.Env = x.taskEnv(t, "/", w.Environment)
		if l := w.Limits; l != nil {
			if l.MemoryPages > 0 {
				spec.MemoryBytes = uint64(l.MemoryPages) * 65536
			}
			spec.CPUTime = time.Duration(float64(l.CPUSeconds) * float64(time.Second))
		}
		return engine.StartWasm(x.ctx, mod, spec, sandbox.WasmSpec{
			Name: t.info.Name, Args: w.Arguments, Entrypoint: w.Entrypoint, Engine: w.Engine,
		})
	case t.info.Command != nil:
		c := t.info.Command
		spec.Env = x.taskEnv(t, t.dir, c.Environment)
		return sandbox.StartCommand(x.ctx, spec, sandbox.CommandSpec{Shell: c.IsShell(), Value: c.Value, Args: c.Arguments})
	}
	return nil, fmt.Errorf("task %s has neither a command nor a Wasm module", t.info.TaskID.Value)
}

// taskEnv is the task's environment (api.TaskEnvironment) as this
// executor gives it; sandboxPath is the sandbox as the task sees it.
func (x *executor) taskEnv(t *task, sandboxPath string, env *api.Environment) map[string]string {
	x.mu.Lock()
	agentID := x.agentID
	x.mu.Unlock()
	return api.TaskEnvironment(x.cfg.Client.FrameworkID, x.cfg.Client.ExecutorID, agentID, t.info.TaskID.Value, sandboxPath, env)
}

// memoryBytes is the task's mem resource (in MB, as Mesos) in bytes.
func memoryBytes(res []api.Resource) uint64 {
	mb := api.Resources(res).ScalarValue("mem")
	if mb <= 0 {
		return 0
	}
	return uint64(mb * (1 << 20))
}
