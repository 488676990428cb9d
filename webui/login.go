package webui

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// Limits of the login form: a principal is a short name, a secret a
// password or token, and the whole form fits in a few kilobytes.
const (
	maxLoginBody      = 16 << 10
	maxPrincipalBytes = 256
	maxSecretBytes    = 4 << 10
	maxNextBytes      = 2 << 10
)

// loginForm is a decoded login form.
type loginForm struct {
	Principal, Secret string
	Next              string // a path on this console to go to after logging in
}

// decodeLogin decodes the body of a login form
// (application/x-www-form-urlencoded): principal and secret, required,
// and next, optional, which must be a path on this console (anything else
// becomes "/", so that the login page cannot send a person elsewhere).
func decodeLogin(contentType string, body []byte) (loginForm, error) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/x-www-form-urlencoded" {
		return loginForm{}, fmt.Errorf("the login form must be application/x-www-form-urlencoded, not %q", contentType)
	}
	if len(body) > maxLoginBody {
		return loginForm{}, fmt.Errorf("the login form is larger than %d bytes", maxLoginBody)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return loginForm{}, fmt.Errorf("cannot read the login form: %w", err)
	}
	for name, vals := range v {
		if len(vals) > 1 {
			return loginForm{}, fmt.Errorf("the login form has %d values for %q", len(vals), name)
		}
	}
	f := loginForm{Principal: v.Get("principal"), Secret: v.Get("secret"), Next: safeNext(v.Get("next"))}
	switch {
	case f.Principal == "":
		return f, errors.New("enter a principal")
	case len(f.Principal) > maxPrincipalBytes:
		return f, fmt.Errorf("a principal is at most %d bytes", maxPrincipalBytes)
	case strings.IndexFunc(f.Principal, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == ':' }) >= 0:
		return f, errors.New("a principal has no spaces, colons or control characters")
	case f.Secret == "":
		return f, errors.New("enter the secret")
	case len(f.Secret) > maxSecretBytes:
		return f, fmt.Errorf("a secret is at most %d bytes", maxSecretBytes)
	}
	return f, nil
}

// safeNext returns next if it is a path on this console, else "/": it must
// start with one slash (not "//" or "/\", which browsers read as another
// host), have no scheme or host, and no control characters.
func safeNext(next string) string {
	if next == "" || len(next) > maxNextBytes || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") {
		return "/"
	}
	if strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/login") || strings.HasPrefix(u.Path, "/logout") {
		return "/"
	}
	return next
}

// loginData is what the login page shows.
type loginData struct {
	Principal string
	Next      string
	Error     string
}

func loginView(d loginData, status int) *view {
	return &view{Template: "login", Title: "Log in", Data: d, Status: status}
}

// loginPage shows the login form. A visitor with a live session goes
// straight on.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if c.cfg.Login == nil || c.sessionOf(r) != nil && c.sessionOf(r).principal.Name() != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.renderPlain(w, r, loginView(loginData{Next: next}, 0))
}

// login checks the form's credentials with Config.Login and starts a
// session. A refused login shows the form again with 401 and the same
// message whatever was wrong, so that it tells nothing about who exists.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Login == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if c.csrf.Check(r) != nil {
		c.renderPlain(w, r, loginView(loginData{Next: "/", Error: "Refused a login posted from another site."}, http.StatusForbidden))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		c.renderPlain(w, r, loginView(loginData{Next: "/", Error: "The login form is too large."}, http.StatusRequestEntityTooLarge))
		return
	}
	f, err := decodeLogin(r.Header.Get("Content-Type"), body)
	if err != nil {
		c.renderPlain(w, r, loginView(loginData{Principal: f.Principal, Next: f.Next, Error: "Cannot log in: " + err.Error() + "."}, http.StatusBadRequest))
		return
	}
	p, err := c.cfg.Login(r.Context(), f.Principal, f.Secret)
	if err != nil {
		c.log.Warn("console login refused", "principal", f.Principal, "remote", r.RemoteAddr)
		c.renderPlain(w, r, loginView(loginData{Principal: f.Principal, Next: f.Next, Error: "Wrong principal or secret."}, http.StatusUnauthorized))
		return
	}
	if old := c.sessionOf(r); old != nil {
		c.sessions.end(old) // a new login never reuses a session (fixation)
	}
	c.startSession(w, r, p)
	c.log.Info("console login", "principal", p.Name(), "remote", r.RemoteAddr)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// logout ends the session. It is an action: the form carries the CSRF
// token, so another site cannot log a person out.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if sess := c.sessionOf(r); sess != nil {
		c.sessions.end(sess)
	}
	clearSession(w, r)
	to := "/login"
	if c.cfg.Login == nil {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// renderPlain renders a view that needs no principal (the login page).
func (c *Console) renderPlain(w http.ResponseWriter, r *http.Request, v *view) {
	if err := c.pages.render(w, r, v); err != nil {
		c.log.Error("render page", "path", r.URL.Path, "err", err)
		http.Error(w, "The console could not render this page.", http.StatusInternalServerError)
	}
}
