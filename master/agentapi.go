package master

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// agentSubscribe registers or re-registers an agent and serves its event
// stream until it ends. It returns an error, for the caller to answer,
// only when it refused the subscription before it opened a stream.
func (m *Master) agentSubscribe(w http.ResponseWriter, r *http.Request, call *api.AgentCall) error {
	now := time.Now()
	m.mu.Lock()
	if m.stopped.Load() {
		m.mu.Unlock()
		return errStopped()
	}
	if id := call.Subscribe.AgentInfo.ID; id != nil && !m.gone[id.Value].IsZero() {
		m.mu.Unlock()
		s := newStream(m.newStreamID())
		s.send(agentGone)
		s.close()
		s.serve(w, r, func() {})
		return nil
	}
	a := m.admitAgent(call.Subscribe, now)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		a.ip = host
	}
	if a.stream != nil {
		// The agent is back before its old stream was seen to end (it
		// noticed the break first), so that stream's end will find itself
		// superseded and do nothing: its offers are rescinded here, as they
		// would have been there. readmitAgent starts the allocator afresh
		// on the agent, and an offer left outstanding would be made again.
		a.stream.close()
		m.rescindAgentOffers(a, now)
	}
	s := newStream(m.newStreamID())
	a.stream = s
	if a.lost != nil {
		a.lost.Stop()
		a.lost = nil
	}
	// SUBSCRIBED goes first: an agent takes no other event before it, and
	// recovering its tasks may tell it to kill some.
	info := m.info
	s.send(api.AgentEvent{Type: api.AgentEventSubscribed, Subscribed: &api.AgentSubscribed{
		AgentID:                  api.AgentID{Value: a.id},
		HeartbeatIntervalSeconds: api.Float64(m.cfg.HeartbeatInterval.Seconds()),
		MasterInfo:               &info,
		Epoch:                    m.term,
	}})
	principals := m.recoverAgentTasks(a, call.Subscribe, now)
	m.recoverAgentExecutors(a, call.Subscribe.Executors, principals, now)
	m.shutdownRemovedFrameworks(a, call.Subscribe)
	m.saveAgent(a)
	m.readmitAgent(a)
	m.keepDown(a, now)
	m.agentFreed(a.id)
	m.checkDrained(a, now) // recovering may have retired its last tasks
	m.log.Info("agent subscribed", "agent", a.id, "hostname", a.info.Hostname, "resources", a.total.String())
	m.mu.Unlock()
	s.serve(w, r, func() { m.agentDisconnected(a, s) })
	return nil
}

// shutdownRemovedFrameworks tells an agent that subscribes to shut down
// the executors it runs for frameworks removed meanwhile, as Mesos's
// master answers a re-registering agent's completed frameworks with
// ShutdownFrameworkMessage: an agent away when its framework was removed
// missed SHUTDOWN_FRAMEWORK, and an executor of it with no task left would
// otherwise run forever. m.mu must be held.
func (m *Master) shutdownRemovedFrameworks(a *agent, sub *api.AgentSubscribe) {
	for _, fw := range sub.Frameworks {
		if fw.ID == nil || m.frameworks[fw.ID.Value] != nil || !m.completedFramework(fw.ID.Value) {
			continue
		}
		a.stream.send(api.AgentEvent{Type: api.AgentEventShutdownFramework,
			ShutdownFramework: &api.AgentShutdownFramework{FrameworkID: *fw.ID}})
	}
}

// admitAgent finds or creates the agent a SUBSCRIBE describes. m.mu must be
// held.
func (m *Master) admitAgent(sub *api.AgentSubscribe, now time.Time) *agent {
	info := sub.AgentInfo
	if info.ID != nil {
		if a := m.agents[info.ID.Value]; a != nil {
			back := a.unreachable
			a.info = info
			a.total = api.Resources(info.Resources).Unallocated()
			a.reregistered = now
			a.unreachable = false
			m.setRecovered(a, false)
			if back {
				m.agentAdded(a) // it was removed when it became unreachable
			}
			return a
		}
	}
	id := ""
	if info.ID != nil {
		id = info.ID.Value // known to an earlier master: keep its ID
	} else {
		m.nextAgent++
		id = fmt.Sprintf("%s-S%d", m.id, m.nextAgent-1)
	}
	info.ID = &api.AgentID{Value: id}
	a := &agent{
		id:         id,
		info:       info,
		total:      api.Resources(info.Resources).Unallocated(),
		registered: now,
		tasks:      map[taskKey]*task{},
	}
	m.agents[id] = a
	m.agentAdded(a)
	return a
}

// recoverAgentTasks reconciles what a re-registering agent runs with what
// the master knows: tasks the master declared unreachable come back (their
// frameworks hear the latest state); tasks the master declared lost while
// the agent was away — those of frameworks that are not partition-aware —
// are killed, as Mesos shuts such frameworks down on a returning agent;
// tasks the master knows but the agent no longer has are lost. m.mu must
// be held. It returns the principals the agent reports for its
// frameworks, by framework ID.
func (m *Master) recoverAgentTasks(a *agent, sub *api.AgentSubscribe, now time.Time) map[string]string {
	reported := map[taskKey]api.Task{}
	for _, t := range sub.Tasks {
		reported[taskKey{t.FrameworkID.Value, t.TaskID.Value}] = t
	}
	principals := map[string]string{}
	for _, fw := range sub.Frameworks {
		if fw.ID != nil {
			principals[fw.ID.Value] = fw.Principal
		}
	}
	killed := map[taskKey]bool{}
	for key, t := range a.tasks {
		f := m.frameworks[key.framework]
		rt, ok := reported[key]
		switch {
		case f == nil:
			continue
		case !ok && !t.state.IsTerminal() && t.state != api.TaskStaging:
			st := masterStatus(t.info.TaskID, a.id, api.TaskLost, api.ReasonAgentRestarted,
				"Task is unknown to the agent after it re-registered", now)
			if f.partitionAware() {
				st.State = api.TaskGone
			}
			m.terminate(f, t, st)
			f.update(st)
		case !ok && t.state == api.TaskStaging && (t.loaded || t.undelivered || t.sentOn != nil && t.sentOn != a.stream):
			// An earlier leader recorded the launch but the agent never
			// got it: that leader is gone, so nothing will launch it now.
			// Or its launch went out on an earlier stream of the agent,
			// which the agent lost (the stream broke first, or the agent
			// died before anything of the task reached its disk), or was
			// committed while the agent had no stream at all, as Mesos's
			// agent answers TASK_DROPPED for a task it does not know on
			// re-registration.
			reason, msg := api.ReasonMasterDisconnected, "Task was launched by an earlier leader but never reached the agent"
			if !t.loaded {
				reason, msg = api.ReasonAgentUnknown, "Task was launched but the agent does not know it after it re-registered"
			}
			st := masterStatus(t.info.TaskID, a.id, api.TaskLost, reason, msg, now)
			if f.partitionAware() {
				st.State = api.TaskDropped
			}
			m.terminate(f, t, st)
			f.update(st)
		case ok && t.state.IsTerminal() && t.masterEnded() && !rt.State.IsTerminal():
			// Its framework was told the task is lost and counts on that.
			a.stream.send(api.AgentEvent{Type: api.AgentEventKill, Kill: &api.AgentKill{
				FrameworkID: api.FrameworkID{Value: f.id}, TaskID: t.info.TaskID, KillPolicy: t.info.KillPolicy,
			}})
			m.retire(f, []*task{t})
			killed[key] = true
			m.log.Info("killing a task the master declared terminal while its agent was away",
				"framework", f.id, "task", t.info.TaskID.Value, "agent", a.id, "state", t.state)
		case ok && t.state == api.TaskUnreachable:
			t.resources = api.Resources(t.info.Resources).Unallocated()
			a.used = a.used.Plus(t.resources)
			m.loadExecutor(a, t) // released when the agent became unreachable
			st := masterStatus(t.info.TaskID, a.id, rt.State, api.ReasonAgentReregistered,
				"Agent re-registered", now)
			m.recordStatus(t, st)
			f.update(st)
		}
	}
	for key, rt := range reported {
		if _, known := a.tasks[key]; !known && !killed[key] && !rt.State.IsTerminal() {
			m.adoptTask(a, rt, principals[key.framework], now)
		}
	}
	return principals
}

// adoptTask takes in a task that a re-registering agent runs but this
// master does not know, because the master restarted. A framework unknown
// too is recreated as recovered (recoverFramework). A removed framework's
// task is shut down with it, and a task its framework has among its
// completed ones is killed: it was told the task ended (lost with its
// agent, say) and counts on that, as Mesos kills the tasks of frameworks
// that are not partition-aware on an agent that comes back. m.mu must be
// held.
func (m *Master) adoptTask(a *agent, rt api.Task, principal string, now time.Time) {
	fid := rt.FrameworkID.Value
	role := allocationRole(rt.Resources)
	f := m.frameworks[fid]
	if f != nil {
		if done := f.completedTask(rt.TaskID.Value); done != nil {
			a.stream.send(api.AgentEvent{Type: api.AgentEventKill, Kill: &api.AgentKill{
				FrameworkID: rt.FrameworkID, TaskID: rt.TaskID, KillPolicy: done.info.KillPolicy,
			}})
			m.log.Info("killing a task whose framework was told it ended", "framework", fid, "task", rt.TaskID.Value,
				"agent", a.id, "state", done.state)
			return
		}
	}
	if f = m.recoverFramework(a, fid, role, principal, now); f == nil {
		return
	}
	t := &task{
		info: api.TaskInfo{Name: rt.Name, TaskID: rt.TaskID, AgentID: api.AgentID{Value: a.id}, Resources: rt.Resources,
			Container: rt.Container, KillPolicy: rt.KillPolicy, Labels: rt.Labels, Discovery: rt.Discovery, HealthCheck: rt.HealthCheck},
		framework: fid, agent: a.id, role: role, state: rt.State, statuses: rt.Statuses,
		resources: api.Resources(rt.Resources).Unallocated(),
	}
	if rt.ExecutorID != nil && rt.ExecutorID.Value != rt.TaskID.Value {
		t.info.Executor = &api.ExecutorInfo{ExecutorID: *rt.ExecutorID}
	}
	f.tasks[rt.TaskID.Value] = t
	a.tasks[taskKey{fid, rt.TaskID.Value}] = t
	a.used = a.used.Plus(t.resources)
	m.loadExecutor(a, t)
	m.taskAdded(t)
	m.saveTask(t)
	m.log.Info("adopted a task from a re-registering agent", "framework", fid, "task", rt.TaskID.Value, "agent", a.id)
}

// recoverFramework returns the framework fid, which a re-registering
// agent runs a task or an executor of, recreating it as recovered when
// the master does not know it (it lost its state): it keeps what it runs
// until it re-subscribes or an operator tears it down, and only the
// principal the agent reports for it may claim it (see admitFramework).
// A removed framework is not recreated: the agent is told to shut it
// down, and recoverFramework returns nil. m.mu must be held.
func (m *Master) recoverFramework(a *agent, fid, role, principal string, now time.Time) *framework {
	f := m.frameworks[fid]
	switch {
	case f == nil && m.completedFramework(fid):
		a.stream.send(api.AgentEvent{Type: api.AgentEventShutdownFramework,
			ShutdownFramework: &api.AgentShutdownFramework{FrameworkID: api.FrameworkID{Value: fid}}})
		return nil
	case f == nil:
		f = newFramework(fid, api.FrameworkInfo{Name: "(recovered from agent " + a.id + ")", Roles: []string{role},
			Principal: principal, Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}}}, now)
		f.recovered = true
		m.frameworks[fid] = f
		m.saveFramework(f)
		m.alloc.AddFramework(fid, frameworkOptions(f.info, nil))
		m.alloc.DeactivateFramework(fid)
		m.frameworkChanged(f, true)
	case f.recovered && f.info.Principal == "" && principal != "":
		// Recovered from an agent that did not know its principal.
		f.info.Principal = principal
		m.saveFramework(f)
		m.frameworkChanged(f, false)
	}
	return f
}

// agentDisconnected runs when an agent's stream ends: its offers are
// rescinded and, unless it returns within AgentReregisterTimeout, its tasks
// are declared unreachable.
func (m *Master) agentDisconnected(a *agent, s *stream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.stream != s {
		return
	}
	m.disconnectAgent(a, time.Now())
}

// disconnectAgent is agentDisconnected for the agent's current stream.
// m.mu must be held.
func (m *Master) disconnectAgent(a *agent, now time.Time) {
	a.stream = nil
	m.rescindAgentOffers(a, now)
	m.alloc.DeactivateAgent(a.id)
	m.log.Info("agent disconnected", "agent", a.id)
	a.lost = time.AfterFunc(m.cfg.AgentReregisterTimeout, func() { m.agentUnreachable(a) })
}

// agentUnreachable marks an agent that did not come back in time: its
// tasks become TASK_UNREACHABLE for partition-aware frameworks and
// TASK_LOST for the others.
func (m *Master) agentUnreachable(a *agent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.stream != nil || a.unreachable || m.agents[a.id] != a {
		return
	}
	now := time.Now()
	if !m.mayRemoveAgent(now) {
		m.log.Error("agent removal limit reached: not marking the agent unreachable; check the network between masters and agents",
			"agent", a.id, "limit", m.cfg.AgentRemovalLimit)
		m.metrics.removalsRefused.Inc()
		a.lost = time.AfterFunc(m.cfg.AgentReregisterTimeout, func() { m.agentUnreachable(a) })
		return
	}
	m.removals = append(m.removals, now)
	a.unreachable = true
	m.setRecovered(a, false)
	a.since = now
	m.saveAgent(a)
	m.alloc.RemoveAgent(a.id)
	// Its executors are counted again from its list if it comes back:
	// meanwhile its resources, as its views show them, are its tasks'.
	for id, e := range a.executors {
		m.dropExecutor(a, id, e, now)
	}
	m.agentRemoved(a)
	m.log.Warn("agent unreachable", "agent", a.id)
	told := map[*framework]bool{}
	for key, t := range a.tasks {
		f := m.frameworks[key.framework]
		if f == nil || t.state.IsTerminal() {
			continue
		}
		st := masterStatus(t.info.TaskID, a.id, api.TaskLost, api.ReasonAgentRemoved, "Agent is unreachable", now)
		if f.partitionAware() {
			st.State = api.TaskUnreachable
			st.UnreachableTime = &api.TimeInfo{Nanoseconds: api.Int64(now.UnixNano())}
		}
		m.release(t, now)
		// The master's word supersedes the agent's update still awaiting
		// acknowledgement: reconciliation and a re-subscription must not
		// answer with the stale state, and a late acknowledgement of it
		// must not retire a task its agent may still run.
		t.pending = nil
		m.recordStatus(t, st)
		f.update(st)
		if !told[f] {
			told[f] = true
			f.send(api.Event{Type: api.EventFailure, Failure: &api.Failure{AgentID: &api.AgentID{Value: a.id}}})
		}
	}
}

// agentUpdate records a status update from an agent and forwards it to
// the framework, which must acknowledge it. m.mu must be held.
func (m *Master) agentUpdate(a *agent, up *api.AgentUpdate) {
	st := up.Status
	st.AgentID = &api.AgentID{Value: a.id}
	f := m.frameworks[up.FrameworkID.Value]
	var t *task
	if f != nil {
		t = f.tasks[st.TaskID.Value]
	}
	if t != nil && t.agent != a.id {
		t = nil // on another agent: this one does not speak for it
	}
	if t == nil {
		// The framework or task is gone, or is not this agent's:
		// acknowledge on its behalf so the agent stops retrying, and make
		// sure nothing of a framework that is gone still runs.
		a.stream.send(api.AgentEvent{Type: api.AgentEventAcknowledged, Acknowledged: &api.AgentAcknowledged{
			FrameworkID: up.FrameworkID, TaskID: st.TaskID, UUID: st.UUID,
		}})
		if f == nil {
			a.stream.send(api.AgentEvent{Type: api.AgentEventShutdownFramework,
				ShutdownFramework: &api.AgentShutdownFramework{FrameworkID: up.FrameworkID}})
		}
		return
	}
	if t.acked != nil && bytes.Equal(t.acked.UUID, st.UUID) {
		// The framework acknowledged this update already: the agent sends
		// it again because its record of the acknowledgement did not
		// reach its disk before it died (at-least-once allows that). The
		// master acknowledges it for the framework, which is not told
		// twice — once the registry holds the acknowledgement, as in
		// acknowledge.
		m.afterCommit(func() {
			a.stream.send(api.AgentEvent{Type: api.AgentEventAcknowledged, Acknowledged: &api.AgentAcknowledged{
				FrameworkID: up.FrameworkID, TaskID: st.TaskID, UUID: st.UUID,
			}})
		})
		return
	}
	if t.pending == nil || !bytes.Equal(t.pending.UUID, st.UUID) {
		if st.State.IsTerminal() {
			m.release(t, time.Now())
		}
		p := st
		t.pending = &p
		m.recordStatus(t, st)
	}
	f.update(st)
}

// mayRemoveAgent reports whether one more agent may be marked unreachable
// now: at most AgentRemovalLimit of the agents (and always at least one)
// within one AgentReregisterTimeout, so that a master cut off from its
// agents, or a new leader they have not found yet, does not declare the
// whole cluster lost. m.mu must be held.
func (m *Master) mayRemoveAgent(now time.Time) bool {
	recent := m.removals[:0]
	for _, t := range m.removals {
		if now.Sub(t) < m.cfg.AgentReregisterTimeout {
			recent = append(recent, t)
		}
	}
	m.removals = recent
	allowed := max(1, int(m.cfg.AgentRemovalLimit*float64(len(m.agents))))
	return len(recent) < allowed
}
