package master

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
)

// The operator calls that change the cluster: weights, quota, draining,
// deactivation and marking agents gone. Each runs with m.mu held.

func badRequest(format string, args ...any) error {
	return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

func (m *Master) opGetWeights(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	r.GetWeights = &api.GetWeightsResponse{}
	for _, role := range sortedKeys(m.weights) {
		r.GetWeights.WeightInfos = append(r.GetWeights.WeightInfos, api.WeightInfo{Role: role, Weight: api.Float64(m.weights[role])})
	}
	return nil
}

// opUpdateWeights sets roles' weights, all or nothing.
func (m *Master) opUpdateWeights(call *api.OperatorCall, _ *api.OperatorResponse, _ time.Time) error {
	if call.UpdateWeights == nil {
		return badRequest("Expecting 'update_weights' to be present")
	}
	for _, w := range call.UpdateWeights.WeightInfos {
		if err := api.ValidateRole(w.Role); err != nil || w.Role == "*" {
			return badRequest("Invalid role %q for a weight", w.Role)
		}
		if v := float64(w.Weight); !(v > 0) || v > 1e9 {
			return badRequest("Weight of role %q must be positive and finite, got %v", w.Role, v)
		}
	}
	for _, w := range call.UpdateWeights.WeightInfos {
		m.weights[w.Role] = float64(w.Weight)
		m.alloc.SetWeight(w.Role, float64(w.Weight))
		m.saveWeight(w.Role, float64(w.Weight))
	}
	m.needFullPass()
	return nil
}

func (m *Master) opGetQuota(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	r.GetQuota = &api.GetQuotaResponse{}
	for _, role := range sortedKeys(m.quotas) {
		r.GetQuota.Status.Configs = append(r.GetQuota.Status.Configs, m.quotas[role])
	}
	return nil
}

// opUpdateQuota sets roles' quota limits and guarantees, all or nothing.
// As in Mesos, a limit below what the role already consumes is refused
// unless force is set.
func (m *Master) opUpdateQuota(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.UpdateQuota == nil {
		return badRequest("Expecting 'update_quota' to be present")
	}
	for _, q := range call.UpdateQuota.QuotaConfigs {
		if err := api.ValidateRole(q.Role); err != nil || q.Role == "*" {
			return badRequest("Invalid role %q for a quota", q.Role)
		}
		guarantees, limits, err := quotaResources(q)
		if err != nil {
			return badRequest("Invalid quota for role %q: %v", q.Role, err)
		}
		for _, name := range append(guarantees.Names(), limits.Names()...) {
			if m.nonScalar(name) {
				return badRequest("Invalid quota for role %q: %s is not a scalar resource; quota applies to scalar resources only (cpus, mem, disk, gpus, ...)", q.Role, name)
			}
		}
		if !limits.Empty() && !guarantees.Empty() && !quotaFits(guarantees, limits) {
			return badRequest("Quota guarantees of role %q exceed its limits", q.Role)
		}
		if used := m.roleConsumption(q.Role); !call.UpdateQuota.Force && !quotaFits(used, limits) {
			return badRequest("Role %q already consumes %s, more than the new limits %s; use 'force' to set them anyway", q.Role, used, limits)
		}
	}
	for _, q := range call.UpdateQuota.QuotaConfigs {
		guarantees, limits, _ := quotaResources(q)
		if guarantees.Empty() && limits.Empty() {
			delete(m.quotas, q.Role)
		} else {
			m.quotas[q.Role] = q
		}
		m.saveQuota(q, guarantees.Empty() && limits.Empty())
		m.alloc.SetQuota(q.Role, guarantees, limits)
		// Outstanding offers were made under the old quota: take them back
		// and let the next pass offer within the new one.
		for _, o := range m.offers {
			if o.role == q.Role {
				m.rescindOffer(o, now)
			}
		}
		m.makeRoomForGuarantees(q.Role, guarantees, now)
	}
	m.needFullPass()
	return nil
}

// makeRoomForGuarantees rescinds offers of other roles until what they
// give back, with the unreserved resources nobody holds, covers role's
// unmet guarantees — as Mesos rescinds offers when a quota is set — so
// that offers outstanding when the guarantee came cannot keep it unmet.
// Offers are taken in ID order, so the choice is repeatable. m.mu must be
// held.
func (m *Master) makeRoomForGuarantees(role string, guarantees api.Resources, now time.Time) {
	need := map[string]float64{}
	used := m.roleConsumption(role)
	for _, name := range guarantees.Names() {
		if short := guarantees.ScalarValue(name) - used.ScalarValue(name); short > 0 {
			need[name] = short
		}
	}
	for _, a := range m.agents {
		if !a.offerable() {
			continue
		}
		free := a.free().Unreserved()
		for name := range need {
			need[name] -= free.ScalarValue(name)
		}
	}
	short := func(res api.Resources) bool {
		for name, n := range need {
			if n > 0 && res.ScalarValue(name) > 0 {
				return true
			}
		}
		return false
	}
	for _, id := range sortedKeys(m.offers) {
		o := m.offers[id]
		if o.role == role {
			continue
		}
		res := o.resources.Unreserved()
		if !short(res) {
			continue
		}
		m.log.Info("rescinding an offer to make room for a quota guarantee", "offer", o.id, "role", role)
		m.rescindOffer(o, now)
		for name := range need {
			need[name] -= res.ScalarValue(name)
		}
	}
}

// nonScalar reports whether name is a resource that is not a scalar:
// ports, or any resource an agent has as ranges or a set. m.mu must be
// held.
func (m *Master) nonScalar(name string) bool {
	if name == "ports" {
		return true
	}
	for _, a := range m.agents {
		for _, r := range a.total {
			if r.Name == name && r.Type != api.SCALAR {
				return true
			}
		}
	}
	return false
}

// quotaResources turns a quota config's maps into scalar resources.
func quotaResources(q api.QuotaConfig) (guarantees, limits api.Resources, err error) {
	conv := func(m map[string]api.Scalar) (api.Resources, error) {
		var out api.Resources
		for _, name := range sortedKeys(m) {
			r := api.ScalarResource(name, float64(m[name].Value))
			if err := api.ValidateResource(r); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	if guarantees, err = conv(q.Guarantees); err != nil {
		return nil, nil, err
	}
	limits, err = conv(q.Limits)
	return guarantees, limits, err
}

// quotaFits reports whether every scalar of used is within limits; a
// resource without a limit is unlimited.
func quotaFits(used, limits api.Resources) bool {
	for _, name := range limits.Names() {
		if used.ScalarValue(name) > limits.ScalarValue(name) {
			return false
		}
	}
	return true
}

// roleConsumption is what a role uses: its tasks' and executors'
// resources (offers are not charged, as in Mesos). m.mu must be held.
func (m *Master) roleConsumption(role string) api.Resources {
	var used api.Resources
	for _, f := range m.frameworks {
		used = used.Plus(f.executors[role])
		for _, t := range f.tasks {
			if t.role == role {
				used = used.Plus(t.resources)
			}
		}
	}
	return used
}

// opGetRoles lists every role with a framework, a weight or a quota.
func (m *Master) opGetRoles(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	roles := map[string]*api.Role{}
	role := func(name string) *api.Role {
		if roles[name] == nil {
			w := 1.0
			if x, ok := m.weights[name]; ok {
				w = x
			}
			roles[name] = &api.Role{Name: name, Weight: api.Float64(w)}
		}
		return roles[name]
	}
	for _, f := range m.frameworks {
		for _, name := range f.info.AllRoles() {
			role(name).Frameworks = append(role(name).Frameworks, api.FrameworkID{Value: f.id})
		}
		for _, t := range f.tasks {
			x := role(t.role)
			x.Allocated = api.Resources(x.Allocated).Plus(t.resources)
		}
		for name, held := range f.executors {
			x := role(name)
			x.Allocated = api.Resources(x.Allocated).Plus(held)
		}
		for _, o := range f.offers {
			x := role(o.role)
			x.Offered = api.Resources(x.Offered).Plus(o.resources)
		}
	}
	for name := range m.weights {
		role(name)
	}
	for name, q := range m.quotas {
		role(name).Quota = &api.RoleQuota{Guarantees: q.Guarantees, Limits: q.Limits,
			Consumed: scalarMap(m.roleConsumption(name))}
	}
	r.GetRoles = &api.GetRolesResponse{}
	for _, name := range sortedKeys(roles) {
		x := roles[name]
		x.Resources = api.Resources(x.Allocated).Plus(x.Offered)
		r.GetRoles.Roles = append(r.GetRoles.Roles, *x)
	}
	return nil
}

func scalarMap(r api.Resources) map[string]api.Scalar {
	out := map[string]api.Scalar{}
	for _, name := range r.Names() {
		if v := r.ScalarValue(name); v > 0 {
			out[name] = api.Scalar{Value: api.Float64(v)}
		}
	}
	return out
}

func (m *Master) agentFor(id api.AgentID) (*agent, error) {
	a := m.agents[id.Value]
	if a == nil {
		return nil, badRequest("Agent %s cannot be found", id.Value)
	}
	return a, nil
}

// opDeactivateAgent stops offers of an agent's resources; its tasks go on.
func (m *Master) opDeactivateAgent(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.DeactivateAgent == nil {
		return badRequest("Expecting 'deactivate_agent' to be present")
	}
	a, err := m.agentFor(call.DeactivateAgent.AgentID)
	if err != nil {
		return err
	}
	m.deactivate(a, now)
	return nil
}

// deactivate rescinds an agent's offers and makes no more. m.mu must be
// held.
func (m *Master) deactivate(a *agent, now time.Time) {
	a.deactivated = true
	m.saveAgent(a)
	m.rescindAgentOffers(a, now)
	m.alloc.DeactivateAgent(a.id)
}

func (m *Master) opReactivateAgent(call *api.OperatorCall, _ *api.OperatorResponse, _ time.Time) error {
	if call.ReactivateAgent == nil {
		return badRequest("Expecting 'reactivate_agent' to be present")
	}
	a, err := m.agentFor(call.ReactivateAgent.AgentID)
	if err != nil {
		return err
	}
	a.deactivated = false
	a.drain = nil
	m.saveAgent(a)
	m.alloc.ActivateAgent(a.id)
	m.needFullPass()
	return nil
}

// opDrainAgent deactivates an agent and kills its tasks; the agent is
// DRAINED once every task is terminal and its last update acknowledged.
func (m *Master) opDrainAgent(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	d := call.DrainAgent
	if d == nil {
		return badRequest("Expecting 'drain_agent' to be present")
	}
	a, err := m.agentFor(d.AgentID)
	if err != nil {
		return err
	}
	cfg := api.DrainConfig{MarkGone: d.MarkGone}
	var grace *api.DurationInfo
	if d.MaxGracePeriod != nil {
		grace = &api.DurationInfo{Nanoseconds: d.MaxGracePeriod.Seconds*1e9 + d.MaxGracePeriod.Nanos}
		cfg.MaxGracePeriod = grace
	}
	m.deactivate(a, now)
	a.drain = &api.DrainInfo{State: api.DrainDraining, Config: cfg}
	m.saveAgent(a)
	for key, t := range a.tasks {
		if t.state.IsTerminal() {
			continue
		}
		policy := t.info.KillPolicy
		if grace != nil && (policy == nil || policy.GracePeriod == nil || policy.GracePeriod.Nanoseconds > grace.Nanoseconds) {
			policy = &api.KillPolicy{GracePeriod: grace}
		}
		a.stream.send(api.AgentEvent{Type: api.AgentEventKill, Kill: &api.AgentKill{
			FrameworkID: api.FrameworkID{Value: key.framework}, TaskID: t.info.TaskID, KillPolicy: policy,
		}})
	}
	m.checkDrained(a, now)
	return nil
}

// checkDrained moves a draining agent to DRAINED once it has no task left
// (tasks leave an agent when their terminal update is acknowledged), and
// marks it gone if the drain asked for that. m.mu must be held.
func (m *Master) checkDrained(a *agent, now time.Time) {
	if a.drain == nil || a.drain.State != api.DrainDraining || len(a.tasks) > 0 {
		return
	}
	a.drain.State = api.DrainDrained
	m.saveAgent(a)
	m.log.Info("agent drained", "agent", a.id)
	if a.drain.Config.MarkGone {
		m.markGone(a, now)
	}
}

func (m *Master) opMarkAgentGone(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.MarkAgentGone == nil {
		return badRequest("Expecting 'mark_agent_gone' to be present")
	}
	a, err := m.agentFor(call.MarkAgentGone.AgentID)
	if err != nil {
		return err
	}
	m.markGone(a, now)
	return nil
}

// agentGone is what an agent marked gone is told, on its stream then and
// whenever it subscribes again: to shut everything down and stop, as
// Mesos's master sends such an agent ShutdownMessage.
var agentGone = api.AgentEvent{Type: api.AgentEventShutdown, Shutdown: &api.AgentShutdown{Message: "Agent has been marked gone"}}

// markGone removes an agent for good: its tasks are TASK_GONE_BY_OPERATOR,
// it is told to shut down, and it may not register again under its ID.
// m.mu must be held.
func (m *Master) markGone(a *agent, now time.Time) {
	byFramework := map[*framework][]*task{}
	for key, t := range a.tasks {
		f := m.frameworks[key.framework]
		if f == nil {
			continue
		}
		if !t.state.IsTerminal() {
			st := masterStatus(t.info.TaskID, a.id, api.TaskGoneByOperator, api.ReasonAgentRemovedByOperator,
				"Agent was marked gone by an operator", now)
			m.end(t, st)
			f.update(st)
		}
		byFramework[f] = append(byFramework[f], t)
	}
	for f, tasks := range byFramework {
		m.retire(f, tasks)
	}
	m.rescindAgentOffers(a, now)
	a.stream.send(agentGone)
	a.stream.close()
	if a.lost != nil {
		a.lost.Stop()
	}
	m.agentRemoved(a) // before it is forgotten: the view ACLs look its hostname up
	m.setRecovered(a, false)
	delete(m.agents, a.id)
	m.gone[a.id] = now
	m.saveGoneAgent(a, now)
	m.alloc.RemoveAgent(a.id)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// copySchedule copies a schedule deeply, so that no caller shares the
// master's slices.
func copySchedule(s api.MaintenanceSchedule) api.MaintenanceSchedule {
	out := api.MaintenanceSchedule{Windows: make([]api.MaintenanceWindow, len(s.Windows))}
	for i, w := range s.Windows {
		out.Windows[i] = api.MaintenanceWindow{MachineIDs: slices.Clone(w.MachineIDs), Unavailability: w.Unavailability}
		if d := w.Unavailability.Duration; d != nil {
			dd := *d
			out.Windows[i].Unavailability.Duration = &dd
		}
	}
	return out
}
