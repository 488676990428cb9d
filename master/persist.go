package master

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// write is one change queued for the registry, with what to do once raft
// has committed it.
type write struct {
	cmd  registry.Command
	then func() // run with m.mu held, only if the master still leads
}

// maxChangesPerEntry bounds how many queued changes one raft entry
// carries.
const maxChangesPerEntry = 512

// persist queues cmd for the registry and returns at once: no I/O happens
// under m.mu. Writes reach raft in the order they were queued. then, if not
// nil, runs after the commit, with m.mu held; a master without a registry
// runs it now. m.mu must be held.
func (m *Master) persist(cmd registry.Command, then func()) {
	if m.reg == nil {
		if then != nil {
			then()
		}
		return
	}
	m.writes = append(m.writes, write{cmd: cmd, then: then})
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// writeLoop applies queued writes until ctx ends. Why the master queues
// rather than applies under its lock: RATIONALE.md, "Why does the master
// write the registry from one queue?".
func (m *Master) writeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.mu.Lock()
		batch, epoch := m.writes, m.epoch
		m.writes = nil
		m.mu.Unlock()
		m.writeBatch(ctx, batch, epoch)
	}
}

// writeBatch applies writes in order: runs of plain changes merged into
// few entries, a write with a Once ID or a follow-up in an entry of its
// own so that its follow-up runs right after its commit.
func (m *Master) writeBatch(ctx context.Context, batch []write, epoch uint64) {
	for len(batch) > 0 {
		var cmd registry.Command
		var then func()
		n := 0
		for n < len(batch) {
			w := batch[n]
			single := w.cmd.Once != "" || w.then != nil
			if single && n > 0 || len(cmd.Changes)+len(w.cmd.Changes) > maxChangesPerEntry && n > 0 {
				break
			}
			n++
			if single {
				cmd, then = w.cmd, w.then
				break
			}
			cmd.Changes = append(cmd.Changes, w.cmd.Changes...)
		}
		batch = batch[n:]
		if len(cmd.Changes) == 0 && cmd.Once == "" {
			// afterCommit's marker: everything before it is committed, and
			// what follows acts on state, so leadership is confirmed first.
			if !m.confirmLeader(ctx) {
				return
			}
		} else if err := m.applyWithRetry(ctx, cmd); err != nil {
			if !errors.Is(err, context.Canceled) {
				m.log.Error("registry write failed; stepping down", "err", err)
				m.stepDown(epoch)
			}
			return
		}
		if then != nil {
			m.mu.Lock()
			if m.epoch == epoch {
				then()
			}
			m.mu.Unlock()
		}
	}
}

// applyWithRetry applies cmd, trying again while the outcome is unknown.
// That is safe: records are put whole, deletes repeat harmlessly, and
// launches carry a Once ID the FSM deduplicates.
func (m *Master) applyWithRetry(ctx context.Context, cmd registry.Command) error {
	backoff := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.reg.Apply(actx, cmd)
		cancel()
		switch {
		case err == nil, errors.Is(err, registry.ErrDuplicate):
			// A commit needs a majority: the master led when it was made.
			m.confirmed.Store(time.Now().UnixNano())
			m.metrics.registryWrites.Inc()
			return nil
		case errors.Is(err, registry.ErrIndeterminate) && m.reg.IsLeader():
			m.log.Warn("registry write indeterminate; retrying", "err", err)
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// durableMarker returns a channel closed once every write queued so far
// is committed and leadership confirmed, for the calls that answer only
// once their change would survive a failover; nil without a registry. A
// write lost with the leadership never closes it. m.mu must be held.
func (m *Master) durableMarker() <-chan struct{} {
	if m.reg == nil {
		return nil
	}
	done := make(chan struct{})
	m.afterCommit(func() { close(done) })
	return done
}

// afterCommit runs fn, with m.mu held, once every write queued so far is
// committed; at once without a registry. m.mu must be held.
func (m *Master) afterCommit(fn func()) {
	m.persist(registry.Command{}, fn)
}

// taskRecord is the registry's record of t. It shares t's status slice:
// the registry's helpers marshal a record when they build the command.
func (m *Master) taskRecord(t *task) registry.Task {
	return registry.Task{Framework: t.framework, Agent: t.agent, Role: t.role, Group: t.group,
		Info: t.info, State: t.state, Statuses: t.statuses, Pending: t.pending, Acknowledged: t.acked}
}

// saveTask queues t's record. m.mu must be held.
func (m *Master) saveTask(t *task) {
	if m.reg != nil {
		m.persist(registry.PutTask(m.taskRecord(t)), nil)
	}
}

// saveCompleted queues the records of tasks now completed, and forgets
// the completed tasks their framework no longer keeps. m.mu must be held.
func (m *Master) saveCompleted(tasks, evicted []*task) {
	if m.reg == nil {
		return
	}
	for _, t := range tasks {
		r := m.taskRecord(t)
		r.Completed = true
		m.persist(registry.PutTask(r), nil)
	}
	for _, old := range evicted {
		m.persist(registry.DeleteTask(old.framework, old.info.TaskID.Value), nil)
	}
}

// launchTasks queues new tasks under one launch ID and runs send once
// they are committed, so that no agent ever runs a task the registry does
// not know. m.mu must be held.
func (m *Master) launchTasks(tasks []*task, send func()) {
	if m.reg == nil {
		send()
		return
	}
	var recs []registry.Task
	for _, t := range tasks {
		recs = append(recs, m.taskRecord(t))
	}
	m.persist(registry.LaunchTasks(uuid.NewString(), recs...), send)
}

// saveFramework queues f's record. m.mu must be held.
func (m *Master) saveFramework(f *framework) {
	if m.reg == nil {
		return
	}
	m.persist(registry.PutFramework(registry.Framework{ID: f.id, Info: f.info, Registered: f.registered,
		FailoverDeadline: f.failoverDeadline, Recovered: f.recovered}), nil)
}

// saveRemovedFramework records f as completed and forgets the completed
// frameworks, and their tasks, that the master no longer keeps. m.mu must
// be held.
func (m *Master) saveRemovedFramework(f *framework, evicted []*framework) {
	if m.reg == nil {
		return
	}
	m.persist(registry.PutFramework(registry.Framework{ID: f.id, Info: f.info, Registered: f.registered,
		Completed: f.unregistered, Recovered: f.recovered}), nil)
	for _, old := range evicted {
		cmd := registry.Command{Changes: []registry.Change{registry.Delete(registry.BucketFrameworks, old.id)}}
		for _, t := range old.completed {
			cmd.Changes = append(cmd.Changes, registry.Delete(registry.BucketTasks, registry.TaskKey(old.id, t.info.TaskID.Value)))
		}
		m.persist(cmd, nil)
	}
}

// saveAgent queues a's record. m.mu must be held.
func (m *Master) saveAgent(a *agent) {
	if m.reg == nil {
		return
	}
	state := registry.AgentActive
	switch {
	case a.unreachable:
		state = registry.AgentUnreachable
	case a.drain != nil:
		state = registry.AgentDraining
	}
	cmd := registry.PutAgent(registry.Agent{ID: a.id, Info: a.info, State: state, Deactivated: a.deactivated,
		Drain: a.drain, Registered: a.registered, Since: a.since})
	digest := registry.Digest(cmd.Changes[0].Value)
	if digest == a.recorded {
		return
	}
	a.recorded = digest
	m.persist(cmd, nil)
}

// saveGoneAgent records that an agent was marked gone. m.mu must be held.
func (m *Master) saveGoneAgent(a *agent, now time.Time) {
	if m.reg == nil {
		return
	}
	m.persist(registry.PutAgent(registry.Agent{ID: a.id, Info: a.info, State: registry.AgentGone,
		Registered: a.registered, Since: now}), nil)
}

// saveWeight and saveQuota queue a role's settings. m.mu must be held.
func (m *Master) saveWeight(role string, w float64) {
	if m.reg != nil {
		m.persist(registry.PutWeight(role, w), nil)
	}
}

func (m *Master) saveQuota(q api.QuotaConfig, cleared bool) {
	switch {
	case m.reg == nil:
	case cleared:
		m.persist(registry.DeleteQuota(q.Role), nil)
	default:
		m.persist(registry.PutQuota(q), nil)
	}
}
