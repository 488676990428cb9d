package webui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

// view is what a page handler returns: the template to render and its
// data. The page wrapper fills in the principal.
type view struct {
	Template  string   // templates/<Template>.html
	Title     string   // the page's <title> and <h1>
	Nav       string   // the navigation entry to mark current
	Topics    []string // what changes refresh the live region (data-live)
	Data      any
	Principal Principal
	CSRF      string // the session's token, which every form posts back
	Status    int    // 0 means 200
	// Standby is set when the master serving the page does not lead.
	Standby *standbyNote
	// Seq is the console's mark (epoch and change count) when the page's
	// data was read: the page's /events stream starts from it (data-seq).
	Seq string
}

// Can reports whether the page's principal may take an action on an
// object (none for an action without one); templates show an action's
// controls only when it may.
func (v *view) Can(a string, object ...string) bool {
	if v.Principal == nil || len(object) > 1 {
		return false
	}
	return v.Principal.Allowed(Action(a), strings.Join(object, ""))
}

// LoggedIn reports whether a person logged in (rather than an anonymous
// visitor of an open console), to offer logging out.
func (v *view) LoggedIn() bool { return v.Principal != nil && v.Principal.Name() != "" }

// LiveTopics is the data-live attribute.
func (v *view) LiveTopics() string { return strings.Join(v.Topics, " ") }

// standbyNote is what a page says about a standby master: the leader's
// address, "" when none is known.
type standbyNote struct{ Leader string }

// standby returns the note for pages served by a master that does not
// lead, nil when it leads (or the Cluster cannot tell).
func (c *Console) standby() *standbyNote {
	sb, ok := c.cluster.(Standby)
	if !ok {
		return nil
	}
	if yes, leader := sb.Standby(); yes {
		return &standbyNote{Leader: leader}
	}
	return nil
}

// handlerFunc renders a page: it returns the view, or an error that
// becomes an error page (a *pageError with its status, else 502).
type handlerFunc func(r *http.Request, p Principal) (*view, error)

// pageError is an error page with an HTTP status.
type pageError struct {
	status int
	msg    string
}

func (e *pageError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &pageError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &pageError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// fragmentHeader asks for the live region alone: console.js sends it when
// a change calls for a refresh.
const fragmentHeader = "X-Mezzo-Fragment"

// pages holds one parsed template set per page, each the layout plus the
// page's own file.
type pages struct{ sets map[string]*template.Template }

func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		set, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		p.sets[name] = set
	}
	return p, nil
}

// render writes v, the whole page or, for a fragment request, its live
// region alone. It renders into a buffer first so that a template error
// becomes a 500 page rather than half a page.
func (p *pages) render(w http.ResponseWriter, r *http.Request, v *view) error {
	set := p.sets[v.Template]
	if set == nil {
		return fmt.Errorf("no template %q", v.Template)
	}
	name := "layout.html"
	if r.Header.Get(fragmentHeader) != "" {
		name = "live"
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("render %s: %w", v.Template, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", fragmentHeader)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// page wraps a handlerFunc: it finds the principal (sending a visitor
// without a session to the login form), runs the handler with the
// principal in the request's context, so that the master answers for that
// principal, and renders its view or its error.
func (c *Console) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, sess, ok := c.who(w, r, true)
		if !ok {
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p.Name()))
		seq := c.hub.mark() // before the data is read: later changes count as news
		v, err := h(r, p)
		if err != nil {
			v = c.errorView(r, err)
		}
		v.Principal = p
		v.Seq = seq
		v.Standby = c.standby()
		if sess != nil {
			v.CSRF = sess.csrf
		}
		if err := c.pages.render(w, r, v); err != nil {
			c.log.Error("render page", "path", r.URL.Path, "err", err)
			http.Error(w, "The console could not render this page.", http.StatusInternalServerError)
		}
	})
}

// errorView is the error page for err: its own status for a *pageError or
// an error the master gave a status, else 502 (the master failed us).
func (c *Console) errorView(r *http.Request, err error) *view {
	status := statusOf(err)
	var pe *pageError
	if errors.As(err, &pe) {
		status = pe.status
	}
	if status >= 500 {
		c.log.Warn("console page failed", "path", r.URL.Path, "err", err)
	}
	return &view{Template: "error", Title: http.StatusText(status), Status: status, Data: err.Error()}
}

// taskStates lists the task states in the order the console shows them.
var taskStates = []api.TaskState{
	api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskKilling, api.TaskUnreachable,
	api.TaskFinished, api.TaskFailed, api.TaskKilled, api.TaskError, api.TaskLost,
	api.TaskDropped, api.TaskGone, api.TaskGoneByOperator, api.TaskUnknown,
}
