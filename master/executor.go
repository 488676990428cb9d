package master

import (
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// execID names an executor among its agent's (agent.executors).
type execID struct{ framework, executor string }

// runningExecutor is an executor a framework named (a task's ExecutorInfo
// or a task group's default executor) as the master counts it on its
// agent: its own resources are paid for from the offer the first time it
// is launched there, and stay allocated until the agent reports its exit
// (EXECUTOR_EXITED), or stops listing it when it subscribes, as Mesos
// holds an executor's resources until it terminates — a custom executor
// may run on, idle, long after its last task ended. The tasks launched on
// it later pay for themselves only. A task's own executor (one it does
// not name, Mesos's command executor) is not one: the task's resources
// are its executor's.
type runningExecutor struct {
	// info is the ExecutorInfo it was launched with (or reported with),
	// for GET_EXECUTORS.
	info api.ExecutorInfo
	// resources are the executor's own, empty when it names none or the
	// master does not know them: an executor adopted from a task an agent
	// reports, which names only its executor's ID, takes those of the
	// agent's executor list or of the first launch that names some.
	resources api.Resources
	role      string // the role of the offer that paid for resources
	live      int    // its tasks that still hold resources (task.resources)
	// exited says its agent reported its exit while the master still
	// counted tasks of it, whose terminal updates had not arrived yet (or
	// which were launched as it exited): it goes, with its resources, when
	// the last of them ends.
	exited bool
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
	e := a.executors[execID{f.id, exec.ExecutorID.Value}]
	switch {
	case e == nil:
		return res, nil
	case executorType(exec) != executorType(&e.info):
		return nil, fmt.Errorf("ExecutorInfo of executor %s is %s but the executor running on agent %s is %s",
			exec.ExecutorID.Value, executorType(exec), a.id, executorType(&e.info))
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
// not yet: need goes to a's used resources until the executor exits.
// m.mu must be held.
func (m *Master) addExecutorTask(a *agent, t *task, need api.Resources) {
	if t.info.Executor == nil {
		return
	}
	e := m.countExecutor(a, t.framework, *t.info.Executor, t.role, need)
	e.live++
	// A launch after the master heard of its exit goes to a new run of
	// the executor, which holds the resources the old one held.
	e.exited = false
}

// countExecutor starts counting the executor info names on a for
// framework fw, if the master does not yet, and charges a with need for
// it, if it has no resources known yet. It returns the executor. m.mu must
// be held.
func (m *Master) countExecutor(a *agent, fw string, info api.ExecutorInfo, role string, need api.Resources) *runningExecutor {
	id := execID{fw, info.ExecutorID.Value}
	e := a.executors[id]
	if e == nil {
		if a.executors == nil {
			a.executors = map[execID]*runningExecutor{}
		}
		info.FrameworkID = &api.FrameworkID{Value: fw}
		e = &runningExecutor{info: info, role: role}
		a.executors[id] = e
	}
	if e.resources.Empty() && (bareExecutor(&e.info) || !need.Empty()) {
		// The first full word on it: an executor counted from a task an
		// agent reported knew only its ID.
		info.FrameworkID = &api.FrameworkID{Value: fw}
		e.info = info
		if !need.Empty() {
			e.resources, e.role = need, role
			a.used = a.used.Plus(need)
			if f := m.frameworks[fw]; f != nil {
				if f.executors == nil {
					f.executors = map[string]api.Resources{}
				}
				f.executors[role] = f.executors[role].Plus(need)
			}
		}
	}
	return e
}

// bareExecutor reports whether e names only its executor's ID, as the
// master learns it from a task an agent reports.
func bareExecutor(e *api.ExecutorInfo) bool {
	return e.Type == "" && e.Command == nil && len(e.Resources) == 0
}

// allocationRole is the role resources were allocated to, "*" when they
// say none, as an agent's report gives them back.
func allocationRole(res []api.Resource) string {
	for _, r := range res {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" {
			return r.AllocationInfo.Role
		}
	}
	return "*"
}

// loadExecutor counts a live task toward its executor as its launch did
// (addExecutorTask): for a new leader loading the task, for a task back
// from an unreachable agent, released when the agent became unreachable,
// and for a task adopted from an agent's report.
// m.mu must be held.
func (m *Master) loadExecutor(a *agent, t *task) {
	if t.info.Executor == nil || t.resources == nil {
		return // not counted: release would not uncount it
	}
	m.addExecutorTask(a, t, api.Resources(t.info.Executor.Resources).Unallocated())
}

// executorTaskEnded uncounts t from its executor, which goes with its
// resources if it has exited and this was its last task. m.mu must be
// held.
func (m *Master) executorTaskEnded(t *task, now time.Time) {
	if t.info.Executor == nil {
		return
	}
	a := m.agents[t.agent]
	if a == nil {
		return
	}
	id := execID{t.framework, t.info.Executor.ExecutorID.Value}
	e := a.executors[id]
	if e == nil {
		return
	}
	if e.live--; e.live > 0 || !e.exited {
		return
	}
	m.dropExecutor(a, id, e, now)
}

// dropExecutor stops counting an executor on a and gives its resources
// back. m.mu must be held.
func (m *Master) dropExecutor(a *agent, id execID, e *runningExecutor, now time.Time) {
	delete(a.executors, id)
	if e.resources.Empty() {
		return
	}
	a.used = a.used.Minus(e.resources)
	if f := m.frameworks[id.framework]; f != nil {
		if f.executors[e.role] = f.executors[e.role].Minus(e.resources); f.executors[e.role].Empty() {
			delete(f.executors, e.role)
		}
	}
	m.alloc.Recover(id.framework, a.id, e.role, e.resources, 0, now)
	m.agentFreed(a.id)
}

// executorGone handles an executor that the agent a says has exited, or
// no longer lists: it goes with its resources, unless tasks of it still
// count, in which case it goes with the last of them (runningExecutor.
// exited). It reports whether the master counted it as running, so that
// its framework hears of its end once. m.mu must be held.
func (m *Master) executorGone(a *agent, id execID, now time.Time) bool {
	e := a.executors[id]
	if e == nil || e.exited {
		return false
	}
	if e.live > 0 {
		e.exited = true
		return true
	}
	m.dropExecutor(a, id, e, now)
	return true
}

// executorExited handles an agent's EXECUTOR_EXITED: the executor goes
// (executorGone) and its framework hears of it in a FAILURE event, as
// Mesos's master forwards ExitedExecutorMessage; an executor the master
// does not count (its framework removed, say) is only logged, as in
// Mesos. m.mu must be held.
func (m *Master) executorExited(a *agent, x *api.AgentExecutorExited, now time.Time) {
	id := execID{x.FrameworkID.Value, x.ExecutorID.Value}
	counted := m.executorGone(a, id, now)
	var status any = "unknown"
	if x.Status != nil {
		status = int64(*x.Status)
	}
	m.log.Info("executor exited", "framework", id.framework, "executor", id.executor, "agent", a.id,
		"counted", counted, "status", status)
	if f := m.frameworks[id.framework]; f != nil && counted {
		f.send(api.Event{Type: api.EventFailure, Failure: &api.Failure{
			AgentID: &api.AgentID{Value: a.id}, ExecutorID: &x.ExecutorID, Status: x.Status,
		}})
	}
}

// recoverAgentExecutors reconciles the executors an agent that subscribes
// lists with those the master counts on it: one the master counts but the
// agent does not list has exited unheard (executorGone); one the agent
// lists but the master does not count (a new leader, or an agent back
// from unreachable) is counted again with the resources its ExecutorInfo
// names, charged to the role they are allocated to, its framework
// recovered if the master does not know it (recoverFramework), unless
// that framework was removed: the agent is told to shut it down.
//
// It runs after the agent's tasks are reconciled: an executor unlisted
// whose tasks the agent no longer has was uncounted by their ends, and
// goes now; one counted again for a task back from unreachability goes
// with that task if the agent does not list it; one counted from an
// adopted task, by ID only, takes its resources from the list. m.mu must
// be held.
func (m *Master) recoverAgentExecutors(a *agent, listed []api.ExecutorInfo, principals map[string]string, now time.Time) {
	have := make(map[execID]bool, len(listed))
	for _, info := range listed {
		have[execID{info.FrameworkID.Value, info.ExecutorID.Value}] = true
	}
	for id := range a.executors {
		if !have[id] {
			m.executorGone(a, id, now)
		}
	}
	for _, info := range listed {
		if err := api.ValidateResources(info.Resources); err != nil {
			m.log.Warn("agent lists an executor with invalid resources; not counting it", "agent", a.id,
				"framework", info.FrameworkID.Value, "executor", info.ExecutorID.Value, "err", err)
			continue
		}
		fw := info.FrameworkID.Value
		if m.frameworks[fw] == nil && m.completedFramework(fw) {
			continue // removed: the agent is told to shut it down (shutdownRemovedFrameworks)
		}
		role := allocationRole(info.Resources)
		f := m.recoverFramework(a, fw, role, principals[fw], now)
		if f == nil {
			continue
		}
		e := m.countExecutor(a, f.id, info, role, api.Resources(info.Resources).Unallocated())
		e.exited = false // it runs: a new run of it, if the master heard of an exit
	}
}

// removeFrameworkExecutors stops counting a removed framework's executors
// on every agent, as Mesos's master removes them with the framework:
// they are told to shut down (shutdownFrameworkEverywhere) and their
// exits, if reported, find nothing to give back. m.mu must be held.
func (m *Master) removeFrameworkExecutors(fw string, now time.Time) {
	for _, a := range m.agents {
		for id, e := range a.executors {
			if id.framework == fw {
				m.dropExecutor(a, id, e, now)
			}
		}
	}
}
