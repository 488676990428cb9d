package webui

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

var frameworkTable = tableSpec{sorts: []string{"name", "id", "state", "tasks", "cpus", "mem"}, filters: []string{"state"}}

var frameworkStates = []string{"connected", "disconnected", "completed"}

type frameworkListData struct {
	Rows   []frameworkRow
	Pager  pager
	States []string
}

func (c *Console) frameworkList(r *http.Request, _ Principal) (*view, error) {
	q, err := parseListQuery(r.URL.Query(), frameworkTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/frameworks"
	if st := q.Filter("state"); st != "" && !slices.Contains(frameworkStates, st) {
		return nil, badRequest("unknown framework state %q: use one of %v", st, frameworkStates)
	}
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	var rows []frameworkRow
	for _, f := range frameworkRows(s) {
		if st := q.Filter("state"); st == "" || f.State() == st {
			rows = append(rows, f)
		}
	}
	page, p := paginate(rows, q, func(a, b *frameworkRow) int {
		var c int
		switch q.Sort {
		case "name":
			c = cmp.Compare(a.FrameworkInfo.Name, b.FrameworkInfo.Name)
		case "state":
			c = cmp.Compare(a.State(), b.State())
		case "tasks":
			c = cmp.Compare(a.Tasks, b.Tasks)
		case "cpus", "mem":
			c = cmp.Compare(api.Resources(a.AllocatedResources).ScalarValue(q.Sort), api.Resources(b.AllocatedResources).ScalarValue(q.Sort))
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
	return &view{Template: "frameworks", Title: "Frameworks", Nav: "frameworks", Topics: []string{topicTask, topicFramework, topicTick},
		Data: frameworkListData{Rows: page, Pager: p, States: frameworkStates}}, nil
}

// share is a framework's share of one resource of the cluster.
type share struct {
	Name     string
	Fraction float64
}

// Percent prints the share as a percentage.
func (s share) Percent() string { return fmt.Sprintf("%.1f %%", s.Fraction*100) }

type frameworkDetailData struct {
	Framework frameworkRow
	Shares    []share
	Dominant  share
	Tasks     []api.Task
	Pager     pager
}

func (c *Console) frameworkDetail(r *http.Request, _ Principal) (*view, error) {
	id := r.PathValue("id")
	q, err := parseListQuery(r.URL.Query(), taskTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/frameworks/" + id
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(frameworkRows(s), func(f frameworkRow) bool { return f.ID == id })
	if i < 0 {
		return nil, notFound("No framework has the ID %q. The master forgets completed frameworks after a while.", id)
	}
	f := frameworkRows(s)[i]
	d := frameworkDetailData{Framework: f}
	// The dominant share is DRF's: the largest fraction of any resource
	// of the cluster that the framework holds.
	for _, u := range usages(s.GetAgents.Agents) {
		sh := share{Name: u.Name, Fraction: api.Resources(f.AllocatedResources).ScalarValue(u.Name) / u.Total}
		d.Shares = append(d.Shares, sh)
		if sh.Fraction > d.Dominant.Fraction {
			d.Dominant = sh
		}
	}
	var tasks []api.Task
	for _, t := range allTasks(s.GetTasks) {
		if t.FrameworkID.Value == id {
			tasks = append(tasks, t)
		}
	}
	d.Tasks, d.Pager = paginate(tasks, q, taskOrder(q.Sort))
	return &view{Template: "framework", Title: "Framework " + f.FrameworkInfo.Name, Nav: "frameworks",
		Topics: []string{topicTask, topicFramework, topicTick}, Data: d}, nil
}
