package master

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/allocator"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// Leading reports whether this master serves as the leader: always for a
// master without a registry, else while its registry member leads and
// once it has loaded the state.
func (m *Master) Leading() bool { return m.leading.Load() }

// watchLeadership follows the registry member's leadership until ctx ends:
// a master that becomes leader loads the state, one that stops leading
// drops it and closes every stream, so that clients go to the new leader.
func (m *Master) watchLeadership(ctx context.Context) {
	// raft's LeaderCh says when leadership changes; the tick catches a
	// change the channel coalesced and retries a load that failed.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.reg.LeaderCh():
		case <-tick.C:
		}
		isLeader := m.reg.IsLeader()
		switch {
		case isLeader && !m.leading.Load():
			if err := m.becomeLeader(ctx); err != nil {
				m.log.Warn("could not take over as leader", "err", err)
			}
		case !isLeader && m.leading.Load():
			// Stop serving at once: under load the lock may be busy for
			// seconds (thousands of agents subscribing), and until
			// stepDown has it, every call admitted here would be lost.
			m.leading.Store(false)
			m.mu.Lock()
			epoch := m.epoch
			m.mu.Unlock()
			m.stepDown(epoch)
		}
	}
}

// becomeLeader waits until every entry earlier leaders committed is
// applied here, then loads the registry and starts serving.
func (m *Master) becomeLeader(ctx context.Context) error {
	start := time.Now()
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.reg.Barrier(bctx); err != nil {
		return err
	}
	s, err := m.reg.Load()
	if err != nil {
		return err
	}
	m.views.drop()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resetState()
	m.term = m.reg.Term()
	m.loadState(s, time.Now())
	m.leading.Store(true)
	m.needFullPass()
	m.log.Info("leading", "term", m.term, "frameworks", len(m.frameworks), "agents", len(m.agents),
		"tasks", len(s.Tasks), "took", time.Since(start))
	return nil
}

// stepDown stops serving as leader, unless leadership changed since epoch
// already: the state is dropped and every stream closed.
func (m *Master) stepDown(epoch uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epoch != epoch {
		return
	}
	m.leading.Store(false)
	m.resetState()
	m.log.Info("no longer leading", "leader", m.reg.Leader())
}

// resetState closes every stream, stops every timer and empties the
// state. m.mu must be held.
func (m *Master) resetState() {
	m.epoch++
	for _, f := range m.frameworks {
		f.stream.close()
		f.stream = nil
		if f.failover != nil {
			f.failover.Stop()
		}
	}
	for _, a := range m.agents {
		a.stream.close()
		a.stream = nil
		if a.lost != nil {
			a.lost.Stop()
		}
	}
	for _, s := range m.watchers {
		s.close()
	}
	m.watchers = nil
	m.frameworks = map[string]*framework{}
	m.completed = nil
	m.agents = map[string]*agent{}
	m.offers = map[string]*offer{}
	m.alloc = allocator.New(m.cfg.allocatorConfig())
	m.dirty = map[string]bool{}
	m.weights = map[string]float64{}
	m.quotas = map[string]api.QuotaConfig{}
	m.gone = map[string]time.Time{}
	m.maint = maintenance{}
	m.writes = nil
	m.removals = nil
	m.recovering = 0
}

// loadState rebuilds the master's state from the registry: frameworks
// disconnected with their failover deadlines running on from the
// persisted values, agents disconnected with a re-registration window,
// tasks with their pending updates. m.mu must be held.
func (m *Master) loadState(s *registry.State, now time.Time) {
	m.restoreState(s)
	for _, f := range m.frameworks {
		f.unregistered = now
		if f.failoverDeadline.IsZero() {
			// It was connected to the old leader: its timeout starts now.
			f.failoverDeadline = now.Add(failoverTimeout(f))
			m.saveFramework(f)
		}
		m.startFailoverTimer(f, f.failoverDeadline.Sub(now))
	}
	for _, a := range m.agents {
		if !a.unreachable {
			m.setRecovered(a, true)
			a.lost = time.AfterFunc(m.cfg.AgentReregisterTimeout, func() { m.agentUnreachable(a) })
		}
	}
}

// restoreState fills the master's maps from the registry's records, as
// they were when the registry recorded them, without starting any timer
// or writing anything: a new leader then starts its timers (loadState),
// and a standby builds its read-only views this way (standby.go). m.mu
// must be held.
func (m *Master) restoreState(s *registry.State) {
	m.restoreMaintenance(s.Maintenance)
	for role, w := range s.Weights {
		m.weights[role] = w
		m.alloc.SetWeight(role, w)
	}
	for role, q := range s.Quotas {
		m.quotas[role] = q
		g, l, _ := quotaResources(q)
		m.alloc.SetQuota(role, g, l)
	}
	completed := map[string]*framework{}
	for id, rec := range s.Frameworks {
		f := newFramework(id, rec.Info, rec.Registered)
		f.recovered = rec.Recovered
		if !rec.Completed.IsZero() {
			f.unregistered = rec.Completed
			completed[id] = f
			m.completed = append(m.completed, f)
			continue
		}
		m.frameworks[id] = f
		m.alloc.AddFramework(id, frameworkOptions(f.info, nil))
		m.alloc.DeactivateFramework(id)
		f.failoverDeadline = rec.FailoverDeadline
	}
	sort.Slice(m.completed, func(i, j int) bool { return m.completed[i].unregistered.Before(m.completed[j].unregistered) })
	for id, rec := range s.Agents {
		if rec.State == registry.AgentGone {
			m.gone[id] = rec.Since
			continue
		}
		a := recordedAgent(id, rec)
		a.recorded = s.AgentDigests[id]
		m.agents[id] = a
	}
	var done []*task
	for _, rec := range s.Tasks {
		t := recordedTask(rec)
		if f := completed[rec.Framework]; f != nil || rec.Completed {
			if f == nil {
				f = m.frameworks[rec.Framework]
			}
			if f != nil {
				done = append(done, t)
			}
			continue
		}
		f := m.frameworks[rec.Framework]
		if f == nil {
			continue
		}
		f.tasks[t.info.TaskID.Value] = t
		if a := m.agents[t.agent]; a != nil {
			a.tasks[taskKey{f.id, t.info.TaskID.Value}] = t
			if !t.state.IsTerminal() && !a.unreachable {
				t.resources = api.Resources(t.info.Resources).Unallocated()
				a.used = a.used.Plus(t.resources)
				m.loadExecutor(a, t)
			}
		}
	}
	for _, t := range done {
		f := completed[t.framework]
		if f == nil {
			f = m.frameworks[t.framework]
		}
		f.completed = append(f.completed, t)
	}
}

// recordedAgent is the agent a registry record describes, as a master
// that loads the record holds it: disconnected, using nothing.
func recordedAgent(id string, rec registry.Agent) *agent {
	return &agent{id: id, info: rec.Info, total: api.Resources(rec.Info.Resources).Unallocated(),
		registered: rec.Registered, unreachable: rec.State == registry.AgentUnreachable,
		deactivated: rec.Deactivated, drain: rec.Drain, since: rec.Since, tasks: map[taskKey]*task{}}
}

// recordedTask is the task a registry record describes, as a master that
// loads the record holds it, before its resources are counted.
func recordedTask(rec registry.Task) *task {
	t := &task{info: rec.Info, framework: rec.Framework, agent: rec.Agent, role: rec.Role, group: rec.Group,
		state: rec.State, pending: rec.Pending, acked: rec.Acknowledged, loaded: true}
	switch {
	case len(rec.Statuses) > 0:
		t.statuses = rec.Statuses
	case rec.Latest != nil:
		t.statuses = []api.TaskStatus{*rec.Latest}
	}
	return t
}

// failoverTimeout is how long f may stay disconnected.
func failoverTimeout(f *framework) time.Duration {
	return time.Duration(float64(f.info.FailoverTimeout) * float64(time.Second))
}

// redirect answers a request this master cannot serve because it does not
// lead: 307 to the leader in Mesos's protocol-relative form, or 503 while
// no leader is known or, as Mesos says, while this master is elected but
// still loading the state.
func (m *Master) redirect(c echo.Context) error {
	leader := m.reg.Leader()
	switch leader {
	case "":
		return echo.NewHTTPError(http.StatusServiceUnavailable, "No leader elected")
	case m.reg.Addr():
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Master has not finished recovery")
	}
	c.Response().Header().Set("Location", "//"+leader+c.Request().URL.RequestURI())
	return c.NoContent(http.StatusTemporaryRedirect)
}

// leaderOnly serves a route only on the leader.
func (m *Master) leaderOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !m.leading.Load() {
			return m.redirect(c)
		}
		return next(c)
	}
}

// leaseCheck is how long a confirmation of leadership is trusted: less
// than raft's leader lease, after which a leader cut off from a majority
// steps down by itself.
const leaseCheck = 100 * time.Millisecond

// confirmLeader checks with a majority that this master still leads before
// a decision that reads state (an offer, a command to an agent). A recent
// confirmation, or a commit, stands for leaseCheck. A master that is no
// longer leader steps down and answers false. It must be called without
// m.mu.
func (m *Master) confirmLeader(ctx context.Context) bool {
	if m.reg == nil {
		return true
	}
	if time.Since(time.Unix(0, m.confirmed.Load())) < leaseCheck {
		return true
	}
	m.mu.Lock()
	epoch := m.epoch
	m.mu.Unlock()
	if err := m.reg.VerifyLeader(ctx); err != nil {
		m.log.Warn("leadership not confirmed", "err", err)
		m.stepDown(epoch)
		return false
	}
	m.confirmed.Store(time.Now().UnixNano())
	return true
}

// changeMasters serves ADD_MASTER and REMOVE_MASTER on the leader: raft
// changes its configuration, which takes a commit, so it runs without
// m.mu.
func (m *Master) changeMasters(c echo.Context, call *api.OperatorCall) error {
	if m.reg == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "This master is not replicated: start it with --peers")
	}
	ctx := c.Request().Context()
	var err error
	if call.Type == api.OperatorAddMaster {
		err = m.reg.AddMaster(ctx, call.AddMaster.Address)
	} else {
		err = m.reg.RemoveMaster(ctx, call.RemoveMaster.Address)
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
	}
	return c.NoContent(http.StatusOK)
}
