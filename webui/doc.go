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
// Who a request acts for comes from its session. With Config.Login set
// (cmd/mezzo sets it when the master has credentials), a visitor without
// a session is sent to the login form (/login); a good principal and
// secret start a session held in memory, named by an HttpOnly,
// SameSite=Strict cookie, until logout or Config.SessionTTL. Without
// Login, every visitor is an anonymous principal allowed everything, as
// on an open master, and still gets a session. Every state-changing
// request must carry the session's CSRF token (a hidden csrf field, or
// the X-Mezzo-CSRF header console.js sends) and come from the console's
// own origin, or it is refused with 403.
//
// Every call to the Cluster carries the principal in its context
// (auth.WithPrincipal), so the master applies that principal's ACLs: pages
// show only what its view ACLs grant, and the master refuses what it may
// not do. Pages also hide the controls of actions Principal.Allowed denies
// on their object, and the handlers refuse them with 403 first.
//
// A Console is safe for concurrent use; Run must be called once.
package webui
