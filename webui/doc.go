// Package webui is Mezzo's web console: server-rendered pages over the
// cluster's state, kept live in the browser through Server-Sent Events fed
// by the master's operator event stream.
//
// The console never imports the master. It reads and changes the cluster
// through Cluster, a small interface that *master.Master satisfies
// in-process, and cmd/mezzo wires the two:
//
//	c, err := webui.New(m, webui.DefaultConfig())
//	go c.Run(ctx)              // follow the master's event stream
//	mux.Handle("/", c)         // the pages, /events and /static/
//
// Every page is plain HTML rendered with html/template and readable
// without JavaScript; every object has its own URL (/agents/{id},
// /frameworks/{id}, /tasks/{framework}/{task}, ...), and tables are sorted
// and paginated on the server, so a cluster with thousands of tasks sends
// one page of rows. A small hand-written script (static/console.js, no
// third-party code) listens on /events: when a change concerns the page it
// shows, it fetches the page's live region again and swaps it in, at most
// a few times a second however busy the cluster is. The same script tails
// a task's stdout and stderr (an SSE stream the console feeds from the
// agent's files API through the master) and uploads modules with a
// progress bar.
//
// Who may do what is asked of Config.Authenticate, which turns a request
// into a Principal; the default lets everyone do everything, as an open
// master does (cmd/mezzo plugs in the master's credentials and ACLs when
// it has them). Pages hide the actions the principal
// may not take and the handlers refuse them with 403. State-changing
// requests from other sites are refused with 403 as well.
//
// A Console is safe for concurrent use; Run must be called once.
package webui
