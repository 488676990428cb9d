package executor

import (
	"fmt"
	"math"
	"os"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// start creates the task's sandbox directory and starts its Wasm module
// or command there. A Wasm task that gets a Process holds its module
// until run puts it back (modules.put) when the task has ended.
func (x *executor) start(t *task) (sandbox.Process, error) {
	if t.wasKilled() {
		return nil, errKilledBeforeStart
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	spec := sandbox.Spec{Dir: t.dir, MemoryBytes: t.info.MemoryBytes(),
		CPUs:           api.Resources(t.info.Resources).ScalarValue("cpus"),
		OutputMaxBytes: x.cfg.OutputMaxBytes, OutputKeep: x.cfg.OutputKeep,
		CgroupParent: x.cfg.CgroupParent, Spares: x.spares, Isolation: x.cfg.NativeIsolation}
	switch {
	case t.info.IsWasm():
		w := t.info.Container.Wasm
		engine, mod, err := x.modules.get(x.ctx, w.SHA256)
		if err != nil {
			return nil, err
		}
		spec.Env = x.taskEnv(t, "/", w.Environment)
		if l := w.Limits; l != nil {
			spec.CPUTime = time.Duration(float64(l.CPUSeconds) * float64(time.Second))
		}
		p, err := engine.StartWasm(x.ctx, mod, spec, sandbox.WasmSpec{
			Name: t.info.Name, Args: w.Arguments, Entrypoint: w.Entrypoint, Engine: w.Engine,
		})
		if err != nil {
			x.modules.put(w.SHA256)
		}
		return p, err
	case t.info.Command != nil:
		c := t.info.Command
		spec.Env = x.taskEnv(t, t.dir, c.Environment)
		spec.CPULimit = limit(t.info, "cpus")
		if c.User != "" {
			// The agent wrote in the user the task runs as and gave it
			// the sandbox; this executor stays the agent's user, to start
			// tasks of several users and hold their cgroups.
			u, err := sandbox.LookupUser(c.User)
			if err != nil {
				return nil, fmt.Errorf("run task %s: %w", t.info.TaskID.Value, err)
			}
			spec.User = u
		}
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

// limit is the task's limit of a resource, 0 for none or Infinity
// (api.ValidateTaskInfo has checked that it is positive and no less than
// the resource itself).
func limit(t api.TaskInfo, name string) float64 {
	v, ok := t.Limits[name]
	if !ok || math.IsInf(float64(v.Value), 1) {
		return 0
	}
	return float64(v.Value)
}
