package webui

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestActions posts each action's form as a permitted principal: the
// right operator call reaches the master and the browser goes back to the
// object's page; bad input is refused with 400 and reaches nothing.
func TestActions(t *testing.T) {
	c, f := newConsole(t, nil)
	for _, tt := range []struct {
		target, body, location string
		call                   api.OperatorCallType
		check                  func(api.OperatorCall) bool
	}{
		{"/frameworks/fw1/teardown", "", "/frameworks/fw1", api.OperatorTeardown,
			func(c api.OperatorCall) bool { return c.Teardown.FrameworkID.Value == "fw1" }},
		{"/tasks/fw1/t-run/kill", "", "/tasks/fw1/t-run", api.OperatorKillTask,
			func(c api.OperatorCall) bool {
				return c.KillTask.FrameworkID.Value == "fw1" && c.KillTask.TaskID.Value == "t-run"
			}},
		{"/roles/weight", "role=web&weight=2.5", "/roles", api.OperatorUpdateWeights,
			func(c api.OperatorCall) bool {
				w := c.UpdateWeights.WeightInfos
				return len(w) == 1 && w[0].Role == "web" && w[0].Weight == 2.5
			}},
		{"/roles/quota", "role=web&guarantees=cpus:1&limits=cpus:4%3Bmem:2048", "/roles", api.OperatorUpdateQuota,
			func(c api.OperatorCall) bool {
				q := c.UpdateQuota.QuotaConfigs
				return len(q) == 1 && q[0].Role == "web" && q[0].Guarantees["cpus"].Value == 1 &&
					q[0].Limits["cpus"].Value == 4 && q[0].Limits["mem"].Value == 2048
			}},
	} {
		t.Run(tt.target, func(t *testing.T) {
			w := post(t, c, tt.target, formType, strings.NewReader(tt.body))
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tt.location {
				t.Fatalf("%d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
			}
			calls := f.callsOf(tt.call)
			if len(calls) != 1 || !tt.check(calls[0]) {
				t.Fatalf("%s calls: %+v", tt.call, calls)
			}
		})
	}
	before := len(f.calls)
	for _, tt := range []struct {
		target, body string
		code         int
	}{
		{"/roles/weight", "role=web&weight=0", 400},
		{"/roles/weight", "role=web&weight=-1", 400},
		{"/roles/weight", "role=web&weight=NaN", 400},
		{"/roles/weight", "role=web&weight=1e9", 400},
		{"/roles/weight", "role=web", 400},
		{"/roles/weight", "weight=1", 400},
		{"/roles/weight", "role=-bad&weight=1", 400},
		{"/roles/weight", "role=a%20b&weight=1", 400},
		{"/roles/quota", "role=web&limits=ports:[1-2]", 400},
		{"/roles/quota", "role=web&limits=cpus:-1", 400},
		{"/roles/quota", "role=web&guarantees=cpus", 400},
		{"/roles/quota", "role=web&limits=cpus:1;mem:2", 400}, // a raw semicolon
		{"/frameworks/nope/teardown", "", 404},
		{"/frameworks/fw0/teardown", "", 404}, // completed
		{"/tasks/nope/t/kill", "", 404},
	} {
		w := post(t, c, tt.target, formType, strings.NewReader(tt.body))
		if w.Code != tt.code {
			t.Errorf("%s %q: %d, want %d\n%s", tt.target, tt.body, w.Code, tt.code, w.Body)
		}
	}
	if len(f.calls) != before {
		t.Errorf("refused actions reached the master: %+v", f.calls[before:])
	}
	// Permitted controls are shown, each form carrying the token.
	for _, tt := range []struct{ page, control string }{
		{"/frameworks/fw1", `action="/frameworks/fw1/teardown"`},
		{"/tasks/fw1/t-run", `action="/tasks/fw1/t-run/kill"`},
		{"/roles", `action="/roles/weight"`},
		{"/roles", `action="/roles/quota"`},
		{"/roles", `value="cpus:1"`},
	} {
		_, body := get(t, c, tt.page)
		if !strings.Contains(body, tt.control) || !strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s: no %s with a token", tt.page, tt.control)
		}
	}
	if _, body := get(t, c, "/tasks/fw0/t-done"); strings.Contains(body, "/kill") {
		t.Error("a finished task offers a kill")
	}
}

// TestUsage checks usage on the task and agent pages: a running task's
// from its agent through the master, a finished task's from its final
// status, and a note when the agent cannot be asked.
func TestUsage(t *testing.T) {
	c, f := newConsole(t, nil)
	for _, tt := range []struct {
		page string
		want []string
	}{
		{"/tasks/fw1/t-run", []string{`data-field="cpu">1.50 s`, `data-field="mem">3.0 MiB`, `data-field="peak">5.0 MiB`, `data-field="fuel">123456<`, "through the master"}},
		{"/tasks/fw0/t-done", []string{`data-field="cpu">7.50 s`, `data-field="peak">2.0 MiB`, `data-field="fuel">99<`, "final status"}},
		{"/tasks/fw1/t-stage", []string{"reports no usage for this task yet"}},
		{"/agents/a1", []string{`data-field="cpu">1.50 s`, `data-field="mem">3.0 MiB`, "<dt>Metered tasks</dt><dd>1</dd>"}},
		{"/agents/a2", []string{"Usage unavailable: Agent is not reachable"}},
	} {
		code, body := get(t, c, tt.page)
		for _, w := range tt.want {
			if code != http.StatusOK || !strings.Contains(body, w) {
				t.Errorf("%s: %d, no %q", tt.page, code, w)
			}
		}
	}
	_ = f
}

// FuzzActionForms posts arbitrary bodies to the console's action forms
// with a valid session: nothing may panic, and every answer is a redirect
// (done) or a 4xx that says what was wrong.
func FuzzActionForms(f *testing.F) {
	for _, s := range []string{
		"role=web&weight=2", "role=web&weight=1e309", "role=web&weight=0x10", "role=%2Fweb&weight=1",
		"role=web&guarantees=cpus:1&limits=cpus:4%3Bmem:2048", "role=web&limits=ports:[1-2]",
		"role=web&limits=cpus:-0", "role=web&limits=cpus:nan", "grace=10&mark_gone=on", "grace=-1",
		"grace=99999999999999999999", "mark_gone=maybe", "role=%zz", "", "role=web&role=ops&weight=1",
	} {
		for _, target := range []string{"/roles/weight", "/roles/quota", "/agents/a1/drain"} {
			f.Add(target, []byte(s))
		}
	}
	c, _ := newConsole(f, nil)
	cookie, csrf := browserSession(f, c)
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		switch target {
		case "/roles/weight", "/roles/quota", "/agents/a1/drain", "/tasks/fw1/t-run/kill":
		default:
			return
		}
		w := post(t, c, target, formType, bytes.NewReader(body), "Cookie", cookie, csrfHeader, csrf)
		if w.Code != http.StatusSeeOther && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("%s %q: %d\n%s", target, body, w.Code, w.Body)
		}
	})
}

// TestDownload checks a sandbox file's download through the console: the
// file as an attachment, and paths that are missing or leave the sandbox
// refused.
func TestDownload(t *testing.T) {
	c, _ := newConsole(t, nil)
	r := httptest.NewRequest(http.MethodGet, "/tasks/fw1/t-run/download?path=stdout", nil)
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.String() != "hello from stdout\n" || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q %v", w.Code, w.Body, w.Header())
	}
	for _, tt := range []struct {
		target string
		code   int
	}{
		{"/tasks/fw1/t-run/download", 400},
		{"/tasks/fw1/t-run/download?path=../../fw0", 400},
		{"/tasks/fw1/t-run/download?path=nope", 404},
		{"/tasks/fw1/nope/download?path=stdout", 404},
	} {
		if code, body := get(t, c, tt.target); code != tt.code {
			t.Errorf("%s: %d, want %d: %s", tt.target, code, tt.code, body)
		}
	}
}
