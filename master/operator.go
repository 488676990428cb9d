package master

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
)

// operatorFunc answers one operator call by filling resp, or returns an
// error to answer instead. It runs with m.mu held.
type operatorFunc func(m *Master, call *api.OperatorCall, resp *api.OperatorResponse, now time.Time) error

// operatorCalls are the operator calls answered under the master's lock.
// SUBSCRIBE and GET_METRICS are served in handleOperator itself: one is a
// stream, the other reads metrics that take the lock themselves.
var operatorCalls = map[api.OperatorCallType]operatorFunc{
	api.OperatorGetHealth: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetHealth = &api.GetHealthResponse{Healthy: true}
		return nil
	},
	api.OperatorGetVersion: (*Master).opGetVersion,
	api.OperatorGetFlags:   (*Master).opGetFlags,
	api.OperatorGetMaster:  (*Master).opGetMaster,
	api.OperatorGetState: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetState = m.stateView()
		return nil
	},
	api.OperatorGetAgents: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetAgents = m.agentsView()
		return nil
	},
	api.OperatorGetFrameworks: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetFrameworks = m.frameworksView()
		return nil
	},
	api.OperatorGetTasks: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetTasks = m.tasksView()
		return nil
	},
	api.OperatorGetExecutors: func(m *Master, _ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
		r.GetExecutors = m.executorsView()
		return nil
	},
	api.OperatorGetRoles:        (*Master).opGetRoles,
	api.OperatorGetWeights:      (*Master).opGetWeights,
	api.OperatorUpdateWeights:   (*Master).opUpdateWeights,
	api.OperatorGetQuota:        (*Master).opGetQuota,
	api.OperatorUpdateQuota:     (*Master).opUpdateQuota,
	api.OperatorTeardown:        (*Master).opTeardown,
	api.OperatorDrainAgent:      (*Master).opDrainAgent,
	api.OperatorDeactivateAgent: (*Master).opDeactivateAgent,
	api.OperatorReactivateAgent: (*Master).opReactivateAgent,
	api.OperatorMarkAgentGone:   (*Master).opMarkAgentGone,
	api.OperatorKillTask:        (*Master).opKillTask,

	api.OperatorGetMaintenanceSchedule:    (*Master).opGetMaintenanceSchedule,
	api.OperatorGetMaintenanceStatus:      (*Master).opGetMaintenanceStatus,
	api.OperatorUpdateMaintenanceSchedule: (*Master).opUpdateMaintenanceSchedule,
	api.OperatorStartMaintenance:          (*Master).opStartMaintenance,
	api.OperatorStopMaintenance:           (*Master).opStopMaintenance,
}

// answeredByStandbys are the operator calls every master answers about
// itself, leader or not, so that operators and monitoring can find the
// leader and check each master's health.
var answeredByStandbys = map[api.OperatorCallType]bool{
	api.OperatorGetHealth: true, api.OperatorGetMaster: true, api.OperatorGetVersion: true,
	api.OperatorGetFlags: true, api.OperatorGetMetrics: true,
}

// handleOperator serves the v1 operator API at POST /api/v1.
func (m *Master) handleOperator(c echo.Context) error {
	body, err := m.readCall(c)
	if err != nil {
		return err
	}
	call, err := api.DecodeOperatorCall(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	c.Set(callTypeKey, string(call.Type))
	resp := &api.OperatorResponse{Type: call.Type}
	if !m.leading.Load() && !answeredByStandbys[call.Type] {
		return m.redirect(c)
	}
	switch call.Type {
	case api.OperatorSubscribe:
		return m.operatorSubscribe(c.Response(), c.Request())
	case api.OperatorAddMaster, api.OperatorRemoveMaster:
		if err := m.authorize(c.Request().Context(), acl.UpdateMasters, "", false); err != nil {
			return err
		}
		return m.changeMasters(c, call)
	case api.OperatorGetMetrics:
		metrics, err := m.metricsList()
		if err != nil {
			return err
		}
		resp.GetMetrics = &api.GetMetricsResponse{Metrics: metrics}
		return writeJSON(c, resp)
	}
	op := operatorCalls[call.Type]
	if op == nil {
		return echo.NewHTTPError(http.StatusNotImplemented, "Operator call "+string(call.Type)+" is not implemented by this master yet")
	}
	m.mu.Lock()
	err = m.authorizeOperator(c.Request().Context(), call)
	if err == nil {
		err = op(m, call, resp, time.Now())
	}
	if err == nil {
		m.filterViews(c.Request().Context(), resp)
	}
	var durable <-chan struct{}
	if err == nil && !isQuery(call.Type) {
		durable = m.durableMarker()
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.addMasters(resp)
	if isQuery(call.Type) {
		return writeJSON(c, resp)
	}
	// 200 means the change survives the leader's death.
	if durable != nil {
		if err := m.awaitCommit(c.Request().Context(), durable); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "Change not recorded: "+err.Error())
		}
	}
	return c.NoContent(http.StatusOK)
}

// isQuery reports whether a call answers with a body (the GET_* calls)
// rather than an empty 200.
func isQuery(t api.OperatorCallType) bool { return strings.HasPrefix(string(t), "GET_") }

func (m *Master) opGetVersion(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	r.GetVersion = &api.GetVersionResponse{VersionInfo: api.VersionInfo{Version: Version, BuildUser: "mezzo"}}
	return nil
}

func (m *Master) opGetMaster(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	info := m.info
	r.GetMaster = &api.GetMasterResponse{MasterInfo: &info, StartTime: epochSeconds(m.started), ElectedTime: epochSeconds(m.started)}
	return nil
}

// addMasters lists the replicated masters in a GET_MASTER answer. It reads
// raft's configuration, so it runs without m.mu, after the call.
func (m *Master) addMasters(resp *api.OperatorResponse) {
	if resp.GetMaster == nil || m.reg == nil {
		return
	}
	servers, err := m.reg.Servers()
	if err != nil {
		m.log.Warn("list the masters for GET_MASTER", "err", err)
		return
	}
	leader := m.reg.Leader()
	for _, s := range servers {
		addr := string(s.Address)
		resp.GetMaster.Masters = append(resp.GetMaster.Masters, api.ReplicatedMaster{
			Address: addr, Leader: addr == leader, Voter: s.Suffrage == raft.Voter,
		})
	}
	sort.Slice(resp.GetMaster.Masters, func(i, j int) bool { return resp.GetMaster.Masters[i].Address < resp.GetMaster.Masters[j].Address })
}

// opGetFlags reports the master's settings under Mesos's flag names where
// Mesos has one.
func (m *Master) opGetFlags(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	c := m.cfg
	r.GetFlags = &api.GetFlagsResponse{Flags: []api.Flag{
		{Name: "work_dir", Value: c.WorkDir},
		{Name: "hostname", Value: c.Hostname},
		{Name: "port", Value: strconv.Itoa(c.Port)},
		{Name: "agent_reregister_timeout", Value: c.AgentReregisterTimeout.String()},
		{Name: "allocation_interval", Value: c.AllocationInterval.String()},
		{Name: "allocation_batch", Value: c.AllocationBatch.String()},
		{Name: "heartbeat_interval", Value: c.HeartbeatInterval.String()},
		{Name: "max_completed_frameworks", Value: strconv.Itoa(c.MaxCompletedFrameworks)},
		{Name: "max_completed_tasks_per_framework", Value: strconv.Itoa(c.MaxCompletedTasks)},
		{Name: "max_module_bytes", Value: strconv.FormatInt(c.MaxModuleBytes, 10)},
		{Name: "min_allocatable_resources", Value: minAllocatableText(c.MinAllocatable)},
		{Name: "offer_timeout", Value: c.OfferTimeout.String()},
	}}
	return nil
}

// minAllocatableText writes alternatives as Mesos's flag does:
// "cpus:0.01|mem:32".
func minAllocatableText(alts []api.Resources) string {
	parts := make([]string, len(alts))
	for i, alt := range alts {
		parts[i] = alt.String()
	}
	return strings.Join(parts, "|")
}

func (m *Master) opTeardown(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.Teardown == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Expecting 'teardown' to be present")
	}
	f := m.frameworks[call.Teardown.FrameworkID.Value]
	if f == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Framework cannot be found")
	}
	m.removeFramework(f, now)
	return nil
}

// opKillTask kills one task on an operator's behalf, as the framework's
// own KILL would: the agent kills it within its kill policy and the
// framework hears of it through status updates. Killing a task that has
// already ended does nothing, as a second KILL does nothing.
func (m *Master) opKillTask(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	k := call.KillTask
	if k == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Expecting 'kill_task' to be present")
	}
	f := m.frameworks[k.FrameworkID.Value]
	if f == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Framework cannot be found")
	}
	t := f.tasks[k.TaskID.Value]
	if t == nil {
		if f.completedTask(k.TaskID.Value) != nil {
			return nil
		}
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Framework %s has no task %q", f.id, k.TaskID.Value))
	}
	m.log.Info("task killed by an operator", "framework", f.id, "task", k.TaskID.Value)
	m.kill(f, &api.Kill{TaskID: k.TaskID}, now)
	return nil
}

// metricsList flattens the Prometheus metrics into GET_METRICS's
// name/value list: counters and gauges by name with their labels, and a
// histogram's count and sum. It must run without m.mu held.
func (m *Master) metricsList() ([]api.Metric, error) {
	families, err := m.metrics.registry.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather metrics: %w", err)
	}
	var out []api.Metric
	for _, fam := range families {
		for _, mt := range fam.GetMetric() {
			name := fam.GetName() + labelSuffix(mt.GetLabel())
			switch {
			case mt.Counter != nil:
				out = append(out, api.Metric{Name: name, Value: api.Float64(mt.Counter.GetValue())})
			case mt.Gauge != nil:
				out = append(out, api.Metric{Name: name, Value: api.Float64(mt.Gauge.GetValue())})
			case mt.Histogram != nil:
				out = append(out, api.Metric{Name: name + "_count", Value: api.Float64(mt.Histogram.GetSampleCount())},
					api.Metric{Name: name + "_sum", Value: api.Float64(mt.Histogram.GetSampleSum())})
			}
		}
	}
	return out, nil
}

func labelSuffix(labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func epochSeconds(t time.Time) api.Float64 { return api.Float64(float64(t.UnixNano()) / 1e9) }

func timeInfo(t time.Time) *api.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &api.TimeInfo{Nanoseconds: api.Int64(t.UnixNano())}
}

// stateView is GET_STATE. m.mu must be held.
func (m *Master) stateView() *api.GetStateResponse {
	return &api.GetStateResponse{
		GetTasks: m.tasksView(), GetFrameworks: m.frameworksView(),
		GetAgents: m.agentsView(), GetExecutors: m.executorsView(),
	}
}

// tasksView lists tasks: live, unreachable and completed. m.mu must be held.
func (m *Master) tasksView() *api.GetTasksResponse {
	out := &api.GetTasksResponse{}
	add := func(f *framework) {
		for _, t := range f.tasks {
			if m.onUnreachableAgent(t) {
				out.UnreachableTasks = append(out.UnreachableTasks, t.wire())
			} else {
				out.Tasks = append(out.Tasks, t.wire())
			}
		}
		for _, t := range f.completed {
			out.CompletedTasks = append(out.CompletedTasks, t.wire())
		}
	}
	for _, f := range m.frameworks {
		add(f)
	}
	for _, f := range m.completed {
		add(f)
	}
	for _, list := range [][]api.Task{out.Tasks, out.UnreachableTasks, out.CompletedTasks} {
		sort.Slice(list, func(i, j int) bool {
			if list[i].FrameworkID.Value != list[j].FrameworkID.Value {
				return list[i].FrameworkID.Value < list[j].FrameworkID.Value
			}
			return list[i].TaskID.Value < list[j].TaskID.Value
		})
	}
	return out
}

// onUnreachableAgent reports whether t is listed among the unreachable
// tasks, as Mesos lists them: TASK_UNREACHABLE, or TASK_LOST (frameworks
// that are not partition-aware) because its agent is unreachable. m.mu
// must be held.
func (m *Master) onUnreachableAgent(t *task) bool {
	if t.state == api.TaskUnreachable {
		return true
	}
	a := m.agents[t.agent]
	return t.state == api.TaskLost && t.masterEnded() && a != nil && a.unreachable
}

// executorsView lists the executors frameworks named (custom and default
// executors; command and Wasm tasks have none of their own) that the
// master counts as running, idle ones included, by agent, framework and
// ID; not those of an unreachable agent. m.mu must be held.
func (m *Master) executorsView() *api.GetExecutorsResponse {
	out := &api.GetExecutorsResponse{}
	for _, a := range m.agents {
		if a.unreachable {
			continue // counted again if it comes back
		}
		for _, e := range a.executors {
			if !e.exited {
				out.Executors = append(out.Executors, api.ExecutorRecord{ExecutorInfo: e.info, AgentID: api.AgentID{Value: a.id}})
			}
		}
	}
	sort.Slice(out.Executors, func(i, j int) bool {
		x, y := out.Executors[i], out.Executors[j]
		if x.AgentID != y.AgentID {
			return x.AgentID.Value < y.AgentID.Value
		}
		if *x.ExecutorInfo.FrameworkID != *y.ExecutorInfo.FrameworkID {
			return x.ExecutorInfo.FrameworkID.Value < y.ExecutorInfo.FrameworkID.Value
		}
		return x.ExecutorInfo.ExecutorID.Value < y.ExecutorInfo.ExecutorID.Value
	})
	return out
}

// frameworksView lists frameworks. m.mu must be held.
func (m *Master) frameworksView() *api.GetFrameworksResponse {
	out := &api.GetFrameworksResponse{}
	idle := m.idleAgentNotes()
	for _, f := range m.frameworks {
		r := m.frameworkRecord(f)
		if len(r.Diagnostics) > 0 { // something holds it back
			r.Diagnostics = append(r.Diagnostics, idle...)
		}
		out.Frameworks = append(out.Frameworks, r)
	}
	sort.Slice(out.Frameworks, func(i, j int) bool {
		return out.Frameworks[i].FrameworkInfo.ID.Value < out.Frameworks[j].FrameworkInfo.ID.Value
	})
	for _, f := range m.completed {
		out.CompletedFrameworks = append(out.CompletedFrameworks, m.frameworkRecord(f))
	}
	return out
}

// idleAgentNotes explains, for frameworks that got no offers, which
// agents an operator has taken out of the pool: draining (and drained)
// agents and deactivated ones, maintenance included, get no offers.
// m.mu must be held.
func (m *Master) idleAgentNotes() []string {
	var draining, drained, deactivated int
	for _, a := range m.agents {
		switch {
		case a.drain != nil && a.drain.State == api.DrainDrained:
			drained++
		case a.drain != nil:
			draining++
		case a.deactivated:
			deactivated++
		}
	}
	var out []string
	say := func(n int, what string) {
		switch {
		case n == 1:
			out = append(out, fmt.Sprintf("1 agent is %s: it gets no offers until REACTIVATE_AGENT", what))
		case n > 1:
			out = append(out, fmt.Sprintf("%d agents are %s: they get no offers until REACTIVATE_AGENT", n, what))
		}
	}
	say(draining, "draining (DRAIN_AGENT)")
	say(drained, "drained")
	say(deactivated, "deactivated (DEACTIVATE_AGENT or maintenance)")
	return out
}

func (m *Master) frameworkRecord(f *framework) api.FrameworkRecord {
	r := api.FrameworkRecord{
		FrameworkInfo:    f.info,
		Active:           f.connected(),
		Connected:        f.connected(),
		Recovered:        f.recovered,
		RegisteredTime:   timeInfo(f.registered),
		ReregisteredTime: timeInfo(f.reregistered),
		UnregisteredTime: timeInfo(f.unregistered),
	}
	allocated, offered := f.executorsHeld(), api.Resources(nil)
	for _, t := range f.tasks {
		allocated = allocated.Plus(t.resources)
	}
	for _, o := range f.offers {
		offered = offered.Plus(o.resources)
		if a := m.agents[o.agent]; a != nil {
			r.Offers = append(r.Offers, m.wireOffer(f, a, o))
		}
	}
	r.AllocatedResources, r.OfferedResources = allocated, offered
	if m.frameworks[f.id] == f {
		r.Diagnostics = append(m.alloc.Why(f.id), f.notes...)
		if !f.connected() && !f.failoverDeadline.IsZero() {
			r.Diagnostics = append(r.Diagnostics, fmt.Sprintf(
				"it is disconnected: unless it subscribes again by %s (its failover_timeout), it is removed and its tasks killed",
				f.failoverDeadline.UTC().Format(time.RFC3339)))
		}
		switch {
		case f.declined == 1:
			r.Diagnostics = append(r.Diagnostics, "it declined 1 offer since this master started: "+f.lastDeclined)
		case f.declined > 1:
			r.Diagnostics = append(r.Diagnostics, fmt.Sprintf("it declined %d offers since this master started; the last: %s",
				f.declined, f.lastDeclined))
		}
	} else {
		r.Diagnostics = append([]string{"the framework has completed: it was torn down or its failover timeout passed"}, f.notes...)
	}
	return r
}

// agentsView lists agents. m.mu must be held.
func (m *Master) agentsView() *api.GetAgentsResponse {
	out := &api.GetAgentsResponse{}
	for _, a := range m.agents {
		out.Agents = append(out.Agents, m.agentRecord(a))
	}
	sort.Slice(out.Agents, func(i, j int) bool {
		return out.Agents[i].AgentInfo.ID.Value < out.Agents[j].AgentInfo.ID.Value
	})
	return out
}

func (m *Master) agentRecord(a *agent) api.AgentRecord {
	return api.AgentRecord{
		AgentInfo:          a.info,
		Active:             a.connected() && !a.unreachable,
		Deactivated:        a.deactivated,
		Version:            Version,
		RegisteredTime:     timeInfo(a.registered),
		ReregisteredTime:   timeInfo(a.reregistered),
		TotalResources:     a.total,
		AllocatedResources: a.used,
		OfferedResources:   a.offered,
		DrainInfo:          a.drain,
	}
}
