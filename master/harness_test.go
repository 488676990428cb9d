package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// testMaster is a master serving on a loopback httptest server.
type testMaster struct {
	*Master
	url string
	// header goes with every request post makes (as name, value pairs):
	// the credentials of tests with authentication on.
	header []string
}

func startMaster(t *testing.T, tweak ...func(*Config)) *testMaster {
	t.Helper()
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	cfg.AllocationBatch = time.Millisecond
	for _, f := range tweak {
		f(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.CloseClientConnections()
		srv.Close()
	})
	return &testMaster{Master: m, url: srv.URL}
}

// post sends a JSON body and returns the response; the caller closes it.
func (tm *testMaster) post(t *testing.T, path string, body any, header ...string) *http.Response {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, tm.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	header = append(append([]string(nil), tm.header...), header...)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// status posts and returns the status code and body text.
func (tm *testMaster) status(t *testing.T, path string, body any, header ...string) (int, string) {
	t.Helper()
	resp := tm.post(t, path, body, header...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventStream reads a RecordIO stream of events of type T.
type eventStream[T any] struct {
	t        *testing.T
	resp     *http.Response
	streamID string
	events   chan T
}

func openStream[T any](t *testing.T, resp *http.Response) *eventStream[T] {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("subscribe: %s: %s", resp.Status, b)
	}
	s := &eventStream[T]{t: t, resp: resp, streamID: resp.Header.Get("Mesos-Stream-Id"), events: make(chan T, 1024)}
	go func() {
		defer close(s.events)
		rr := api.NewRecordReader(resp.Body)
		for {
			rec, err := rr.ReadRecord()
			if err != nil {
				return
			}
			var ev T
			if err := json.Unmarshal(rec, &ev); err != nil {
				t.Errorf("decode event %s: %v", rec, err)
				return
			}
			s.events <- ev
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next returns the next event for which keep is true, failing after a
// deadline.
func (s *eventStream[T]) next(keep func(T) bool) T {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("stream ended")
			}
			if keep(ev) {
				return ev
			}
		case <-deadline:
			var zero T
			s.t.Fatal("no matching event within 10s")
			return zero
		}
	}
}

// closed waits for the stream to end.
func (s *eventStream[T]) closed() {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-deadline:
			s.t.Fatal("stream still open after 10s")
		}
	}
}

// testFramework is a framework speaking the scheduler API by hand.
type testFramework struct {
	*eventStream[api.Event]
	tm *testMaster
	id string
}

func (tm *testMaster) subscribe(t *testing.T, info api.FrameworkInfo) *testFramework {
	t.Helper()
	resp := tm.post(t, "/api/v1/scheduler", api.Call{Type: api.CallSubscribe, FrameworkID: info.ID,
		Subscribe: &api.Subscribe{FrameworkInfo: info}})
	s := openStream[api.Event](t, resp)
	ev := s.next(func(api.Event) bool { return true })
	if ev.Type != api.EventSubscribed {
		t.Fatalf("first event %s, want SUBSCRIBED", ev.Type)
	}
	return &testFramework{eventStream: s, tm: tm, id: ev.Subscribed.FrameworkID.Value}
}

// call makes a call and returns the status code.
func (f *testFramework) call(c api.Call) (int, string) {
	f.t.Helper()
	c.FrameworkID = &api.FrameworkID{Value: f.id}
	return f.tm.status(f.t, "/api/v1/scheduler", c, "Mesos-Stream-Id", f.streamID)
}

func (f *testFramework) mustCall(c api.Call) {
	f.t.Helper()
	if code, body := f.call(c); code != http.StatusAccepted {
		f.t.Fatalf("%s: %d %s, want 202", c.Type, code, body)
	}
}

func (f *testFramework) offer() api.Offer {
	f.t.Helper()
	ev := f.next(func(ev api.Event) bool { return ev.Type == api.EventOffers })
	return ev.Offers.Offers[0]
}

func (f *testFramework) update(task string) api.TaskStatus {
	f.t.Helper()
	ev := f.next(func(ev api.Event) bool {
		return ev.Type == api.EventUpdate && ev.Update.Status.TaskID.Value == task
	})
	return ev.Update.Status
}

// testAgent speaks the agent protocol by hand, so master tests control
// exactly what an agent says.
type testAgent struct {
	*eventStream[api.AgentEvent]
	tm *testMaster
	id string
}

func (tm *testMaster) agent(t *testing.T, resources string) *testAgent {
	t.Helper()
	return tm.reregister(t, "", resources)
}

// reregister subscribes an agent under the ID id (a new agent when id is
// ""), reporting the tasks it runs, as an agent that lost its connection
// or restarted does. A stream the agent had before is left open: the
// master, not the test, decides what becomes of it.
func (tm *testMaster) reregister(t *testing.T, id, resources string, tasks ...api.Task) *testAgent {
	t.Helper()
	return tm.reregisterWith(t, id, resources, api.AgentSubscribe{Tasks: tasks})
}

// reregisterWith is reregister with the tasks, frameworks and executors of
// sub: its AgentInfo is made from id and resources.
func (tm *testMaster) reregisterWith(t *testing.T, id, resources string, sub api.AgentSubscribe) *testAgent {
	t.Helper()
	res, err := api.ParseResources(resources)
	if err != nil {
		t.Fatal(err)
	}
	sub.AgentInfo = api.AgentInfo{Hostname: "127.0.0.1", Port: 5051, Resources: res}
	if id != "" {
		sub.AgentInfo.ID = &api.AgentID{Value: id}
	}
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &sub})
	s := openStream[api.AgentEvent](t, resp)
	ev := s.next(func(api.AgentEvent) bool { return true })
	if ev.Type != api.AgentEventSubscribed {
		t.Fatalf("first agent event %s, want SUBSCRIBED", ev.Type)
	}
	return &testAgent{eventStream: s, tm: tm, id: ev.Subscribed.AgentID.Value}
}

// send reports a status update for a task as the agent would.
func (a *testAgent) send(framework, task string, state api.TaskState, uuid byte) {
	a.t.Helper()
	if code, body := a.sendAll(agentUpdate(framework, task, state, uuid)); code != http.StatusAccepted {
		a.t.Fatalf("agent UPDATE: %d %s", code, body)
	}
}

// sendAll reports status updates in one UPDATE call, as a busy agent
// does, and returns the master's answer.
func (a *testAgent) sendAll(updates ...api.AgentUpdate) (int, string) {
	a.t.Helper()
	return a.tm.status(a.t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallUpdate,
		AgentID: &api.AgentID{Value: a.id}, Updates: updates}, "Mesos-Stream-Id", a.streamID)
}

// exited reports, as the agent does, that executor of framework exited
// with the wait status status (nil: unknown).
func (a *testAgent) exited(framework, executor string, status *api.Int64) {
	a.t.Helper()
	code, body := a.tm.status(a.t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallExecutorExited,
		AgentID: &api.AgentID{Value: a.id}, ExecutorExited: &api.AgentExecutorExited{
			FrameworkID: api.FrameworkID{Value: framework}, ExecutorID: api.ExecutorID{Value: executor}, Status: status,
		}}, "Mesos-Stream-Id", a.streamID)
	if code != http.StatusAccepted {
		a.t.Fatalf("agent EXECUTOR_EXITED: %d %s", code, body)
	}
}

// agentUpdate is an update from a task's executor whose UUID repeats
// the byte uuid.
func agentUpdate(framework, task string, state api.TaskState, uuid byte) api.AgentUpdate {
	return api.AgentUpdate{FrameworkID: api.FrameworkID{Value: framework}, Status: api.TaskStatus{
		TaskID: api.TaskID{Value: task}, State: state, Source: api.SourceExecutor, UUID: bytes.Repeat([]byte{uuid}, 16)}}
}

func scalar(name string, v float64) api.Resource {
	return api.Resource{Name: name, Type: api.SCALAR, Scalar: &api.Scalar{Value: api.Float64(v)}}
}

func commandTask(id string, o api.Offer, cpus, mem float64) api.TaskInfo {
	return api.TaskInfo{
		Name: id, TaskID: api.TaskID{Value: id}, AgentID: o.AgentID,
		Resources: []api.Resource{scalar("cpus", cpus), scalar("mem", mem)},
		Command:   &api.CommandInfo{Value: "true"},
	}
}

func launch(o api.Offer, tasks ...api.TaskInfo) api.Call {
	return api.Call{Type: api.CallAccept, Accept: &api.Accept{
		OfferIDs:   []api.OfferID{o.ID},
		Operations: []api.Operation{{Type: api.OpLaunch, Launch: &api.LaunchOperation{TaskInfos: tasks}}},
	}}
}
