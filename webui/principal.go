package webui

import "net/http"

// Action names something a person can do from the console. Pages show an
// action's controls only when the principal is allowed it, and the handler
// that carries it out checks again.
type Action string

// The console's actions.
const (
	// ActionDrain drains an agent (DRAIN_AGENT).
	ActionDrain Action = "drain"
	// ActionReactivate reactivates a drained or deactivated agent
	// (REACTIVATE_AGENT).
	ActionReactivate Action = "reactivate"
	// ActionUploadModule stores a module (POST /api/v1/modules).
	ActionUploadModule Action = "upload-module"
)

// Principal is who a request acts for. It is the seam where authentication
// plugs in: when the master gains credentials and ACLs, Config.Authenticate
// returns a principal that answers Allowed from them, and the console hides
// and refuses what it may not do without other changes.
type Principal interface {
	// Name is shown in the header; empty for an anonymous principal.
	Name() string
	// Allowed reports whether the principal may take the action.
	Allowed(Action) bool
}

// Authenticator turns a request into a Principal. An error answers the
// request with 401 Unauthorized and a WWW-Authenticate challenge, so the
// browser asks for credentials.
type Authenticator func(*http.Request) (Principal, error)

// anonymous is the principal of a console without authentication: the
// master has none yet, so anyone who can reach the console may act.
type anonymous struct{}

func (anonymous) Name() string        { return "" }
func (anonymous) Allowed(Action) bool { return true }

// Anonymous is the default Authenticator: every request is an anonymous
// principal allowed every action, which is what the master's own API
// allows today.
func Anonymous(*http.Request) (Principal, error) { return anonymous{}, nil }
