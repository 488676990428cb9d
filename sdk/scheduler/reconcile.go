package scheduler

import (
	"context"
	"sort"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// knownTask is what the client knows of a task it launched or heard of,
// for reconciliation (reference §2.4).
type knownTask struct {
	agentID string
	state   api.TaskState
	seen    time.Time // when it was launched or its last update arrived
}

// observe records a status update. Tasks that are terminal, or that the
// master does not know (TASK_UNKNOWN), are forgotten: there is nothing
// more to ask about them, and should the task resurface the master says
// so with an update, which records it again.
func (c *Client) observe(st api.TaskStatus, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := st.TaskID.Value
	if st.State.IsTerminal() || st.State == api.TaskUnknown {
		delete(c.tasks, id)
		return
	}
	t := c.tasks[id]
	if t == nil {
		t = &knownTask{}
		c.tasks[id] = t
	}
	if st.AgentID != nil {
		t.agentID = st.AgentID.Value
	}
	t.state, t.seen = st.State, now
}

// launched records the tasks of LAUNCH and LAUNCH_GROUP operations the
// master accepted.
func (c *Client) launched(ops []api.Operation) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	add := func(ti api.TaskInfo) {
		if c.tasks[ti.TaskID.Value] == nil {
			c.tasks[ti.TaskID.Value] = &knownTask{agentID: ti.AgentID.Value, state: api.TaskStaging, seen: now}
		}
	}
	for _, op := range ops {
		switch {
		case op.Type == api.OpLaunch && op.Launch != nil:
			for _, ti := range op.Launch.TaskInfos {
				add(ti)
			}
		case op.Type == api.OpLaunchGroup && op.LaunchGroup != nil:
			for _, ti := range op.LaunchGroup.TaskGroup.Tasks {
				add(ti)
			}
		}
	}
}

// staleTasks returns the known tasks with no news since since, sorted by
// ID.
func (c *Client) staleTasks(since time.Time) []api.ReconcileTask {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []api.ReconcileTask
	for id, t := range c.tasks {
		if !t.seen.Before(since) {
			continue
		}
		rt := api.ReconcileTask{TaskID: api.TaskID{Value: id}}
		if t.agentID != "" {
			rt.AgentID = &api.AgentID{Value: t.agentID}
		}
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskID.Value < out[j].TaskID.Value })
	return out
}

// reconcile runs for one subscription, from its SUBSCRIBED event until ctx
// ends, as Mesos's reconciliation guide advises: the known non-terminal
// tasks are reconciled explicitly, with truncated exponential backoff,
// until each has had an update since the subscription; then all tasks
// implicitly, and again every ReconcileInterval.
func (c *Client) reconcile(ctx context.Context, since time.Time) {
	delay := c.cfg.MinBackoff
	for tasks := c.staleTasks(since); len(tasks) > 0; tasks = c.staleTasks(since) {
		if err := c.Reconcile(ctx, tasks...); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("reconcile tasks", "tasks", len(tasks), "err", err)
		}
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, c.cfg.MaxBackoff)
	}
	for {
		if err := c.Reconcile(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("reconcile all tasks", "err", err)
		}
		if c.cfg.ReconcileInterval <= 0 || !sleep(ctx, c.cfg.ReconcileInterval) {
			return
		}
	}
}
