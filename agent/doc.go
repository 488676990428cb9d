// Package agent is the Mezzo agent: it subscribes to a master, offers its
// machine's resources, runs the tasks the master launches in sandbox
// directories (WebAssembly modules and native processes, through package
// sandbox), and delivers their status updates at least once.
//
// A tour:
//
//	cfg := agent.DefaultConfig()
//	cfg.Masters = []string{"master1:5050"}
//	cfg.WorkDir = "/var/lib/mezzo/agent"
//	a, err := agent.New(ctx, cfg)
//	go http.Serve(listener, a.Handler())     // the files API on port 5051
//	err = a.Run(ctx)                         // until ctx ends
//
// The agent dials the master and keeps one event stream open; status
// updates go up as separate calls, each sent again with backoff until the
// framework acknowledges it. Sandboxes live under
// <work_dir>/sandboxes/<framework>/<executor>/runs/<container>, with
// runs/latest pointing at the newest run.
//
// An Agent is safe for concurrent use.
package agent
