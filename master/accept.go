package master

import (
	"fmt"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// accept carries out an ACCEPT: the offers are consumed, LAUNCH operations
// become tasks on the offers' agent, and what is left over is declined with
// the call's filters. It returns a channel closed once the launched tasks
// are committed, or nil when nothing was launched. m.mu must be held.
func (m *Master) accept(f *framework, acc *api.Accept, now time.Time) <-chan struct{} {
	offers, err := m.takeOffers(f, acc.OfferIDs, now)
	if err != nil {
		m.dropLaunches(f, acc.Operations, err.Error(), now)
		return nil
	}
	if len(offers) == 0 {
		m.dropLaunches(f, acc.Operations, "No offers were given", now)
		return nil
	}
	a := m.agents[offers[0].agent]
	var remaining api.Resources
	role := offers[0].role
	for _, o := range offers {
		m.dropOffer(o)
		remaining = remaining.Plus(o.resources)
	}
	m.metrics.offers.WithLabelValues("accepted").Add(float64(len(offers)))
	var launch []api.TaskInfo
	var launched []*task
	var events []api.AgentEvent
	for _, op := range acc.Operations {
		switch op.Type {
		case api.OpLaunch:
			if op.Launch == nil {
				continue
			}
			for _, ti := range op.Launch.TaskInfos {
				if t := m.launch(f, a, role, ti, &remaining, now); t != nil {
					launch = append(launch, t.info)
					launched = append(launched, t)
				}
			}
		case api.OpLaunchGroup:
			if lg := op.LaunchGroup; lg != nil && m.launchGroup(f, a, role, lg, &remaining, now) {
				events = append(events, api.AgentEvent{Type: api.AgentEventLaunch, Launch: &api.AgentLaunch{
					FrameworkInfo: f.info, Executor: &lg.Executor, TaskGroup: &lg.TaskGroup,
				}})
				for _, ti := range lg.TaskGroup.Tasks {
					launched = append(launched, f.tasks[ti.TaskID.Value])
				}
			}
		default:
			if op.ID != nil {
				f.send(api.Event{Type: api.EventUpdateOperationStatus, UpdateOperationStatus: &api.UpdateOperationStatus{
					Status: api.OperationStatus{OperationID: op.ID, State: "OPERATION_UNSUPPORTED",
						Message: fmt.Sprintf("operation %s is not supported by this master", op.Type),
						AgentID: &api.AgentID{Value: a.id}},
				}})
			}
		}
	}
	if len(launch) > 0 {
		events = append(events, api.AgentEvent{Type: api.AgentEventLaunch, Launch: &api.AgentLaunch{
			FrameworkInfo: f.info, Tasks: launch,
		}})
	}
	var durable chan struct{}
	if len(launched) > 0 {
		// One line per ACCEPT, not per task: the lock is held, and a
		// framework may launch thousands at once (each is logged at
		// debug level).
		m.log.Info("launching tasks", "framework", f.id, "agent", a.id, "tasks", len(launched))
		// The agent hears of the tasks only once the registry holds them.
		durable = make(chan struct{})
		m.launchTasks(launched, func() {
			for _, ev := range events {
				a.stream.send(ev)
			}
			for _, t := range launched {
				t.sentOn = a.stream
				t.undelivered = a.stream == nil
			}
			close(durable)
		})
	}
	if !remaining.Empty() {
		m.alloc.Recover(f.id, a.id, role, remaining, refuseDuration(acc.Filters), now)
		m.agentFreed(a.id)
	}
	if durable == nil {
		return nil
	}
	return durable
}

// takeOffers checks that every offer is outstanding, belongs to f and is
// on one agent. On error the valid offers go back to the pool. m.mu must be
// held.
func (m *Master) takeOffers(f *framework, ids []api.OfferID, now time.Time) ([]*offer, error) {
	var out []*offer
	var err error
	seen := map[string]bool{}
	for _, id := range ids {
		o := f.offers[id.Value]
		switch {
		case seen[id.Value]:
			err = fmt.Errorf("Offer %s appears more than once", id.Value)
		case o == nil:
			err = fmt.Errorf("Offer %s is no longer valid", id.Value)
		case len(out) > 0 && o.agent != out[0].agent:
			err = fmt.Errorf("Aggregated offers must belong to the same agent: %s is on %s, not %s", o.id, o.agent, out[0].agent)
		case len(out) > 0 && o.role != out[0].role:
			err = fmt.Errorf("Aggregated offers must be allocated to the same role")
		default:
			out = append(out, o)
		}
		seen[id.Value] = true
	}
	if err != nil {
		for _, o := range out {
			m.removeOffer(o, 0, now)
		}
		return nil, err
	}
	return out, nil
}

// dropLaunches answers every task of a rejected ACCEPT: TASK_DROPPED for
// partition-aware frameworks, else TASK_LOST, with REASON_INVALID_OFFERS.
func (m *Master) dropLaunches(f *framework, ops []api.Operation, msg string, now time.Time) {
	state := api.TaskLost
	if f.partitionAware() {
		state = api.TaskDropped
	}
	for _, op := range ops {
		for _, ti := range op.Tasks() {
			f.update(masterStatus(ti.TaskID, ti.AgentID.Value, state, api.ReasonInvalidOffers, msg, now))
			f.note(fmt.Sprintf("task %s was not launched: %s", ti.TaskID.Value, msg))
		}
	}
}

// launch validates one task, and the executor it names, against the
// offered resources and records it in TASK_STAGING. It answers an invalid
// task with TASK_ERROR and returns nil. m.mu must be held.
func (m *Master) launch(f *framework, a *agent, role string, ti api.TaskInfo, remaining *api.Resources, now time.Time) *task {
	res := api.Resources(ti.Resources).Unallocated()
	execNeed, err := m.validateTask(f, a, role, &ti, res, *remaining)
	if err != nil {
		f.update(masterStatus(ti.TaskID, a.id, api.TaskError, api.ReasonTaskInvalid, err.Error(), now))
		f.note(fmt.Sprintf("task %s was invalid: %v", ti.TaskID.Value, err))
		return nil
	}
	if err := m.rootRefused(f, &ti); err != nil {
		f.update(masterStatus(ti.TaskID, a.id, api.TaskError, api.ReasonTaskUnauthorized, err.Error(), now))
		f.note(fmt.Sprintf("task %s was refused: %v", ti.TaskID.Value, err))
		return nil
	}
	*remaining = remaining.Minus(res.Plus(execNeed))
	allocate(&ti, role)
	t := &task{info: ti, framework: f.id, agent: a.id, role: role, state: api.TaskStaging, resources: res}
	f.tasks[ti.TaskID.Value] = t
	a.tasks[taskKey{f.id, ti.TaskID.Value}] = t
	a.used = a.used.Plus(res)
	m.addExecutorTask(a, t, execNeed)
	m.taskAdded(t)
	m.log.Debug("launching task", "framework", f.id, "task", ti.TaskID.Value, "agent", a.id)
	return t
}

// validateTask applies Mesos's task validation plus Mezzo's: the module of
// a Wasm task must be in the store. res are the task's own resources; it
// returns those its executor must pay for too (executorNeed), which must
// fit in remaining beside them. role is the offers' allocation role.
// m.mu must be held.
func (m *Master) validateTask(f *framework, a *agent, role string, ti *api.TaskInfo, res, remaining api.Resources) (api.Resources, error) {
	if err := api.ValidateTaskInfo(ti); err != nil {
		return nil, err
	}
	if ti.AgentID.Value != a.id {
		return nil, fmt.Errorf("Task uses agent %s but the offers are on agent %s", ti.AgentID.Value, a.id)
	}
	if err := allocatedTo(ti.Resources, role); err != nil {
		return nil, err
	}
	if old := f.tasks[ti.TaskID.Value]; old != nil {
		return nil, fmt.Errorf("Task has duplicate ID: %s", ti.TaskID.Value)
	}
	execNeed, err := m.executorNeed(f, a, role, ti)
	if err != nil {
		return nil, err
	}
	if need := res.Plus(execNeed); !remaining.Contains(need) {
		if execNeed.Empty() {
			return nil, fmt.Errorf("Task uses more resources (%s) than available (%s)", res, remaining)
		}
		return nil, fmt.Errorf("Task and its executor %s use more resources (%s) than available (%s)",
			ti.Executor.ExecutorID.Value, need, remaining)
	}
	if ti.IsWasm() {
		if _, ok := m.modules.Get(ti.Container.Wasm.SHA256); !ok {
			return nil, m.missingModule(ti.Container.Wasm.SHA256)
		}
	}
	return execNeed, nil
}

// allocate marks the resources of a task being launched, and of the
// executor it names, as allocated to role, as Mesos's master does: the
// agent reports them back so when it re-registers, and a master that
// counts them again (a task adopted, an executor listed) charges the
// right role whatever the framework sent.
func allocate(ti *api.TaskInfo, role string) {
	ti.Resources = api.Resources(ti.Resources).Allocate(role)
	if ti.Executor != nil {
		exec := *ti.Executor
		exec.Resources = api.Resources(exec.Resources).Allocate(role)
		ti.Executor = &exec
	}
}

// allocatedTo checks that resources a task or executor names carry no
// allocation role but the offers' own: a MULTI_ROLE framework that puts
// an offer of one role to use for another is told so (in Mesos such
// resources are simply not among those offered).
func allocatedTo(res []api.Resource, role string) error {
	for _, r := range res {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" && r.AllocationInfo.Role != role {
			return fmt.Errorf("Role mismatch: resource %s is allocated to role %q but the offers are allocated to role %q",
				r.Name, r.AllocationInfo.Role, role)
		}
	}
	return nil
}
