package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/agent/executor"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// runningTask is one task on this agent, from launch until its process
// ends.
type runningTask struct {
	framework string
	info      api.TaskInfo
	executor  string     // the executor ID: the task's own, or its group's
	container string     // the executor's run (container) ID
	group     *taskGroup // nil unless launched by LAUNCH_GROUP
	dir       string

	mu      sync.Mutex
	state   api.TaskState
	proc    sandbox.Process
	killed  bool          // a kill was asked for
	grace   time.Duration // the kill's grace period
	stopped chan struct{} // closed when the task's goroutine ends
}

func (t *runningTask) currentState() api.TaskState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// kill stops the task: its process if it has one, else it will not start.
func (t *runningTask) kill(grace time.Duration) {
	t.mu.Lock()
	t.killed = true
	t.grace = grace
	p := t.proc
	t.mu.Unlock()
	if p != nil {
		p.Kill(grace)
	}
}

// taskGroup is a task group run by the built-in default executor: one
// sandbox, one container ID, and, as Mesos's default executor does, when
// one task fails or is killed the others are killed too.
type taskGroup struct {
	mu    sync.Mutex
	tasks []*runningTask
	ended bool // a task failed or was killed; the rest are being killed
}

// taskEnded applies the default executor's policy after a member ended in
// state.
func (g *taskGroup) taskEnded(state api.TaskState, grace time.Duration) {
	if state == api.TaskFinished {
		return
	}
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		return
	}
	g.ended = true
	tasks := g.tasks
	g.mu.Unlock()
	for _, t := range tasks {
		t.kill(grace)
	}
}

// executorID is the task's executor: its own, else the task ID.
func executorID(ti *api.TaskInfo) string {
	if ti.Executor != nil {
		return ti.Executor.ExecutorID.Value
	}
	return ti.TaskID.Value
}

// launch starts the tasks of a LAUNCH event, each in its own goroutine.
func (a *Agent) launch(l *api.AgentLaunch) {
	fw := ""
	if l.FrameworkInfo.ID != nil {
		fw = l.FrameworkInfo.ID.Value
	}
	if l.TaskGroup != nil && l.Executor != nil {
		g := &taskGroup{}
		container := uuid.NewString()
		for _, ti := range l.TaskGroup.Tasks {
			t := &runningTask{framework: fw, info: ti, executor: l.Executor.ExecutorID.Value, container: container, group: g}
			g.tasks = append(g.tasks, t)
		}
		for _, t := range g.tasks {
			a.start(t)
		}
		return
	}
	for _, ti := range l.Tasks {
		a.start(&runningTask{framework: fw, info: ti, executor: executorID(&ti), container: uuid.NewString()})
	}
}

// start runs a task in its own goroutine, unless the agent already runs a
// task of that ID for the framework.
func (a *Agent) start(t *runningTask) {
	key := taskKey{t.framework, t.info.TaskID.Value}
	t.state = api.TaskStaging
	t.stopped = make(chan struct{})
	a.mu.Lock()
	if _, dup := a.tasks[key]; dup {
		a.mu.Unlock()
		a.log.Warn("ignoring duplicate launch", "framework", t.framework, "task", t.info.TaskID.Value)
		return
	}
	a.tasks[key] = t
	master := a.master
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		defer close(t.stopped)
		a.run(master, t)
		a.mu.Lock()
		delete(a.tasks, key)
		a.mu.Unlock()
	}()
}

// run carries a task from launch to its terminal status update.
func (a *Agent) run(master string, t *runningTask) {
	ctx := context.Background()
	a.setState(t, api.TaskStarting, "", "")
	proc, err := a.startProcess(ctx, master, t)
	if err != nil {
		a.setState(t, api.TaskFailed, api.ReasonContainerLaunchFailed, err.Error())
		if t.group != nil {
			t.group.taskEnded(api.TaskFailed, a.cfg.DefaultKillGrace)
		}
		return
	}
	t.mu.Lock()
	t.proc = proc
	killed, grace := t.killed, t.grace
	t.mu.Unlock()
	if killed {
		proc.Kill(grace)
	}
	a.setState(t, api.TaskRunning, "", "")
	stopChecks := a.startChecks(t)
	res := proc.Wait()
	stopChecks()
	t.mu.Lock()
	killed = t.killed
	t.mu.Unlock()
	state, reason, msg := executor.Outcome(res, killed)
	a.finish(t, state, reason, msg, res)
	if t.group != nil {
		t.group.taskEnded(state, a.cfg.DefaultKillGrace)
	}
}

// startProcess prepares the sandbox directory and starts the task's module
// or command in it.
func (a *Agent) startProcess(ctx context.Context, master string, t *runningTask) (sandbox.Process, error) {
	t.mu.Lock()
	killed := t.killed
	t.mu.Unlock()
	if killed {
		return nil, fmt.Errorf("killed before it started")
	}
	dir, err := a.makeSandbox(t)
	if err != nil {
		return nil, err
	}
	t.dir = dir
	spec := sandbox.Spec{Dir: dir, MemoryBytes: memoryBytes(t.info.Resources)}
	switch {
	case t.info.IsWasm():
		w := t.info.Container.Wasm
		mod, err := a.modules.get(ctx, master, w.SHA256)
		if err != nil {
			return nil, err
		}
		spec.Env = a.taskEnv(t, "/", w.Environment)
		if l := w.Limits; l != nil {
			if l.MemoryPages > 0 {
				spec.MemoryBytes = uint64(l.MemoryPages) * 65536
			}
			spec.CPUTime = time.Duration(float64(l.CPUSeconds) * float64(time.Second))
		}
		return a.engine.StartWasm(ctx, mod, spec, sandbox.WasmSpec{
			Name: t.info.Name, Args: w.Arguments, Entrypoint: w.Entrypoint, Engine: w.Engine,
		})
	case t.info.Command != nil:
		c := t.info.Command
		if err := a.fetcher.FetchAll(ctx, c.URIs, dir); err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		spec.Env = a.taskEnv(t, dir, c.Environment)
		return sandbox.StartCommand(ctx, spec, sandbox.CommandSpec{Shell: c.IsShell(), Value: c.Value, Args: c.Arguments})
	}
	return nil, fmt.Errorf("task %s has neither a command nor a Wasm module; custom executors are not supported yet", t.info.TaskID.Value)
}

// makeSandbox creates sandboxes/<framework>/<executor>/runs/<container>
// (and tasks/<task> inside it for a member of a task group, as Mesos's
// default executor nests them) and points runs/latest at the container.
func (a *Agent) makeSandbox(t *runningTask) (string, error) {
	runs := filepath.Join(a.cfg.sandboxRoot(), t.framework, t.executor, "runs")
	dir := filepath.Join(runs, t.container)
	if t.group != nil {
		dir = filepath.Join(dir, "tasks", t.info.TaskID.Value)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create sandbox: %w", err)
	}
	latest := filepath.Join(runs, "latest")
	tmp := latest + "." + uuid.NewString()
	if err := os.Symlink(t.container, tmp); err != nil {
		return "", fmt.Errorf("link latest sandbox: %w", err)
	}
	if err := os.Rename(tmp, latest); err != nil {
		return "", fmt.Errorf("link latest sandbox: %w", err)
	}
	return dir, nil
}

// taskEnv is the environment of a task: its own variables plus the
// MESOS_* and MEZZO_* variables Mesos tasks rely on. sandboxPath is the
// sandbox as the task sees it.
func (a *Agent) taskEnv(t *runningTask, sandboxPath string, env *api.Environment) map[string]string {
	m := map[string]string{
		"MESOS_SANDBOX":      sandboxPath,
		"MESOS_TASK_ID":      t.info.TaskID.Value,
		"MESOS_FRAMEWORK_ID": t.framework,
		"MESOS_EXECUTOR_ID":  t.executor,
		"MEZZO_SANDBOX":      sandboxPath,
		"MEZZO_TASK_ID":      t.info.TaskID.Value,
		"MEZZO_FRAMEWORK_ID": t.framework,
		"MEZZO_AGENT_ID":     a.ID(),
	}
	for k, v := range env.Map() {
		m[k] = v
	}
	return m
}

// memoryBytes is the task's mem resource (in MB, as Mesos) in bytes.
func memoryBytes(res []api.Resource) uint64 {
	mb := api.Resources(res).ScalarValue("mem")
	if mb <= 0 {
		return 0
	}
	return uint64(mb * (1 << 20))
}

// setState records a non-terminal or terminal state and queues its update.
func (a *Agent) setState(t *runningTask, state api.TaskState, reason api.StatusReason, msg string) {
	a.queueStatus(t, api.TaskStatus{State: state, Reason: reason, Message: msg})
}

// finish queues the terminal update, with the exit code as a label.
func (a *Agent) finish(t *runningTask, state api.TaskState, reason api.StatusReason, msg string, res sandbox.Result) {
	st := api.TaskStatus{State: state, Reason: reason, Message: msg, Labels: executor.ExitLabel(res)}
	a.queueStatus(t, st)
}

func (a *Agent) queueStatus(t *runningTask, st api.TaskStatus) {
	t.mu.Lock()
	t.state = st.State
	t.mu.Unlock()
	st.TaskID = t.info.TaskID
	st.ExecutorID = &api.ExecutorID{Value: t.executor}
	st.ContainerStatus = &api.ContainerStatus{ContainerID: &api.ContainerID{Value: t.container}}
	a.report(t.framework, st)
}

// report checkpoints and queues a status update. One that cannot be
// checkpointed is logged as lost: sending it without the checkpoint would
// break the promise that an update survives a restart.
func (a *Agent) report(framework string, st api.TaskStatus) {
	if err := a.updates.add(framework, st, time.Now()); err != nil {
		a.log.Error("status update lost", "task", st.TaskID.Value, "state", st.State, "err", err)
	}
}

// killTask kills a task the master asked to kill. A task the agent does
// not run is reported lost, so the framework learns it is gone.
func (a *Agent) killTask(k *api.AgentKill) {
	a.mu.Lock()
	t := a.tasks[taskKey{k.FrameworkID.Value, k.TaskID.Value}]
	a.mu.Unlock()
	if t == nil {
		a.report(k.FrameworkID.Value, api.TaskStatus{
			TaskID: k.TaskID, State: api.TaskLost, Source: api.SourceAgent,
			Reason: api.ReasonTaskUnknown, Message: "Cannot kill a task the agent does not run",
		})
		return
	}
	grace := a.cfg.DefaultKillGrace
	if k.KillPolicy != nil && k.KillPolicy.GracePeriod != nil {
		grace = time.Duration(k.KillPolicy.GracePeriod.Nanoseconds)
	}
	t.kill(grace)
}

// shutdownFramework kills every task of a framework.
func (a *Agent) shutdownFramework(fw string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, t := range a.tasks {
		if key.framework == fw {
			t.kill(a.cfg.DefaultKillGrace)
		}
	}
}
