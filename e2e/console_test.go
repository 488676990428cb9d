package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// browser is a headless Chromium driven by chromedp, one tab.
type browser struct {
	ctx  context.Context
	base string // the console's URL, http://HOST:PORT
}

// startBrowser starts Debian's chromium. The browser tests fail, never
// skip, when it is missing: .ci/run installs it.
func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the console's browser tests need Chromium: apt-get install -y chromium (.ci/run does): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{ctx: ctx, base: base}
}

// do runs steps within a deadline, failing the test with a screenshot.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(t, "%s: %v", what, err)
	}
}

// follow runs trigger, which navigates, and waits for the new page to
// load, so that later steps do not run in the page that went away.
func (b *browser) follow(t *testing.T, what string, trigger chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		b.fail(t, "%s: %v", what, err)
	}
}

// evalString evaluates a JavaScript expression that yields a string.
func (b *browser) evalString(t *testing.T, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fail(t, "evaluate %s: %v", expr, err)
	}
	return s
}

// text returns an element's text.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail(t, "read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// open navigates to a console path and checks the HTTP status.
func (b *browser) open(t *testing.T, path string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.fail(t, "open %s: %v", path, err)
	}
	if int(resp.Status) != status {
		b.fail(t, "open %s: HTTP %d, want %d", path, resp.Status, status)
	}
}

// waitJS waits until a JavaScript expression is true on the page. A poll
// that a navigation interrupts (its JavaScript context goes away) starts
// again in the new page.
func (b *browser) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			b.fail(t, "wait for %s: timed out", what)
		}
		ctx, cancel := context.WithTimeout(b.ctx, left+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(left)))
		cancel()
		switch {
		case err == nil:
			return
		case strings.Contains(err.Error(), "context with specified id"), strings.Contains(err.Error(), "Execution context was destroyed"):
			time.Sleep(50 * time.Millisecond)
		default:
			b.fail(t, "wait for %s: %v", what, err)
		}
	}
}

// fail saves a screenshot of the page where nothing else cleans it up,
// logs its path and fails the test.
func (b *browser) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	if err != nil {
		t.Fatalf("%s (and no screenshot: %v)", msg, err)
	}
	dir := filepath.Join(os.TempDir(), "mezzo-console-failures")
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".png"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err == nil {
			t.Fatalf("%s; screenshot: %s", msg, filepath.Join(dir, name))
		}
	}
	t.Fatalf("%s (screenshot could not be saved)", msg)
}

// operator makes an operator call on the cluster and decodes the answer.
func (c *devCluster) operator(t *testing.T, typ api.OperatorCallType) *api.OperatorResponse {
	t.Helper()
	status, body := c.post(t, "/api/v1", "application/json", []byte(`{"type":"`+string(typ)+`"}`))
	var resp api.OperatorResponse
	if status != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil {
		t.Fatalf("%s: %d %s", typ, status, body)
	}
	return &resp
}

// TestConsole drives the web console in headless Chromium against a real
// mezzo dev: every page against the operator API, a task appearing and
// changing state without a reload while its stdout is tailed live, a
// module uploaded through the form, and an agent drained and reactivated.
func TestConsole(t *testing.T) {
	c := startDev(t)
	b := startBrowser(t, "http://"+c.addr)

	t.Run("pages agree with the API", func(t *testing.T) { consolePages(t, c, b) })
	t.Run("live task and tail", func(t *testing.T) { consoleLiveTask(t, c, b) })
	t.Run("module upload", func(t *testing.T) { consoleUpload(t, c, b) })
	t.Run("drain", func(t *testing.T) { consoleDrain(t, c, b) })
	t.Run("maintenance schedule", func(t *testing.T) { consoleSchedule(t, c, b) })
}

func consoleSchedule(t *testing.T, c *devCluster, b *browser) {
	b.open(t, "/maintenance", http.StatusOK)
	b.do(t, "write a window", chromedp.SetValue(chromedp.ID("schedule-text"), "db1,10.0.0.7 2030-01-02T03:00:00Z 90m"))
	b.follow(t, "save the schedule", chromedp.Click(chromedp.ID("schedule-save")))
	if got := b.text(t, "#schedule tbody tr"); !strings.Contains(got, "db1, 10.0.0.7") || !strings.Contains(got, "2030-01-02 03:00 UTC") || !strings.Contains(got, "1h30m0s") {
		b.fail(t, "the schedule shows %q", got)
	}
	w := c.operator(t, api.OperatorGetMaintenanceSchedule).GetMaintenanceSchedule.Schedule.Windows
	if len(w) != 1 || len(w[0].MachineIDs) != 2 || w[0].MachineIDs[0].Hostname != "db1" || w[0].MachineIDs[1].IP != "10.0.0.7" ||
		w[0].Unavailability.Duration == nil || w[0].Unavailability.Duration.Nanoseconds != api.Int64(90*time.Minute) {
		b.fail(t, "the console shows the window; the API says %+v", w)
	}
	// A mistake is shown, and the schedule stays.
	b.open(t, "/maintenance", http.StatusOK)
	b.do(t, "write a bad window", chromedp.SetValue(chromedp.ID("schedule-text"), "db1 next-tuesday"))
	b.follow(t, "save the bad schedule", chromedp.Click(chromedp.ID("schedule-save")))
	if got := b.text(t, "main"); !strings.Contains(got, "not an RFC 3339 time") {
		b.fail(t, "a bad schedule: %q", got)
	}
	if w := c.operator(t, api.OperatorGetMaintenanceSchedule).GetMaintenanceSchedule.Schedule.Windows; len(w) != 1 {
		b.fail(t, "a refused schedule changed it: %+v", w)
	}
}

func consolePages(t *testing.T, c *devCluster, b *browser) {
	agents := c.operator(t, api.OperatorGetAgents).GetAgents.Agents
	if len(agents) != 1 {
		t.Fatalf("%d agents, want the dev cluster's one", len(agents))
	}
	agent := agents[0]
	id := agent.AgentInfo.ID.Value

	b.open(t, "/", http.StatusOK)
	b.waitJS(t, "the page to go live", `document.getElementById("status").dataset.state === "live"`)
	if got := b.text(t, `[data-count="agents-active"]`); got != "1" {
		b.fail(t, "overview: %s active agents, the API says 1", got)
	}
	wantCPUs := strconv.FormatFloat(api.Resources(agent.TotalResources).ScalarValue("cpus"), 'f', -1, 64)
	if got := b.text(t, `[data-resource="cpus"] td:nth-of-type(2)`); got != wantCPUs {
		b.fail(t, "overview: %s cpus in total, the API says %s", got, wantCPUs)
	}
	if got := b.text(t, `#masters li[data-master="`+c.addr+`"]`); got != "leader "+c.addr {
		b.fail(t, "overview: master %q, want leader %s", got, c.addr)
	}

	b.open(t, "/agents", http.StatusOK)
	if got := b.text(t, `tr[data-agent="`+id+`"] td:nth-of-type(3)`); got != "active" {
		b.fail(t, "agents: state %q, want active", got)
	}
	b.open(t, "/agents/"+id, http.StatusOK)
	if got := b.text(t, "h1"); got != "Agent "+agent.AgentInfo.Hostname {
		b.fail(t, "agent page title %q", got)
	}

	tasks := c.operator(t, api.OperatorGetTasks).GetTasks
	b.open(t, "/tasks", http.StatusOK)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr[data-task]").length`))
	cancel()
	if want := len(tasks.Tasks) + len(tasks.UnreachableTasks) + len(tasks.CompletedTasks); err != nil || rows != want {
		b.fail(t, "tasks: %d rows, the API knows %d tasks (%v)", rows, want, err)
	}

	// Keyboard: "/" jumps to the filters.
	b.do(t, "press /", chromedp.KeyEvent("/"))
	b.waitJS(t, "the first filter to have the focus", `document.activeElement && document.activeElement.name === "state"`)

	for _, p := range []struct {
		path, title string
	}{{"/frameworks", "Frameworks"}, {"/offers", "Offers"}, {"/roles", "Roles"}, {"/maintenance", "Maintenance"}, {"/modules", "Modules"}} {
		b.open(t, p.path, http.StatusOK)
		if got := b.text(t, "h1"); got != p.title {
			b.fail(t, "%s: title %q", p.path, got)
		}
	}
	b.open(t, "/agents/no-such-agent", http.StatusNotFound)
	b.open(t, "/tasks?page=zero", http.StatusBadRequest)
}

func consoleLiveTask(t *testing.T, c *devCluster, b *browser) {
	gate := filepath.Join(searchable(t, t.TempDir()), "go") // the task runs as nobody
	name := "console-live"
	b.open(t, "/tasks", http.StatusOK)
	b.waitJS(t, "the page to go live", `document.getElementById("status").dataset.state === "live"`)
	// A reload would lose this mark: it proves the page changed in place.
	b.do(t, "mark the page", chromedp.Evaluate[chromedp.Void](`window.mezzoMark = 1`))

	run := exec.Command(mezzoBin, "run", "--master", c.addr, "--name", name, "--command",
		fmt.Sprintf("echo first-line; while [ ! -e %s ]; do sleep 0.05; done; echo second-line", gate))
	run.Dir = repoRoot
	out := &syncBuffer{}
	run.Stdout, run.Stderr = out, out
	run.WaitDelay = 5 * time.Second
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	var runErr error
	exited := make(chan struct{})
	go func() { runErr = run.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = run.Process.Kill()
			<-exited
		}
	})

	row := `[...document.querySelectorAll("tr[data-task]")].find(r => r.textContent.includes("` + name + `"))`
	b.waitJS(t, "the task to appear running without a reload",
		`window.mezzoMark === 1 && (r => r && r.textContent.includes("TASK_RUNNING"))(`+row+`)`)

	// Two clicks to the logs: the task's row, then its output is on the page.
	b.follow(t, "open the task", chromedp.Evaluate[chromedp.Void](row+`.querySelector("a").click()`))
	b.waitJS(t, "stdout to show the first line", `(e => e && e.textContent.includes("first-line"))(document.getElementById("tail-stdout"))`)
	b.do(t, "mark the task page", chromedp.Evaluate[chromedp.Void](`window.mezzoMark = 2`))
	if got := b.text(t, "#task-state"); got != string(api.TaskRunning) {
		b.fail(t, "task page: state %q, want TASK_RUNNING", got)
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "stdout to show the second line live", `document.getElementById("tail-stdout").textContent.includes("second-line")`)
	b.waitJS(t, "the state to become TASK_FINISHED without a reload",
		`window.mezzoMark === 2 && document.getElementById("task-state").textContent === "TASK_FINISHED"`)
	b.waitJS(t, "the tail to end with the task", `document.querySelector("[data-tail]").dataset.ended === "true"`)
	select {
	case <-exited:
		if runErr != nil {
			t.Fatalf("mezzo run: %v\n%s", runErr, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mezzo run did not exit after its task finished\n%s", out)
	}
	// The stdout the browser showed is the task's whole stdout.
	got := b.text(t, "#tail-stdout")
	if got != "first-line\nsecond-line" {
		b.fail(t, "tailed stdout %q", got)
	}
}

func consoleUpload(t *testing.T, c *devCluster, b *browser) {
	wasm := buildModule(t, "./samples/modules/hello")
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(bad, []byte("this is not WebAssembly"), 0o644); err != nil {
		t.Fatal(err)
	}

	b.open(t, "/modules", http.StatusOK)
	b.do(t, "choose an invalid file", chromedp.SetUploadFiles(chromedp.ID("module-file"), []string{bad}))
	b.waitJS(t, "the validation error", `(e => e.className === "error" && e.textContent.includes("invalid module"))(document.getElementById("upload-result"))`)

	b.do(t, "choose the module", chromedp.SetUploadFiles(chromedp.ID("module-file"), []string{wasm}))
	b.waitJS(t, "the upload to succeed", `document.getElementById("upload-result").className === "ok"`)
	b.waitJS(t, "the progress bar to be full", `document.getElementById("upload-progress").value === 100`)
	msg := b.text(t, "#upload-result")

	status, body := c.get(t, "/api/v1/modules")
	var list struct{ Modules []api.ModuleInfo }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Modules) == 0 {
		t.Fatalf("GET /api/v1/modules: %d %s", status, body)
	}
	var found string
	for _, m := range list.Modules {
		if strings.Contains(msg, m.SHA256) {
			found = m.SHA256
		}
	}
	if found == "" {
		b.fail(t, "the console says %q; the store holds %v", msg, list.Modules)
	}
	b.waitJS(t, "the module to be listed", `document.getElementById("m-`+found+`") !== null`)

	// Drag and drop: the smallest valid module (magic and version), dropped
	// on the form as a browser would deliver it.
	b.do(t, "drop a module on the form", chromedp.Evaluate[chromedp.Void](`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])], "empty.wasm"));
		document.getElementById("upload").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
	})()`))
	b.waitJS(t, "the dropped module to be stored", `(e => e.className === "ok" && e.textContent.includes("empty.wasm"))(document.getElementById("upload-result"))`)
	const emptyModule = "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476" // sha256 of those 8 bytes
	b.waitJS(t, "the dropped module to be listed", `document.getElementById("m-`+emptyModule+`") !== null`)
}

func consoleDrain(t *testing.T, c *devCluster, b *browser) {
	id := c.agentIDs(t)[0]
	b.open(t, "/agents/"+id, http.StatusOK)
	b.do(t, "set a grace period", chromedp.SetValue(chromedp.CSS(`input[name="grace"]`), "1"))
	b.follow(t, "drain the agent", chromedp.Click(chromedp.ID("drain")))
	b.waitJS(t, "the agent to be drained", `(e => e && e.textContent === "drained")(document.querySelector('[data-field="state"]'))`)
	agent := c.operator(t, api.OperatorGetAgents).GetAgents.Agents[0]
	if agent.DrainInfo == nil || agent.DrainInfo.State != api.DrainDrained {
		b.fail(t, "the console shows drained; the API says %+v", agent.DrainInfo)
	}
	b.follow(t, "reactivate the agent", chromedp.Click(chromedp.ID("reactivate")))
	b.waitJS(t, "the agent to be active", `(e => e && e.textContent === "active")(document.querySelector('[data-field="state"]'))`)
	if agent := c.operator(t, api.OperatorGetAgents).GetAgents.Agents[0]; agent.DrainInfo != nil || agent.Deactivated {
		b.fail(t, "the console shows active; the API says drain %+v, deactivated %v", agent.DrainInfo, agent.Deactivated)
	}
}

// get fetches a master path and returns the status and answer.
func (c *devCluster) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// TestConsoleSecure drives the console of a master with credentials and
// ACLs in headless Chromium: a visitor is sent to the login form and logs
// in through it; a principal the ACLs do not let drain agents sees no
// drain control, one they do sees it; pages show agents, tasks and
// sandboxes only to principals their view ACLs grant; a POST forged without the session's
// CSRF token is refused and changes nothing; a running task's page shows
// its CPU time and memory (asked of its agent through the master), and
// the finished task's page its final usage; logging out ends the session.
func TestConsoleSecure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		return p
	}
	credentials := write("credentials", "ops ops-secret\nweb web-secret\nguest guest-secret\nagent agent-secret\nmaster master-secret\n")
	agentCredentials := write("agent-credentials", "master master-secret\n")
	acls := write("acls.json", `{
		"register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"type": "ANY"}}],
		"run_tasks": [{"principals": {"values": ["web"]}, "users": {"type": "ANY"}, "native": true}],
		"register_agents": [{"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}],
		"view_agents": [{"principals": {"values": ["ops", "web"]}, "agents": {"type": "ANY"}}],
		"view_frameworks": [{"principals": {"values": ["ops", "web"]}, "users": {"type": "ANY"}}],
		"view_tasks": [{"principals": {"values": ["ops", "web"]}, "users": {"type": "ANY"}}],
		"view_sandboxes": [{"principals": {"values": ["web"]}, "users": {"type": "ANY"}}],
		"drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}]
	}`)
	secretFile := func(p string) string { return write(p+".secret", p+"-secret\n") }
	c := startMaster(t, filepath.Join(dir, "master"), "--credentials", credentials, "--acls", acls, "--principal", "master", "--secret-file", secretFile("master"))
	startAgent(t, c.addr, filepath.Join(dir, "agent"), "--credentials", agentCredentials, "--principal", "agent", "--secret-file", secretFile("agent"))
	var agentID string
	waitFor(t, func() bool {
		out, _, code := c.mezzo(t, "agents", "--principal", "ops", "--secret-file", secretFile("ops"))
		if code != 0 || strings.Count(out, "\n") < 2 {
			return false
		}
		agentID = strings.Fields(strings.Split(out, "\n")[1])[0]
		return true
	}, "the agent to register")

	b := startBrowser(t, "http://"+c.addr)
	login := func(principal, path string, status int) {
		t.Helper()
		b.open(t, path, http.StatusOK) // the login form, after a redirect
		if got := b.text(t, "h1"); got != "Log in" {
			b.fail(t, "without a session: page %q, want the login form", got)
		}
		b.do(t, "fill in the login form",
			chromedp.SetValue(chromedp.ID("principal"), principal),
			chromedp.SetValue(chromedp.ID("secret"), principal+"-secret"))
		b.follow(t, "log in", chromedp.Click(chromedp.ID("login-submit")))
		if got := b.text(t, ".principal"); got != principal {
			b.fail(t, "logged in as %q, want %s", got, principal)
		}
		if got := b.evalString(t, "location.pathname"); got != path {
			b.fail(t, "after logging in: at %s, want %s", got, path)
		}
		b.open(t, path, status)
	}
	rows := func(sel string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			b.fail(t, "count %s: %v", sel, err)
		}
		return n
	}
	hasDrain := func() bool {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#drain").length`))
		if err != nil {
			b.fail(t, "look for the drain control: %v", err)
		}
		return n > 0
	}

	// A wrong secret: the form again, with a message and no session.
	b.open(t, "/login", http.StatusOK)
	b.do(t, "fill in a wrong secret", chromedp.SetValue(chromedp.ID("principal"), "web"), chromedp.SetValue(chromedp.ID("secret"), "wrong"))
	b.follow(t, "log in with a wrong secret", chromedp.Click(chromedp.ID("login-submit")))
	if got := b.text(t, "#login-error"); !strings.Contains(got, "Wrong principal or secret") {
		b.fail(t, "wrong secret: %q", got)
	}

	login("web", "/agents/"+agentID, http.StatusOK)
	if hasDrain() {
		b.fail(t, "web, whom the ACLs do not let drain agents, is offered the drain control")
	}

	// A task of web's: its page shows usage while it runs, then its final
	// usage once it has finished.
	gate := filepath.Join(t.TempDir(), "go")
	name := "console-usage"
	run := exec.Command(mezzoBin, "run", "--master", c.addr, "--principal", "web", "--secret-file", secretFile("web"), "--name", name, "--command",
		fmt.Sprintf("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo busy-done; while [ ! -e %s ]; do sleep 0.05; done", gate))
	run.Dir = repoRoot
	out := &syncBuffer{}
	run.Stdout, run.Stderr = out, out
	run.WaitDelay = 5 * time.Second
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	t.Cleanup(func() { _ = run.Process.Kill() })
	b.open(t, "/tasks", http.StatusOK)
	row := `[...document.querySelectorAll("tr[data-task]")].find(r => r.textContent.includes("` + name + `"))`
	b.waitJS(t, "the task to run", `(r => r && r.textContent.includes("TASK_RUNNING"))(`+row+`)`)
	b.follow(t, "open the task", chromedp.Evaluate[chromedp.Void](row+`.querySelector("a").click()`))
	taskPage := b.evalString(t, "location.pathname")
	b.waitJS(t, "the running task's usage", `(e => e && e.textContent.includes("through the master") && /Memory/.test(e.textContent))(document.getElementById("usage"))`)
	b.waitJS(t, "the busy loop to finish", `document.getElementById("tail-stdout").textContent.includes("busy-done")`)
	b.waitJS(t, "CPU time to show the busy loop", `parseFloat(document.querySelector('#usage [data-field="cpu"]').textContent) > 0`)
	writeFile(t, gate, "")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("mezzo run: %v\n%s", err, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mezzo run did not exit\n%s", out)
	}
	b.waitJS(t, "the finished task's usage from its final status",
		`(e => e && e.textContent.includes("final status") && parseFloat(e.querySelector('[data-field="cpu"]').textContent) > 0)(document.getElementById("usage"))`)

	b.follow(t, "log out", chromedp.Click(chromedp.ID("logout")))
	if got := b.text(t, "h1"); got != "Log in" {
		b.fail(t, "after logging out: page %q, want the login form", got)
	}
	b.open(t, "/agents/"+agentID, http.StatusOK)
	if got := b.text(t, "h1"); got != "Log in" {
		b.fail(t, "the old session after logging out: page %q, want the login form", got)
	}

	// view_sandboxes: web read the task's output; ops, who may see the
	// task but not its sandbox, gets no tail and a 403 for its files.
	login("ops", taskPage, http.StatusOK)
	if rows("#tail-stdout") != 0 || rows("#no-sandbox") != 1 {
		b.fail(t, "ops, whom view_sandboxes does not cover, is shown the task's output")
	}
	b.open(t, taskPage+"/files?path=stdout", http.StatusForbidden)
	b.follow(t, "log out ops", chromedp.Click(chromedp.ID("logout")))

	// view_agents and view_tasks: guest, granted neither, sees no agent
	// and no task where web and ops saw them.
	login("guest", "/agents", http.StatusOK)
	if n := rows("tr[data-agent]"); n != 0 {
		b.fail(t, "guest sees %d agents, want none", n)
	}
	b.open(t, "/tasks", http.StatusOK)
	if n := rows("tr[data-task]"); n != 0 {
		b.fail(t, "guest sees %d tasks, want none", n)
	}
	b.open(t, taskPage, http.StatusNotFound)
	b.open(t, "/agents/"+agentID, http.StatusNotFound)
	b.follow(t, "log out guest", chromedp.Click(chromedp.ID("logout")))

	login("ops", "/agents/"+agentID, http.StatusOK)
	if !hasDrain() {
		b.fail(t, "ops, whom the ACLs let drain agents, has no drain control")
	}
	// A POST forged without the token, from the console's own origin with
	// the session cookie (what a script injected into a page could send):
	// refused, and the agent is not drained.
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/agents/`+agentID+`/drain", {method: "POST", body: new URLSearchParams({grace: "1"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || status != http.StatusForbidden {
		b.fail(t, "forged drain without the CSRF token: HTTP %d (%v), want 403", status, err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.addr+"/api/v1", strings.NewReader(`{"type":"GET_AGENTS"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("ops", "ops-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	agents, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(agents), agentID) || strings.Contains(string(agents), "drain_info") {
		t.Fatalf("after the forged POST: GET_AGENTS %d %s", resp.StatusCode, agents)
	}
	// The real form, with its token, drains.
	b.do(t, "set a grace period", chromedp.SetValue(chromedp.CSS(`input[name="grace"]`), "1"))
	b.follow(t, "drain the agent", chromedp.Click(chromedp.ID("drain")))
	b.waitJS(t, "the agent to be drained", `(e => e && e.textContent === "drained")(document.querySelector('[data-field="state"]'))`)
}

// TestConsoleMasters checks the Overview of a replicated cluster: it
// names the leader and lists the standbys, and after the leader dies the
// new leader's Overview names itself.
func TestConsoleMasters(t *testing.T) {
	c := startReplicated(t, 3)
	overview := func(m *masterProc) string {
		t.Helper()
		resp, err := http.Get("http://" + m.addr + "/")
		if err != nil {
			t.Fatalf("GET / on %s: %v", m.addr, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / on %s: %d %v", m.addr, resp.StatusCode, err)
		}
		return string(body)
	}
	check := func(leader *masterProc, live []*masterProc) {
		t.Helper()
		var page string
		waitFor(t, func() bool {
			page = overview(leader)
			return strings.Contains(page, `<li data-master="`+leader.addr+`"><span class="state ok">leader</span> `+leader.addr)
		}, "the Overview to name "+leader.addr+" the leader")
		for _, m := range live {
			if m != leader && !strings.Contains(page, `<li data-master="`+m.addr+`"><span class="state">standby</span> `+m.addr) {
				t.Errorf("the Overview of %s does not list %s as a standby:\n%s", leader.addr, m.addr, page)
			}
		}
		if strings.Contains(page, "this master runs alone") {
			t.Errorf("the Overview of a replicated cluster says the master runs alone")
		}
	}
	first := c.waitLeader(t)
	check(first, c.masters)
	c.kill(first, syscall.SIGKILL)
	var next *masterProc
	waitFor(t, func() bool { next = c.leader(); return next != nil && next != first }, "a new leader")
	check(next, c.masters) // the dead master stays a member, now a standby
}

// TestConsoleTLS logs in to the console of a master served over TLS: the
// session cookie is Secure there (besides HttpOnly and SameSite=Strict),
// so a browser never sends it over plain HTTP.
func TestConsoleTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "console CA")
	files := ca.WriteFiles(t, dir, "master", []string{"127.0.0.1", "localhost"})
	credentials := filepath.Join(dir, "credentials")
	writeFile(t, credentials, "ops ops-secret\n")
	c := startMaster(t, filepath.Join(dir, "master"), append(tlsArgs(files), "--credentials", credentials)...)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.PEM()) {
		t.Fatal("the CA's PEM holds no certificate")
	}
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.PostForm("https://"+c.addr+"/login", url.Values{"principal": {"ops"}, "secret": {"ops-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cks := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cks) != 1 {
		t.Fatalf("login over TLS: %d, cookies %v", resp.StatusCode, cks)
	}
	if ck := cks[0]; !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over TLS: %+v, want Secure, HttpOnly and SameSite=Strict", ck)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+c.addr+"/agents", nil)
	req.AddCookie(cks[0])
	page, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Errorf("a page with the session over TLS: %d", page.StatusCode)
	}
}
