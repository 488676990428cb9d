package webui

import (
	"context"
	"fmt"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

// call makes one operator call and checks that the answer carries a body.
func (c *Console) call(ctx context.Context, typ api.OperatorCallType) (*api.OperatorResponse, error) {
	resp, err := c.cluster.Call(ctx, &api.OperatorCall{Type: typ})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	return resp, nil
}

// state returns GET_STATE with every part present, so pages need no nil
// checks.
func (c *Console) state(ctx context.Context) (*api.GetStateResponse, error) {
	resp, err := c.call(ctx, api.OperatorGetState)
	if err != nil {
		return nil, err
	}
	s := resp.GetState
	if s == nil {
		s = &api.GetStateResponse{}
	}
	if s.GetTasks == nil {
		s.GetTasks = &api.GetTasksResponse{}
	}
	if s.GetAgents == nil {
		s.GetAgents = &api.GetAgentsResponse{}
	}
	if s.GetFrameworks == nil {
		s.GetFrameworks = &api.GetFrameworksResponse{}
	}
	return s, nil
}

// allTasks lists live, unreachable and completed tasks together.
func allTasks(t *api.GetTasksResponse) []api.Task {
	out := make([]api.Task, 0, len(t.Tasks)+len(t.UnreachableTasks)+len(t.CompletedTasks))
	out = append(out, t.Tasks...)
	out = append(out, t.UnreachableTasks...)
	return append(out, t.CompletedTasks...)
}

// agentState names an agent's state as the console shows it: draining and
// drained from its drain info, else deactivated, active, or unreachable
// (not connected).
func agentState(a api.AgentRecord) string {
	switch {
	case a.DrainInfo != nil && a.DrainInfo.State == api.DrainDrained:
		return "drained"
	case a.DrainInfo != nil:
		return "draining"
	case a.Deactivated:
		return "deactivated"
	case a.Active:
		return "active"
	}
	return "unreachable"
}

var agentStates = []string{"active", "draining", "drained", "deactivated", "unreachable"}

// agentRow is an agent as the tables show it.
type agentRow struct {
	api.AgentRecord
	ID, State string
	Tasks     int
}

func agentRows(s *api.GetStateResponse) []agentRow {
	tasks := map[string]int{}
	for _, t := range s.GetTasks.Tasks {
		tasks[t.AgentID.Value]++
	}
	rows := make([]agentRow, 0, len(s.GetAgents.Agents))
	for _, a := range s.GetAgents.Agents {
		id := ""
		if a.AgentInfo.ID != nil {
			id = a.AgentInfo.ID.Value
		}
		rows = append(rows, agentRow{AgentRecord: a, ID: id, State: agentState(a), Tasks: tasks[id]})
	}
	return rows
}

// frameworkRow is a framework as the tables show it.
type frameworkRow struct {
	api.FrameworkRecord
	ID        string
	Roles     []string
	Tasks     int
	Completed bool // torn down or timed out
}

// State is the framework's state in a word.
func (f frameworkRow) State() string {
	switch {
	case f.Completed:
		return "completed"
	case f.Connected:
		return "connected"
	}
	return "disconnected"
}

func frameworkRows(s *api.GetStateResponse) []frameworkRow {
	tasks := map[string]int{}
	for _, t := range s.GetTasks.Tasks {
		tasks[t.FrameworkID.Value]++
	}
	var rows []frameworkRow
	add := func(f api.FrameworkRecord, completed bool) {
		id := ""
		if f.FrameworkInfo.ID != nil {
			id = f.FrameworkInfo.ID.Value
		}
		rows = append(rows, frameworkRow{FrameworkRecord: f, ID: id, Roles: roles(f.FrameworkInfo), Tasks: tasks[id], Completed: completed})
	}
	for _, f := range s.GetFrameworks.Frameworks {
		add(f, false)
	}
	for _, f := range s.GetFrameworks.CompletedFrameworks {
		add(f, true)
	}
	return rows
}

// roles lists a framework's roles: Roles for a multi-role framework, else
// its Role, else the default role "*".
func roles(info api.FrameworkInfo) []string {
	switch {
	case len(info.Roles) > 0:
		return info.Roles
	case info.Role != "":
		return []string{info.Role}
	}
	return []string{"*"}
}

// scalarNames are the resources the console draws bars for, in order.
var scalarNames = []string{"cpus", "mem", "disk", "gpus"}

// usages sums the agents' scalar resources into bars, leaving out those
// no agent has.
func usages(agents []api.AgentRecord) []usage {
	var out []usage
	for _, name := range scalarNames {
		u := usage{Name: name}
		for _, a := range agents {
			u.Total += api.Resources(a.TotalResources).ScalarValue(name)
			u.Used += api.Resources(a.AllocatedResources).ScalarValue(name)
			u.Offered += api.Resources(a.OfferedResources).ScalarValue(name)
		}
		if u.Total <= 0 {
			continue
		}
		u.Idle = max(0, u.Total-u.Used-u.Offered)
		out = append(out, u)
	}
	return out
}

// contains reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
