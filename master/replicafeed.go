package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// A standby's own memory holds no frameworks, agents or tasks, and it
// publishes nothing about them: the leader does. So that its console is
// as live as the leader's, an operator event stream opened in-process on
// a standby (Subscribe) starts with a snapshot of its replica and goes on
// with the events the leader published for each change, as the replica
// applies it: the registry tracks the records that applied entries
// change, and the feed below compares each with what it last saw of it.
// Why rather than having the console poll the replica: RATIONALE.md,
// "Why does a standby's console follow what its replica applies?".

// feedBuckets are the registry's buckets that operator events are about.
var feedBuckets = []string{registry.BucketFrameworks, registry.BucketAgents, registry.BucketTasks}

// replicaFeed turns what a standby's replica applies into operator events.
// It runs from the opening of a stream on the standby (addReplicaWatcher)
// until no stream is left or the master leads (stepFeed), the registry
// then tracking nothing.
//
// Its marks hold, for every record of feedBuckets in the replica, just
// enough to tell which event a new value of the record makes: an added
// task from a task's new status, a status from an acknowledgement, a
// framework's removal from an update.
type replicaFeed struct {
	// mu is held across a snapshot and the registration of the stream
	// that starts with it, and across taking changes and publishing their
	// events, so that a stream hears of every change after its snapshot
	// (some before it too, at worst). Lock order: replicaFeed.mu, then
	// replicaViews.mu, then Master.mu.
	mu      sync.Mutex
	on      bool   // the registry tracks changes and the marks hold its records
	applied uint64 // the index of the last entry the marks reflect
	// outOfStep is set by a step that found a record deleted whose end
	// the feed never saw (a running task marked gone and evicted from the
	// completed at once, say): the leader published that end, but the
	// replica no longer tells which it was, so the step closes the
	// streams and their readers subscribe again for a fresh snapshot.
	outOfStep  bool
	frameworks map[string]frameworkMark
	agents     map[string]bool // whether the agent is listed: neither unreachable nor gone
	tasks      map[string]taskMark
}

// frameworkMark is what the feed keeps of a framework's record.
type frameworkMark struct {
	digest uint64 // of the record as stored
	live   bool   // not completed
}

// taskMark is what the feed keeps of a task's record: its state and its
// latest status, which change with every status update and not with an
// acknowledgement.
type taskMark struct {
	state    api.TaskState
	statuses int
	latest   api.Float64 // the latest status's timestamp
}

// feedEvents are the events of one step, in the order they are published:
// frameworks added or updated before the agents and tasks that may name
// them, removed frameworks last, as the leader publishes a framework's
// tasks' ends before its removal.
type feedEvents struct {
	frameworks, agents, tasks, removed []api.OperatorEvent
}

func (e *feedEvents) list() []api.OperatorEvent {
	return slices.Concat(e.frameworks, e.agents, e.tasks, e.removed)
}

// addReplicaWatcher opens an operator event stream on a master that does
// not lead: SUBSCRIBED with its replica's state, as GET_STATE answers on
// a standby, then the events of what the replica applies. It starts the
// feed if it is not running. Errors are echo errors: 503 when the replica
// cannot be read, as a standby's views answer then.
func (m *Master) addReplicaWatcher() (*stream, error) {
	f := &m.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.stopped.Load() {
		return nil, errStopped() // and no feed, which nothing would stop
	}
	unreadable := func(err error) error {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Could not read this standby's replica: "+err.Error()).SetInternal(err)
	}
	if err := m.startFeed(); err != nil {
		return nil, unreadable(err)
	}
	// Not older than the marks, or the changes between would be missed.
	v, _, err := m.replicaStateSince(f.applied)
	if err != nil {
		return nil, unreadable(err)
	}
	v.mu.Lock()
	snapshot := &api.OperatorResponse{GetState: v.stateView()}
	v.markRecordedConnections(snapshot)
	v.mu.Unlock()
	s := newStream(m.newStreamID())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped.Load() {
		return nil, errStopped()
	}
	if m.leading.Load() {
		// It took over meanwhile: its memory holds the state now, and
		// it publishes every change itself.
		snapshot.GetState = m.stateView()
	}
	m.watch(s, snapshot.GetState)
	return s, nil
}

// startFeed starts tracking the replica's changes and marks every record
// it holds, unless the feed runs already. f.mu must be held.
func (m *Master) startFeed() error {
	f := &m.feed
	if f.on {
		return nil
	}
	m.reg.TrackChanges(feedBuckets...)
	f.frameworks, f.agents, f.tasks = map[string]frameworkMark{}, map[string]bool{}, map[string]taskMark{}
	applied, err := m.reg.Scan(func(bucket, key string, value []byte) error {
		f.note(m, bucket, key, value, nil)
		return nil
	}, feedBuckets...)
	if err != nil {
		m.stopFeed()
		return fmt.Errorf("start following the replica: %w", err)
	}
	f.on, f.applied, f.outOfStep = true, applied, false
	return nil
}

// stopFeed stops tracking and forgets the marks. f.mu must be held.
func (m *Master) stopFeed() {
	m.reg.StopTracking()
	f := &m.feed
	f.on, f.frameworks, f.agents, f.tasks = false, nil, nil, nil
}

// followReplica publishes what the replica applies to the streams opened
// on this master while it does not lead, until ctx ends. The tick stops
// the feed within a second of this master's taking the lead, so that a
// leader's registry tracks nothing for long.
func (m *Master) followReplica(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.feed.mu.Lock()
			m.stopFeed()
			m.feed.mu.Unlock()
			return
		case <-m.reg.Changed():
		case <-tick.C:
		}
		m.stepFeed()
	}
}

// stepFeed publishes the events of the changes the replica applied since
// the last step. When the changes are too many to list, or a snapshot
// replaced the replica, it compares every record instead; if even that
// fails, it closes the streams, whose readers subscribe again for a fresh
// snapshot.
func (m *Master) stepFeed() {
	f := &m.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return
	}
	m.mu.Lock()
	idle := len(m.watchers) == 0
	m.mu.Unlock()
	if idle || m.leading.Load() {
		// Nobody reads the console's stream here now, or this master
		// publishes for itself: the registry need track nothing, and a
		// stream opened later starts the feed again from a fresh scan.
		m.stopFeed()
		return
	}
	events, err := m.feedChanges(m.reg.TakeChanges())
	if err != nil {
		m.log.Warn("standby: could not follow the replica; closing the console's event streams", "err", err)
		m.stopFeed()
	}
	resync := err != nil || f.outOfStep
	f.outOfStep = false
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leading.Load() {
		return // it publishes for itself now; the next step stops the feed
	}
	if resync {
		for _, s := range m.watchers {
			s.close()
		}
		m.watchers = nil
		return
	}
	for _, ev := range events {
		m.publish(ev)
	}
}

// feedChanges marks the records in ch and returns the events they make.
// f.mu must be held.
func (m *Master) feedChanges(ch registry.Changes) ([]api.OperatorEvent, error) {
	if ch.All {
		return m.feedRescan()
	}
	f := &m.feed
	f.applied = ch.Applied
	out := &feedEvents{}
	for _, bucket := range feedBuckets {
		records := ch.Records[bucket]
		keys := make([]string, 0, len(records))
		for k := range records {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f.note(m, bucket, k, records[k], out)
		}
	}
	return out.list(), nil
}

// feedRescan compares every record of the replica with its mark, for a
// step whose changes the registry could not list: records gone since are
// deleted. f.mu must be held.
func (m *Master) feedRescan() ([]api.OperatorEvent, error) {
	f := &m.feed
	out := &feedEvents{}
	seen := map[string]map[string]bool{}
	for _, b := range feedBuckets {
		seen[b] = map[string]bool{}
	}
	applied, err := m.reg.Scan(func(bucket, key string, value []byte) error {
		seen[bucket][key] = true
		f.note(m, bucket, key, value, out)
		return nil
	}, feedBuckets...)
	if err != nil {
		return nil, fmt.Errorf("compare the replica's records: %w", err)
	}
	f.applied = applied
	for _, gone := range []struct {
		bucket string
		keys   []string
	}{
		{registry.BucketFrameworks, mapKeys(f.frameworks)},
		{registry.BucketAgents, mapKeys(f.agents)},
		{registry.BucketTasks, mapKeys(f.tasks)},
	} {
		for _, k := range gone.keys {
			if !seen[gone.bucket][k] {
				f.note(m, gone.bucket, k, nil, out)
			}
		}
	}
	return out.list(), nil
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// note marks one record as it is now, value nil once deleted, and adds
// to out (unless nil) the event the leader published for the change. A
// record that cannot be decoded is logged and left unmarked. f.mu must be
// held.
func (f *replicaFeed) note(m *Master, bucket, key string, value []byte, out *feedEvents) {
	var err error
	switch bucket {
	case registry.BucketFrameworks:
		err = f.noteFramework(key, value, out)
	case registry.BucketAgents:
		err = f.noteAgent(m, key, value, out)
	case registry.BucketTasks:
		err = f.noteTask(key, value, out)
	}
	if err != nil {
		m.log.Warn("standby: a replicated record cannot be read", "bucket", bucket, "key", key, "err", err)
	}
}

// noteFramework marks a framework's record: FRAMEWORK_ADDED for one not
// listed before, FRAMEWORK_UPDATED for a change to a listed one,
// FRAMEWORK_REMOVED once it is completed. A completed framework the
// leader forgets makes no event, as on the leader.
func (f *replicaFeed) noteFramework(id string, value []byte, out *feedEvents) error {
	old, known := f.frameworks[id]
	if value == nil {
		delete(f.frameworks, id)
		f.outOfStep = f.outOfStep || out != nil && known && old.live // its removal never seen
		return nil
	}
	var rec registry.Framework
	if err := json.Unmarshal(value, &rec); err != nil {
		return fmt.Errorf("decode framework %s: %w", id, err)
	}
	mark := frameworkMark{digest: registry.Digest(value), live: rec.Completed.IsZero()}
	f.frameworks[id] = mark
	if out == nil {
		return nil
	}
	info := rec.Info
	info.ID = &api.FrameworkID{Value: id}
	switch {
	case mark.live && (!known || !old.live):
		out.frameworks = append(out.frameworks, api.OperatorEvent{Type: api.OperatorEventFrameworkAdded,
			FrameworkAdded: &api.FrameworkAdded{Framework: recordedFramework(rec, info)}})
	case mark.live && old.digest != mark.digest:
		out.frameworks = append(out.frameworks, api.OperatorEvent{Type: api.OperatorEventFrameworkUpdated,
			FrameworkUpdated: &api.FrameworkUpdated{Framework: recordedFramework(rec, info)}})
	case !mark.live && known && old.live:
		out.removed = append(out.removed, api.OperatorEvent{Type: api.OperatorEventFrameworkRemoved,
			FrameworkRemoved: &api.FrameworkRemoved{FrameworkInfo: info}})
	}
	return nil
}

// recordedFramework is a framework's record in an operator event, as a
// standby's views show it: connected as the registry last recorded it
// (no failover deadline running), with no offers or resources, which the
// registry does not hold.
func recordedFramework(rec registry.Framework, info api.FrameworkInfo) api.FrameworkRecord {
	connected := rec.FailoverDeadline.IsZero()
	return api.FrameworkRecord{FrameworkInfo: info, Active: connected, Connected: connected,
		Recovered: rec.Recovered, RegisteredTime: timeInfo(rec.Registered)}
}

// noteAgent marks an agent's record: AGENT_ADDED when it is listed anew
// (registered, or back from unreachable), AGENT_REMOVED when it becomes
// unreachable or gone, as the leader publishes them.
func (f *replicaFeed) noteAgent(m *Master, id string, value []byte, out *feedEvents) error {
	was := f.agents[id]
	listed := false
	var rec registry.Agent
	if value != nil {
		if err := json.Unmarshal(value, &rec); err != nil {
			return fmt.Errorf("decode agent %s: %w", id, err)
		}
		listed = rec.State != registry.AgentUnreachable && rec.State != registry.AgentGone
	}
	if value == nil {
		delete(f.agents, id)
	} else {
		f.agents[id] = listed
	}
	switch {
	case out == nil:
	case listed && !was:
		r := m.agentRecord(recordedAgent(id, rec))
		r.Active = true // as the registry last recorded it: a standby holds no streams
		out.agents = append(out.agents, api.OperatorEvent{Type: api.OperatorEventAgentAdded, AgentAdded: &api.AgentAdded{Agent: r}})
	case !listed && was:
		out.agents = append(out.agents, api.OperatorEvent{Type: api.OperatorEventAgentRemoved,
			AgentRemoved: &api.AgentRemoved{AgentID: api.AgentID{Value: id}}})
	}
	return nil
}

// noteTask marks a task's record: TASK_ADDED for a task not seen before,
// TASK_UPDATED with its latest status when it has a new one. An
// acknowledgement, or the task's retirement among the completed, changes
// the record but not its statuses, and makes no event, as on the leader;
// nor does a completed task the leader forgets.
func (f *replicaFeed) noteTask(key string, value []byte, out *feedEvents) error {
	if value == nil {
		old, known := f.tasks[key]
		delete(f.tasks, key)
		f.outOfStep = f.outOfStep || out != nil && known && !old.state.IsTerminal() // its end never seen
		return nil
	}
	var rec registry.Task
	if err := json.Unmarshal(value, &rec); err != nil {
		return fmt.Errorf("decode task %s: %w", key, err)
	}
	t := recordedTask(rec)
	mark := taskMark{state: t.state, statuses: len(t.statuses)}
	if n := len(t.statuses); n > 0 {
		mark.latest = t.statuses[n-1].Timestamp
	}
	old, known := f.tasks[key]
	f.tasks[key] = mark
	switch {
	case out == nil:
	case !known:
		out.tasks = append(out.tasks, api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: t.wire()}})
	case old != mark:
		st := api.TaskStatus{TaskID: t.info.TaskID, State: t.state}
		if n := len(t.statuses); n > 0 {
			st = t.statuses[n-1]
		}
		st.UUID = nil
		out.tasks = append(out.tasks, api.OperatorEvent{Type: api.OperatorEventTaskUpdated, TaskUpdated: &api.TaskUpdated{
			FrameworkID: api.FrameworkID{Value: t.framework}, Status: st, State: t.state}})
	}
	return nil
}
