package webui

import (
	"net/http"
	"strconv"

	"github.com/mezzo-cluster/mezzo/api"
)

// maxGrace bounds the drain grace period a form may ask for (a week).
const maxGrace = 7 * 24 * 3600

// action wraps a handler that changes the cluster: it authenticates,
// refuses cross-site requests (a page elsewhere must not be able to drain
// an agent through a visitor's browser) and actions the principal may not
// take, then runs h. An error from h becomes an error page.
func (c *Console) action(a Action, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := c.authenticate(w, r)
		if !ok {
			return
		}
		var err error
		switch {
		case c.csrf.Check(r) != nil:
			err = &pageError{status: http.StatusForbidden, msg: "Refused a cross-site request to change the cluster."}
		case !p.Allowed(a):
			err = &pageError{status: http.StatusForbidden, msg: "You may not " + string(a) + "."}
		default:
			err = h(w, r)
		}
		if err == nil {
			return
		}
		v := c.errorView(r, err)
		v.Principal = p
		if err := c.pages.render(w, r, v); err != nil {
			c.log.Error("render error page", "path", r.URL.Path, "err", err)
		}
	})
}

// agentExists answers 404 for an agent the master does not know, before
// an operator call would answer a less helpful 400.
func (c *Console) agentExists(r *http.Request, id string) error {
	resp, err := c.call(r.Context(), api.OperatorGetAgents)
	if err != nil {
		return err
	}
	if resp.GetAgents != nil {
		for _, a := range resp.GetAgents.Agents {
			if a.AgentInfo.ID != nil && a.AgentInfo.ID.Value == id {
				return nil
			}
		}
	}
	return notFound("No agent has the ID %q.", id)
}

// drain drains an agent from the form on its page: grace (seconds, empty
// for the tasks' own kill policies) and mark_gone.
func (c *Console) drain(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return badRequest("cannot read the form: %v", err)
	}
	d := &api.DrainAgent{AgentID: api.AgentID{Value: id}}
	if g := r.PostForm.Get("grace"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil || n < 0 || n > maxGrace {
			return badRequest("grace must be a whole number of seconds from 0 to %d, not %q", maxGrace, g)
		}
		d.MaxGracePeriod = &api.ProtoDuration{Seconds: api.Int64(n)}
	}
	switch v := r.PostForm.Get("mark_gone"); v {
	case "", "off":
	case "on", "true":
		d.MarkGone = true
	default:
		return badRequest("mark_gone must be on or off, not %q", v)
	}
	if err := c.agentExists(r, id); err != nil {
		return err
	}
	if _, err := c.cluster.Call(r.Context(), &api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: d}); err != nil {
		return err
	}
	c.log.Info("agent drained from the console", "agent", id, "mark_gone", d.MarkGone)
	c.changed(w, r, "/agents/"+id)
	return nil
}

// reactivate reactivates a drained or deactivated agent.
func (c *Console) reactivate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := c.agentExists(r, id); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorReactivateAgent, ReactivateAgent: &api.ReactivateAgent{AgentID: api.AgentID{Value: id}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("agent reactivated from the console", "agent", id)
	c.changed(w, r, "/agents/"+id)
	return nil
}

// changed finishes an action on an agent: the master publishes no event
// for a drain, so the console tells open pages itself, then sends the
// browser to the agent's page (303, so that a reload does not post again).
func (c *Console) changed(w http.ResponseWriter, r *http.Request, to string) {
	c.hub.broadcast(topicAgent)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
