package master

import (
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
)

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
	resp := &api.OperatorResponse{Type: call.Type}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch call.Type {
	case api.OperatorGetHealth:
		resp.GetHealth = &api.GetHealthResponse{Healthy: true}
	case api.OperatorGetVersion:
		resp.GetVersion = &api.GetVersionResponse{VersionInfo: api.VersionInfo{Version: Version, BuildUser: "mezzo"}}
	case api.OperatorGetMaster:
		info := m.info
		resp.GetMaster = &api.GetMasterResponse{MasterInfo: &info,
			StartTime: epochSeconds(m.started), ElectedTime: epochSeconds(m.started)}
	case api.OperatorGetState:
		resp.GetState = &api.GetStateResponse{
			GetTasks: m.tasksView(), GetFrameworks: m.frameworksView(), GetAgents: m.agentsView(),
			GetExecutors: &api.GetExecutorsResponse{},
		}
	case api.OperatorGetAgents:
		resp.GetAgents = m.agentsView()
	case api.OperatorGetFrameworks:
		resp.GetFrameworks = m.frameworksView()
	case api.OperatorGetTasks:
		resp.GetTasks = m.tasksView()
	case api.OperatorTeardown:
		f := m.frameworks[call.Teardown.FrameworkID.Value]
		if f == nil {
			return echo.NewHTTPError(http.StatusBadRequest, "Framework cannot be found")
		}
		m.removeFramework(f, time.Now())
		return c.NoContent(http.StatusOK)
	default:
		return echo.NewHTTPError(http.StatusNotImplemented, "Operator call "+string(call.Type)+" is not implemented by this master yet")
	}
	return writeJSON(c, resp)
}

func epochSeconds(t time.Time) api.Float64 { return api.Float64(float64(t.UnixNano()) / 1e9) }

func timeInfo(t time.Time) *api.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &api.TimeInfo{Nanoseconds: api.Int64(t.UnixNano())}
}

// tasksView lists tasks: live, unreachable and completed. m.mu must be held.
func (m *Master) tasksView() *api.GetTasksResponse {
	out := &api.GetTasksResponse{}
	add := func(f *framework) {
		for _, t := range f.tasks {
			if t.state == api.TaskUnreachable {
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

// frameworksView lists frameworks. m.mu must be held.
func (m *Master) frameworksView() *api.GetFrameworksResponse {
	out := &api.GetFrameworksResponse{}
	for _, f := range m.frameworks {
		out.Frameworks = append(out.Frameworks, m.frameworkRecord(f))
	}
	sort.Slice(out.Frameworks, func(i, j int) bool {
		return out.Frameworks[i].FrameworkInfo.ID.Value < out.Frameworks[j].FrameworkInfo.ID.Value
	})
	for _, f := range m.completed {
		out.CompletedFrameworks = append(out.CompletedFrameworks, m.frameworkRecord(f))
	}
	return out
}

func (m *Master) frameworkRecord(f *framework) api.FrameworkRecord {
	r := api.FrameworkRecord{
		FrameworkInfo:    f.info,
		Active:           f.connected(),
		Connected:        f.connected(),
		RegisteredTime:   timeInfo(f.registered),
		ReregisteredTime: timeInfo(f.reregistered),
		UnregisteredTime: timeInfo(f.unregistered),
	}
	var allocated, offered api.Resources
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
	return r
}

// agentsView lists agents. m.mu must be held.
func (m *Master) agentsView() *api.GetAgentsResponse {
	out := &api.GetAgentsResponse{}
	for _, a := range m.agents {
		out.Agents = append(out.Agents, api.AgentRecord{
			AgentInfo:          a.info,
			Active:             a.connected(),
			Version:            Version,
			RegisteredTime:     timeInfo(a.registered),
			ReregisteredTime:   timeInfo(a.reregistered),
			TotalResources:     a.total,
			AllocatedResources: a.used,
			OfferedResources:   a.offered,
		})
	}
	sort.Slice(out.Agents, func(i, j int) bool {
		return out.Agents[i].AgentInfo.ID.Value < out.Agents[j].AgentInfo.ID.Value
	})
	return out
}
