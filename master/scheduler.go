package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
)

// subscribe registers or re-registers a framework and serves its event
// stream until it ends. It implements SUBSCRIBE of the scheduler API. It
// returns an error, for the caller to answer, only when it refused the
// subscription before it opened a stream.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *api.Call) error {
	now := time.Now()
	m.mu.Lock()
	if m.stopped.Load() {
		m.mu.Unlock()
		return errStopped()
	}
	f, isNew, err := m.admitFramework(r.Context(), call, now)
	if err != nil {
		m.mu.Unlock()
		var refused *echo.HTTPError
		if errors.As(err, &refused) {
			return err // not authorized: answered before any stream
		}
		// Mesos answers a refused subscription with a stream holding one
		// ERROR event rather than an HTTP error.
		s := newStream(m.newStreamID())
		s.send(api.Event{Type: api.EventError, Error: &api.ErrorEvent{Message: err.Error()}})
		s.close()
		s.serve(w, r, func() {})
		return nil
	}
	if f.stream != nil {
		f.stream.send(api.Event{Type: api.EventError, Error: &api.ErrorEvent{Message: "Framework failed over"}})
		f.stream.close()
	}
	// Offers made to the stream this one replaces are unknown to the new
	// subscriber: their resources go back, without a filter, as Mesos
	// recovers them when a framework fails over.
	for _, o := range f.offers {
		m.removeOffer(o, 0, now)
	}
	s := newStream(m.newStreamID())
	f.stream = s
	if f.failover != nil {
		f.failover.Stop()
		f.failover = nil
	}
	f.failoverDeadline = time.Time{}
	m.saveFramework(f)
	opts := frameworkOptions(f.info, call.Subscribe.SuppressedRoles)
	if isNew {
		m.alloc.AddFramework(f.id, opts)
	} else {
		m.alloc.UpdateFramework(f.id, opts)
		m.alloc.ActivateFramework(f.id)
	}
	m.needFullPass()
	hb := api.Float64(m.cfg.HeartbeatInterval.Seconds())
	info := m.info
	s.send(api.Event{Type: api.EventSubscribed, Subscribed: &api.Subscribed{
		FrameworkID:              api.FrameworkID{Value: f.id},
		HeartbeatIntervalSeconds: &hb,
		MasterInfo:               &info,
	}})
	// Updates not yet acknowledged are sent again at once, rather than at
	// the agent's next retry.
	for _, t := range f.tasks {
		if t.pending != nil {
			f.update(*t.pending)
		}
	}
	m.log.Info("framework subscribed", "framework", f.id, "name", f.info.Name)
	m.mu.Unlock()
	s.serve(w, r, func() { m.frameworkDisconnected(f, s) })
	return nil
}

// admitFramework finds or creates the framework a SUBSCRIBE names, and
// says whether it is new to this master. ctx carries the caller's
// principal. m.mu must be held.
func (m *Master) admitFramework(ctx context.Context, call *api.Call, now time.Time) (*framework, bool, error) {
	info := call.Subscribe.FrameworkInfo
	id := ""
	if info.ID != nil {
		id = info.ID.Value
	} else if call.FrameworkID != nil {
		id = call.FrameworkID.Value
	}
	if id == "" {
		m.nextFW++
		id = fmt.Sprintf("%s-%04d", m.id, m.nextFW-1)
		f := newFramework(id, info, now)
		m.frameworks[id] = f
		m.frameworkChanged(f, true)
		return f, true, nil
	}
	if m.completedFramework(id) {
		return nil, false, fmt.Errorf("Framework has been removed")
	}
	f := m.frameworks[id]
	if f == nil {
		// A framework this master has not seen re-subscribes after a master
		// restart: admit it under its own ID.
		f = newFramework(id, info, now)
		m.frameworks[id] = f
		m.frameworkChanged(f, true)
		return f, true, nil
	}
	if f.recovered {
		if err := m.mayClaim(ctx, f); err != nil {
			return nil, false, err
		}
	} else if info.Principal != f.info.Principal {
		return nil, false, fmt.Errorf("Changing framework's principal is not allowed")
	}
	info.ID = &api.FrameworkID{Value: id}
	f.info = info
	f.reregistered = now
	f.recovered = false
	m.frameworkChanged(f, false)
	return f, false, nil
}

// mayClaim checks a SUBSCRIBE under the ID of a framework recovered from
// its agents' reports after a master restart. Its tasks are not the
// caller's to drive just because it knows their framework's ID: with
// authentication on, only the principal the agents report for it
// (AgentSubscribe.Frameworks) may take it back, and one whose principal no
// agent reported is refused to everyone, so that only an operator may
// tear it down. Without authentication principals are unchecked claims,
// as they are for every framework. m.mu must be held.
func (m *Master) mayClaim(ctx context.Context, f *framework) error {
	if m.cfg.Authenticator == nil {
		return nil
	}
	switch p := principalOf(ctx); {
	case f.info.Principal == "":
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
			"Framework %s was recovered from its agents without a principal: principal %q may not subscribe as it", f.id, p))
	case f.info.Principal != p:
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
			"Principal %q may not subscribe as framework %s of principal %q", p, f.id, f.info.Principal))
	}
	return nil
}

// frameworkDisconnected runs when a framework's stream ends: its offers go
// back and its failover timeout starts.
func (m *Master) frameworkDisconnected(f *framework, s *stream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.stream != s || m.frameworks[f.id] != f {
		return // superseded by a newer subscription, or already removed
	}
	now := time.Now()
	f.stream = nil
	f.unregistered = now
	for _, o := range f.offers {
		m.removeOffer(o, 0, now)
	}
	m.alloc.DeactivateFramework(f.id)
	timeout := failoverTimeout(f)
	m.log.Info("framework disconnected", "framework", f.id, "failover_timeout", timeout)
	f.failoverDeadline = now.Add(timeout)
	m.saveFramework(f)
	m.startFailoverTimer(f, timeout)
}

// startFailoverTimer removes f if it is still disconnected after d. m.mu
// must be held.
func (m *Master) startFailoverTimer(f *framework, d time.Duration) {
	f.failover = time.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.frameworks[f.id] == f && f.stream == nil {
			m.log.Info("framework failover timeout passed; removing it", "framework", f.id)
			m.removeFramework(f, time.Now())
		}
	})
}

// removeFramework tears a framework down: its offers go back, its tasks
// are killed on their agents, every connected agent is told to shut its
// executors down, and it joins the completed frameworks. m.mu must be
// held.
func (m *Master) removeFramework(f *framework, now time.Time) {
	// The allocator forgets the framework's offers and allocations at once.
	m.alloc.RemoveFramework(f.id)
	for _, o := range f.offers {
		m.dropOffer(o)
	}
	agents := map[string]bool{}
	tasks := make([]*task, 0, len(f.tasks))
	for _, t := range f.tasks {
		if !t.state.IsTerminal() {
			m.end(t, masterStatus(t.info.TaskID, t.agent, api.TaskKilled,
				api.ReasonFrameworkRemoved, "Framework removed", now))
		}
		agents[t.agent] = true
		tasks = append(tasks, t)
	}
	m.retire(f, tasks)
	m.removeFrameworkExecutors(f.id, now)
	m.shutdownFrameworkEverywhere(f)
	// Only the agents that lost tasks here can have drained just now.
	for id := range agents {
		if a := m.agents[id]; a != nil {
			m.checkDrained(a, now)
		}
	}
	if f.failover != nil {
		f.failover.Stop()
	}
	f.stream.close()
	f.stream = nil
	f.unregistered = now
	delete(m.frameworks, f.id)
	m.completed = append(m.completed, f)
	m.frameworkRemoved(f)
	var evicted []*framework
	if n := len(m.completed) - m.cfg.MaxCompletedFrameworks; n > 0 {
		evicted = m.completed[:n:n]
		m.completed = append([]*framework(nil), m.completed[n:]...)
	}
	m.saveRemovedFramework(f, evicted)
	m.needFullPass()
}

// shutdownFrameworkEverywhere tells every connected agent to shut down
// f's executors, as Mesos's master sends ShutdownFrameworkMessage to every
// registered agent: the master knows only the agents that run f's tasks,
// and a custom executor whose tasks have all ended may still run on
// another, subscribed and idle, until it is told. m.mu must be held.
func (m *Master) shutdownFrameworkEverywhere(f *framework) {
	b, err := json.Marshal(api.AgentEvent{Type: api.AgentEventShutdownFramework,
		ShutdownFramework: &api.AgentShutdownFramework{FrameworkID: api.FrameworkID{Value: f.id}}})
	if err != nil {
		m.log.Error("encode SHUTDOWN_FRAMEWORK", "framework", f.id, "err", err)
		return
	}
	for _, a := range m.agents {
		if a.connected() {
			a.stream.sendEncoded(b)
		}
	}
}

// terminate records a terminal state the master decided on, frees the
// task's resources and retires the task at once: a master-generated update
// is never acknowledged, so nothing is left to wait for. m.mu must be
// held.
func (m *Master) terminate(f *framework, t *task, st api.TaskStatus) {
	m.end(t, st)
	m.retire(f, []*task{t})
}

// end is terminate without writing the task's record, for callers that
// retire the task at once: its completed record is then the only write.
// m.mu must be held.
func (m *Master) end(t *task, st api.TaskStatus) {
	m.release(t, time.Now())
	m.record(t, st)
	m.taskUpdated(t, st)
}

// retire moves terminal tasks of f, their updates acknowledged or no
// longer awaited, off their agents and to f's completed list, and queues
// one registry write per task: its completed record while f keeps it, a
// delete once f no longer does. m.mu must be held.
func (m *Master) retire(f *framework, tasks []*task) {
	for _, t := range tasks {
		t.pending = nil
		if a := m.agents[t.agent]; a != nil {
			delete(a.tasks, taskKey{f.id, t.info.TaskID.Value})
		}
	}
	evicted := f.complete(tasks, m.cfg.MaxCompletedTasks)
	kept := tasks[max(0, len(tasks)-len(f.completed)):]
	m.saveCompleted(kept, evicted)
}

// release returns a task's resources to its agent and the allocator,
// once. m.mu must be held.
func (m *Master) release(t *task, now time.Time) {
	if t.resources == nil {
		return
	}
	if a := m.agents[t.agent]; a != nil {
		a.used = a.used.Minus(t.resources)
		m.alloc.Recover(t.framework, t.agent, t.role, t.resources, 0, now)
		m.agentFreed(a.id)
	}
	t.resources = nil
	m.executorTaskEnded(t, now)
}

// dispatch carries out a scheduler call other than SUBSCRIBE for a
// connected framework. For an ACCEPT that launched tasks it returns a
// channel closed once the launch is committed. m.mu must be held.
func (m *Master) dispatch(f *framework, call *api.Call, now time.Time) (<-chan struct{}, error) {
	switch call.Type {
	case api.CallTeardown:
		m.removeFramework(f, now)
	case api.CallAccept:
		return m.accept(f, call.Accept, now), nil
	case api.CallDecline:
		m.decline(f, call.Decline.OfferIDs, call.Decline.Filters, now)
	case api.CallRevive:
		m.revive(f, call.Revive)
	case api.CallSuppress:
		m.suppress(f, call.Suppress)
	case api.CallKill:
		m.kill(f, call.Kill, now)
	case api.CallAcknowledge:
		m.acknowledge(f, call.Acknowledge)
	case api.CallReconcile:
		m.reconcile(f, call.Reconcile.Tasks, now)
	case api.CallRequest:
		// Accepted and ignored, as Mesos's allocator does.
	case api.CallShutdown:
		m.shutdownExecutor(f, call.Shutdown)
	case api.CallMessage:
		m.frameworkMessage(f, call.Message)
	case api.CallAcceptInverseOffers, api.CallDeclineInverseOffers, api.CallAcknowledgeOperationStatus:
		// This master makes no inverse offers and no operation status
		// updates that need acknowledgement, so there is nothing to answer;
		// Mesos ignores unknown inverse offers likewise.
	case api.CallReconcileOperations:
		m.reconcileOperations(f, call.ReconcileOperations, now)
	default:
		return nil, fmt.Errorf("%w: %s", errNotImplemented, call.Type)
	}
	return nil, nil
}

// decline returns offers with a refusal filter. m.mu must be held.
func (m *Master) decline(f *framework, ids []api.OfferID, filters *api.Filters, now time.Time) {
	for _, id := range ids {
		o := f.offers[id.Value]
		if o == nil {
			continue
		}
		m.removeOffer(o, refuseDuration(filters), now)
		m.metrics.offers.WithLabelValues("declined").Inc()
		f.declined++
		f.lastDeclined = fmt.Sprintf("%s on agent %s in role %s", o.resources, o.agent, o.role)
	}
}

// revive clears the framework's filters and un-suppresses the roles r
// names: all of them when it names none, or when the call has no revive
// payload, which Mesos accepts and reads so. m.mu must be held.
func (m *Master) revive(f *framework, r *api.Revive) {
	var roles []string
	if r != nil {
		roles = r.Roles
	}
	m.alloc.Revive(f.id, roles...)
	m.needFullPass()
}

// suppress stops offers for the roles s names: all of them when it names
// none, or when the call has no suppress payload. Outstanding offers stay.
// m.mu must be held.
func (m *Master) suppress(f *framework, s *api.Suppress) {
	var roles []string
	if s != nil {
		roles = s.Roles
	}
	m.alloc.Suppress(f.id, roles...)
}

// kill forwards a kill to the task's agent. A task the master does not
// know is answered as reconciliation would answer it. m.mu must be held.
func (m *Master) kill(f *framework, k *api.Kill, now time.Time) {
	t := f.tasks[k.TaskID.Value]
	if t == nil {
		m.reconcile(f, []api.ReconcileTask{{TaskID: k.TaskID, AgentID: k.AgentID}}, now)
		return
	}
	if t.state.IsTerminal() {
		return
	}
	a := m.agents[t.agent]
	policy := k.KillPolicy
	if policy == nil {
		policy = t.info.KillPolicy
	}
	a.stream.send(api.AgentEvent{Type: api.AgentEventKill, Kill: &api.AgentKill{
		FrameworkID: api.FrameworkID{Value: f.id}, TaskID: k.TaskID, KillPolicy: policy,
	}})
}

// acknowledge relays a framework's acknowledgement to the agent, which then
// sends the task's next update. m.mu must be held.
func (m *Master) acknowledge(f *framework, ack *api.Acknowledge) {
	t := f.tasks[ack.TaskID.Value]
	if t != nil && t.pending != nil && bytes.Equal(t.pending.UUID, ack.UUID) {
		t.acked, t.pending = t.pending, nil
		if !t.state.IsTerminal() {
			m.saveTask(t)
		} else {
			m.retire(f, []*task{t})
			if a := m.agents[t.agent]; a != nil {
				m.checkDrained(a, time.Now())
			}
		}
	}
	// The agent forgets an acknowledged update, so it hears of the
	// acknowledgement only once the registry holds it: a new leader must
	// never know less than the agent has forgotten. The task's own agent
	// hears of it, whatever agent the framework named: another would
	// drop it, and the task's would resend the update for ever.
	agent := ack.AgentID.Value
	if t != nil {
		agent = t.agent
	}
	m.afterCommit(func() {
		if a := m.agents[agent]; a != nil {
			a.stream.send(api.AgentEvent{Type: api.AgentEventAcknowledged, Acknowledged: &api.AgentAcknowledged{
				FrameworkID: api.FrameworkID{Value: f.id}, TaskID: ack.TaskID, UUID: ack.UUID,
			}})
		}
	})
}

// reconcile answers with the latest state of the named tasks, or of all
// the framework's tasks when none are named (reference §2.4). m.mu must be
// held.
func (m *Master) reconcile(f *framework, tasks []api.ReconcileTask, now time.Time) {
	reply := func(t *task) {
		state := t.state
		if t.pending != nil {
			state = t.pending.State
		}
		f.update(masterStatus(t.info.TaskID, t.agent, state, api.ReasonReconciliation,
			"Reconciliation: Latest task state", now))
	}
	if len(tasks) == 0 {
		for _, t := range f.tasks {
			reply(t)
		}
		return
	}
	for _, rt := range tasks {
		if t := f.tasks[rt.TaskID.Value]; t != nil {
			reply(t)
			continue
		}
		if t := f.completedTask(rt.TaskID.Value); t != nil {
			reply(t)
			continue
		}
		agentID := ""
		if rt.AgentID != nil {
			agentID = rt.AgentID.Value
		}
		if st, ok := m.unknownTaskStatus(f, rt.TaskID, agentID, now); ok {
			f.update(st)
		}
	}
}

// unknownTaskStatus is Mesos's answer to the reconciliation of a task the
// master does not know (reference §2.4): TASK_GONE if its agent is
// registered, TASK_UNREACHABLE (with the time) if the agent is
// unreachable, TASK_GONE_BY_OPERATOR if an operator marked it gone,
// TASK_UNKNOWN if the agent is unknown — each TASK_LOST for frameworks
// that are not partition-aware. It reports false, and nothing is to be
// sent, while the agent is recovered (known from the registry, not yet
// re-registered with this leader), or when no agent is named and some
// agent is: the answer is not known yet, and the framework retries.
// m.mu must be held.
func (m *Master) unknownTaskStatus(f *framework, taskID api.TaskID, agentID string, now time.Time) (api.TaskStatus, bool) {
	a := m.agents[agentID]
	if (a != nil && a.recovered) || (agentID == "" && m.anyRecovered()) {
		return api.TaskStatus{}, false
	}
	state, msg := api.TaskUnknown, "Reconciliation: Task is unknown"
	var since time.Time
	switch {
	case a != nil && a.unreachable:
		state, msg, since = api.TaskUnreachable, "Reconciliation: Task is unreachable", a.since
	case a != nil:
		state, msg = api.TaskGone, "Reconciliation: Task is unknown to the agent"
	case !m.gone[agentID].IsZero():
		state, msg = api.TaskGoneByOperator, "Reconciliation: Task is gone"
	}
	if !f.partitionAware() {
		state = api.TaskLost
	}
	st := masterStatus(taskID, agentID, state, api.ReasonReconciliation, msg, now)
	if state == api.TaskUnreachable {
		st.UnreachableTime = timeInfo(since)
	}
	return st, true
}

// anyRecovered reports whether some agent has not re-registered since
// this master took over. m.mu must be held.
func (m *Master) anyRecovered() bool { return m.recovering > 0 }

// setRecovered marks or unmarks a as recovered, keeping count of the
// recovered agents. m.mu must be held.
func (m *Master) setRecovered(a *agent, recovered bool) {
	switch {
	case recovered && !a.recovered:
		m.recovering++
	case !recovered && a.recovered:
		m.recovering--
	}
	a.recovered = recovered
}

// completedFramework reports whether a framework was removed. m.mu must
// be held.
func (m *Master) completedFramework(id string) bool {
	return slices.ContainsFunc(m.completed, func(f *framework) bool { return f.id == id })
}

// completedTask finds a completed task by ID.
func (f *framework) completedTask(id string) *task {
	i := slices.IndexFunc(f.completed, func(t *task) bool { return t.info.TaskID.Value == id })
	if i < 0 {
		return nil
	}
	return f.completed[i]
}
