package webui

import (
	"cmp"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
)

var offerTable = tableSpec{sorts: []string{"framework", "agent", "id"}, filters: []string{"framework", "agent"}}

// offerRow is an outstanding offer and the name of its framework.
type offerRow struct {
	api.Offer
	Framework string
}

type offerListData struct {
	Rows  []offerRow
	Pager pager
}

func (c *Console) offerList(r *http.Request, _ Principal) (*view, error) {
	q, err := parseListQuery(r.URL.Query(), offerTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/offers"
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	var rows []offerRow
	for _, f := range s.GetFrameworks.Frameworks {
		for _, o := range f.Offers {
			if (q.Filter("framework") == "" || o.FrameworkID.Value == q.Filter("framework")) &&
				(q.Filter("agent") == "" || o.AgentID.Value == q.Filter("agent")) {
				rows = append(rows, offerRow{Offer: o, Framework: f.FrameworkInfo.Name})
			}
		}
	}
	page, p := paginate(rows, q, func(a, b *offerRow) int {
		var c int
		switch q.Sort {
		case "framework":
			c = cmp.Compare(a.FrameworkID.Value, b.FrameworkID.Value)
		case "agent":
			c = cmp.Compare(a.AgentID.Value, b.AgentID.Value)
		}
		return cmp.Or(c, cmp.Compare(a.ID.Value, b.ID.Value))
	})
	return &view{Template: "offers", Title: "Offers", Nav: "offers", Topics: []string{topicTask, topicAgent, topicFramework, topicTick},
		Data: offerListData{Rows: page, Pager: p}}, nil
}

// quotaLine is one resource of a role's quota.
type quotaLine struct {
	Name                       string
	Guarantee, Limit, Consumed string
}

// roleRow is a role with its quota as lines, and as the text the quota
// form starts from.
type roleRow struct {
	api.Role
	Quota                    []quotaLine
	GuaranteeText, LimitText string
}

func (c *Console) roleList(r *http.Request, _ Principal) (*view, error) {
	resp, err := c.call(r.Context(), api.OperatorGetRoles)
	if err != nil {
		return nil, err
	}
	var rows []roleRow
	if resp.GetRoles != nil {
		for _, role := range resp.GetRoles.Roles {
			row := roleRow{Role: role, Quota: quotaLines(role.Quota)}
			if role.Quota != nil {
				row.GuaranteeText, row.LimitText = scalarText(role.Quota.Guarantees), scalarText(role.Quota.Limits)
			}
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return &view{Template: "roles", Title: "Roles", Nav: "roles", Topics: []string{topicTask, topicFramework, topicTick}, Data: rows}, nil
}

func quotaLines(q *api.RoleQuota) []quotaLine {
	if q == nil {
		return nil
	}
	names := map[string]bool{}
	for _, m := range []map[string]api.Scalar{q.Guarantees, q.Limits, q.Consumed} {
		for n := range m {
			names[n] = true
		}
	}
	var out []quotaLine
	for n := range names {
		l := quotaLine{Name: n, Guarantee: "–", Limit: "none", Consumed: "0"}
		if v, ok := q.Guarantees[n]; ok {
			l.Guarantee = number(float64(v.Value))
		}
		if v, ok := q.Limits[n]; ok {
			l.Limit = number(float64(v.Value))
		}
		if v, ok := q.Consumed[n]; ok {
			l.Consumed = number(float64(v.Value))
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type maintenanceData struct {
	Draining []agentRow // draining, drained or deactivated
	Active   []agentRow
	Windows  []window // the maintenance schedule
	Schedule string   // the same, as the form's text
	// Hidden is how many machines of the schedule the principal's view
	// leaves out: the form, which replaces the whole schedule, is then
	// not offered.
	Hidden int
}

func (c *Console) maintenance(r *http.Request, _ Principal) (*view, error) {
	s, err := c.state(r.Context())
	if err != nil {
		return nil, err
	}
	var d maintenanceData
	for _, a := range agentRows(s) {
		if a.State == "active" {
			d.Active = append(d.Active, a)
		} else {
			d.Draining = append(d.Draining, a)
		}
	}
	byHost := func(rows []agentRow) {
		sort.Slice(rows, func(i, j int) bool {
			return cmp.Or(cmp.Compare(rows[i].AgentInfo.Hostname, rows[j].AgentInfo.Hostname), cmp.Compare(rows[i].ID, rows[j].ID)) < 0
		})
	}
	byHost(d.Draining)
	byHost(d.Active)
	ms, err := c.call(r.Context(), api.OperatorGetMaintenanceSchedule)
	if err != nil {
		return nil, err
	}
	if ms.GetMaintenanceSchedule != nil {
		d.Windows = windows(ms.GetMaintenanceSchedule.Schedule)
		d.Schedule = formatSchedule(ms.GetMaintenanceSchedule.Schedule)
		d.Hidden = ms.GetMaintenanceSchedule.HiddenMachines
	}
	return &view{Template: "maintenance", Title: "Maintenance", Nav: "maintenance", Topics: []string{topicAgent, topicTask, topicTick}, Data: d}, nil
}

// scalarText writes scalar quantities in Mesos syntax, by name, as the
// quota form reads them back.
func scalarText(m map[string]api.Scalar) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ":" + strconv.FormatFloat(float64(m[n].Value), 'f', -1, 64)
	}
	return strings.Join(parts, ";")
}
