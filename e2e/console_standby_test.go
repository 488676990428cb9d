package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestConsoleOnStandby drives the console of a standby of three real
// masters with a real agent, as a person who reached a standby would:
// the sandbox of a finished task is browsed, and an agent's page shows
// its usage, through the agent as on the leader; uploading or deleting
// a module is refused at once naming the leader, and a refused upload
// leaves the standby's module list as it was. The standby used to answer
// the file browser 404 "Agent cannot be found" (its memory holds no
// agents), and to store a refused upload in its own store, listing it as
// uploaded though the registry never recorded it.
func TestConsoleOnStandby(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	sha := pushModule(t, leader.addr, buildModule(t, "./samples/modules/hello"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, mezzoBin, "run", "--master", masters, "--name", "browsed", sha, "--", "world").CombinedOutput(); err != nil {
		t.Fatalf("mezzo run: %v\n%s", err, out)
	}
	var standby *masterProc
	for _, m := range c.masters {
		if m != leader {
			standby = m
			break
		}
	}
	var task api.Task
	waitFor(t, func() bool {
		tasks := opTasks(standby.addr)
		if tasks == nil || len(tasks.CompletedTasks) != 1 {
			return false
		}
		task = tasks.CompletedTasks[0]
		return true
	}, "the standby's replica to hold the finished task")

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	base := "http://" + standby.addr
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	taskPath := "/tasks/" + url.PathEscape(task.FrameworkID.Value) + "/" + url.PathEscape(task.TaskID.Value)
	views := []struct {
		path string
		want string
	}{
		{taskPath + "/files", "stdout"},
		{taskPath + "/files?path=stdout", "world"},
		{"/agents/" + url.PathEscape(task.AgentID.Value), `id="standby"`},
	}
	for _, v := range views {
		code, body := get(v.path)
		if code != http.StatusOK || !strings.Contains(body, v.want) || strings.Contains(body, "cannot be found") {
			t.Errorf("standby's console GET %s: %d, want 200 showing %q, not \"cannot be found\":\n%s", v.path, code, v.want, body)
		}
	}

	_, page := get("/modules")
	m := regexp.MustCompile(`<meta name="mezzo-csrf" content="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the standby's Modules page:\n%s", page)
	}
	post := func(path, contentType string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Mezzo-CSRF", m[1])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	wantRefusal := "the leader is " + leader.addr
	changes := []struct {
		name string
		path string
		body string
	}{
		{"upload", "/modules", "\x00asm\x01\x00\x00\x00"},
		{"delete", "/modules/" + sha + "/delete", ""},
	}
	for _, ch := range changes {
		start := time.Now()
		code, body := post(ch.path, "application/wasm", strings.NewReader(ch.body))
		if code != http.StatusServiceUnavailable || !strings.Contains(body, wantRefusal) || time.Since(start) > 5*time.Second {
			t.Errorf("%s on the standby's console: %d after %v, want 503 at once saying %q:\n%s", ch.name, code, time.Since(start), wantRefusal, body)
		}
	}
	resp, err := http.Get(base + "/api/v1/modules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Modules []struct{ SHA256 string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Modules) != 1 || list.Modules[0].SHA256 != sha {
		t.Errorf("standby's modules after refused changes: %+v %v, want only %s", list, err, sha)
	}
}

// sseEvent is one Server-Sent Event of the console's /events stream.
type sseEvent struct{ name, data string }

// readEvents reads an SSE answer's events onto a channel, closed when the
// answer ends.
func readEvents(body io.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// TestConsoleOnStandbyIsLive opens a standby's Overview, as a person who
// reached a standby of three real masters would, and follows its live
// stream while a task is launched through the leader, runs, and ends:
// the stream names each change to the tasks, and the Overview's counts
// and running-tasks chart, fetched again as console.js does when told,
// show the task running and then finished. The standby's stream used to
// be silent but for heartbeats and chart ticks, and its chart counted no
// task: it came from the standby's own memory, which holds none.
func TestConsoleOnStandbyIsLive(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	var standby *masterProc
	for _, m := range c.masters {
		if m != leader {
			standby = m
			break
		}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	base := "http://" + standby.addr
	overview := func(fragment bool) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if fragment {
			req.Header.Set("X-Mezzo-Fragment", "live")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("GET / on the standby: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / on the standby: %d\n%s", resp.StatusCode, b)
		}
		return string(b)
	}
	page := overview(false)
	if !strings.Contains(page, `id="standby"`) || !strings.Contains(page, "live updates included") {
		t.Errorf("the standby's Overview does not say what it shows:\n%s", page)
	}
	seq := regexp.MustCompile(`data-seq="([^"]+)"`).FindStringSubmatch(page)
	if seq == nil {
		t.Fatalf("the standby's Overview has no data-seq:\n%s", page)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?since="+url.QueryEscape(seq[1]), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /events on the standby: %v", err)
	}
	defer resp.Body.Close()
	events := readEvents(resp.Body)
	// awaitTaskChange waits for the stream to name a change to the tasks.
	awaitTaskChange := func(what string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the standby's /events ended waiting for %s", what)
				}
				if ev.name == "change" && slices.Contains(strings.Fields(ev.data), "task") {
					return
				}
			case <-deadline:
				t.Fatalf("the standby's /events did not name a change to the tasks within 60s: %s", what)
			}
		}
	}
	// awaitOverview fetches the live region again until it shows want.
	awaitOverview := func(what string, want ...string) {
		t.Helper()
		var got string
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			got = overview(true)
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(got, w) }) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the standby's Overview does not show %s (%q):\n%s", what, want, got)
	}

	gate := filepath.Join(searchable(t, t.TempDir()), "go") // the task runs as nobody
	run := exec.Command(mezzoBin, "run", "--master", masters, "--name", "live-on-standby", "--command",
		fmt.Sprintf("while [ ! -e %s ]; do sleep 0.05; done", gate))
	out := &syncBuffer{}
	run.Stdout, run.Stderr = out, out
	run.WaitDelay = 5 * time.Second
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	t.Cleanup(func() {
		_ = run.Process.Kill()
		<-exited
	})

	awaitTaskChange("the launch")
	awaitOverview("the task running", `data-count="TASK_RUNNING">1<`, "now 1, peak 1")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	awaitTaskChange("the end")
	awaitOverview("the task finished", `data-count="TASK_RUNNING">0<`, `data-count="TASK_FINISHED">1<`, "now 0, peak 1")
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("mezzo run: %v\n%s", err, out)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mezzo run did not exit after its task finished\n%s", out)
	}
}
