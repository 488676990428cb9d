// Package master is the Mezzo master: it pools the resources of its
// agents, offers them to frameworks, launches the tasks frameworks accept
// offers for, and forwards their status updates until acknowledged. It
// speaks the Mesos v1 scheduler and operator APIs in their JSON encoding,
// Mezzo's agent protocol, and serves the module store.
//
// A tour:
//
//	cfg := master.DefaultConfig()
//	cfg.WorkDir = "/var/lib/mezzo/master"
//	m, err := master.New(cfg)
//	go m.Run(ctx)                            // offers and heartbeats
//	http.Serve(listener, m.Handler())        // the HTTP APIs
//
// The routes: POST /api/v1/scheduler (frameworks), POST /api/v1/agent
// (agents), POST /api/v1 (operators), /api/v1/modules (the module store),
// /agents/{id}/files/{browse,read,download} (a proxy of an agent's files
// API), /version and /health; each also under /master as in Mesos. The
// web console (package webui) reads the master in-process through Call,
// Subscribe, Modules, PutModule, DeleteModule and Files, and cmd/mezzo
// serves it at every other path.
//
// With Config.Registry set, the durable state — frameworks, agents, tasks
// and their status histories and pending updates, weights, quotas,
// maintenance, module metadata — is written to the
// replicated registry (master/registry) from one queue, in order, and a
// master serves only while its registry member leads: on becoming leader it
// loads the registry, on losing leadership it drops its state and closes
// every stream; a standby redirects the APIs to the leader (leader.go),
// but answers the read-only views from its replica, marked with
// api.HeaderView (standby.go), and feeds its console's event stream
// (Subscribe) with the events of what that replica applies
// (replicafeed.go). Module bytes are copied among the masters beside
// raft, and an upload is answered once a majority holds them
// (replica.go); a deletion is a registry command that every master
// carries out on its own store when it applies it (moduledelete.go).
// Without a registry the state lives in memory, for tests of
// one master.
//
// A Master is safe for concurrent use: one mutex guards the state and no
// I/O happens under it; registry writes are queued under it and applied by
// their own goroutine.
package master
