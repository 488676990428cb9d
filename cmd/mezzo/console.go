package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

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
func withConsole(ctx context.Context, m *master.Master) (http.Handler, error) {
	cfg := webui.DefaultConfig()
	cfg.MaxUploadBytes = m.MaxModuleBytes()
	cfg.Logger = slog.Default()
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
