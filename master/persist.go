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

// entry is one raft entry of a batch: merged changes, or a marker (no
// changes, no Once ID) whose follow-up needs leadership confirmed.
type entry struct {
	cmd  registry.Command
	then func()
}

func (e entry) marker() bool { return len(e.cmd.Changes) == 0 && e.cmd.Once == "" }

// entries splits a batch into raft entries: runs of plain changes merged
// into few entries, a write with a Once ID or a follow-up in an entry of
// its own so that its follow-up runs right after its commit.
func entries(batch []write) []entry {
	var out []entry
	for len(batch) > 0 {
		var e entry
		n := 0
		for n < len(batch) {
			w := batch[n]
			single := w.cmd.Once != "" || w.then != nil
			if single && n > 0 || len(e.cmd.Changes)+len(w.cmd.Changes) > maxChangesPerEntry && n > 0 {
				break
			}
			n++
			if single {
				e.cmd, e.then = w.cmd, w.then
				break
			}
			e.cmd.Changes = append(e.cmd.Changes, w.cmd.Changes...)
		}
		batch = batch[n:]
		out = append(out, e)
	}
	return out
}

// pipelineDepth is how many entries the write loop has in raft at once:
// raft's batch (MaxAppendEntries), so that one fsync stores them all.
const pipelineDepth = 64

// writeBatch applies writes in order. Up to pipelineDepth entries are
// handed to raft before the first is waited for, so that the launches,
// status updates and acknowledgements queued together share fsyncs
// instead of paying a commit each; follow-ups still run in queue order,
// each once its entry (and so every entry before it) is committed. An
// entry that fails sends the batch from it on down the one-at-a-time
// path, with its retries (writeInOrder).
//
// Writes queued meanwhile join the pipeline as each entry completes
// (under the same leadership), so that a launch queued while others
// commit reaches raft at once instead of after the whole batch.
func (m *Master) writeBatch(ctx context.Context, batch []write, epoch uint64) {
	es := entries(batch)
	var inRaft []*registry.Pending // those of es[:len(inRaft)]; nil for a marker
	for len(es) > 0 {
		if ctx.Err() == nil {
			es = append(es, entries(m.takeWrites(epoch))...)
		}
		for len(inRaft) < len(es) && len(inRaft) < pipelineDepth {
			var p *registry.Pending
			if e := es[len(inRaft)]; !e.marker() {
				var err error
				if p, err = m.reg.Start(e.cmd, 10*time.Second); err != nil {
					break // if it is the head, writeInOrder meets the error
				}
			}
			inRaft = append(inRaft, p)
		}
		e := es[0]
		var err error
		switch {
		case e.marker():
			// Everything before it is committed, and what follows acts
			// on state, so leadership is confirmed first.
			if !m.confirmLeader(ctx) {
				return
			}
		case len(inRaft) == 0:
			err = errNotStarted
		default:
			err = inRaft[0].Wait()
		}
		if err != nil && !errors.Is(err, registry.ErrDuplicate) {
			// Let the entries in flight land before any is applied
			// again, so that the registry ends with them in order.
			for _, p := range inRaft[1:] {
				if p != nil {
					p.Wait()
				}
			}
			m.writeInOrder(ctx, es, epoch)
			return
		}
		if !e.marker() {
			m.committed()
		}
		m.follow(e.then, epoch)
		es = es[1:]
		if len(inRaft) > 0 {
			inRaft = inRaft[1:]
		}
	}
}

// takeWrites takes the writes queued since the batch began, unless the
// master's leadership changed since (they then wait for a batch of their
// own).
func (m *Master) takeWrites(epoch uint64) []write {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epoch != epoch {
		return nil
	}
	w := m.writes
	m.writes = nil
	return w
}

// errNotStarted stands for the outcome of an entry raft was not handed.
var errNotStarted = errors.New("registry entry not started")

// writeInOrder applies entries one at a time, each retried while its
// outcome is unknown; a write that fails for good makes the master step
// down.
func (m *Master) writeInOrder(ctx context.Context, es []entry, epoch uint64) {
	for _, e := range es {
		if e.marker() {
			if !m.confirmLeader(ctx) {
				return
			}
		} else if err := m.applyWithRetry(ctx, e.cmd); err != nil {
			if !errors.Is(err, context.Canceled) {
				m.log.Error("registry write failed; stepping down", "err", err)
				m.stepDown(epoch)
			}
			return
		}
		m.follow(e.then, epoch)
	}
}

// follow runs an entry's follow-up, if any, with m.mu held, unless the
// master lost the leadership it had when the write was queued.
func (m *Master) follow(then func(), epoch uint64) {
	if then == nil {
		return
	}
	m.mu.Lock()
	if m.epoch == epoch {
		then()
	}
	m.mu.Unlock()
}

// committed notes a commit: it needed a majority, so the master led when
// it was made.
func (m *Master) committed() {
	m.confirmed.Store(time.Now().UnixNano())
	m.metrics.registryWrites.Inc()
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
			m.committed()
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
