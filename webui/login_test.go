package webui

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// person is a logged-in principal allowed everything.
type person string

func (p person) Name() string              { return string(p) }
func (person) Allowed(Action, string) bool { return true }

// withLogin configures a console whose only credential is ops / ops-pw.
func withLogin(cfg *Config) {
	cfg.Login = func(_ context.Context, name, secret string) (Principal, error) {
		if name == "ops" && secret == "ops-pw" {
			return person("ops"), nil
		}
		if name == "viewer" && secret == "pw" {
			return readOnly{}, nil
		}
		return nil, errors.New("wrong principal or secret")
	}
}

// login posts the login form and returns the session cookie and the CSRF
// token of the page it lands on.
func login(t *testing.T, c *Console, name, secret string) (cookie, csrf string) {
	t.Helper()
	w := post(t, c, "/login", formType, strings.NewReader(url.Values{"principal": {name}, "secret": {secret}, "next": {"/modules"}}.Encode()))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/modules" {
		t.Fatalf("login as %s: %d %q\n%s", name, w.Code, w.Header().Get("Location"), w.Body)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	_, csrf = browserSession(t, c, "Cookie", cookie)
	return cookie, csrf
}

func TestLogin(t *testing.T) {
	c, _ := newConsole(t, withLogin)
	// Without a session a page sends the browser to the form, and the
	// rest answer 401 without a Basic challenge (no browser prompt).
	r := httptest.NewRequest(http.MethodGet, "/agents/a1?sort=id", nil)
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fagents%2Fa1%3Fsort%3Did" {
		t.Fatalf("page without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
	for _, target := range []string{"/events", "/tasks/fw1/t-run/tail"} {
		if code, _ := get(t, c, target); code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d, want 401", target, code)
		}
	}
	if code, _ := get(t, c, "/agents", fragmentHeader, "live"); code != http.StatusUnauthorized {
		t.Errorf("fragment without a session: %d, want 401", code)
	}
	w = post(t, c, "/agents/a1/drain", formType, nil)
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("POST without a session: %d, challenge %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	code, body := get(t, c, "/login?next=/tasks")
	if code != http.StatusOK || !strings.Contains(body, `name="secret"`) || !strings.Contains(body, `value="/tasks"`) {
		t.Fatalf("login form: %d\n%s", code, body)
	}

	for _, tt := range []struct {
		name, body string
		code       int
		msg        string
	}{
		{"wrong secret", "principal=ops&secret=nope", 401, "Wrong principal or secret"},
		{"unknown principal", "principal=eve&secret=ops-pw", 401, "Wrong principal or secret"},
		{"no secret", "principal=ops", 400, "enter the secret"},
		{"no principal", "secret=ops-pw", 400, "enter a principal"},
		{"bad encoding", "principal=%zz&secret=x", 400, "cannot read"},
		{"two principals", "principal=ops&principal=eve&secret=ops-pw", 400, "2 values"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := post(t, c, "/login", formType, strings.NewReader(tt.body))
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.msg) || len(w.Result().Cookies()) != 0 {
				t.Fatalf("%d, cookies %v, want %d with %q\n%s", w.Code, w.Result().Cookies(), tt.code, tt.msg, w.Body)
			}
		})
	}
	if w := post(t, c, "/login", formType, strings.NewReader("principal=ops&secret=ops-pw"), "Sec-Fetch-Site", "cross-site"); w.Code != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", w.Code)
	}

	// A good login: the cookie's attributes, then the session works.
	for _, overTLS := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("principal=ops&secret=ops-pw&next=//evil.example/"))
		r.Header.Set("Content-Type", formType)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		cks := w.Result().Cookies()
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" || len(cks) != 1 {
			t.Fatalf("login: %d %q %v", w.Code, w.Header().Get("Location"), cks)
		}
		ck := cks[0]
		if ck.Name != sessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != overTLS ||
			ck.MaxAge <= 0 || !ck.Expires.After(time.Now()) || len(ck.Value) < 40 {
			t.Errorf("session cookie (TLS %v): %+v", overTLS, ck)
		}
		code, body := get(t, c, "/agents/a1", "Cookie", ck.Name+"="+ck.Value)
		if code != http.StatusOK || !strings.Contains(body, `class="principal">ops<`) || !strings.Contains(body, `action="/logout"`) {
			t.Errorf("page with the session: %d", code)
		}
	}
}

func TestCSRF(t *testing.T) {
	c, f := newConsole(t, withLogin)
	cookie, csrf := login(t, c, "ops", "ops-pw")
	_, other := login(t, c, "ops", "ops-pw") // a token of another session

	multipartBody := func(fields ...string) (string, *bytes.Buffer) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "module" {
				fw, _ := mw.CreateFormFile("module", "m.wasm")
				fw.Write([]byte(fields[i+1]))
			} else {
				mw.WriteField(fields[i], fields[i+1])
			}
		}
		mw.Close()
		return mw.FormDataContentType(), &b
	}
	wasm := "\x00asm\x01\x00\x00\x00"
	for _, tt := range []struct {
		name        string
		target, typ string
		body        func() (string, *bytes.Buffer)
		hdr         []string
		code        int
	}{
		{"form without token", "/agents/a1/drain", formType, nil, []string{"Cookie", cookie}, 403},
		{"form with another session's token", "/agents/a1/drain", formType, func() (string, *bytes.Buffer) {
			return formType, bytes.NewBufferString("csrf=" + other)
		}, []string{"Cookie", cookie}, 403},
		{"header with a wrong token", "/agents/a1/drain", formType, nil, []string{"Cookie", cookie, csrfHeader, csrf + "x"}, 403},
		{"token without the cookie", "/agents/a1/drain", formType, nil, []string{csrfHeader, csrf}, 401},
		{"multipart with the token after the module", "/modules", "", func() (string, *bytes.Buffer) {
			return multipartBody("module", wasm, "csrf", csrf)
		}, []string{"Cookie", cookie}, 403},
		{"json body", "/agents/a1/drain", "application/json", func() (string, *bytes.Buffer) {
			return "application/json", bytes.NewBufferString(`{"csrf":"` + csrf + `"}`)
		}, []string{"Cookie", cookie}, 403},
		{"form with the token", "/agents/a1/drain", formType, func() (string, *bytes.Buffer) {
			return formType, bytes.NewBufferString("grace=5&csrf=" + url.QueryEscape(csrf))
		}, []string{"Cookie", cookie}, 303},
		{"multipart with the token first", "/modules", "", func() (string, *bytes.Buffer) {
			return multipartBody("csrf", csrf, "module", wasm)
		}, []string{"Cookie", cookie}, 303},
		{"raw upload with the header", "/modules", "application/wasm", func() (string, *bytes.Buffer) {
			return "application/wasm", bytes.NewBufferString(wasm)
		}, []string{"Cookie", cookie, csrfHeader, csrf}, 303},
	} {
		t.Run(tt.name, func(t *testing.T) {
			typ, body := tt.typ, &bytes.Buffer{}
			if tt.body != nil {
				typ, body = tt.body()
			}
			w := post(t, c, tt.target, typ, body, tt.hdr...)
			if w.Code != tt.code {
				t.Fatalf("%d, want %d\n%s", w.Code, tt.code, w.Body)
			}
		})
	}
	if n := len(f.callsOf(api.OperatorDrainAgent)); n != 1 {
		t.Errorf("%d drains reached the master, want the one with the token", n)
	}
	if n := len(f.modules); n != 3 {
		t.Errorf("%d modules, want the seed and the two uploads with the token", n)
	}
}

func TestLogout(t *testing.T) {
	c, _ := newConsole(t, withLogin)
	cookie, csrf := login(t, c, "ops", "ops-pw")
	if w := post(t, c, "/logout", formType, nil, "Cookie", cookie); w.Code != http.StatusForbidden {
		t.Fatalf("logout without the token: %d, want 403", w.Code)
	}
	w := post(t, c, "/logout", formType, strings.NewReader("csrf="+url.QueryEscape(csrf)), "Cookie", cookie)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", w.Code, w.Header().Get("Location"))
	}
	if cks := w.Result().Cookies(); len(cks) != 1 || cks[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %v", cks)
	}
	if code, _ := get(t, c, "/agents", "Cookie", cookie); code != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %d, want 303 to the form", code)
	}
}

func TestSessions(t *testing.T) {
	s := newSessions(time.Minute, 3, 3)
	now := time.Unix(1e9, 0)
	var tokens []string
	for i := range 5 {
		_, tok := s.create(person("p"), now.Add(time.Duration(i)*time.Second))
		tokens = append(tokens, tok)
	}
	if n := s.count(); n != 3 {
		t.Fatalf("%d sessions held, want at most 3", n)
	}
	for i, tok := range tokens {
		if got := s.get(tok, now.Add(5*time.Second)) != nil; got != (i >= 2) {
			t.Errorf("session %d live %v: the oldest must go first", i, got)
		}
	}
	if s.get(tokens[4], now.Add(2*time.Minute)) != nil {
		t.Error("an expired session is still served")
	}
	if s.get("", now) != nil || s.get("forged", now) != nil {
		t.Error("a session for an empty or forged token")
	}
}

// TestSessionsPerPrincipal checks that logging in again and again pushes
// out only the principal's own sessions. The table used to forget the
// session that would expire first, whoever's, so anyone who could log in
// logged everyone else out by logging in MaxSessions times.
func TestSessionsPerPrincipal(t *testing.T) {
	tests := []struct {
		name       string
		max, per   int
		logins     []string // in order, one second apart
		live, gone []int    // indexes into logins, at the end
		wantCount  int
	}{
		{"one principal floods a table with room", 10, 2, []string{"ops", "x", "x", "x", "x"}, []int{0, 3, 4}, []int{1, 2}, 3},
		{"one principal floods a full table", 3, 3, []string{"ops", "x", "x", "x", "x"}, []int{0, 3, 4}, []int{1, 2}, 3},
		{"a full table loses the largest holder's oldest", 4, 3, []string{"a", "b", "b", "c", "d"}, []int{0, 2, 3, 4}, []int{1}, 4},
		{"the anonymous principal is bound by the table alone", 3, 1, []string{"", "", "", ""}, []int{1, 2, 3}, []int{0}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSessions(time.Minute, tt.max, tt.per)
			now := time.Unix(1e9, 0)
			var tokens []string
			for i, p := range tt.logins {
				_, tok := s.create(person(p), now.Add(time.Duration(i)*time.Second))
				tokens = append(tokens, tok)
			}
			end := now.Add(time.Duration(len(tt.logins)) * time.Second)
			for _, i := range tt.live {
				if s.get(tokens[i], end) == nil {
					t.Errorf("session %d (%q) is gone", i, tt.logins[i])
				}
			}
			for _, i := range tt.gone {
				if s.get(tokens[i], end) != nil {
					t.Errorf("session %d (%q) is still live", i, tt.logins[i])
				}
			}
			if n := s.count(); n != tt.wantCount {
				t.Errorf("%d sessions held, want %d", n, tt.wantCount)
			}
		})
	}

	// Through the login form: 50 logins as viewer leave ops logged in.
	c, _ := newConsole(t, func(cfg *Config) { withLogin(cfg); cfg.MaxSessions = 50; cfg.MaxSessionsPerPrincipal = 10 })
	ops, _ := login(t, c, "ops", "ops-pw")
	for range 50 {
		post(t, c, "/login", formType, strings.NewReader("principal=viewer&secret=pw"))
	}
	if code, _ := get(t, c, "/agents", "Cookie", ops); code != http.StatusOK {
		t.Fatalf("ops's session after 50 logins as viewer: %d", code)
	}
}

func TestSafeNext(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/tasks?state=TASK_RUNNING", "/tasks?state=TASK_RUNNING"},
		{"", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/tasks\r\nSet-Cookie: x", "/"},
		{"/login?next=/x", "/"},
		{"tasks", "/"},
		{"/%2F/evil.example", "/"}, // its path decodes to //evil.example
	} {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDecodeLogin feeds the login form's decoder arbitrary bodies: it
// must never panic, and what it accepts must be within its limits with a
// next that stays on the console.
func FuzzDecodeLogin(f *testing.F) {
	for _, s := range []string{
		"principal=ops&secret=pw&next=%2Ftasks",
		"principal=&secret=",
		"principal=%zz",
		"next=//evil.example&principal=a&secret=b",
		"principal=a&principal=b&secret=c",
		strings.Repeat("a", maxLoginBody+1),
		"principal=a%00b&secret=c",
		"principal=a;secret=b",
	} {
		f.Add(formType, []byte(s))
	}
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\n"))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		form, err := decodeLogin(contentType, body)
		if err != nil {
			return
		}
		if form.Principal == "" || form.Secret == "" || len(form.Principal) > maxPrincipalBytes || len(form.Secret) > maxSecretBytes {
			t.Fatalf("accepted %+v", form)
		}
		if safeNext(form.Next) != form.Next || !strings.HasPrefix(form.Next, "/") || strings.HasPrefix(form.Next, "//") {
			t.Fatalf("next %q leaves the console", form.Next)
		}
	})
}
