package master

import (
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// executorKey names an executor on an agent.
type executorKey struct{ framework, agent, executor string }

// runningExecutor is an executor a task names (ExecutorInfo), a task
// group's default executor or a custom one, as the master counts it: its
// own resources are paid for from the offer the first time it is launched
// on its agent, and stay allocated until its last task ends, as Mesos
// holds them until the executor terminates (the master hears of tasks'
// ends, not of executors'). The tasks launched on it later pay for
// themselves only. A task's own executor (one it does not name, Mesos's
// command executor) is not one: the task's resources are its executor's.
type runningExecutor struct {
	// resources are the executor's own, empty when it names none or the
	// master does not know them: an executor adopted from an agent's
	// report, which lists no executors' resources, takes those of the
	// first launch that names some.
	resources api.Resources
	role      string           // the role of the offer that paid for resources
	typ       api.ExecutorType // CUSTOM or DEFAULT
	live      int              // its tasks that still hold resources (task.resources)
}

// executorType is e's type, CUSTOM when unset, as api.ValidateExecutorInfo
// reads it.
func executorType(e *api.ExecutorInfo) api.ExecutorType {
	if e.Type == "" {
		return api.ExecutorCustom
	}
	return e.Type
}

// executorNeed checks the ExecutorInfo ti names, if any, against the
// executor of that ID already running for f on a, and returns what the
// launch must pay for it beside ti's own resources: the executor's
// resources if it does not run there yet (or runs with none known),
// nothing if it runs. As in Mesos, a launch on a running executor must
// describe it as it runs: an ExecutorInfo of another type or other
// resources is refused rather than obeyed by half. role is the offers'
// allocation role. m.mu must be held.
func (m *Master) executorNeed(f *framework, a *agent, role string, ti *api.TaskInfo) (api.Resources, error) {
	exec := ti.Executor
	if exec == nil {
		return nil, nil
	}
	if err := allocatedTo(exec.Resources, role); err != nil {
		return nil, fmt.Errorf("executor %s: %w", exec.ExecutorID.Value, err)
	}
	res := api.Resources(exec.Resources).Unallocated()
	e := m.executors[executorKey{f.id, a.id, exec.ExecutorID.Value}]
	switch {
	case e == nil:
		return res, nil
	case executorType(exec) != e.typ:
		return nil, fmt.Errorf("ExecutorInfo of executor %s is %s but the executor running on agent %s is %s",
			exec.ExecutorID.Value, executorType(exec), a.id, e.typ)
	case e.resources.Empty():
		return res, nil
	case !res.Equal(e.resources):
		return nil, fmt.Errorf("ExecutorInfo of executor %s uses resources %s but the executor running on agent %s uses %s",
			exec.ExecutorID.Value, res, a.id, e.resources)
	}
	return nil, nil
}

// addExecutorTask counts t, launched with need (executorNeed) for its
// executor, toward that executor on a, which it starts counting if it is
// not yet: need goes to a's used resources until the executor's last task
// ends. m.mu must be held.
func (m *Master) addExecutorTask(a *agent, t *task, need api.Resources) {
	if t.info.Executor == nil {
		return
	}
	key := executorKey{t.framework, a.id, t.info.Executor.ExecutorID.Value}
	e := m.executors[key]
	if e == nil {
		e = &runningExecutor{role: t.role, typ: executorType(t.info.Executor)}
		m.executors[key] = e
	}
	if !need.Empty() {
		e.resources, e.role = need, t.role
		a.used = a.used.Plus(need)
	}
	e.live++
}

// loadExecutor counts a live task toward its executor as its launch did
// (addExecutorTask): for a new leader loading the task, for a task back
// from an unreachable agent, whose executor was released when the agent
// became unreachable, and for a task adopted from an agent's report.
// m.mu must be held.
func (m *Master) loadExecutor(a *agent, t *task) {
	if t.info.Executor == nil || t.resources == nil {
		return // not counted: release would not uncount it
	}
	var need api.Resources
	if e := m.executors[executorKey{t.framework, a.id, t.info.Executor.ExecutorID.Value}]; e == nil || e.resources.Empty() {
		need = api.Resources(t.info.Executor.Resources).Unallocated()
	}
	m.addExecutorTask(a, t, need)
}

// executorOf returns the executor t names and its key, or a nil executor
// when t names none or it is not counted. m.mu must be held.
func (m *Master) executorOf(t *task) (executorKey, *runningExecutor) {
	if t.info.Executor == nil {
		return executorKey{}, nil
	}
	key := executorKey{t.framework, t.agent, t.info.Executor.ExecutorID.Value}
	return key, m.executors[key]
}

// executorTaskEnded releases the resources of t's executor once its last
// task ended. m.mu must be held.
func (m *Master) executorTaskEnded(t *task, now time.Time) {
	key, e := m.executorOf(t)
	if e == nil {
		return
	}
	if e.live--; e.live > 0 {
		return
	}
	delete(m.executors, key)
	if a := m.agents[t.agent]; a != nil && !e.resources.Empty() {
		a.used = a.used.Minus(e.resources)
		m.alloc.Recover(t.framework, t.agent, e.role, e.resources, 0, now)
		m.agentFreed(a.id)
	}
}
