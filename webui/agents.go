package webui

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

var agentTable = tableSpec{sorts: []string{"hostname", "id", "state", "cpus", "mem", "tasks"}, filters: []string{"state"}}

type agentListData struct {
	Rows   []agentRow
	Pager  pager
	States []string
}

func (c *Console) agentList(r *http.Request, _ Principal) (*view, error) {
	q, err := parseListQuery(r.URL.Query(), agentTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/agents"
	if st := q.Filter("state"); st != "" && !slices.Contains(agentStates, st) {
		return nil, badRequest("unknown agent state %q: use one of %v", st, agentStates)
	}
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	var rows []agentRow
	for _, a := range agentRows(s) {
		if st := q.Filter("state"); st == "" || a.State == st {
			rows = append(rows, a)
		}
	}
	page, p := paginate(rows, q, func(a, b *agentRow) int {
		switch q.Sort {
		case "id":
			return cmp.Compare(a.ID, b.ID)
		case "state":
			return cmp.Or(cmp.Compare(a.State, b.State), cmp.Compare(a.ID, b.ID))
		case "cpus", "mem":
			return cmp.Or(cmp.Compare(api.Resources(a.TotalResources).ScalarValue(q.Sort), api.Resources(b.TotalResources).ScalarValue(q.Sort)), cmp.Compare(a.ID, b.ID))
		case "tasks":
			return cmp.Or(cmp.Compare(a.Tasks, b.Tasks), cmp.Compare(a.ID, b.ID))
		}
		return cmp.Or(cmp.Compare(a.AgentInfo.Hostname, b.AgentInfo.Hostname), cmp.Compare(a.ID, b.ID))
	})
	return &view{Template: "agents", Title: "Agents", Nav: "agents", Topics: []string{topicTask, topicAgent, topicTick},
		Data: agentListData{Rows: page, Pager: p, States: agentStates}}, nil
}

type agentDetailData struct {
	Agent agentRow
	Usage agentUsage
	Free  []api.Resource
	Tasks []api.Task
	Pager pager
}

func (c *Console) agentDetail(r *http.Request, _ Principal) (*view, error) {
	id := r.PathValue("id")
	q, err := parseListQuery(r.URL.Query(), taskTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/agents/" + id
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	for _, a := range agentRows(s) {
		if a.ID != id {
			continue
		}
		var tasks []api.Task
		for _, t := range s.GetTasks.Tasks {
			if t.AgentID.Value == id {
				tasks = append(tasks, t)
			}
		}
		page, p := paginate(tasks, q, taskOrder(q.Sort))
		free := api.Resources(a.TotalResources).Minus(a.AllocatedResources).Minus(a.OfferedResources)
		return &view{Template: "agent", Title: "Agent " + a.AgentInfo.Hostname, Nav: "agents", Topics: []string{topicTask, topicAgent, topicTick},
			Data: agentDetailData{Agent: a, Free: free, Tasks: page, Pager: p, Usage: c.agentUsageOf(r.Context(), id)}}, nil
	}
	return nil, notFound("No agent has the ID %q. It may have been removed; the Agents page lists the ones the master knows.", id)
}
