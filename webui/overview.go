package webui

import (
	"html/template"
	"net/http"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// count is one line of a "by state" table.
type count struct {
	Name string
	N    int
	Link string
}

type overviewData struct {
	Master      *api.GetMasterResponse
	Agents      []count
	Tasks       []count
	Frameworks  int
	Offers      int
	Usage       []usage
	Chart       template.HTML
	ChartWindow time.Duration
}

func (c *Console) overview(r *http.Request, p Principal) (*view, error) {
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	m, err := c.call(r.Context(), api.OperatorGetMaster)
	if err != nil {
		return nil, err
	}
	d := overviewData{Master: m.GetMaster, Usage: usages(s.GetAgents.Agents), ChartWindow: c.cfg.History}
	byAgent := map[string]int{}
	for _, a := range s.GetAgents.Agents {
		byAgent[agentState(a)]++
	}
	for _, st := range agentStates {
		d.Agents = append(d.Agents, count{Name: st, N: byAgent[st], Link: "/agents?state=" + st})
	}
	byTask := map[api.TaskState]int{}
	for _, t := range allTasks(s.GetTasks) {
		byTask[t.State]++
	}
	for _, st := range taskStates {
		if byTask[st] > 0 || st == api.TaskRunning {
			d.Tasks = append(d.Tasks, count{Name: string(st), N: byTask[st], Link: "/tasks?state=" + string(st)})
		}
	}
	d.Frameworks = len(s.GetFrameworks.Frameworks)
	for _, f := range s.GetFrameworks.Frameworks {
		d.Offers += len(f.Offers)
	}
	sees := func(user string) bool { return p.Allowed(ActionViewTasks, user) }
	d.Chart = chart(c.hub.samples(sees), time.Now(), c.cfg.History)
	return &view{Template: "overview", Title: "Overview", Nav: "overview",
		Topics: []string{topicTask, topicAgent, topicFramework, topicTick, topicSample}, Data: d}, nil
}
