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
		// checks: it asks for the same credentials (the browser's Basic
		// prompt) and the same ACLs decide its actions.
		cfg.Authenticate = func(r *http.Request) (webui.Principal, error) {
			name, err := a.Authenticate(r)
			if err != nil {
				return nil, err
			}
			return consolePrincipal{name: name, acls: acls}, nil
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

// consoleActions are the ACL actions behind the console's. The console
// decides once per principal, not per agent, so only rules that grant the
// action on any object ({"type": "ANY"}) allow it in the console; a
// principal allowed to drain some agents only must use the API.
var consoleActions = map[webui.Action]acl.Action{
	webui.ActionDrain:        acl.DrainAgents,
	webui.ActionReactivate:   acl.DrainAgents,
	webui.ActionUploadModule: acl.UploadModules,
}

func (p consolePrincipal) Allowed(a webui.Action) bool {
	action, ok := consoleActions[a]
	return ok && p.acls.Allow(acl.Request{Principal: p.name, Action: action}) == nil
}
