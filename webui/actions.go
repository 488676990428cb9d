package webui

import (
	"context"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

// maxGrace bounds the drain grace period a form may ask for (a week).
const maxGrace = 7 * 24 * 3600

// Where a state-changing request carries its session's CSRF token: the
// header for console.js's requests, the form field for plain forms (for a
// multipart form, its first part).
const (
	csrfHeader = "X-Mezzo-CSRF"
	csrfField  = "csrf"
	maxForm    = 64 << 10
)

// multipartKey carries, in an upload's context, the multipart reader
// whose first part (the CSRF token) the action wrapper already read.
type multipartKey struct{}

// action wraps a handler that changes the cluster. It needs a live session
// (401 without one) and refuses with 403 a request from another site or
// one without the session's CSRF token, so that no page elsewhere can act
// through a visitor's browser. It then runs h with the principal in the
// request's context: h checks the principal's permission on the object it
// acts on, and the master checks again with its own ACLs. An error from h
// becomes an error page.
func (c *Console) action(h func(w http.ResponseWriter, r *http.Request, p Principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, sess, ok := c.who(w, r, false)
		if !ok {
			return
		}
		var err error
		switch {
		case c.csrf.Check(r) != nil:
			err = &pageError{status: http.StatusForbidden, msg: "Refused a cross-site request to change the cluster."}
		case sess == nil:
			err = &pageError{status: http.StatusForbidden, msg: "Refused a request without a session: reload the page and try again."}
		default:
			r, err = c.checkCSRF(w, r, sess)
		}
		if err == nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p.Name()))
			err = h(w, r, p)
		}
		if err == nil {
			return
		}
		v := c.errorView(r, err)
		v.Principal = p
		if sess != nil {
			v.CSRF = sess.csrf
		}
		if err := c.pages.render(w, r, v); err != nil {
			c.log.Error("render error page", "path", r.URL.Path, "err", err)
		}
	})
}

// checkCSRF finds the request's CSRF token and compares it with the
// session's: the X-Mezzo-CSRF header (console.js), else the csrf field of
// a form, which for a multipart form must be its first part. It parses a
// form for the handler (r.PostForm), and hands a multipart form's reader
// on in the returned request's context.
func (c *Console) checkCSRF(w http.ResponseWriter, r *http.Request, sess *session) (*http.Request, error) {
	refused := &pageError{status: http.StatusForbidden, msg: "Refused a request without this session's CSRF token: reload the page and try again."}
	tok := r.Header.Get(csrfHeader)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxUploadBytes+1<<20) // room for the framing
		mr, err := r.MultipartReader()
		if err != nil {
			return r, badRequest("cannot read the form: %v", err)
		}
		if tok == "" {
			part, err := mr.NextPart()
			if err != nil || part.FormName() != csrfField {
				return r, refused
			}
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return r, refused
			}
			tok = string(b)
		}
		r = r.WithContext(context.WithValue(r.Context(), multipartKey{}, mr))
	case "", "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return r, badRequest("cannot read the form: %v", err)
		}
		if tok == "" {
			tok = r.PostForm.Get(csrfField)
		}
	}
	if !sess.checkCSRF(tok) {
		return r, refused
	}
	return r, nil
}

// multipartOf returns the multipart reader checkCSRF started, if any.
func multipartOf(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(multipartKey{}).(*multipart.Reader)
	return mr
}

// findAgent returns the agent the master knows by id (404 otherwise, where
// an operator call would answer a less helpful 400).
func (c *Console) findAgent(ctx context.Context, id string) (api.AgentRecord, error) {
	resp, err := c.call(ctx, api.OperatorGetAgents)
	if err != nil {
		return api.AgentRecord{}, err
	}
	if resp.GetAgents != nil {
		for _, a := range resp.GetAgents.Agents {
			if a.AgentInfo.ID != nil && a.AgentInfo.ID.Value == id {
				return a, nil
			}
		}
	}
	return api.AgentRecord{}, notFound("No agent has the ID %q.", id)
}

// drain drains an agent from the form on its page: grace (seconds, empty
// for the tasks' own kill policies) and mark_gone.
func (c *Console) drain(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
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
	a, err := c.findAgent(r.Context(), id)
	if err != nil {
		return err
	}
	if err := allow(p, ActionDrain, a.AgentInfo.Hostname); err != nil {
		return err
	}
	if _, err := c.cluster.Call(r.Context(), &api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: d}); err != nil {
		return err
	}
	c.log.Info("agent drained from the console", "agent", id, "mark_gone", d.MarkGone, "principal", p.Name())
	c.changed(w, r, topicAgent, "/agents/"+id)
	return nil
}

// reactivate reactivates a drained or deactivated agent.
func (c *Console) reactivate(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	a, err := c.findAgent(r.Context(), id)
	if err != nil {
		return err
	}
	if err := allow(p, ActionDrain, a.AgentInfo.Hostname); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorReactivateAgent, ReactivateAgent: &api.ReactivateAgent{AgentID: api.AgentID{Value: id}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("agent reactivated from the console", "agent", id, "principal", p.Name())
	c.changed(w, r, topicAgent, "/agents/"+id)
	return nil
}

// findFramework returns a subscribed framework by ID (404 otherwise).
func (c *Console) findFramework(ctx context.Context, id string) (api.FrameworkRecord, error) {
	resp, err := c.call(ctx, api.OperatorGetFrameworks)
	if err != nil {
		return api.FrameworkRecord{}, err
	}
	if resp.GetFrameworks != nil {
		for _, f := range resp.GetFrameworks.Frameworks {
			if f.FrameworkInfo.ID != nil && f.FrameworkInfo.ID.Value == id {
				return f, nil
			}
		}
	}
	return api.FrameworkRecord{}, notFound("No subscribed framework has the ID %q.", id)
}

// teardown tears a framework down (TEARDOWN): its tasks are killed and it
// may not subscribe again under that ID.
func (c *Console) teardown(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	f, err := c.findFramework(r.Context(), id)
	if err != nil {
		return err
	}
	if err := allow(p, ActionTeardown, f.FrameworkInfo.Principal); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorTeardown, Teardown: &api.Teardown{FrameworkID: api.FrameworkID{Value: id}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("framework torn down from the console", "framework", id, "principal", p.Name())
	c.changed(w, r, topicFramework, "/frameworks/"+id)
	return nil
}

// killTask kills one task (KILL_TASK, allowed by kill_tasks on the
// principal of the task's framework).
func (c *Console) killTask(w http.ResponseWriter, r *http.Request, p Principal) error {
	fid, tid := r.PathValue("framework"), r.PathValue("task")
	f, err := c.findFramework(r.Context(), fid)
	if err != nil {
		return err
	}
	if err := allow(p, ActionKillTask, f.FrameworkInfo.Principal); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorKillTask, KillTask: &api.KillTask{FrameworkID: api.FrameworkID{Value: fid}, TaskID: api.TaskID{Value: tid}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("task killed from the console", "framework", fid, "task", tid, "principal", p.Name())
	c.changed(w, r, topicTask, "/tasks/"+url.PathEscape(fid)+"/"+url.PathEscape(tid))
	return nil
}

// maxWeight bounds a role's weight from the form, as a sanity check.
const maxWeight = 1e6

// setWeight sets a role's weight (UPDATE_WEIGHTS) from the form's weight.
func (c *Console) setWeight(w http.ResponseWriter, r *http.Request, p Principal) error {
	role, err := roleOf(r)
	if err != nil {
		return err
	}
	v := strings.TrimSpace(r.PostForm.Get("weight"))
	weight, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(weight) || weight <= 0 || weight > maxWeight {
		return badRequest("weight must be a number above 0 and at most %g, not %q", float64(maxWeight), v)
	}
	if err := allow(p, ActionUpdateWeights, role); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{
		WeightInfos: []api.WeightInfo{{Role: role, Weight: api.Float64(weight)}}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("role weight set from the console", "role", role, "weight", weight, "principal", p.Name())
	c.changed(w, r, topicFramework, "/roles")
	return nil
}

// setQuota sets a role's quota (UPDATE_QUOTA) from the form's guarantees
// and limits, each scalar resources in Mesos syntax ("cpus:4;mem:1024");
// empty clears them.
func (c *Console) setQuota(w http.ResponseWriter, r *http.Request, p Principal) error {
	role, err := roleOf(r)
	if err != nil {
		return err
	}
	q := api.QuotaConfig{Role: role}
	if q.Guarantees, err = scalarMap(r.PostForm.Get("guarantees"), "guarantees"); err != nil {
		return err
	}
	if q.Limits, err = scalarMap(r.PostForm.Get("limits"), "limits"); err != nil {
		return err
	}
	if err := allow(p, ActionUpdateQuota, role); err != nil {
		return err
	}
	call := &api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{QuotaConfigs: []api.QuotaConfig{q}}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("role quota set from the console", "role", role, "principal", p.Name())
	c.changed(w, r, topicFramework, "/roles")
	return nil
}

// roleOf returns the role the form names (a field, not a path element:
// hierarchical roles hold slashes), checked as Mesos checks role names.
func roleOf(r *http.Request) (string, error) {
	role := r.PostForm.Get("role")
	if err := api.ValidateRole(role); err != nil {
		return "", badRequest("%v", err)
	}
	return role, nil
}

// scalarMap parses scalar resources in Mesos syntax into a quota's map.
func scalarMap(text, field string) (map[string]api.Scalar, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	res, err := api.ParseResources(text)
	if err != nil {
		return nil, badRequest("%s: %v", field, err)
	}
	out := map[string]api.Scalar{}
	for _, x := range res {
		if x.Type != api.SCALAR || x.Scalar == nil {
			return nil, badRequest("%s: %s is not a scalar resource; a quota counts scalars only", field, x.Name)
		}
		if _, dup := out[x.Name]; dup {
			return nil, badRequest("%s: %s appears twice", field, x.Name)
		}
		if x.Scalar.Value < 0 {
			return nil, badRequest("%s: %s must not be negative", field, x.Name)
		}
		out[x.Name] = *x.Scalar
	}
	return out, nil
}

// changed finishes an action: the master publishes no event for some
// changes (a drain, a weight), so the console tells open pages itself,
// then sends the browser on (303, so that a reload does not post again).
func (c *Console) changed(w http.ResponseWriter, r *http.Request, topic, to string) {
	c.hub.broadcast(topic)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
