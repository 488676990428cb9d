package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/agent/files"
	"github.com/mezzo-cluster/mezzo/api"
)

// newConsole returns a console over a seeded fake.
func newConsole(t testing.TB, mutate func(*Config)) (*Console, *fakeCluster) {
	t.Helper()
	f := newFake()
	seed(f)
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// get serves one request and returns the status and body.
func get(t *testing.T, h http.Handler, target string, header ...string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestPages(t *testing.T) {
	c, _ := newConsole(t, nil)
	tests := []struct {
		name, path string
		want       []string
	}{
		{"overview", "/", []string{`<span class="state ok">leader</span> m1:5050`, `<span class="state">standby</span> m2:5050`, "Serving this page", "m1:5050", `data-count="agents-active">1<`, `data-count="agents-draining">1<`,
			`data-count="TASK_RUNNING">1<`, `data-count="TASK_FAILED">1<`, `data-resource="cpus"`, "<svg class=\"bar\"", "1 offers outstanding"}},
		{"agents", "/agents", []string{"host-one:5051", "host-two:5051", "draining", "1 / 4"}},
		{"agents by state", "/agents?state=draining", []string{"host-two"}},
		{"agent", "/agents/a1", []string{"host-one", "rack:r1", "server", "worker", `action="/agents/a1/drain"`}},
		{"draining agent offers reactivation", "/agents/a2", []string{`action="/agents/a2/reactivate"`, "(grace 30s), to be marked gone"}},
		{"frameworks", "/frameworks", []string{"web", "batch", "connected", "completed"}},
		{"framework", "/frameworks/fw1", []string{"alice", "role web is at its quota limit", "o1", "server", "Dominant share", "16.7 % of cpus"}},
		{"tasks", "/tasks", []string{"server", "worker", "report", "TASK_RUNNING", "TASK_FAILED"}},
		{"tasks by state", "/tasks?state=TASK_RUNNING", []string{"server"}},
		{"tasks by name", "/tasks?name=WORK", []string{"worker"}},
		{"tasks by framework and agent", "/tasks?framework=fw0&agent=a2", []string{"report"}},
		{"task", "/tasks/fw1/t-run", []string{"server", "status of t-run", "REASON_COMMAND_EXECUTOR_FAILED", `data-tail="/tasks/fw1/t-run/tail"`}},
		{"sandbox", "/tasks/fw1/t-run/files", []string{"stdout", "stderr", "?path=stdout"}},
		{"sandbox file", "/tasks/fw1/t-run/files?path=stdout", []string{"hello from stdout", "Download", "/tasks/fw1/t-run/download?path=stdout"}},
		{"offers", "/offers", []string{"o1", "host-one", "web"}},
		{"roles", "/roles", []string{"web", "cpus: – / 1 / 1"}},
		{"maintenance", "/maintenance", []string{"host-two", "draining", "grace 30s, mark gone", "host-one"}},
		{"modules", "/modules", []string{strings.Repeat("ab", 32), "2.5 MiB", `id="upload"`}},
		{"static css", "/static/console.css", []string{"prefers-color-scheme"}},
		{"static js", "/static/console.js", []string{"EventSource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, c, tt.path)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", tt.path, code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in\n%s", tt.path, w, body)
				}
			}
		})
	}
}

// TestFiltersExclude checks that filters leave rows out, not only that
// the wanted rows are in.
func TestFiltersExclude(t *testing.T) {
	c, _ := newConsole(t, nil)
	tests := []struct{ path, absent string }{
		{"/tasks?state=TASK_RUNNING", ">worker<"},
		{"/tasks?name=serv", ">report<"},
		{"/tasks?framework=fw0", ">server<"},
		{"/agents?state=draining", "host-one"},
		{"/frameworks?state=completed", ">web<"},
	}
	for _, tt := range tests {
		_, body := get(t, c, tt.path)
		if strings.Contains(body, tt.absent) {
			t.Errorf("GET %s shows %q", tt.path, tt.absent)
		}
	}
}

func TestBadInput(t *testing.T) {
	c, _ := newConsole(t, nil)
	tests := []struct {
		path string
		code int
	}{
		{"/agents/nope", 404},
		{"/frameworks/nope", 404},
		{"/tasks/fw1/nope", 404},
		{"/tasks/nope/t-run/files", 404},
		{"/tasks/fw1/nope/tail", 404},
		{"/no/such/page", 404},
		{"/tasks?page=0", 400},
		{"/tasks?page=x", 400},
		{"/tasks?per=100000", 400},
		{"/tasks?sort=color", 400},
		{"/tasks?order=up", 400},
		{"/tasks?state=TASK_BOGUS", 400},
		{"/tasks?sort=name&sort=id", 400},
		{"/tasks?name=" + strings.Repeat("x", 300), 400},
		{"/tasks?name=%ff", 400},
		{"/agents?state=sleepy", 400},
		{"/frameworks?state=x", 400},
		{"/agents/a1?page=-1", 400},
		{"/tasks/fw1/t-run/files?path=../../etc/passwd", 400},
		{"/tasks/fw1/t-run/files?path=/etc", 400},
		{"/tasks/fw1/t-run/files?path=a/./b", 400},
		{"/tasks/fw1/t-run/files?path=stdout&offset=-5", 400},
		{"/tasks/fw1/t-run/files?path=missing", 404},
		{"/modules?uploaded=xyz", 400},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, c, tt.path)
			if code != tt.code {
				t.Fatalf("GET %s: %d, want %d\n%s", tt.path, code, tt.code, body)
			}
			if !strings.Contains(body, "</html>") && !strings.HasSuffix(tt.path, "/tail") {
				t.Errorf("GET %s: the error is not a page:\n%s", tt.path, body)
			}
		})
	}
}

func TestFragment(t *testing.T) {
	c, _ := newConsole(t, nil)
	code, body := get(t, c, "/tasks?state=TASK_RUNNING", fragmentHeader, "live")
	if code != http.StatusOK || strings.Contains(body, "<html") || strings.Contains(body, "<nav aria-label=\"Main\"") || !strings.Contains(body, "server") {
		t.Fatalf("fragment: %d\n%s", code, body)
	}
	// The filters stay out of the live region, so that a refresh never
	// wipes what someone is typing into them.
	if strings.Contains(body, `class="filters"`) {
		t.Fatalf("the fragment holds the filter form:\n%s", body)
	}
	code, body = get(t, c, "/tasks")
	if !strings.Contains(body, `data-live="task"`) {
		t.Fatalf("the tasks page does not say which changes refresh it:\n%s", body)
	}
}

// TestPagination checks that thousands of tasks are sorted and cut on the
// server: a page holds exactly its rows, in order.
func TestPagination(t *testing.T) {
	c, f := newConsole(t, nil)
	var tasks []api.Task
	for i := range 3000 {
		tasks = append(tasks, task("fw1", fmt.Sprintf("t%04d", i), fmt.Sprintf("job-%04d", i), "a1", api.TaskRunning, float64(i)))
	}
	f.state.GetTasks = &api.GetTasksResponse{Tasks: tasks}
	rowName := regexp.MustCompile(`>(job-\d{4})</a>`)
	tests := []struct {
		query       string
		first, last string
		n           int
	}{
		{"sort=name&per=50&page=3", "job-0100", "job-0149", 50},
		{"sort=name&order=desc&per=10", "job-2999", "job-2990", 10},
		{"per=100&page=2", "job-2899", "job-2800", 100}, // default: latest update first
		{"sort=name&per=500&page=7", "job-2500", "job-2999", 500},
		{"sort=name&per=500&page=99", "job-2500", "job-2999", 500}, // past the end: the last page
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, body := get(t, c, "/tasks?"+tt.query)
			if code != http.StatusOK {
				t.Fatalf("%d\n%s", code, body)
			}
			names := rowName.FindAllStringSubmatch(body, -1)
			if len(names) != tt.n || names[0][1] != tt.first || names[len(names)-1][1] != tt.last {
				t.Fatalf("%d rows from %v to %v, want %d from %s to %s", len(names), names[0][1], names[len(names)-1][1], tt.n, tt.first, tt.last)
			}
		})
	}
	_, body := get(t, c, "/tasks?sort=name&per=50&page=3")
	for _, link := range []string{`href="/tasks?page=2&amp;per=50&amp;sort=name"`, `href="/tasks?page=4&amp;per=50&amp;sort=name"`, "Page 3 of 60"} {
		if !strings.Contains(body, link) {
			t.Errorf("no %s on page 3", link)
		}
	}
}

// browserSession opens a page as a browser would and returns the session
// cookie the console set and the CSRF token the page carries.
func browserSession(t testing.TB, h http.Handler, header ...string) (cookie, csrf string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/modules", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	cookie = r.Header.Get("Cookie") // a browser that has a session keeps it
	for _, ck := range w.Result().Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if m := regexp.MustCompile(`<meta name="mezzo-csrf" content="([^"]+)">`).FindStringSubmatch(w.Body.String()); m != nil {
		csrf = m[1]
	}
	if cookie == "" || csrf == "" {
		t.Fatalf("no session from GET /modules: %d cookie %q csrf %q\n%s", w.Code, cookie, csrf, w.Body)
	}
	return cookie, csrf
}

// post sends a form or body as a browser on a console page would: with
// same-origin headers and an anonymous session's cookie and CSRF token,
// unless hdr says otherwise (an empty value removes a header).
func post(t *testing.T, h http.Handler, target, contentType string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, body)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if c, ok := h.(*Console); ok && c.cfg.Login == nil {
		cookie, csrf := browserSession(t, h)
		r.Header.Set("Cookie", cookie)
		r.Header.Set(csrfHeader, csrf)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
		} else {
			r.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const formType = "application/x-www-form-urlencoded"

func TestDrain(t *testing.T) {
	c, f := newConsole(t, nil)
	w := post(t, c, "/agents/a1/drain", formType, strings.NewReader("grace=30&mark_gone=on"))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/agents/a1" {
		t.Fatalf("drain: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	calls := f.callsOf(api.OperatorDrainAgent)
	if len(calls) != 1 {
		t.Fatalf("%d DRAIN_AGENT calls, want 1", len(calls))
	}
	d := calls[0].DrainAgent
	if d.AgentID.Value != "a1" || !d.MarkGone || d.MaxGracePeriod == nil || d.MaxGracePeriod.Seconds != 30 {
		t.Fatalf("DRAIN_AGENT %+v", d)
	}
	w = post(t, c, "/agents/a2/reactivate", formType, nil)
	if w.Code != http.StatusSeeOther || len(f.callsOf(api.OperatorReactivateAgent)) != 1 {
		t.Fatalf("reactivate: %d, calls %v", w.Code, f.callsOf(api.OperatorReactivateAgent))
	}

	bad := []struct {
		name, target, body string
		hdr                []string
		code               int
	}{
		{"negative grace", "/agents/a1/drain", "grace=-1", nil, 400},
		{"grace not a number", "/agents/a1/drain", "grace=soon", nil, 400},
		{"grace too long", "/agents/a1/drain", "grace=99999999", nil, 400},
		{"mark_gone garbage", "/agents/a1/drain", "mark_gone=maybe", nil, 400},
		{"unknown agent", "/agents/zz/drain", "", nil, 404},
		{"unknown agent reactivated", "/agents/zz/reactivate", "", nil, 404},
		{"cross-site", "/agents/a1/drain", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			w := post(t, c, tt.target, formType, strings.NewReader(tt.body), tt.hdr...)
			if w.Code != tt.code {
				t.Fatalf("%d, want %d\n%s", w.Code, tt.code, w.Body)
			}
		})
	}
	if n := len(f.callsOf(api.OperatorDrainAgent)); n != 1 {
		t.Fatalf("refused drains reached the master: %d calls", n)
	}
}

// readOnly is a principal allowed nothing but reading.
type readOnly struct{}

func (readOnly) Name() string                { return "viewer" }
func (readOnly) Allowed(Action, string) bool { return false }

// TestPrincipal checks that a principal without permissions sees no
// action's controls and is refused each action with 403 naming the
// permission, none reaching the master.
func TestPrincipal(t *testing.T) {
	c, f := newConsole(t, func(cfg *Config) {
		cfg.Login = func(_ context.Context, name, secret string) (Principal, error) {
			if name == "viewer" && secret == "pw" {
				return readOnly{}, nil
			}
			return nil, fmt.Errorf("wrong")
		}
	})
	cookie, csrf := login(t, c, "viewer", "pw")
	as := []string{"Cookie", cookie}
	for _, tt := range []struct{ page, control string }{
		{"/agents/a1", "/drain"},
		{"/maintenance", "/drain"},
		{"/modules", `id="upload"`},
		{"/modules", "/delete"},
		{"/frameworks/fw1", "/teardown"},
		{"/tasks/fw1/t-run", "/kill"},
		{"/tasks/fw1/t-run", "/tail"},
		{"/roles", "/roles/weight"},
		{"/roles", "/roles/quota"},
	} {
		code, body := get(t, c, tt.page, as...)
		if code != http.StatusOK || strings.Contains(body, tt.control) || !strings.Contains(body, "viewer") {
			t.Errorf("%s: %d, %s shown or name missing", tt.page, code, tt.control)
		}
	}
	for _, tt := range []struct{ target, body, perm string }{
		{"/agents/a1/drain", "", `may not drain_agents ("host-one")`},
		{"/agents/a2/reactivate", "", "may not drain_agents"},
		{"/frameworks/fw1/teardown", "", `may not teardown_frameworks ("web-fw")`},
		{"/tasks/fw1/t-run/kill", "", `may not kill_tasks ("web-fw")`},
		{"/modules/" + strings.Repeat("ab", 32) + "/delete", "", "may not delete_modules"},
		{"/roles/weight", "role=web&weight=3", `may not update_weights ("web")`},
		{"/roles/quota", "role=web&limits=cpus:2", `may not update_quota ("web")`},
	} {
		w := post(t, c, tt.target, formType, strings.NewReader(tt.body), "Cookie", cookie, csrfHeader, csrf)
		if w.Code != http.StatusForbidden || !strings.Contains(html.UnescapeString(w.Body.String()), tt.perm) {
			t.Errorf("%s: %d, want 403 naming %q\n%s", tt.target, w.Code, tt.perm, w.Body)
		}
	}
	if code, _ := get(t, c, "/tasks/fw1/t-run/files?path=stdout", as...); code != http.StatusForbidden {
		t.Errorf("sandbox files: %d, want 403", code)
	}
	if code, _ := get(t, c, "/tasks/fw1/t-run/tail", as...); code != http.StatusForbidden {
		t.Errorf("live tail: %d, want 403", code)
	}
	if len(f.calls) != 0 {
		t.Fatalf("refused actions reached the master: %+v", f.calls)
	}
}

// TestDeleteModule deletes a module from its row on the Modules page: the
// page shows a form per module carrying the token, the form deletes it and
// goes back to the page, and a module deleted already (404) or a
// malformed name (400) is refused with an error page.
func TestDeleteModule(t *testing.T) {
	c, f := newConsole(t, nil)
	sha := strings.Repeat("ab", 32)
	if _, body := get(t, c, "/modules"); !strings.Contains(body, `action="/modules/`+sha+`/delete"`) || !strings.Contains(body, `name="csrf"`) {
		t.Fatalf("the Modules page has no delete form with a token for %s:\n%s", sha, body)
	}
	w := post(t, c, "/modules/"+sha+"/delete", formType, strings.NewReader(""))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/modules" {
		t.Fatalf("delete: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if mods, _ := f.Modules(context.Background()); len(mods) != 0 {
		t.Fatalf("modules after the deletion: %+v", mods)
	}
	for _, tt := range []struct {
		target string
		code   int
	}{
		{"/modules/" + sha + "/delete", http.StatusNotFound},
		{"/modules/" + strings.ToUpper(sha) + "/delete", http.StatusBadRequest},
		{"/modules/not-a-hash/delete", http.StatusBadRequest},
	} {
		if w := post(t, c, tt.target, formType, strings.NewReader("")); w.Code != tt.code {
			t.Errorf("%s: %d, want %d\n%s", tt.target, w.Code, tt.code, w.Body)
		}
	}
}

func TestUpload(t *testing.T) {
	c, f := newConsole(t, func(cfg *Config) { cfg.MaxUploadBytes = 1 << 10 })
	wasm := "\x00asm\x01\x00\x00\x00"
	w := post(t, c, "/modules", "application/wasm", strings.NewReader(wasm), "Accept", "application/json")
	var res uploadResult
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil || res.Module == nil || res.Module.Size != int64(len(wasm)) {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	w = post(t, c, "/modules", "application/wasm", strings.NewReader("not wasm"), "Accept", "application/json")
	if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &res) != nil || !strings.Contains(res.Error, "bad magic") {
		t.Fatalf("invalid module: %d %s", w.Code, w.Body)
	}
	w = post(t, c, "/modules", "application/wasm", strings.NewReader(strings.Repeat("x", 2<<10)), "Accept", "application/json")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %d %s", w.Code, w.Body)
	}
	w = post(t, c, "/modules", "application/wasm", strings.NewReader(""), "Accept", "application/json")
	if w.Code != http.StatusBadRequest {
		t.Fatalf("empty: %d %s", w.Code, w.Body)
	}

	// Without JavaScript: a multipart form, answered with a redirect.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("module", "tiny.wasm")
	fw.Write([]byte(wasm + "\x00"))
	mw.Close()
	w = post(t, c, "/modules", mw.FormDataContentType(), &buf)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/modules?uploaded=") {
		t.Fatalf("form upload: %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if n := len(f.modules); n != 3 {
		t.Fatalf("%d modules stored, want 3 (the seeded one and two uploads)", n)
	}
	w = post(t, c, "/modules", "application/wasm", strings.NewReader(wasm), "Sec-Fetch-Site", "cross-site")
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site upload: %d", w.Code)
	}
}

func TestFilesAgentGone(t *testing.T) {
	c, f := newConsole(t, nil)
	f.state.GetTasks.Tasks[0].AgentID.Value = "gone"
	if code, body := get(t, c, "/tasks/fw1/t-run/files"); code != http.StatusNotFound {
		t.Fatalf("agent gone: %d\n%s", code, body)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"upload", func(c *Config) { c.MaxUploadBytes = 0 }},
		{"page size", func(c *Config) { c.PageSize = maxPerPage + 1 }},
		{"history", func(c *Config) { c.SampleEvery = c.History * 2 }},
		{"tail", func(c *Config) { c.TailEvery = 0 }},
		{"heartbeat", func(c *Config) { c.Heartbeat = -1 }},
		{"resubscribe", func(c *Config) { c.Resubscribe = 0 }},
		{"sessions per principal", func(c *Config) { c.MaxSessionsPerPrincipal = 0 }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.mutate(&cfg)
		if _, err := New(newFake(), cfg); err == nil {
			t.Errorf("%s: New accepted a bad config", tt.name)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// queryOf parses a raw query for tests.
func queryOf(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var _ = context.Background

// TestFilesLargeAnswers checks that the sandbox view shows what the agent
// answers however large its JSON is. The agent lists up to 10,000 entries
// and reads 64 KiB windows, and JSON escapes a byte that is not UTF-8, <,
// > and & as six bytes each: a bound on the answer's text smaller than
// that worst case cut such answers short and made the view a 502.
func TestFilesLargeAnswers(t *testing.T) {
	const dir = "/fw1/t-run/runs/latest/"
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  []string
	}{
		{"a directory of 4,000 long names", func() map[string]string {
			m := map[string]string{}
			for i := range 4000 {
				m[dir+fmt.Sprintf("out/part-%05d-of-a-rather-long-output-file-name.json", i)] = "x"
			}
			return m
		}(), "out", []string{"part-00000-of-a", "part-03999-of-a"}},
		{"a window of bytes that are not UTF-8", map[string]string{dir + "core.bin": strings.Repeat("\xff", readWindow)}, "core.bin", []string{"\ufffd\ufffd"}},
		{"a window of HTML", map[string]string{dir + "page.html": strings.Repeat("<b>&</b>", readWindow/8)}, "page.html", []string{"&lt;b&gt;&amp;&lt;/b&gt;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newConsole(t, nil)
			maps.Copy(f.files, tt.files)
			code, body := get(t, c, "/tasks/fw1/t-run/files?path="+tt.path)
			if code != http.StatusOK {
				t.Fatalf("%d\n%.500s", code, body[strings.Index(body, "<main"):])
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("no %q on the page", w)
				}
			}
		})
	}
}

// TestFilesListingTruncated checks that a directory with more entries than
// the agent lists says so on the page (the agent's
// Mezzo-Listing-Truncated header), and that one the agent lists in full
// does not.
func TestFilesListingTruncated(t *testing.T) {
	for _, tt := range []struct {
		limit int
		want  bool
	}{{0, false}, {2, true}} {
		c, f := newConsole(t, nil)
		f.browseLimit = tt.limit
		for _, n := range []string{"a", "b", "c"} {
			f.files["/fw1/t-run/runs/latest/d/"+n] = n
		}
		code, body := get(t, c, "/tasks/fw1/t-run/files?path=d")
		if code != http.StatusOK {
			t.Fatalf("agent limit %d: %d", tt.limit, code)
		}
		if got := strings.Contains(body, "Listing truncated"); got != tt.want {
			t.Errorf("agent limit %d, 3 entries: truncation noted %v, want %v", tt.limit, got, tt.want)
		}
	}
}

// TestTaskSortKeys checks that each sort key of the task list orders by
// its own column first. sort=id had no case of its own and fell through
// to the tie-break, framework ID first: the ID column was out of order
// across frameworks.
func TestTaskSortKeys(t *testing.T) {
	c, f := newConsole(t, nil)
	a := task("fw-a", "zz-task", "b-name", "a2", api.TaskRunning, 1)
	b := task("fw-b", "aa-task", "a-name", "a1", api.TaskRunning, 2)
	f.state.GetTasks.Tasks = []api.Task{a, b}
	f.state.GetTasks.CompletedTasks = nil
	for _, tt := range []struct {
		sort        string
		first, then string // task IDs in ascending order
	}{
		{"id", "aa-task", "zz-task"},
		{"name", "aa-task", "zz-task"},
		{"framework", "zz-task", "aa-task"},
		{"agent", "aa-task", "zz-task"},
		{"updated", "zz-task", "aa-task"},
	} {
		for _, order := range []string{"asc", "desc"} {
			_, body := get(t, c, "/tasks?sort="+tt.sort+"&order="+order)
			first, then := tt.first, tt.then
			if order == "desc" {
				first, then = then, first
			}
			if i, j := strings.Index(body, first), strings.Index(body, then); i < 0 || j < 0 || i > j {
				t.Errorf("sort=%s&order=%s: %s at %d, %s at %d; want %s first", tt.sort, order, first, i, then, j, first)
			}
		}
	}
}

// TestFilesFileOrDirectory checks that the sandbox view shows a file's
// contents and a directory's listing, telling them apart by the path the
// agent lists, not its last element: a directory holding one file of its
// own name (logs/logs) was taken for a file and shown as one.
func TestFilesFileOrDirectory(t *testing.T) {
	const dir = "/fw1/t-run/runs/latest/"
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  string
	}{
		{"a file", map[string]string{dir + "logs": "log line\n"}, "logs", `<pre class="file"`},
		{"a directory of one file of its name", map[string]string{dir + "logs/logs": "log line\n"}, "logs", "?path=logs%2Flogs"},
		{"a directory of one file of another name", map[string]string{dir + "logs/today": "log line\n"}, "logs", "?path=logs%2Ftoday"},
		{"that file", map[string]string{dir + "logs/logs": "log line\n"}, "logs/logs", `<pre class="file"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newConsole(t, nil)
			maps.Copy(f.files, tt.files)
			code, body := get(t, c, "/tasks/fw1/t-run/files?path="+url.QueryEscape(tt.path))
			if code != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Fatalf("%d, no %q in\n%s", code, tt.want, body[strings.Index(body, "<main"):])
			}
		})
	}
}

// TestFilesOddNames browses a sandbox served by the agent's real files
// API and follows every link of its listing, then each file's Download
// link: each must show the file listed. A name that is not valid UTF-8
// (which the agent lists with U+FFFD in its path and its bytes in
// path_query) led to a 404, and so did any name the console escapes,
// '%', '+', ' ' or non-ASCII: its query helper escaped the name and the
// template escaped it again, and the agent decoded it only once.
func TestFilesOddNames(t *testing.T) {
	names := []string{"plain", "my file", "a+b", "a%2eb", "%25", "caf\u00e9", "\xff\xfe.log", "caf\xe9", "dir \xff/in", "dir \xff/de\xefper/deep"}
	found := followSandbox(t, names)
	for _, n := range names {
		if !found[n] {
			t.Errorf("%q: no link of the listing led to it", n)
		}
	}
}

// FuzzSandboxNames makes a file of an arbitrary name in a sandbox the
// agent's real files API serves, and checks that the console's listing
// links to it, and its page and Download link show it. Names the agent
// refuses whatever their listing (a backslash) are skipped.
func FuzzSandboxNames(f *testing.F) {
	for _, s := range []string{"plain", "my file", "a+b&c=d#e", "a%2eb", "%25", "caf\u00e9", "\xff\xfe.log", "<b>\"'", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\\\x00") {
			return
		}
		if !followSandbox(t, []string{name})[name] {
			t.Fatalf("%q: no link of the listing led to it", name)
		}
	})
}

// followSandbox makes the files names, each holding its name quoted, in
// the sandbox of task t-run, served by the agent's real files API, and
// follows every link of the console's listing of it, depth first. Each
// file's page and Download link must show the file; it returns the names
// of the files reached.
func followSandbox(t *testing.T, names []string) map[string]bool {
	t.Helper()
	const sandbox = "fw1/t-run/runs/latest"
	root := t.TempDir()
	for _, n := range names {
		p := filepath.Join(root, sandbox, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("I am "+strconv.QuoteToASCII(n)), 0o644); err != nil {
			t.Skipf("the file system refuses the name %q: %v", n, err)
		}
	}
	c, f := newConsole(t, nil)
	f.agentFiles = files.NewHandler(root, files.TopDirRoots())
	link := regexp.MustCompile(`href="(/tasks/fw1/t-run/(?:files|download)\?path=[^"]*)"`)
	found := map[string]bool{}
	var follow func(page string)
	follow = func(page string) {
		code, body := get(t, c, page)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", page, code, body)
			return
		}
		_, data, isFile := strings.Cut(body, `<pre class="file"`)
		if !isFile {
			_, listing, _ := strings.Cut(body, "<tbody")
			for _, m := range link.FindAllStringSubmatch(listing, -1) {
				follow(html.UnescapeString(m[1]))
			}
			return
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(page, "/tasks/fw1/t-run/files?"))
		name := q.Get("path")
		want := "I am " + strconv.QuoteToASCII(name)
		if !strings.Contains(html.UnescapeString(data), want) {
			t.Errorf("%s shows no %q", page, want)
			return
		}
		dl := ""
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			if strings.Contains(m[1], "/download?") {
				dl = html.UnescapeString(m[1])
			}
		}
		if dl == "" {
			t.Errorf("%s has no Download link", page)
			return
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, dl, nil))
		if w.Code != http.StatusOK || w.Body.String() != want {
			t.Errorf("download %s: %d %q, want %q", dl, w.Code, w.Body, want)
			return
		}
		found[name] = true
	}
	follow("/tasks/fw1/t-run/files")
	return found
}

// TestStandbyBanner checks that every page served by a master that does
// not lead says so, and what that means — its pages and live updates come
// from its replica, which holds no offers — and links to the leader when
// one is known. Its views come from its replica and its changes are
// refused, and the console showed them as the cluster's without a word.
func TestStandbyBanner(t *testing.T) {
	tests := []struct {
		name    string
		standby bool
		leader  string
		want    string // "" for no banner
	}{
		{"leader", false, "", ""},
		{"standby with a leader", true, "m2:5050", `The leader is <a href="//m2:5050/">m2:5050</a>.`},
		{"standby without a leader", true, "", "No leader is known now."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newConsole(t, nil)
			f.standby, f.leader = tt.standby, tt.leader
			for _, page := range []string{"/", "/tasks", "/agents/nope"} {
				_, body := get(t, c, page)
				if banner := strings.Contains(body, `id="standby"`); banner != (tt.want != "") || !strings.Contains(body, tt.want) {
					t.Errorf("%s: banner %v, want %q", page, banner, tt.want)
				}
				if says := "live updates included, comes from its copy of the registry, which may be a moment behind the leader's and holds no offers"; tt.standby && !strings.Contains(body, says) {
					t.Errorf("%s: the banner does not say %q", page, says)
				}
			}
		})
	}
}
