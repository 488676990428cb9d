package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Action names something a person can do or see from the console. Its
// value is the name of the ACL permission behind it (Mesos's, as in the
// master's --acls file), so that a refusal names the permission to ask
// for. Pages show an action's controls only when the principal is allowed
// it, the console's handler checks again, and the master checks a third
// time with its own ACLs.
type Action string

// The console's actions and the object each is about.
const (
	// ActionDrain drains, deactivates or reactivates an agent; the object
	// is the agent's hostname.
	ActionDrain Action = "drain_agents"
	// ActionUploadModule stores a module; there is no object ("").
	ActionUploadModule Action = "upload_modules"
	// ActionDeleteModule deletes a module from the store; there is no
	// object (""). Tasks running it keep running.
	ActionDeleteModule Action = "delete_modules"
	// ActionTeardown tears a framework down; the object is the principal
	// the framework registered with.
	ActionTeardown Action = "teardown_frameworks"
	// ActionKillTask kills one task; the object is the principal of the
	// task's framework.
	ActionKillTask Action = "kill_tasks"
	// ActionUpdateWeights changes a role's weight; the object is the role.
	ActionUpdateWeights Action = "update_weights"
	// ActionUpdateQuota changes a role's quota; the object is the role.
	ActionUpdateQuota Action = "update_quota"
	// ActionViewTasks sees a framework's tasks; the object is the user of
	// the framework. The master leaves out of every query the tasks a
	// principal may not see; the console asks it only of what it counts
	// itself, from the master's unfiltered event stream (the Overview's
	// chart).
	ActionViewTasks Action = "view_tasks"
	// ActionViewSandbox reads a task's sandbox (files and live tail); the
	// object is the user of the task's framework.
	ActionViewSandbox Action = "view_sandboxes"
)

// Principal is who a request acts for: the person logged in, or the
// anonymous principal of a console without authentication.
type Principal interface {
	// Name is the principal's name, shown in the header and handed to
	// the master with every call (empty for the anonymous principal).
	Name() string
	// Allowed reports whether the principal may take the action on the
	// object (see each Action for what its object is).
	Allowed(a Action, object string) bool
}

// LoginFunc checks the principal and secret typed into the login form
// and returns the Principal they prove. Any error refuses the login; the
// page then says only "Wrong principal or secret", whatever the reason.
type LoginFunc func(ctx context.Context, principal, secret string) (Principal, error)

// anonymous is the principal of a console without authentication, which
// may do what the master's open API lets anyone do: everything.
type anonymous struct{}

func (anonymous) Name() string                { return "" }
func (anonymous) Allowed(Action, string) bool { return true }

// who returns the request's principal and session. Without a live session
// cookie: a console without Login acts for the anonymous principal and,
// when create is set (pages), starts an anonymous session so that the
// page's forms can carry a CSRF token; a console with Login sends a page
// request to the login form and answers anything else with 401.
func (c *Console) who(w http.ResponseWriter, r *http.Request, create bool) (Principal, *session, bool) {
	if sess := c.sessionOf(r); sess != nil {
		return sess.principal, sess, true
	}
	if c.cfg.Login == nil {
		if create {
			return anonymous{}, c.startSession(w, r, anonymous{}), true
		}
		return anonymous{}, nil, true
	}
	if create && r.Method == http.MethodGet && r.Header.Get(fragmentHeader) == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, nil, false
	}
	http.Error(w, "Log in first, at /login: this browser has no session, or it has ended.", http.StatusUnauthorized)
	return nil, nil, false
}

// allow refuses with 403 an action the principal may not take, naming the
// permission as the master's refusals do.
func allow(p Principal, a Action, object string) error {
	if p.Allowed(a, object) {
		return nil
	}
	what := string(a)
	if object != "" {
		what = fmt.Sprintf("%s (%q)", a, object)
	}
	return &pageError{status: http.StatusForbidden, msg: fmt.Sprintf("Principal %q may not %s.", p.Name(), what)}
}
