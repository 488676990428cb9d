package master

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/allocator"
)

// A standby answers the read-only operator queries below from its replica
// of the registry instead of redirecting them, so that dashboards and
// tools spread over every master and still see the cluster while no
// leader is elected. Why, and what such a view lacks: RATIONALE.md, "Why
// do standbys serve views from their replica?".
var servedByStandbys = map[api.OperatorCallType]bool{
	api.OperatorGetState: true, api.OperatorGetTasks: true, api.OperatorGetFrameworks: true,
	api.OperatorGetAgents: true, api.OperatorGetRoles: true,
	api.OperatorGetWeights: true, api.OperatorGetQuota: true,
	api.OperatorGetMaintenanceSchedule: true, api.OperatorGetMaintenanceStatus: true,
}

// replicaViews caches the state a standby's views are built from, rebuilt
// when the replica has applied more entries, but at most once per
// replicaViewAge.
type replicaViews struct {
	mu      sync.Mutex
	applied uint64
	built   time.Time
	state   *Master // a master that only holds state: no loops, no timers
}

// replicaViewAge is how long a standby serves views from a state it built
// though its replica has moved on. Building one loads the whole registry,
// and on a busy cluster the replica moves on with every entry: each live
// update of a console open on the standby (replicafeed.go) refetches its
// page, and each refetch would load the registry again. A view says which
// index it reflects (api.HeaderAppliedIndex).
var replicaViewAge = time.Second

// drop forgets the cached state, which a leader has no use for.
func (v *replicaViews) drop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.state, v.applied, v.built = nil, 0, time.Time{}
}

// standbyReads serves servedByStandbys on a master that does not lead;
// every other call goes on to next, which redirects it to the leader.
func (m *Master) standbyReads(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m.reg == nil || m.leading.Load() {
			return next(c)
		}
		body, err := m.readCall(c)
		if err != nil {
			return err
		}
		call, err := api.DecodeOperatorCall(body)
		if err != nil || !servedByStandbys[call.Type] {
			c.Request().Body = io.NopCloser(bytes.NewReader(body))
			return next(c)
		}
		c.Set(callTypeKey, string(call.Type))
		resp, applied, err := m.replicaView(c.Request().Context(), call)
		if err != nil {
			return err
		}
		m.markReplicaView(c, applied)
		return writeJSON(c, resp)
	}
}

// replicaView answers one of servedByStandbys from this standby's replica
// for the principal in ctx, as the leader would from its memory, and
// returns the raft index the answer reflects. Errors are echo errors.
func (m *Master) replicaView(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, uint64, error) {
	v, applied, err := m.replicaState()
	if err != nil {
		return nil, 0, echo.NewHTTPError(http.StatusServiceUnavailable, "Could not read this standby's replica: "+err.Error())
	}
	resp := &api.OperatorResponse{Type: call.Type}
	v.mu.Lock()
	err = v.authorizeOperator(ctx, call)
	if err == nil {
		err = operatorCalls[call.Type](v, call, resp, time.Now())
	}
	if err == nil {
		v.filterViews(ctx, resp)
		v.markRecordedConnections(resp)
	}
	v.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	return resp, applied, nil
}

// view returns the master whose memory holds the cluster's agents and
// frameworks: this one while it leads (or runs without a registry), else
// one holding this standby's replica, since a standby's own memory holds
// none of them. Lock its mu to read it. Errors are echo errors.
func (m *Master) view() (*Master, error) {
	if m.reg == nil || m.leading.Load() {
		return m, nil
	}
	v, _, err := m.replicaState()
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "Could not read this standby's replica: "+err.Error())
	}
	return v, nil
}

// markReplicaView sets the headers of a view served from the replica.
func (m *Master) markReplicaView(c echo.Context, applied uint64) {
	h := c.Response().Header()
	h.Set(api.HeaderView, api.ViewReplica)
	h.Set(api.HeaderAppliedIndex, strconv.FormatUint(applied, 10))
	if leader := m.reg.Leader(); leader != "" && leader != m.reg.Addr() {
		h.Set(api.HeaderLeader, leader)
	}
}

// replicaState returns a master holding the replica's state and the raft
// index it reflects, built anew when the replica has moved on and the one
// built last is older than replicaViewAge. Lock its mu to read it.
func (m *Master) replicaState() (*Master, uint64, error) { return m.replicaStateSince(0) }

// replicaStateSince is replicaState reflecting at least the entries up to
// index since: the snapshot of a console's stream must not be older than
// the feed that follows it (addReplicaWatcher).
func (m *Master) replicaStateSince(since uint64) (*Master, uint64, error) {
	m.views.mu.Lock()
	defer m.views.mu.Unlock()
	applied := m.reg.Applied()
	if c := m.views.state; c != nil && m.views.applied >= since &&
		(m.views.applied == applied || time.Since(m.views.built) < replicaViewAge) {
		return c, m.views.applied, nil
	}
	s, err := m.reg.Load()
	if err != nil {
		return nil, 0, fmt.Errorf("load the replica: %w", err)
	}
	v := &Master{
		cfg: m.cfg, id: m.id, info: m.info, started: m.started, modules: m.modules, log: m.log,
		frameworks: map[string]*framework{}, agents: map[string]*agent{}, offers: map[string]*offer{},
		alloc: allocator.New(m.cfg.allocatorConfig()), dirty: map[string]bool{},
		weights: map[string]float64{}, quotas: map[string]api.QuotaConfig{}, gone: map[string]time.Time{},
	}
	v.restoreState(s)
	m.views.state, m.views.applied, m.views.built = v, s.Applied, time.Now()
	return v, s.Applied, nil
}

// markRecordedConnections reports frameworks and agents as connected as
// the registry last recorded them: a framework is connected while it has
// no failover deadline, an agent while it is not unreachable. The
// replica's master holds no streams, so the views alone would call every
// one disconnected. m.mu must be held.
func (m *Master) markRecordedConnections(r *api.OperatorResponse) {
	frameworks := func(fr *api.GetFrameworksResponse) {
		if fr == nil {
			return
		}
		for i := range fr.Frameworks {
			rec := &fr.Frameworks[i]
			if f := m.frameworks[rec.FrameworkInfo.ID.Value]; f != nil && f.failoverDeadline.IsZero() {
				rec.Active, rec.Connected = true, true
			}
		}
	}
	agents := func(ar *api.GetAgentsResponse) {
		if ar == nil {
			return
		}
		for i := range ar.Agents {
			if a := m.agents[ar.Agents[i].AgentInfo.ID.Value]; a != nil && !a.unreachable {
				ar.Agents[i].Active = true
			}
		}
	}
	frameworks(r.GetFrameworks)
	agents(r.GetAgents)
	if r.GetState != nil {
		frameworks(r.GetState.GetFrameworks)
		agents(r.GetState.GetAgents)
	}
}

// handleModuleList lists the modules this master's store holds; a
// standby's list is marked as its own, since it may lack a module it has
// not copied yet.
func (m *Master) handleModuleList(c echo.Context) error {
	if m.reg != nil && !m.leading.Load() {
		m.markReplicaView(c, m.reg.Applied())
	}
	return c.JSON(http.StatusOK, map[string]any{"modules": m.modules.List()})
}
