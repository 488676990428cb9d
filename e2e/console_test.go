package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mezzo-cluster/mezzo/api"
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
	if got := b.text(t, `#h-master + dl dd`); !strings.Contains(got, c.addr) {
		b.fail(t, "overview: leader %q, want %s", got, c.addr)
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
