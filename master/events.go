package master

import (
	"context"
	"net/http"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
)

// maxOperatorSubscribers bounds the operator event streams, as Mesos's
// --max_operator_event_stream_subscribers (1000); the oldest is closed to
// make room.
const maxOperatorSubscribers = 1000

// operatorSubscribe serves an operator event stream: SUBSCRIBED with a
// snapshot of the state, then an event for every change, both limited by
// the subscriber's view ACLs as the GET_* queries are.
// It returns an error, for the caller to answer, only when it refused the
// subscription before it opened a stream.
func (m *Master) operatorSubscribe(w http.ResponseWriter, r *http.Request) error {
	s, err := m.addWatcher(r.Context(), true)
	if err != nil {
		return err
	}
	s.serve(w, r, func() { m.removeWatcher(s) })
	return nil
}

// addWatcher registers a new operator event stream and queues SUBSCRIBED
// with a snapshot of the state on it. With filtered set and ACLs
// configured, the snapshot and the events are what the principal in ctx
// may see. Once Run has returned it registers nothing and returns
// errStopped.
//
// On a master that does not lead, an unfiltered stream (Subscribe's)
// comes from its replica instead (addReplicaWatcher). Filtered streams
// are opened over HTTP, which redirects them to the leader.
func (m *Master) addWatcher(ctx context.Context, filtered bool) (*stream, error) {
	if !filtered && m.reg != nil && !m.leading.Load() {
		return m.addReplicaWatcher()
	}
	s := newStream(m.newStreamID())
	if filtered && m.cfg.ACLs != nil {
		principal := principalOf(ctx)
		s.sees = func(ev api.OperatorEvent) bool { return m.eventVisible(principal, ev) }
	}
	m.mu.Lock()
	if !filtered && m.reg != nil && !m.leading.Load() {
		// It stepped down since the look above, and its memory was
		// emptied: a standby's stream follows its replica.
		m.mu.Unlock()
		return m.addReplicaWatcher()
	}
	defer m.mu.Unlock()
	if m.stopped.Load() {
		return nil, errStopped()
	}
	snapshot := &api.OperatorResponse{GetState: m.stateView()}
	if filtered {
		m.filterViews(ctx, snapshot)
	}
	m.watch(s, snapshot.GetState)
	return s, nil
}

// watch registers an operator event stream, closing the oldest past
// maxOperatorSubscribers, and queues SUBSCRIBED with state on it. m.mu
// must be held.
func (m *Master) watch(s *stream, state *api.GetStateResponse) {
	if len(m.watchers) >= maxOperatorSubscribers {
		m.watchers[0].close()
		m.watchers = m.watchers[1:]
	}
	m.watchers = append(m.watchers, s)
	hb := api.Float64(m.cfg.HeartbeatInterval.Seconds())
	s.send(api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{
		GetState: state, HeartbeatIntervalSeconds: &hb,
	}})
}

// removeWatcher forgets an operator event stream that has ended.
func (m *Master) removeWatcher(s *stream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.watchers {
		if x == s {
			m.watchers = append(m.watchers[:i:i], m.watchers[i+1:]...)
			break
		}
	}
}

// publish sends an operator event to every watcher that may see it.
// m.mu must be held.
func (m *Master) publish(ev api.OperatorEvent) {
	for _, s := range m.watchers {
		if s.sees == nil || s.sees(ev) {
			s.send(ev)
		}
	}
}

// eventVisible reports whether principal's view ACLs let it see an
// operator event: task events by view_tasks on their framework's user,
// agent events by view_agents on the agent's hostname, framework events
// by view_frameworks on the framework's user. Heartbeats go to everyone.
// m.mu must be held.
func (m *Master) eventVisible(principal string, ev api.OperatorEvent) bool {
	sees := func(action acl.Action, object string) bool {
		return m.cfg.ACLs.Allow(acl.Request{Principal: principal, Action: action, Object: object}) == nil
	}
	switch {
	case ev.TaskAdded != nil:
		return sees(acl.ViewTasks, m.frameworkUser(ev.TaskAdded.Task.FrameworkID.Value))
	case ev.TaskUpdated != nil:
		return sees(acl.ViewTasks, m.frameworkUser(ev.TaskUpdated.FrameworkID.Value))
	case ev.AgentAdded != nil:
		return sees(acl.ViewAgents, ev.AgentAdded.Agent.AgentInfo.Hostname)
	case ev.AgentRemoved != nil:
		host := ev.AgentRemoved.AgentID.Value
		if a := m.agents[host]; a != nil {
			host = a.info.Hostname
		}
		return sees(acl.ViewAgents, host)
	case ev.FrameworkAdded != nil:
		return sees(acl.ViewFrameworks, ev.FrameworkAdded.Framework.FrameworkInfo.User)
	case ev.FrameworkUpdated != nil:
		return sees(acl.ViewFrameworks, ev.FrameworkUpdated.Framework.FrameworkInfo.User)
	case ev.FrameworkRemoved != nil:
		return sees(acl.ViewFrameworks, ev.FrameworkRemoved.FrameworkInfo.User)
	}
	return true
}

// taskAdded publishes TASK_ADDED. m.mu must be held.
func (m *Master) taskAdded(t *task) {
	if len(m.watchers) > 0 {
		m.publish(api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: t.wire()}})
	}
}

// recordStatus records a task's new status and publishes TASK_UPDATED.
// m.mu must be held.
func (m *Master) recordStatus(t *task, st api.TaskStatus) {
	m.record(t, st)
	m.saveTask(t)
	m.taskUpdated(t, st)
}

// record sets a task's new status and counts the task in
// mezzo_tasks_terminal_total when the status ends it. m.mu must be held.
func (m *Master) record(t *task, st api.TaskStatus) {
	was := t.state
	t.record(st)
	if !was.IsTerminal() && t.state.IsTerminal() {
		m.metrics.terminal.WithLabelValues(string(t.state)).Inc()
	}
}

// taskUpdated publishes TASK_UPDATED with the task's latest status. m.mu
// must be held.
func (m *Master) taskUpdated(t *task, st api.TaskStatus) {
	if len(m.watchers) == 0 {
		return
	}
	st.UUID = nil
	m.publish(api.OperatorEvent{Type: api.OperatorEventTaskUpdated, TaskUpdated: &api.TaskUpdated{
		FrameworkID: api.FrameworkID{Value: t.framework}, Status: st, State: t.state,
	}})
}

// agentAdded publishes AGENT_ADDED. m.mu must be held.
func (m *Master) agentAdded(a *agent) {
	if len(m.watchers) > 0 {
		m.publish(api.OperatorEvent{Type: api.OperatorEventAgentAdded, AgentAdded: &api.AgentAdded{Agent: m.agentRecord(a)}})
	}
}

// agentRemoved publishes AGENT_REMOVED. m.mu must be held.
func (m *Master) agentRemoved(a *agent) {
	m.publish(api.OperatorEvent{Type: api.OperatorEventAgentRemoved, AgentRemoved: &api.AgentRemoved{AgentID: api.AgentID{Value: a.id}}})
}

// frameworkChanged publishes FRAMEWORK_ADDED or FRAMEWORK_UPDATED. m.mu
// must be held.
func (m *Master) frameworkChanged(f *framework, added bool) {
	if len(m.watchers) == 0 {
		return
	}
	rec := m.frameworkRecord(f)
	rec.Offers, rec.AllocatedResources, rec.OfferedResources = nil, nil, nil
	if added {
		m.publish(api.OperatorEvent{Type: api.OperatorEventFrameworkAdded, FrameworkAdded: &api.FrameworkAdded{Framework: rec}})
		return
	}
	m.publish(api.OperatorEvent{Type: api.OperatorEventFrameworkUpdated, FrameworkUpdated: &api.FrameworkUpdated{Framework: rec}})
}

// frameworkRemoved publishes FRAMEWORK_REMOVED. m.mu must be held.
func (m *Master) frameworkRemoved(f *framework) {
	m.publish(api.OperatorEvent{Type: api.OperatorEventFrameworkRemoved, FrameworkRemoved: &api.FrameworkRemoved{FrameworkInfo: f.info}})
}
