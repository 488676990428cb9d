package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
)

// newTestAgent returns an agent that is never Run, with one executor
// "e1" of framework "fw" that it believes started, and a server for its
// HTTP API.
func newTestAgent(t *testing.T) (*Agent, *executorRun, *httptest.Server) {
	t.Helper()
	return newTestAgentWith(t, nil)
}

// newTestAgentWith is newTestAgent with its config changed by mutate.
func newTestAgentWith(t *testing.T, mutate func(*Config)) (*Agent, *executorRun, *httptest.Server) {
	t.Helper()
	a := newBareAgent(t, mutate)
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e1"}})
	r.started = true
	a.executors[r.key] = r
	task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t1"}}, state: api.TaskStaging, queued: true}
	r.tasks["t1"] = task
	r.allTasks = append(r.allTasks, "t1")
	a.taskIndex[taskKey{"fw", "t1"}] = r
	a.mu.Unlock()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		a.executorExited(r, "test over", false, nil)
		srv.CloseClientConnections()
		srv.Close()
	})
	return a, r, srv
}

// newBareAgent returns an agent with no master, which is never Run; its
// executors are shut down and its store closed when the test ends.
func newBareAgent(t *testing.T, mutate func(*Config)) *Agent {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AllowNative = true // the tests launch native tasks
	cfg.Masters = []string{"127.0.0.1:1"}
	cfg.WorkDir = searchableTempDir(t)
	cfg.ExecutorCommand = []string{"/bin/false"}
	res, err := api.ParseResources("cpus:1;mem:128")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resources = res
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.shutdownExecutors()
		a.sweepCgroups(nil)
		a.store.close()
	})
	return a
}

// TestExecutorRegistrationTimeout starts an "executor" that never
// subscribes: the agent kills it and fails its task with
// REASON_EXECUTOR_REGISTRATION_TIMEOUT.
func TestExecutorRegistrationTimeout(t *testing.T) {
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"/bin/sleep", "60"}
		c.ExecutorRegistrationTimeout = 100 * time.Millisecond
	})
	a.launch(&api.AgentLaunch{
		FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}},
		Tasks:         []api.TaskInfo{{TaskID: api.TaskID{Value: "t1"}, Command: &api.CommandInfo{Value: "true"}}},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		due, _ := a.updates.due(time.Now())
		if len(due) == 1 {
			st := due[0].status
			if st.State != api.TaskFailed || st.Reason != api.ReasonExecutorRegistrationTimeout || st.TaskID.Value != "t1" {
				t.Fatalf("update %s %s for %s, want TASK_FAILED REASON_EXECUTOR_REGISTRATION_TIMEOUT for t1", st.State, st.Reason, st.TaskID.Value)
			}
			if want := "Executor did not subscribe within 100ms of its start; the agent killed it"; st.Message != want {
				t.Errorf("message %q, want %q", st.Message, want) // not how the kill made it exit
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no update for the task")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The executor's checkpoint is forgotten right after its tasks'
	// updates are queued.
	for {
		execs, err := a.store.executors()
		if err == nil && len(execs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("executors still checkpointed: %v %v", execs, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// post sends a call with the executor's token (unless token is "-") and
// the given stream ID.
func post(t *testing.T, srv *httptest.Server, r *executorRun, body, streamID, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/executor", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token == "" {
		token = r.rec.Token
	}
	if token != "-" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func updateCall(t *testing.T, executor string, id uuid.UUID, state api.TaskState) string {
	t.Helper()
	b, err := json.Marshal(api.ExecutorCall{
		Type: api.ExecutorCallUpdate, ExecutorID: api.ExecutorID{Value: executor}, FrameworkID: api.FrameworkID{Value: "fw"},
		Update: &api.ExecutorUpdate{Status: api.TaskStatus{TaskID: api.TaskID{Value: "t1"}, State: state,
			Source: api.SourceExecutor, UUID: id[:]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const subscribeCall = `{"type":"SUBSCRIBE","executor_id":{"value":"e1"},"framework_id":{"value":"fw"},"subscribe":{}}`

// subscribe opens the executor's stream and returns its ID and a reader
// of its events, after checking the first is SUBSCRIBED.
func subscribe(t *testing.T, srv *httptest.Server, r *executorRun) (string, func() api.ExecutorEvent) {
	t.Helper()
	return subscribeWith(t, srv, r, subscribeCall)
}

// subscribeWith is subscribe with the SUBSCRIBE call given.
func subscribeWith(t *testing.T, srv *httptest.Server, r *executorRun, call string) (string, func() api.ExecutorEvent) {
	t.Helper()
	resp, msg := post(t, srv, r, call, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SUBSCRIBE: %s %s", resp.Status, msg)
	}
	t.Cleanup(func() { resp.Body.Close() })
	rr := api.NewRecordReader(resp.Body)
	next := func() api.ExecutorEvent {
		t.Helper()
		rec, err := rr.ReadRecord()
		if err != nil {
			t.Fatalf("read event: %v", err)
		}
		var ev api.ExecutorEvent
		if err := json.Unmarshal(rec, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := next(); ev.Type != api.ExecutorEventSubscribed || ev.Subscribed.ContainerID.Value != r.rec.Container {
		t.Fatalf("first event %+v, want SUBSCRIBED with the container", ev)
	}
	return resp.Header.Get("Mesos-Stream-Id"), next
}

func TestExecutorAPIErrors(t *testing.T) {
	_, r, srv := newTestAgent(t)
	tests := []struct {
		name     string
		body     string
		streamID string
		token    string
		want     int
	}{
		{name: "bad JSON", body: `{"type":`, want: http.StatusBadRequest},
		{name: "missing executor ID", body: `{"type":"HEARTBEAT","framework_id":{"value":"fw"}}`, want: http.StatusBadRequest},
		{name: "unknown executor", body: `{"type":"HEARTBEAT","executor_id":{"value":"nope"},"framework_id":{"value":"fw"}}`, want: http.StatusBadRequest},
		{name: "unknown framework", body: `{"type":"HEARTBEAT","executor_id":{"value":"e1"},"framework_id":{"value":"other"}}`, want: http.StatusBadRequest},
		{name: "no token", body: subscribeCall, token: "-", want: http.StatusUnauthorized},
		{name: "wrong token", body: subscribeCall, token: "guess", want: http.StatusUnauthorized},
		{name: "not subscribed", body: `{"type":"HEARTBEAT","executor_id":{"value":"e1"},"framework_id":{"value":"fw"}}`, streamID: "x", want: http.StatusForbidden},
		{name: "subscribe with a stream ID", body: subscribeCall, streamID: "x", want: http.StatusBadRequest},
		{name: "unknown call", body: `{"type":"UNKNOWN","executor_id":{"value":"e1"},"framework_id":{"value":"fw"}}`, want: http.StatusNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, msg := post(t, srv, r, tt.body, tt.streamID, tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s, want %d: %s", resp.Status, tt.want, msg)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/api/v1/executor", "text/plain", bytes.NewReader([]byte(subscribeCall)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("%s, want 415", resp.Status)
		}
	})
}

func TestExecutorAPIStream(t *testing.T) {
	a, r, srv := newTestAgent(t)
	streamID, next := subscribe(t, srv, r)
	heartbeat := `{"type":"HEARTBEAT","executor_id":{"value":"e1"},"framework_id":{"value":"fw"}}`
	for _, tt := range []struct {
		name, streamID string
		want           int
	}{
		{"no stream ID", "", http.StatusBadRequest},
		{"wrong stream ID", "not-the-stream", http.StatusBadRequest},
		{"right stream ID", streamID, http.StatusAccepted},
	} {
		if resp, msg := post(t, srv, r, heartbeat, tt.streamID, ""); resp.StatusCode != tt.want {
			t.Errorf("%s: %s, want %d: %s", tt.name, resp.Status, tt.want, msg)
		}
	}

	// An update is checkpointed under the executor's UUID and
	// acknowledged on the stream; the same update again is acknowledged
	// but not queued twice.
	id := uuid.New()
	for range 2 {
		if resp, msg := post(t, srv, r, updateCall(t, "e1", id, api.TaskRunning), streamID, ""); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("UPDATE: %s %s", resp.Status, msg)
		}
		ev := next()
		if ev.Type != api.ExecutorEventAcknowledged || !bytes.Equal(ev.Acknowledged.UUID, id[:]) {
			t.Fatalf("event %+v, want ACKNOWLEDGED of the update", ev)
		}
	}
	if n := a.updates.pending(); n != 1 {
		t.Fatalf("%d updates queued for the framework, want 1", n)
	}
	if q := a.updates.latest()[taskKey{"fw", "t1"}]; !bytes.Equal(q.UUID, id[:]) || q.State != api.TaskRunning {
		t.Fatalf("queued %+v, want the executor's update under its UUID", q)
	}
	a.mu.Lock()
	state := r.tasks["t1"].state
	a.mu.Unlock()
	if state != api.TaskRunning {
		t.Fatalf("task state %s, want TASK_RUNNING", state)
	}

	// A new subscription replaces the stream: the old ID is refused.
	newID, _ := subscribe(t, srv, r)
	if resp, _ := post(t, srv, r, heartbeat, streamID, ""); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("old stream ID after re-subscribing: %s, want 400", resp.Status)
	}
	if resp, msg := post(t, srv, r, heartbeat, newID, ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("new stream ID: %s %s", resp.Status, msg)
	}
}

// TestSubscribeAdoptsListedTasks subscribes an executor that lists the
// tasks it runs, as one does after the agent restarted: a task the agent
// knows but had not marked sent is not sent again; a task it does not
// know (its launch checkpoint was lazy, and lost) is adopted — killable,
// updated, in tasks/<ID>; a task that has ended, or whose ID names no
// directory, is not. A later subscription adopts nothing: only an
// executor recovered after a restart can run a task the agent does not
// know.
func TestSubscribeAdoptsListedTasks(t *testing.T) {
	a, r, srv := newTestAgent(t)
	a.mu.Lock()
	r.recovered = true
	a.mu.Unlock()
	if err := a.updates.add("fw", api.TaskStatus{TaskID: api.TaskID{Value: "ended"}, State: api.TaskFinished}, time.Now()); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	r.tasks["t1"].queued, r.tasks["t1"].unsure = false, true // as runFromRecord leaves a task not recorded sent
	a.mu.Unlock()
	listed := func(ids ...string) []api.TaskInfo {
		var out []api.TaskInfo
		for _, id := range ids {
			out = append(out, api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, Command: &api.CommandInfo{Value: "true"}})
		}
		return out
	}
	call, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"},
		Subscribe:   &api.ExecutorSubscribe{UnacknowledgedTasks: listed("t1", "t2", "ended", "..")}})
	if err != nil {
		t.Fatal(err)
	}
	streamID, next := subscribeWith(t, srv, r, string(call))

	a.mu.Lock()
	for _, tt := range []struct {
		id      string
		adopted bool
	}{{"t1", true}, {"t2", true}, {"ended", false}, {"..", false}} {
		task := r.tasks[tt.id]
		if (task != nil) != tt.adopted || (a.taskIndex[taskKey{"fw", tt.id}] == r) != tt.adopted {
			t.Errorf("task %q: known %v, want %v", tt.id, task != nil, tt.adopted)
			continue
		}
		if task != nil && !task.sent {
			t.Errorf("task %q is not marked sent", tt.id)
		}
	}
	if got, want := r.tasks["t2"].dir, filepath.Join(r.rec.Dir, "tasks", "t2"); got != want {
		t.Errorf("adopted task's sandbox %s, want %s", got, want)
	}
	a.mu.Unlock()

	// The adopted task takes updates and kills like any other; t1,
	// which the executor has, is not launched again, so the next event
	// is the kill.
	id := uuid.New()
	up, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallUpdate, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"}, Update: &api.ExecutorUpdate{Status: api.TaskStatus{
			TaskID: api.TaskID{Value: "t2"}, State: api.TaskRunning, Source: api.SourceExecutor, UUID: id[:]}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, msg := post(t, srv, r, string(up), streamID, ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("UPDATE: %s %s", resp.Status, msg)
	}
	if ev := next(); ev.Type != api.ExecutorEventAcknowledged {
		t.Fatalf("event %+v, want the update's ACKNOWLEDGED", ev)
	}
	a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "t2"}})
	if ev := next(); ev.Type != api.ExecutorEventKill || ev.Kill.TaskID.Value != "t2" {
		t.Fatalf("event %+v, want KILL of the adopted task", ev)
	}
	a.mu.Lock()
	state := r.tasks["t2"].state
	a.mu.Unlock()
	if state != api.TaskRunning {
		t.Fatalf("adopted task %s, want TASK_RUNNING", state)
	}

	again, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"},
		Subscribe:   &api.ExecutorSubscribe{UnacknowledgedTasks: listed("t2", "ghost")}})
	if err != nil {
		t.Fatal(err)
	}
	subscribeWith(t, srv, r, string(again))
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.tasks["ghost"] != nil {
		t.Error("a task listed at a later subscription was adopted")
	}
}

func TestExecutorAPIRecovering(t *testing.T) {
	a, r, srv := newTestAgent(t)
	a.recovering.Store(true)
	if resp, _ := post(t, srv, r, subscribeCall, "", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("SUBSCRIBE while recovering: %s, want 503", resp.Status)
	}
}

// TestLaunchesReachExecutorInOrder launches many tasks one LAUNCH at a
// time on a subscribed executor: their preparations overlap while they
// wait for the disk, yet the executor gets each launch once, in the order
// the agent was given them.
func TestLaunchesReachExecutorInOrder(t *testing.T) {
	a, r, srv := newTestAgent(t)
	_, next := subscribe(t, srv, r)
	const n = 50
	info := &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e1"}, FrameworkID: &api.FrameworkID{Value: "fw"}}
	for i := range n {
		ti := api.TaskInfo{Name: "o", TaskID: api.TaskID{Value: fmt.Sprintf("o%d", i)}, Command: &api.CommandInfo{Value: "true"}}
		a.launchTasks("fw", api.FrameworkInfo{Name: "test"}, info, []api.TaskInfo{ti}, false)
	}
	for i := 0; i < n; {
		ev := next()
		if ev.Type != api.ExecutorEventLaunch {
			continue
		}
		if want := fmt.Sprintf("o%d", i); ev.Launch.Task.TaskID.Value != want {
			t.Fatalf("launch %d is of task %s, want %s", i, ev.Launch.Task.TaskID.Value, want)
		}
		i++
	}
}

// TestLaunchSaysWhereTaskRuns launches two tasks alone to an executor,
// the first placed in the executor's own sandbox: each LAUNCH tells the
// executor where the agent placed the task. When the first fails before
// it is sent (its URI answers 404), the second stays in tasks/<task ID>,
// and its LAUNCH says so: the executor, left to its rule, gave the
// sandbox to the first task that reached it, the second, while the agent
// looked for it in tasks/<task ID>.
func TestLaunchSaysWhereTaskRuns(t *testing.T) {
	missing := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(missing.Close)
	tests := []struct {
		name      string
		firstURIs []api.CommandURI
		want      map[string]bool // by task: its LAUNCH says the executor's sandbox
	}{
		{name: "the first is sent", want: map[string]bool{"a": true, "b": false}},
		{name: "the first fails before it is sent", firstURIs: []api.CommandURI{{Value: missing.URL + "/gone"}}, want: map[string]bool{"b": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, srv := newTestAgent(t)
			a.defaultUser = "" // the tasks run as the agent, so the first may take the sandbox
			_, next := subscribe(t, srv, r)
			info := &api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e1"}, FrameworkID: &api.FrameworkID{Value: "fw"}}
			first := api.TaskInfo{Name: "a", TaskID: api.TaskID{Value: "a"}, Command: &api.CommandInfo{Value: "true", URIs: tt.firstURIs}}
			a.launchTasks("fw", api.FrameworkInfo{Name: "test"}, info, []api.TaskInfo{first}, false)
			if tt.firstURIs != nil {
				if st := awaitStatus(t, a, "a"); st.State != api.TaskFailed {
					t.Fatalf("task a ended %s (%s), want TASK_FAILED", st.State, st.Message)
				}
			}
			second := api.TaskInfo{Name: "b", TaskID: api.TaskID{Value: "b"}, Command: &api.CommandInfo{Value: "true"}}
			a.launchTasks("fw", api.FrameworkInfo{Name: "test"}, info, []api.TaskInfo{second}, false)
			for seen := 0; seen < len(tt.want); {
				ev := next()
				if ev.Type != api.ExecutorEventLaunch {
					continue
				}
				seen++
				id := ev.Launch.Task.TaskID.Value
				a.mu.Lock()
				dir := r.tasks[id].dir
				a.mu.Unlock()
				want := filepath.Join(r.rec.Dir, "tasks", id)
				if tt.want[id] {
					want = r.rec.Dir
				}
				if dir != want {
					t.Errorf("task %s placed in %s, want %s", id, dir, want)
				}
				if own := ev.Launch.ExecutorSandbox; own == nil || *own != tt.want[id] {
					t.Errorf("the LAUNCH of task %s says executor_sandbox %s, want %v", id, ptrString(own), tt.want[id])
				}
			}
		})
	}
}

// ptrString says what b points to, or "unset".
func ptrString(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

// TestExecStreamBacklog queues events faster than the executor reads:
// up to execStreamLimit of them wait and are all delivered in order; one
// more closes the stream, so that the executor re-subscribes.
func TestExecStreamBacklog(t *testing.T) {
	msg := func(i int) api.ExecutorEvent {
		return api.ExecutorEvent{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: []byte(fmt.Sprint(i))}}
	}
	s := newExecStream("backlog")
	const n = 5000 // more than a LAUNCH per task of a large ACCEPT
	for i := range n {
		if !s.send(msg(i)) {
			t.Fatalf("event %d refused", i)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	defer srv.Close()
	defer s.close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rr := api.NewRecordReader(resp.Body)
	for i := range n {
		rec, err := rr.ReadRecord()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		var ev api.ExecutorEvent
		if err := json.Unmarshal(rec, &ev); err != nil || ev.Message == nil || string(ev.Message.Data) != fmt.Sprint(i) {
			t.Fatalf("event %d is %s (%v)", i, rec, err)
		}
	}

	full := newExecStream("full")
	for i := range execStreamLimit {
		if !full.send(msg(i)) {
			t.Fatalf("event %d of %d refused", i, execStreamLimit)
		}
	}
	if full.send(msg(execStreamLimit)) {
		t.Fatal("an event past the limit was queued")
	}
	select {
	case <-full.done:
	default:
		t.Fatal("the stream past its limit is still open")
	}

	// An executor whose stream has ended has none: an update's
	// acknowledgement, committed after, is dropped, not a panic on the
	// committer's goroutine.
	var gone *execStream
	if gone.send(msg(0)) {
		t.Error("an event was queued on no stream")
	}
	gone.close()
}

// TestAwaitRecoveredExecutors checks that a restarted agent registers
// with a master only once a recovered executor has subscribed again (or
// exited): until then it may not know every task the executor runs.
func TestAwaitRecoveredExecutors(t *testing.T) {
	a, r, _ := newTestAgent(t)
	a.mu.Lock()
	r.recovered = true
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.awaitRecoveredExecutors(context.Background()); close(done) }()
	select {
	case <-done:
		t.Fatal("returned while a recovered executor had not subscribed")
	case <-time.After(100 * time.Millisecond):
	}
	a.mu.Lock()
	r.subscribed = true
	a.mu.Unlock()
	select {
	case <-done:
	case <-time.After(executorReregisterWait / 2): // well before the deadline
		t.Fatal("still waiting after the executor subscribed")
	}
}

// TestNoExecutorAfterShutdown shuts a run down before its process is
// started, as killing its only task during its fetch does: starting it
// then fails, and no process runs that the agent would not track.
func TestNoExecutorAfterShutdown(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.ExecutorCommand = []string{"sleep", "600"} })
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "test"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e1"}})
	a.executors[r.key] = r
	a.shutdownRun(r)
	a.mu.Unlock()
	if _, err := a.startExecutor(r); !errors.Is(err, errRunShutDown) {
		t.Errorf("startExecutor after a shutdown = %v, want errRunShutDown", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.started || r.rec.PID != 0 {
		t.Errorf("an executor was started (pid %d) for a run shut down", r.rec.PID)
	}
}

// TestExecutorHeartbeat subscribes an executor and waits, sending
// nothing: the agent sends it HEARTBEAT events, as Mesos's does.
func TestExecutorHeartbeat(t *testing.T) {
	_, r, srv := newTestAgentWith(t, func(c *Config) { c.ExecutorHeartbeat = 10 * time.Millisecond })
	_, next := subscribe(t, srv, r)
	for range 3 {
		if ev := next(); ev.Type != api.ExecutorEventHeartbeat {
			t.Fatalf("event %s, want HEARTBEAT", ev.Type)
		}
	}
}

// TestSubscribeReportsLostLaunches re-subscribes an executor that lists
// only some of the tasks the agent sent it: one it does not list and
// never updated was lost on the way, and is reported TASK_LOST; one it
// updated it has, listed or not (an executor lists only the tasks none
// of whose updates were acknowledged).
func TestSubscribeReportsLostLaunches(t *testing.T) {
	a, r, srv := newTestAgent(t)
	tests := []struct {
		id     string
		state  api.TaskState
		listed bool
		lost   bool
	}{
		{"unlisted-staging", api.TaskStaging, false, true},
		{"unlisted-running", api.TaskRunning, false, false},
		{"listed-staging", api.TaskStaging, true, false},
	}
	var listed []api.TaskInfo
	a.mu.Lock()
	for _, tt := range tests {
		info := api.TaskInfo{Name: tt.id, TaskID: api.TaskID{Value: tt.id}, Command: &api.CommandInfo{Value: "true"}}
		r.add(&execTask{info: info, state: tt.state, queued: true, sent: true})
		a.taskIndex[taskKey{"fw", tt.id}] = r
		if tt.listed {
			listed = append(listed, info)
		}
	}
	a.mu.Unlock()
	call, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"}, Subscribe: &api.ExecutorSubscribe{UnacknowledgedTasks: listed}})
	if err != nil {
		t.Fatal(err)
	}
	subscribeWith(t, srv, r, string(call))
	for _, tt := range tests {
		st := a.updates.latest()[taskKey{"fw", tt.id}]
		if lost := st.State == api.TaskLost; lost != tt.lost {
			t.Errorf("%s: reported %q, want lost %v", tt.id, st.State, tt.lost)
		}
		a.mu.Lock()
		kept := r.tasks[tt.id] != nil
		a.mu.Unlock()
		if kept == tt.lost {
			t.Errorf("%s: still the executor's %v, want %v", tt.id, kept, !tt.lost)
		}
	}
}

// TestKillSentAgainOnResubscribe kills a running task, its KILL sent on
// the executor's stream, which then breaks: the executor subscribes again
// listing the task, and is sent the KILL again, with its grace period,
// since it may never have read the first.
func TestKillSentAgainOnResubscribe(t *testing.T) {
	// A HEARTBEAT comes next if the KILL does not.
	a, r, srv := newTestAgentWith(t, func(c *Config) { c.ExecutorHeartbeat = time.Second })
	a.mu.Lock()
	r.tasks["t1"].state, r.tasks["t1"].sent = api.TaskRunning, true
	info := r.tasks["t1"].info
	a.mu.Unlock()
	_, next := subscribe(t, srv, r)
	grace := &api.KillPolicy{GracePeriod: &api.DurationInfo{Nanoseconds: api.Int64(7 * time.Second)}}
	a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "t1"}, KillPolicy: grace})
	for ev := next(); ev.Kill == nil; ev = next() {
		if ev.Type != api.ExecutorEventHeartbeat {
			t.Fatalf("event %s, want the KILL", ev.Type)
		}
	}
	call, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"}, Subscribe: &api.ExecutorSubscribe{UnacknowledgedTasks: []api.TaskInfo{info}}})
	if err != nil {
		t.Fatal(err)
	}
	_, again := subscribeWith(t, srv, r, string(call))
	ev := again()
	if ev.Kill == nil || ev.Kill.TaskID.Value != "t1" || ev.Kill.KillPolicy == nil || *ev.Kill.KillPolicy.GracePeriod != *grace.GracePeriod {
		t.Fatalf("event %+v after subscribing again, want the KILL of t1 with its grace period", ev)
	}
}

// TestExecutorMessagesBounded fills the agent's slots for executor
// messages on their way to the master: one more MESSAGE is answered 503,
// and accepted again once a slot is free.
func TestExecutorMessagesBounded(t *testing.T) {
	a, r, srv := newTestAgent(t)
	streamID, _ := subscribe(t, srv, r)
	for range maxMessagesInFlight {
		a.messageSlots <- struct{}{} // messages stuck on the way
	}
	call, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallMessage, ExecutorID: api.ExecutorID{Value: "e1"},
		FrameworkID: api.FrameworkID{Value: "fw"}, Message: &api.ExecutorMessage{Data: []byte("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, msg := post(t, srv, r, string(call), streamID, ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("MESSAGE with every slot taken: %s %s, want 503", resp.Status, msg)
	}
	<-a.messageSlots
	if resp, msg := post(t, srv, r, string(call), streamID, ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("MESSAGE with a slot free: %s %s, want 202", resp.Status, msg)
	}
	for range maxMessagesInFlight - 1 {
		<-a.messageSlots
	}
}

// TestCheckStatusOnEveryUpdate gives a task a general check: each update
// the executor sends carries the check's latest status, an empty one of
// the check's type before its first result, as Mesos's executors send
// them.
func TestCheckStatusOnEveryUpdate(t *testing.T) {
	a, r, srv := newTestAgent(t)
	a.mu.Lock()
	task := r.tasks["t1"]
	task.info.Check = &api.CheckInfo{Type: api.CheckTypeTCP, TCP: &api.CheckTCP{Port: 80}}
	task.sent, task.state = true, api.TaskStarting // it has the task: not lost when it subscribes
	a.mu.Unlock()
	streamID, next := subscribe(t, srv, r)
	update := func(state api.TaskState) *api.CheckStatusInfo {
		t.Helper()
		id := uuid.New()
		if resp, msg := post(t, srv, r, updateCall(t, "e1", id, state), streamID, ""); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("UPDATE: %s %s", resp.Status, msg)
		}
		for ev := next(); ev.Type != api.ExecutorEventAcknowledged; ev = next() {
		}
		st := a.updates.latest()[taskKey{"fw", "t1"}]
		if !bytes.Equal(st.UUID, id[:]) {
			t.Fatalf("latest update %s, want the executor's %s", st.State, state)
		}
		return st.CheckStatus
	}
	if cs := update(api.TaskRunning); cs == nil || cs.Type != api.CheckTypeTCP || cs.TCP == nil || cs.TCP.Succeeded != nil {
		t.Fatalf("check_status before a result: %+v, want an empty TCP one", cs)
	}
	a.healthChanged(r, task, health.Result{Healthy: true, Check: &api.CheckStatusInfo{Type: api.CheckTypeTCP,
		TCP: &api.CheckStatusTCP{Succeeded: api.Ptr(true)}}})
	if cs := update(api.TaskFinished); cs == nil || cs.TCP == nil || cs.TCP.Succeeded == nil || !*cs.TCP.Succeeded {
		t.Fatalf("check_status after a result: %+v, want the check's succeeded", cs)
	}
}

// TestExecutorMoreUpdates sends UPDATE calls carrying more updates
// (Mezzo's extension, which SUBSCRIBED offers): the updates are taken in
// order, each checkpointed, applied and acknowledged as if it had come
// alone; one bad update refuses the whole call; and a call laid out as
// another client writes it (not the fast decoder's) is taken the same.
func TestExecutorMoreUpdates(t *testing.T) {
	st := func(task string, state api.TaskState) api.ExecutorUpdate {
		id := uuid.New()
		return api.ExecutorUpdate{Status: api.TaskStatus{TaskID: api.TaskID{Value: task}, State: state,
			Source: api.SourceExecutor, UUID: id[:]}}
	}
	compact := func(first api.ExecutorUpdate, more ...api.ExecutorUpdate) string {
		b, err := api.Marshal(&api.ExecutorCall{Type: api.ExecutorCallUpdate, ExecutorID: api.ExecutorID{Value: "e1"},
			FrameworkID: api.FrameworkID{Value: "fw"}, Update: &first, MoreUpdates: more})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// indented is the call as a client that indents its JSON and orders
	// its fields otherwise sends it.
	indented := func(first api.ExecutorUpdate, more ...api.ExecutorUpdate) string {
		b, err := json.MarshalIndent(map[string]any{"more_updates": more, "update": first, "type": "UPDATE",
			"framework_id": api.FrameworkID{Value: "fw"}, "executor_id": api.ExecutorID{Value: "e1"}}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name   string
		encode func(api.ExecutorUpdate, ...api.ExecutorUpdate) string
		bad    bool // more_updates[1] is TASK_STAGING, which an executor may not send
	}{
		{"compact", compact, false},
		{"indented", indented, false},
		{"compact with a bad update", compact, true},
		{"indented with a bad update", indented, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, srv := newTestAgent(t)
			a.mu.Lock()
			t2 := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t2"}}, state: api.TaskStaging, queued: true}
			r.tasks["t2"] = t2
			r.allTasks = append(r.allTasks, "t2")
			a.taskIndex[taskKey{"fw", "t2"}] = r
			a.mu.Unlock()
			a.mu.Lock()
			ev := a.subscribedEvent(r)
			a.mu.Unlock()
			if !ev.AcceptsMoreUpdates {
				t.Fatalf("SUBSCRIBED %+v does not say the agent accepts more updates", ev)
			}
			streamID, next := subscribe(t, srv, r)

			updates := []api.ExecutorUpdate{st("t1", api.TaskRunning), st("t2", api.TaskRunning), st("t1", api.TaskFinished)}
			if tt.bad {
				updates[2].Status.State = api.TaskStaging
			}
			resp, msg := post(t, srv, r, tt.encode(updates[0], updates[1:]...), streamID, "")
			if tt.bad {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "more_updates[1]") {
					t.Fatalf("UPDATE with a bad update: %s %q, want 400 naming more_updates[1]", resp.Status, msg)
				}
				if n := a.updates.pending(); n != 0 {
					t.Errorf("%d updates queued from a refused call", n)
				}
				a.mu.Lock()
				defer a.mu.Unlock()
				if s1, s2 := r.tasks["t1"].state, t2.state; s1 != api.TaskStaging || s2 != api.TaskStaging {
					t.Errorf("tasks %s and %s after a refused call, want both TASK_STAGING", s1, s2)
				}
				return
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("UPDATE: %s %s", resp.Status, msg)
			}
			for deadline := time.Now().Add(5 * time.Second); a.updates.pending() != len(updates); {
				if time.Now().After(deadline) {
					t.Fatalf("%d updates queued, want %d", a.updates.pending(), len(updates))
				}
				time.Sleep(time.Millisecond)
			}
			for i, u := range updates {
				ev := next()
				if ev.Type != api.ExecutorEventAcknowledged || !bytes.Equal(ev.Acknowledged.UUID, u.Status.UUID) {
					t.Fatalf("event %d %+v, want ACKNOWLEDGED of update %d", i, ev, i)
				}
			}
			a.updates.mu.Lock()
			var t1 []api.TaskState
			for _, q := range a.updates.queues[taskKey{"fw", "t1"}] {
				t1 = append(t1, q.status.State)
			}
			t2queued := len(a.updates.queues[taskKey{"fw", "t2"}])
			a.updates.mu.Unlock()
			if !slices.Equal(t1, []api.TaskState{api.TaskRunning, api.TaskFinished}) || t2queued != 1 {
				t.Errorf("queued %v for t1 and %d for t2, want [TASK_RUNNING TASK_FINISHED] and 1", t1, t2queued)
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if r.tasks["t1"] != nil || t2.state != api.TaskRunning {
				t.Errorf("t1 known %v, t2 %s; want t1 ended and t2 TASK_RUNNING", r.tasks["t1"] != nil, t2.state)
			}
		})
	}
}
