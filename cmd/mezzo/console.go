package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/webui"
)

// masterRoutes are the paths of the master's HTTP APIs; every other path
// belongs to the web console.
var masterRoutes = []string{
	"/api/", "/master/", "/version", "/health", "/metrics", "/agents/{agent}/files/{op}",
}

// The master tells the console when it does not lead, so that every page
// of a standby says so (webui.Standby is optional: this keeps it wired).
var _ webui.Standby = (*master.Master)(nil)

// withConsole serves the master's APIs and, at every other path, the web
// console reading the master in-process (package webui never imports the
// master: this is where the two meet). The console follows the master's
// event stream until ctx ends.
func withConsole(ctx context.Context, m *master.Master, a *auth.Authenticator, acls *acl.ACLs) (http.Handler, error) {
	cfg := webui.DefaultConfig()
	cfg.MaxUploadBytes = m.MaxModuleBytes()
	cfg.Logger = slog.Default()
	if a != nil {
		// The console reads the master in-process, past the API's
		// checks: its login form checks the same credentials, and it
		// hands the master the principal with every call so that the
		// same ACLs decide what it shows and does.
		cfg.Login = func(_ context.Context, name, secret string) (webui.Principal, error) {
			p, err := a.Verify(name, secret)
			if err != nil {
				return nil, err
			}
			return consolePrincipal{name: p, acls: acls}, nil
		}
	}
	console, err := webui.New(m, cfg)
	if err != nil {
		return nil, fmt.Errorf("start the console: %w", err)
	}
	go console.Run(ctx)
	mux := http.NewServeMux()
	mux.Handle("/", console)
	apiHandler := m.Handler()
	for _, p := range masterRoutes {
		mux.Handle(p, apiHandler)
	}
	return mux, nil
}

// consolePrincipal is an authenticated person in the console.
type consolePrincipal struct {
	name string
	acls *acl.ACLs
}

func (p consolePrincipal) Name() string { return p.name }

// Allowed asks the master's ACLs (none: everything is allowed). The
// console's actions are named after the ACL permissions behind them.
func (p consolePrincipal) Allowed(a webui.Action, object string) bool {
	return p.acls == nil || p.acls.Allow(acl.Request{Principal: p.name, Action: acl.Action(a), Object: object}) == nil
}
