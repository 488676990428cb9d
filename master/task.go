package master

import (
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// task is the master's record of a launched task. Fields are guarded by
// Master.mu.
type task struct {
	info      api.TaskInfo
	framework string
	agent     string
	role      string // the role of the offer it was launched on
	group     bool   // launched in a task group, under a default executor
	state     api.TaskState
	statuses  []api.TaskStatus
	resources api.Resources
	// pending is the agent's update being delivered to the framework: it
	// carries a UUID and waits for an ACKNOWLEDGE. nil when nothing waits.
	pending *api.TaskStatus
	// acked is the last update the framework acknowledged.
	acked *api.TaskStatus
	// loaded marks a task a new leader took from the registry: if its agent
	// re-registers without it while it is still staging, its launch never
	// reached the agent.
	loaded bool
	// sentOn is the agent stream its LAUNCH went out on; nil until then.
	// An agent that re-registers without a staging task its launch went
	// to on an earlier stream has lost it (see recoverAgentTasks).
	sentOn *stream
	// undelivered marks a task whose launch was committed while its agent
	// was disconnected: its LAUNCH went nowhere, so an agent that
	// re-registers without the task never had it.
	undelivered bool
}

// maxStatuses bounds a task's status history.
const maxStatuses = 32

func (t *task) record(st api.TaskStatus) {
	t.state = st.State
	st.UUID = nil
	t.statuses = append(t.statuses, st)
	if n := len(t.statuses) - maxStatuses; n > 0 {
		t.statuses = append([]api.TaskStatus(nil), t.statuses[n:]...)
	}
}

// masterEnded reports whether the task's latest state is one the master
// decided on (lost with its agent, say) rather than one its agent
// reported.
func (t *task) masterEnded() bool {
	return len(t.statuses) > 0 && t.statuses[len(t.statuses)-1].Source == api.SourceMaster
}

// wire returns the operator API's view of the task.
func (t *task) wire() api.Task {
	w := api.Task{
		Name:        t.info.Name,
		TaskID:      t.info.TaskID,
		FrameworkID: api.FrameworkID{Value: t.framework},
		ExecutorID:  t.executorID(),
		AgentID:     api.AgentID{Value: t.agent},
		State:       t.state,
		Resources:   t.info.Resources,
		Statuses:    t.statuses,
		Labels:      t.info.Labels,
		Discovery:   t.info.Discovery,
		Container:   t.info.Container,
		HealthCheck: t.info.HealthCheck,
		KillPolicy:  t.info.KillPolicy,
		Limits:      t.info.Limits,
	}
	if t.pending != nil {
		w.StatusUpdateState = t.pending.State
		w.StatusUpdateUUID = t.pending.UUID
	}
	if t.info.Command != nil {
		w.User = t.info.Command.User
	}
	return w
}

// executorID is the task's executor: its own ExecutorInfo's, else the task
// ID, as Mesos's command executor does.
func (t *task) executorID() *api.ExecutorID {
	if t.info.Executor != nil {
		return &api.ExecutorID{Value: t.info.Executor.ExecutorID.Value}
	}
	return &api.ExecutorID{Value: t.info.TaskID.Value}
}

// masterStatus builds a status update that the master itself generates.
// It carries no UUID: it is not retried and must not be acknowledged.
func masterStatus(taskID api.TaskID, agentID string, state api.TaskState, reason api.StatusReason, msg string, now time.Time) api.TaskStatus {
	st := api.TaskStatus{
		TaskID:    taskID,
		State:     state,
		Source:    api.SourceMaster,
		Reason:    reason,
		Message:   msg,
		Timestamp: api.Float64(float64(now.UnixNano()) / 1e9),
	}
	if agentID != "" {
		st.AgentID = &api.AgentID{Value: agentID}
	}
	return st
}
