package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, data string }

// sseReader reads events from a stream in a goroutine, so that a test
// waits for them with a deadline.
type sseReader struct {
	events chan sseEvent
}

func readSSE(resp *http.Response) *sseReader {
	r := &sseReader{events: make(chan sseEvent, 100)}
	go func() {
		defer close(r.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 1<<20), 1<<20) // a data line holds up to a 64 KiB window, JSON-encoded
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					r.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return r
}

// next returns the next event named name ("" for any), skipping others;
// ok is false if the stream ended first.
func (r *sseReader) next(t *testing.T, name string) (sseEvent, bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-r.events:
			if !ok {
				return sseEvent{}, false
			}
			if name == "" || ev.name == name {
				return ev, true
			}
		case <-timeout:
			t.Fatalf("timed out waiting for a %q event", name)
		}
	}
}

// liveConsole runs a console over a seeded fake behind a test server.
func liveConsole(t *testing.T) (*Console, *fakeCluster, *httptest.Server, context.CancelFunc) {
	t.Helper()
	return liveConsoleFrom(t, nil)
}

// liveConsoleFrom is liveConsole whose console hears snapshot as the
// first event of its subscription; nil means the fake's whole state.
func liveConsoleFrom(t *testing.T, snapshot *api.GetStateResponse) (*Console, *fakeCluster, *httptest.Server, context.CancelFunc) {
	t.Helper()
	c, f := newConsole(t, func(cfg *Config) { cfg.TailEvery = 10 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { c.Run(ctx); close(ran) }()
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		cancel()
		<-ran
		srv.Close()
	})
	waitFor(t, "the console to subscribe", func() bool { return f.subscriptions() == 1 })
	if snapshot == nil {
		snapshot = &f.state
	}
	// The first event of a subscription is the snapshot.
	f.events <- api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{GetState: snapshot}}
	return c, f, srv, cancel
}

func open(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp
}

// TestEventsVanishingClient checks that /events names the topics of a
// change and that a browser that goes away mid-stream leaves neither a hub
// client nor a goroutine behind.
func TestEventsVanishingClient(t *testing.T) {
	c, f, srv, _ := liveConsole(t)
	before := runtime.NumGoroutine()
	for round := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		resp := open(t, ctx, srv.URL+"/events")
		r := readSSE(resp)
		waitFor(t, "the stream to join the hub", func() bool { return c.hub.clientCount() == 1 })
		f.events <- api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{
			Task: task("fw1", "new", "new", "a1", api.TaskStaging, 50)}}
		ev, ok := r.next(t, "change")
		if !ok || !strings.Contains(ev.data, topicTask) {
			t.Fatalf("round %d: change event %+v, ok %v", round, ev, ok)
		}
		cancel() // the browser vanishes mid-stream
		resp.Body.Close()
		waitFor(t, "the stream to leave the hub", func() bool { return c.hub.clientCount() == 0 })
	}
	srv.CloseClientConnections()
	waitFor(t, "goroutines to return to their number before the streams", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// TestEventsEndWithRun checks that streams end when the console stops.
func TestEventsEndWithRun(t *testing.T) {
	c, _, srv, cancel := liveConsole(t)
	resp := open(t, context.Background(), srv.URL+"/events")
	defer resp.Body.Close()
	r := readSSE(resp)
	waitFor(t, "the stream to join the hub", func() bool { return c.hub.clientCount() == 1 })
	cancel()
	if _, ok := r.next(t, "never"); ok {
		t.Fatal("the stream went on after Run returned")
	}
}

// TestTail follows a task's output as it grows and stops when the task is
// over.
func TestTail(t *testing.T) {
	_, f, srv, _ := liveConsole(t)
	resp := open(t, context.Background(), srv.URL+"/tasks/fw1/t-run/tail")
	defer resp.Body.Close()
	r := readSSE(resp)
	for _, want := range []struct{ name, data string }{{"stdout", `"hello from stdout\n"`}, {"stderr", `"warning on stderr\n"`}} {
		if ev, ok := r.next(t, want.name); !ok || ev.data != want.data {
			t.Fatalf("first %s event %+v, want data %s", want.name, ev, want.data)
		}
	}
	f.appendFile("/fw1/t-run/runs/latest/stdout", "line two\n")
	if ev, ok := r.next(t, "stdout"); !ok || ev.data != `"line two\n"` {
		t.Fatalf("appended output: %+v", ev)
	}
	// Bytes that are not UTF-8 come back as U+FFFD, three bytes for one:
	// the tail moves on by the bytes read, not by the text's length, or
	// it would skip what comes next.
	f.appendFile("/fw1/t-run/runs/latest/stdout", "\xff\xff\xffABC\n")
	if ev, ok := r.next(t, "stdout"); !ok || ev.data != "\"\ufffd\ufffd\ufffdABC\\n\"" {
		t.Fatalf("output with bytes that are not UTF-8: %+v", ev)
	}
	f.appendFile("/fw1/t-run/runs/latest/stdout", "DEF\n")
	if ev, ok := r.next(t, "stdout"); !ok || ev.data != `"DEF\n"` {
		t.Fatalf("output after bytes that are not UTF-8: %+v", ev)
	}
	// More than two windows written just before the end all reach the
	// browser before the stream ends.
	tailEnd := strings.Repeat("0123456789abcde\n", 10000) + "last words\n"
	f.appendFile("/fw1/t-run/runs/latest/stdout", tailEnd)
	f.events <- api.OperatorEvent{Type: api.OperatorEventTaskUpdated, TaskUpdated: &api.TaskUpdated{
		FrameworkID: api.FrameworkID{Value: "fw1"}, State: api.TaskFinished,
		Status: api.TaskStatus{TaskID: api.TaskID{Value: "t-run"}, State: api.TaskFinished}}}
	var got strings.Builder
	for {
		ev, ok := r.next(t, "")
		if !ok {
			t.Fatal("the stream ended without an end event")
		}
		if ev.name == "end" {
			break
		}
		if ev.name == "stdout" {
			var s string
			if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
				t.Fatal(err)
			}
			got.WriteString(s)
		}
	}
	if got.String() != tailEnd {
		t.Fatalf("tailed %d bytes after the second line, want the %d written", got.Len(), len(tailEnd))
	}
}

// TestHubSlowClient checks that a client that never reads costs one set
// of topics however many changes happen.
func TestHubSlowClient(t *testing.T) {
	h := newHub()
	c := h.add()
	for range 10000 {
		h.broadcast(topicTask, topicAgent)
	}
	if got := c.take(); len(got) != 2 || len(c.wake) != 1 {
		t.Fatalf("pending %v, wake %d", got, len(c.wake))
	}
	h.remove(c)
	if h.clientCount() != 0 {
		t.Fatal("client not removed")
	}
}

func TestHubCounts(t *testing.T) {
	h := newHub()
	now := time.Unix(1000, 0)
	h.takeSample(now, time.Minute)
	everyone := func(string) bool { return true }
	if len(h.samples(everyone)) != 0 {
		t.Fatal("sampled before the stream was open")
	}
	st := &api.GetStateResponse{GetTasks: &api.GetTasksResponse{Tasks: []api.Task{
		task("f", "a", "a", "x", api.TaskRunning, 0), task("f", "b", "b", "x", api.TaskStaging, 0),
	}}}
	steps := []struct {
		ev      api.OperatorEvent
		running int
	}{
		{api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{GetState: st}}, 1},
		{api.OperatorEvent{Type: api.OperatorEventTaskUpdated, TaskUpdated: &api.TaskUpdated{FrameworkID: api.FrameworkID{Value: "f"},
			Status: api.TaskStatus{TaskID: api.TaskID{Value: "b"}}, State: api.TaskRunning}}, 2},
		{api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: task("g", "c", "c", "x", api.TaskRunning, 0)}}, 3},
		{api.OperatorEvent{Type: api.OperatorEventFrameworkRemoved, FrameworkRemoved: &api.FrameworkRemoved{
			FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "f"}}}}, 1},
	}
	for i, s := range steps {
		if topics := h.apply(s.ev); len(topics) == 0 {
			t.Errorf("step %d: no topics", i)
		}
		now = now.Add(20 * time.Second)
		h.takeSample(now, time.Minute)
		got := h.samples(everyone)
		if got[len(got)-1].Running != s.running {
			t.Errorf("step %d (%s): %d running, want %d", i, s.ev.Type, got[len(got)-1].Running, s.running)
		}
	}
	if n := len(h.samples(everyone)); n != 4 { // 20, 40, 60 s old and now; 80 s old is gone
		t.Fatalf("%d samples kept in a one-minute window of 20 s steps, want 4", n)
	}
}

// tasksOf is a principal that may see the tasks of the frameworks of the
// users it lists, and nothing else.
type tasksOf []string

func (tasksOf) Name() string { return "tasks-of" }
func (p tasksOf) Allowed(a Action, user string) bool {
	return a == ActionViewTasks && slices.Contains(p, user)
}

// TestChartCountsWhatTheViewerSees checks that the Overview's
// running-tasks chart counts, for each viewer, only the tasks of the
// frameworks whose user its view_tasks grants, as the master's queries
// filter the task counts beside it. The console follows every task, and
// the chart counted them all for everyone: it told a principal allowed to
// see no task how many ran, and their peak.
func TestChartCountsWhatTheViewerSees(t *testing.T) {
	principals := map[string]Principal{"all": person("all"), "alice": tasksOf{"alice"}, "bob": tasksOf{"bob"}, "none": tasksOf{}}
	c, f := newConsole(t, func(cfg *Config) {
		cfg.SampleEvery = 5 * time.Millisecond
		cfg.Login = func(_ context.Context, name, _ string) (Principal, error) { return principals[name], nil }
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { c.Run(ctx); close(ran) }()
	t.Cleanup(func() { cancel(); <-ran })
	waitFor(t, "the console to subscribe", func() bool { return f.subscriptions() == 1 })
	// alice's framework fw1 runs t-run; bob's fw2 runs two tasks.
	f.events <- api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{GetState: &f.state}}
	f.events <- api.OperatorEvent{Type: api.OperatorEventFrameworkAdded, FrameworkAdded: &api.FrameworkAdded{Framework: api.FrameworkRecord{
		FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw2"}, Name: "batch", User: "bob"}}}}
	for _, id := range []string{"b1", "b2"} {
		f.events <- api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: task("fw2", id, id, "a1", api.TaskRunning, 0)}}
	}
	waitFor(t, "a sample of the three running tasks", func() bool {
		s := c.hub.samples(func(string) bool { return true })
		return len(s) > 0 && s[len(s)-1].Running == 3
	})
	tests := []struct {
		name string
		want string
	}{
		{"all", "now 3, peak 3"},
		{"alice", "now 1, peak 1"},
		{"bob", "now 2, peak 2"},
		{"none", "now 0, peak 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cookie, _ := login(t, c, tt.name, "pw")
			_, body := get(t, c, "/", "Cookie", cookie)
			if !strings.Contains(body, `aria-label="Running tasks over the last 15m0s: `+tt.want+`"`) {
				t.Errorf("chart for %s, want %q:\n%s", tt.name, tt.want, regexp.MustCompile(`<svg class="chart"[^>]*>`).FindString(body))
			}
		})
	}
}

// TestHubCatchUp checks that a client that joins late hears of exactly the
// topics that changed after the mark it names, and of every topic when the
// mark is another console's: a page rendered by a master that has since
// lost the lead, or by this console before a restart, names a count that
// means nothing here (it used to catch up with nothing when the count was
// beyond this hub's, and the page never updated).
func TestHubCatchUp(t *testing.T) {
	h := newHub()
	h.broadcast(topicAgent)
	seen := h.mark()
	h.broadcast(topicTask)
	all := strings.Join(allTopics, " ")
	tests := []struct {
		name  string
		since string
		want  string
	}{
		{"from the start", h.epoch + ":0", topicTask + " " + topicAgent}, // in allTopics order
		{"from a page rendered between", seen, topicTask},
		{"up to date", h.mark(), ""},
		{"no mark", "", ""},
		{"beyond this hub's count", h.epoch + ":1000", all},
		{"another console's epoch", "zzzzzzzz:1", all},
		{"a bare count (a page of an older console)", "1", all},
		{"garbage", h.epoch + ":x", all},
	}
	for _, tt := range tests {
		c := h.add()
		h.catchUp(c, tt.since)
		if got := strings.Join(c.take(), " "); got != tt.want {
			t.Errorf("%s: caught up with %q, want %q", tt.name, got, tt.want)
		}
		if woken := len(c.wake) == 1; woken != (tt.want != "") {
			t.Errorf("%s: woken %v", tt.name, woken)
		}
		h.remove(c)
	}
}

// TestEventsSince checks that a page's stream first tells of a change
// made after the page was rendered and before the stream opened, which
// the page would otherwise never hear of.
func TestEventsSince(t *testing.T) {
	c, f, srv, _ := liveConsole(t)
	resp, err := http.Get(srv.URL + "/tasks")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`data-seq="([\w-]+:\d+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no data-seq:\n%s", page)
	}
	before := c.hub.sequence()
	f.events <- api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{
		Task: task("fw1", "late", "late", "a1", api.TaskStaging, 50)}}
	waitFor(t, "the hub to take the change", func() bool { return c.hub.sequence() > before })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := open(t, ctx, srv.URL+"/events?since="+url.QueryEscape(string(m[1])))
	defer stream.Body.Close()
	if ev, ok := readSSE(stream).next(t, "change"); !ok || !strings.Contains(ev.data, topicTask) {
		t.Fatalf("first event %+v, ok %v; want the task change made before the stream opened", ev, ok)
	}
}

// TestTailOfUnfollowedTask tails a running task that the console's event
// stream never named (its snapshot is empty), as when the master's
// stream broke: the tail must still end once the master's view shows the
// task ended. It used to go on for ever, waiting for the hub to hear of
// the end; a standby's stream, silent then, made every tail opened there
// such a one.
func TestTailOfUnfollowedTask(t *testing.T) {
	_, f, srv, _ := liveConsoleFrom(t, &api.GetStateResponse{})
	resp := open(t, context.Background(), srv.URL+"/tasks/fw1/t-run/tail")
	defer resp.Body.Close()
	r := readSSE(resp)
	if ev, ok := r.next(t, "stdout"); !ok || ev.data != `"hello from stdout\n"` {
		t.Fatalf("first stdout event %+v", ev)
	}
	f.mu.Lock()
	f.state.GetTasks.Tasks[0].State = api.TaskFinished
	f.mu.Unlock()
	if _, ok := r.next(t, "end"); !ok {
		t.Fatal("the stream ended without an end event")
	}
}

// TestTailMovesOn checks that a tail gets past a window the agent's answer
// for which is large or cannot be decoded. A window of 64 KiB of "<" is
// 384 KiB of JSON, which the console used to cut short; the tail then
// asked for the same window every step, forever, and the browser heard
// nothing of the output written after it. A window that truly cannot be
// decoded is reported in a "notice" event and skipped.
func TestTailMovesOn(t *testing.T) {
	const stdout = "/fw1/t-run/runs/latest/stdout"
	tests := []struct {
		name   string
		setup  func(f *fakeCluster)
		notice string // in a notice event before the later output, "" for none
	}{
		{"a window JSON escapes six times over", func(f *fakeCluster) {
			f.appendFile(stdout, strings.Repeat("<", readWindow))
		}, ""},
		{"a window whose answer is cut short", func(f *fakeCluster) {
			f.mu.Lock()
			f.files[stdout] += strings.Repeat("x", readWindow)
			f.badReads[stdout+"@0"] = true
			f.mu.Unlock()
		}, "skipped bytes 0 to 65536 of stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f, srv, _ := liveConsole(t)
			f.mu.Lock()
			f.files[stdout] = "" // the tail starts at 0
			f.mu.Unlock()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := open(t, ctx, srv.URL+"/tasks/fw1/t-run/tail")
			defer resp.Body.Close()
			r := readSSE(resp)
			// stdout is read before stderr: once stderr's output came,
			// the tail stands at the start of the empty stdout.
			if _, ok := r.next(t, "stderr"); !ok {
				t.Fatal("no stderr event")
			}
			tt.setup(f)
			f.appendFile(stdout, "after\n")
			noticed := false
			for {
				ev, ok := r.next(t, "")
				if !ok {
					t.Fatal("the stream ended")
				}
				if ev.name == "notice" {
					noticed = strings.Contains(ev.data, tt.notice) && tt.notice != ""
					if !noticed {
						t.Errorf("notice %s", ev.data)
					}
				}
				if ev.name == "stdout" && strings.Contains(ev.data, "after") {
					break
				}
			}
			if tt.notice != "" && !noticed {
				t.Errorf("no notice saying %q", tt.notice)
			}
		})
	}
}

// TestHubForgetsEndedTasks checks that what the hub keeps of tasks is
// bounded by the tasks not ended and maxEnded, not by every task ever
// run: it kept the state of each task it heard of, and a removed
// framework's ended tasks too. It still knows that a task which ended
// recently is over, which a live tail asks.
func TestHubForgetsEndedTasks(t *testing.T) {
	finished := func(fw, id string) api.OperatorEvent {
		return api.OperatorEvent{Type: api.OperatorEventTaskUpdated, TaskUpdated: &api.TaskUpdated{FrameworkID: api.FrameworkID{Value: fw},
			Status: api.TaskStatus{TaskID: api.TaskID{Value: id}}, State: api.TaskFinished}}
	}
	tests := []struct {
		name   string
		remove bool // remove the framework at the end
	}{
		{"framework still registered", false},
		{"framework removed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub()
			h.apply(api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{GetState: &api.GetStateResponse{}}})
			h.apply(api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: task("f", "long", "long", "a", api.TaskRunning, 0)}})
			const n = 3 * maxEnded
			for i := range n {
				id := fmt.Sprintf("t%d", i)
				h.apply(api.OperatorEvent{Type: api.OperatorEventTaskAdded, TaskAdded: &api.TaskAdded{Task: task("f", id, id, "a", api.TaskStaging, 0)}})
				h.apply(finished("f", id))
			}
			if over, known := h.over("f", fmt.Sprint("t", n-1)); !over || !known {
				t.Errorf("the last task to end: over %v, known %v", over, known)
			}
			if over, _ := h.over("f", "long"); over {
				t.Error("a running task is over")
			}
			if tt.remove {
				h.apply(api.OperatorEvent{Type: api.OperatorEventFrameworkRemoved, FrameworkRemoved: &api.FrameworkRemoved{FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "f"}}}})
			}
			h.mu.Lock()
			held := len(h.states) + len(h.ended)
			h.mu.Unlock()
			if held > 1+maxEnded {
				t.Fatalf("the hub holds %d tasks after %d ended; want at most %d", held, n, 1+maxEnded)
			}
		})
	}
}

// TestEventsSinceOtherConsole checks that a page rendered by another
// console (a count this one never reached, or another epoch) gets a
// change event for its topics as soon as its stream opens: the page's
// data may be stale in any way.
func TestEventsSinceOtherConsole(t *testing.T) {
	for _, since := range []string{"1000", "zzzzzzzz:1", "epoch-is-mine:1000"} {
		t.Run(since, func(t *testing.T) {
			c, _, srv, _ := liveConsole(t)
			waitFor(t, "the snapshot", func() bool { return c.hub.sequence() >= 1 })
			if since == "epoch-is-mine:1000" {
				since = c.hub.epoch + ":1000"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := open(t, ctx, srv.URL+"/events?since="+url.QueryEscape(since))
			defer resp.Body.Close()
			if ev, ok := readSSE(resp).next(t, "change"); !ok || !strings.Contains(ev.data, topicTask) {
				t.Fatalf("first event %+v, ok %v; want a change naming every topic", ev, ok)
			}
		})
	}
}
