package scheduler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// The tests run the client against a real master over loopback. Agents are
// played by hand (testAgent), as the master's own tests do, so that a test
// decides exactly which status updates are sent.

const waitTime = 10 * time.Second

// testMaster is a real master on a loopback port that survives restarts:
// restart brings up a new master, with an empty state, on the same port.
type testMaster struct {
	t     *testing.T
	addr  string // 127.0.0.1:PORT
	tweak []func(*master.Config)
	wrap  func(http.Handler) http.Handler

	m      *master.Master
	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan struct{}
}

func startMaster(t *testing.T, tweak ...func(*master.Config)) *testMaster {
	t.Helper()
	tm := newTestMaster(t, tweak...)
	tm.start()
	return tm
}

// newTestMaster reserves a port; start serves a master on it.
func newTestMaster(t *testing.T, tweak ...func(*master.Config)) *testMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tm := &testMaster{t: t, addr: addr, tweak: tweak}
	t.Cleanup(tm.stop)
	return tm
}

func (tm *testMaster) url() string { return "http://" + tm.addr }

func (tm *testMaster) start() {
	tm.t.Helper()
	_, port, _ := net.SplitHostPort(tm.addr)
	cfg := master.DefaultConfig()
	cfg.WorkDir = tm.t.TempDir()
	cfg.AllocationBatch = time.Millisecond
	cfg.Port, _ = strconv.Atoi(port)
	for _, f := range tm.tweak {
		f(&cfg)
	}
	m, err := master.New(cfg)
	if err != nil {
		tm.t.Fatal(err)
	}
	var h http.Handler = m.Handler()
	if tm.wrap != nil {
		h = tm.wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = listen(tm.t, tm.addr)
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	tm.m, tm.srv, tm.cancel, tm.done = m, srv, cancel, done
}

// listen binds addr, retrying while a just-closed listener still holds it.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop shuts the master down and closes every connection to it.
func (tm *testMaster) stop() {
	if tm.srv == nil {
		return
	}
	tm.cancel()
	<-tm.done
	tm.srv.CloseClientConnections()
	tm.srv.Close()
	tm.srv = nil
}

func (tm *testMaster) restart() {
	tm.t.Helper()
	tm.stop()
	tm.start()
}

// post sends a JSON call and returns the status and body.
func post(t *testing.T, url string, body any, header ...string) (int, string) {
	t.Helper()
	resp := postStream(t, url, body, header...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postStream(t *testing.T, url string, body any, header ...string) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// testAgent speaks the agent protocol (api/agent.go) by hand.
type testAgent struct {
	t        *testing.T
	tm       *testMaster
	id       string
	streamID string
	events   chan api.AgentEvent
}

func (tm *testMaster) agent(t *testing.T, resources string) *testAgent {
	t.Helper()
	res, err := api.ParseResources(resources)
	if err != nil {
		t.Fatal(err)
	}
	resp := postStream(t, tm.url()+"/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe,
		Subscribe: &api.AgentSubscribe{AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", Port: 5051, Resources: res}}})
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("agent subscribe: %s: %s", resp.Status, b)
	}
	a := &testAgent{t: t, tm: tm, streamID: resp.Header.Get("Mesos-Stream-Id"), events: readEvents[api.AgentEvent](t, resp)}
	ev := a.next(func(api.AgentEvent) bool { return true })
	if ev.Type != api.AgentEventSubscribed {
		t.Fatalf("first agent event %s, want SUBSCRIBED", ev.Type)
	}
	a.id = ev.Subscribed.AgentID.Value
	return a
}

// readEvents decodes a RecordIO stream into a channel closed at its end.
func readEvents[T any](t *testing.T, resp *http.Response) chan T {
	ch := make(chan T, 1024)
	go func() {
		defer close(ch)
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
			ch <- ev
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return ch
}

// next returns the agent's next event for which keep is true.
func (a *testAgent) next(keep func(api.AgentEvent) bool) api.AgentEvent {
	a.t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.t.Fatal("agent stream ended")
			}
			if keep(ev) {
				return ev
			}
		case <-deadline:
			a.t.Fatal("no matching agent event in time")
		}
	}
}

// launched waits for the master to ask the agent to launch a task.
func (a *testAgent) launched() api.TaskInfo {
	a.t.Helper()
	ev := a.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	return ev.Launch.Tasks[0]
}

// send reports a task's state as the agent would, with a UUID made of b.
func (a *testAgent) send(framework, task string, state api.TaskState, b byte) {
	a.t.Helper()
	st := api.TaskStatus{TaskID: api.TaskID{Value: task}, State: state, Source: api.SourceExecutor,
		UUID: bytes.Repeat([]byte{b}, 16)}
	code, body := post(a.t, a.tm.url()+"/api/v1/agent", api.AgentCall{Type: api.AgentCallUpdate,
		AgentID: &api.AgentID{Value: a.id},
		Updates: []api.AgentUpdate{{FrameworkID: api.FrameworkID{Value: framework}, Status: st}}},
		"Mesos-Stream-Id", a.streamID)
	if code != http.StatusAccepted {
		a.t.Fatalf("agent UPDATE: %d %s", code, body)
	}
}

// acknowledged waits for the master to relay an acknowledgement of the
// update whose UUID is made of b.
func (a *testAgent) acknowledged(task string, b byte) {
	a.t.Helper()
	a.next(func(ev api.AgentEvent) bool {
		return ev.Type == api.AgentEventAcknowledged && ev.Acknowledged.TaskID.Value == task &&
			bytes.Equal(ev.Acknowledged.UUID, bytes.Repeat([]byte{b}, 16))
	})
}

// recorder is a Handler that hands events to the test.
type recorder struct {
	t      *testing.T
	events chan *api.Event
	// react, if set, runs in the handler and its error ends Run.
	react func(ctx context.Context, ev *api.Event) error
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{t: t, events: make(chan *api.Event, 4096)}
}

func (r *recorder) handle(ctx context.Context, ev *api.Event) error {
	if ev.Type != api.EventHeartbeat {
		select {
		case r.events <- ev:
		case <-ctx.Done():
		}
	}
	if r.react != nil {
		return r.react(ctx, ev)
	}
	return nil
}

// next returns the next event for which keep is true.
func (r *recorder) next(keep func(*api.Event) bool) *api.Event {
	r.t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case ev := <-r.events:
			if keep(ev) {
				return ev
			}
		case <-deadline:
			r.t.Fatal("no matching framework event in time")
			return nil
		}
	}
}

func (r *recorder) subscribed() string {
	r.t.Helper()
	return r.next(isType(api.EventSubscribed)).Subscribed.FrameworkID.Value
}

func (r *recorder) offer() api.Offer {
	r.t.Helper()
	return r.next(isType(api.EventOffers)).Offers.Offers[0]
}

func (r *recorder) update(task string, state api.TaskState) api.TaskStatus {
	r.t.Helper()
	return r.next(func(ev *api.Event) bool {
		return ev.Type == api.EventUpdate && ev.Update.Status.TaskID.Value == task && ev.Update.Status.State == state
	}).Update.Status
}

func isType(t api.EventType) func(*api.Event) bool {
	return func(ev *api.Event) bool { return ev.Type == t }
}

// framework returns a Config for a framework of the tests, with fast
// backoff.
func framework(masters ...string) scheduler.Config {
	return scheduler.Config{
		Masters:    masters,
		Framework:  api.FrameworkInfo{User: "test", Name: "sdk-test"},
		Roles:      []string{"test"},
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	}
}

// run starts c.Run on its own goroutine; the returned function waits for
// its result. Cleanup stops it and checks that it returned.
func run(t *testing.T, c *scheduler.Client, h scheduler.Handler) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- c.Run(ctx, h) }()
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() {
			select {
			case err = <-result:
			case <-time.After(waitTime):
				err = errRunStuck
			}
		})
		return err
	}
	t.Cleanup(func() {
		cancel()
		if wait() == errRunStuck {
			t.Error(errRunStuck)
		}
	})
	return wait
}

var errRunStuck = errors.New("Run did not return in time")

// errDone is a handler's way to end Run in the tests.
var errDone = errors.New("done")

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stallProxy forwards TCP connections to a backend until stall is called;
// from then on the connections open at that moment stop passing bytes in
// either direction, as a dead network path would, while new connections
// pass normally.
type stallProxy struct {
	ln      net.Listener
	backend string

	mu      sync.Mutex
	conns   []*proxyConn
	stalled int
}

type proxyConn struct {
	client, server net.Conn
	stalled        chan struct{}
}

func startProxy(t *testing.T, backend string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, backend: backend}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.backend)
		if err != nil {
			client.Close()
			continue
		}
		pc := &proxyConn{client: client, server: server, stalled: make(chan struct{})}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		go pc.pipe(server, client)
		go pc.pipe(client, server)
	}
}

// pipe copies src to dst, holding on to what it reads once stalled.
func (pc *proxyConn) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-pc.stalled:
			// Keep reading so that the sender does not block, but drop it.
			if err != nil {
				return
			}
			continue
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// stall freezes every connection open now.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns[p.stalled:] {
		close(pc.stalled)
	}
	p.stalled = len(p.conns)
}

func (p *stallProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.client.Close()
		pc.server.Close()
	}
}

// operatorTeardown removes a framework through the operator API.
func (tm *testMaster) operatorTeardown(t *testing.T, frameworkID string) {
	t.Helper()
	code, body := post(t, tm.url()+"/api/v1", api.OperatorCall{Type: api.OperatorTeardown,
		Teardown: &api.Teardown{FrameworkID: api.FrameworkID{Value: frameworkID}}})
	if code != http.StatusOK {
		t.Fatalf("operator TEARDOWN: %d %s", code, body)
	}
}

// fakeMaster stands in for a master where a real one cannot say what a
// test needs: it answers SUBSCRIBE with a stream whose first event is
// subscribed, then sends what the test passes to send; every other call
// is accepted.
type fakeMaster struct {
	t             *testing.T
	srv           *httptest.Server
	subscriptions atomic.Int32
	events        chan *api.Event
}

func startFakeMaster(t *testing.T, subscribed *api.Event) *fakeMaster {
	t.Helper()
	fm := &fakeMaster{t: t, events: make(chan *api.Event)}
	fm.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var call api.Call
		if err := json.NewDecoder(r.Body).Decode(&call); err != nil || call.Type != api.CallSubscribe {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		fm.subscriptions.Add(1)
		w.Header().Set("Mesos-Stream-Id", "stream-1")
		w.WriteHeader(http.StatusOK)
		for ev := subscribed; ; {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := w.Write(api.AppendRecord(nil, b)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case ev = <-fm.events:
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(fm.srv.Close)
	return fm
}

// send has the master send ev on the stream open now, or on the next one.
func (fm *fakeMaster) send(ev *api.Event) {
	fm.t.Helper()
	select {
	case fm.events <- ev:
	case <-time.After(waitTime):
		fm.t.Fatalf("no stream took %s in time", ev.Type)
	}
}
