package executortest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/api"
)

// ErrNoStream is returned by the methods that send an event when no
// executor is subscribed.
var ErrNoStream = errors.New("executortest: no executor is subscribed")

// StatusError is an error an Options.OnUpdate hook returns to refuse a
// call with its own HTTP status, 413 Request Entity Too Large say, as a
// real agent answers a body past its limit.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Options configure an Agent. The zero value accepts any executor and
// acknowledges every update at once.
type Options struct {
	// FrameworkID and ExecutorID, when set, are the only ones the agent
	// accepts; calls naming others are answered 400.
	FrameworkID string
	ExecutorID  string
	// Subscribed is the payload of every SUBSCRIBED event. Nil means one
	// naming the subscribing executor and framework, agent "agent-1" on
	// localhost and container "container-1".
	Subscribed *api.ExecutorSubscribed
	// Token, when set, must come as "Authorization: Bearer <Token>";
	// other requests are answered 401.
	Token string
	// ManualAck turns automatic acknowledgement off: updates are then
	// acknowledged only by Acknowledge. By default the agent sends
	// ACKNOWLEDGED for every update once it has recorded it, and for the
	// updates a SUBSCRIBE lists right after SUBSCRIBED.
	ManualAck bool
	// SingleUpdates makes the agent one without Mezzo's extension by
	// which an UPDATE call carries more updates (api.ExecutorCall.
	// MoreUpdates), as a Mesos agent or a Mezzo agent of an earlier
	// build is: its SUBSCRIBED leaves AcceptsMoreUpdates unset, whatever
	// Subscribed says, and it refuses a call carrying more updates with
	// 400 Bad Request: louder than such a real agent, which would drop
	// them unread, so that a test catches a client that sends them
	// unasked. By default it takes them, and says so.
	SingleUpdates bool
	// OnUpdate, when set, is called with every UPDATE call that passed
	// the agent's checks, on the call's goroutine, before its updates
	// are recorded. It may block, which holds the call in flight; an
	// error it returns refuses the call with 400 Bad Request and the
	// error's text, or with the status of a StatusError.
	OnUpdate func(call *api.ExecutorCall) error
}

// Agent serves an agent's executor API, POST /api/v1/executor, on a
// loopback port, for testing executors. It speaks the real wire: calls are
// decoded and validated with api.DecodeExecutorCall and answered as
// Mezzo's agent answers them, and SUBSCRIBE opens a RecordIO stream of
// events with a Mesos-Stream-Id that later calls must carry. A test sends
// events with Send (or Launch, Kill, Shutdown...), reads what the
// executor sent with Subscriptions, Updates and Messages, and breaks the
// connection with Drop and SetDown.
//
// An Agent is safe for concurrent use. Close it when done.
type Agent struct {
	opts    Options
	srv     *httptest.Server
	closing chan struct{} // closed by Close: every stream ends
	close   sync.Once

	mu       sync.Mutex
	down     bool
	stream   *stream // the current subscription; nil if none
	subs     []api.ExecutorSubscribe
	updates  []api.TaskStatus
	calls    []int           // how many updates each UPDATE call carried
	seen     map[string]bool // UUIDs of the updates in updates
	messages [][]byte
	usage    []api.ExecutorUsage
	changed  chan struct{} // closed and replaced on every change
	conns    int           // connections open now
	topConns int           // the most open at once
}

// stream is one subscription's event stream.
type stream struct {
	id     string
	events chan []byte
	done   chan struct{} // closed to drop the stream
	once   sync.Once
}

func (s *stream) drop() { s.once.Do(func() { close(s.done) }) }

// NewAgent starts an Agent on a loopback port.
func NewAgent(opts Options) *Agent {
	a := &Agent{opts: opts, seen: map[string]bool{}, changed: make(chan struct{}), closing: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.serve)
	a.srv = httptest.NewUnstartedServer(mux)
	a.srv.Config.ConnState = a.countConn
	a.srv.Start()
	return a
}

// countConn keeps the count MostConns reports.
func (a *Agent) countConn(_ net.Conn, state http.ConnState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch state {
	case http.StateNew:
		a.conns++
		a.topConns = max(a.topConns, a.conns)
	case http.StateClosed, http.StateHijacked:
		a.conns--
	}
}

// MostConns returns the most connections the executor had open to the
// agent at once, so that a test can see how an executor pools its calls:
// each connection costs both sides a dial, an accept and a close.
func (a *Agent) MostConns() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.topConns
}

// Endpoint returns the agent's address as HOST:PORT, the form of
// MESOS_AGENT_ENDPOINT.
func (a *Agent) Endpoint() string { return a.srv.Listener.Addr().String() }

// Close drops the stream and stops the server. The executor may still
// be running, and subscribing again as its stream breaks: a stream that
// starts while Close cuts the connections ends at once too, where it
// would otherwise wait for the executor to go and keep Close from
// returning.
func (a *Agent) Close() {
	a.close.Do(func() { close(a.closing) })
	a.Drop()
	a.srv.CloseClientConnections()
	a.srv.Close()
}

// Drop cuts the current event stream, as a crashing agent would: the
// executor sees its connection break.
func (a *Agent) Drop() {
	a.mu.Lock()
	s := a.stream
	a.mu.Unlock()
	if s != nil {
		s.drop()
	}
}

// SetDown makes the agent answer every request with 503, as an agent
// still recovering does, and drops the stream; SetDown(false) brings it
// back.
func (a *Agent) SetDown(down bool) {
	a.mu.Lock()
	a.down = down
	a.notify()
	a.mu.Unlock()
	if down {
		a.Drop()
	}
}

// Connected reports whether an executor is subscribed.
func (a *Agent) Connected() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stream != nil
}

// Subscriptions returns the payload of every SUBSCRIBE received, in order.
func (a *Agent) Subscriptions() []api.ExecutorSubscribe {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]api.ExecutorSubscribe(nil), a.subs...)
}

// Updates returns every distinct status update received, by UPDATE or
// listed by a SUBSCRIBE, in the order they first arrived; an update
// received again (same UUID) appears once.
func (a *Agent) Updates() []api.TaskStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]api.TaskStatus(nil), a.updates...)
}

// States returns the states of the distinct updates received for a task,
// in order.
func (a *Agent) States(taskID string) []api.TaskState {
	var out []api.TaskState
	for _, u := range a.Updates() {
		if u.TaskID.Value == taskID {
			out = append(out, u.State)
		}
	}
	return out
}

// Messages returns the data of every MESSAGE call received, in order.
func (a *Agent) Messages() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.messages...)
}

// Wait calls cond, again after every change to what the agent received
// or to its connection, until it returns true (Wait returns nil) or ctx
// ends (Wait returns ctx's error). cond may call the Agent's methods.
func (a *Agent) Wait(ctx context.Context, cond func() bool) error {
	for {
		a.mu.Lock()
		ch := a.changed
		a.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes Wait. a.mu must be held.
func (a *Agent) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// Send sends ev on the current stream. It returns ErrNoStream when no
// executor is subscribed.
func (a *Agent) Send(ev api.ExecutorEvent) error {
	rec, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	a.mu.Lock()
	s := a.stream
	a.mu.Unlock()
	if s == nil {
		return ErrNoStream
	}
	select {
	case s.events <- rec:
		return nil
	case <-s.done:
		return ErrNoStream
	case <-a.closing:
		return ErrNoStream
	}
}

// Launch sends LAUNCH for task.
func (a *Agent) Launch(task api.TaskInfo) error {
	return a.Send(api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: task}})
}

// LaunchGroup sends LAUNCH_GROUP for tasks.
func (a *Agent) LaunchGroup(tasks ...api.TaskInfo) error {
	return a.Send(api.ExecutorEvent{Type: api.ExecutorEventLaunchGroup,
		LaunchGroup: &api.ExecutorLaunchGroup{TaskGroup: api.TaskGroupInfo{Tasks: tasks}}})
}

// Kill sends KILL for a task, with policy (nil: the task's own).
func (a *Agent) Kill(taskID string, policy *api.KillPolicy) error {
	return a.Send(api.ExecutorEvent{Type: api.ExecutorEventKill,
		Kill: &api.ExecutorKill{TaskID: api.TaskID{Value: taskID}, KillPolicy: policy}})
}

// Shutdown sends SHUTDOWN.
func (a *Agent) Shutdown() error {
	return a.Send(api.ExecutorEvent{Type: api.ExecutorEventShutdown})
}

// Acknowledge sends ACKNOWLEDGED for an update.
func (a *Agent) Acknowledge(status api.TaskStatus) error {
	return a.Send(ackEvent(status))
}

func ackEvent(status api.TaskStatus) api.ExecutorEvent {
	return api.ExecutorEvent{Type: api.ExecutorEventAcknowledged,
		Acknowledged: &api.ExecutorAcknowledged{TaskID: status.TaskID, UUID: status.UUID}}
}

// serve answers one call.
func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	call, code, msg := a.decode(r)
	if code != 0 {
		http.Error(w, msg, code)
		return
	}
	switch call.Type {
	case api.ExecutorCallSubscribe:
		a.serveStream(w, r, call)
		return
	case api.ExecutorCallUnknown:
		http.Error(w, "Received 'UNKNOWN' call", http.StatusNotImplemented)
		return
	}
	if code, msg := a.checkStream(r); code != 0 {
		http.Error(w, msg, code)
		return
	}
	switch call.Type {
	case api.ExecutorCallUpdate:
		a.serveUpdate(w, call)
	case api.ExecutorCallMessage:
		a.mu.Lock()
		a.messages = append(a.messages, call.Message.Data)
		a.notify()
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case api.ExecutorCallUsage:
		a.mu.Lock()
		a.usage = append(a.usage, *call.Usage)
		a.notify()
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default: // HEARTBEAT
		w.WriteHeader(http.StatusAccepted)
	}
}

// serveUpdate answers UPDATE: it records the call's updates, in order,
// and acknowledges them unless Options.ManualAck is set.
func (a *Agent) serveUpdate(w http.ResponseWriter, call *api.ExecutorCall) {
	if a.opts.SingleUpdates && len(call.MoreUpdates) > 0 {
		http.Error(w, "This agent takes one update per UPDATE call", http.StatusBadRequest)
		return
	}
	if a.opts.OnUpdate != nil {
		if err := a.opts.OnUpdate(call); err != nil {
			code := http.StatusBadRequest
			if se := (*StatusError)(nil); errors.As(err, &se) {
				code = se.Code
			}
			http.Error(w, err.Error(), code)
			return
		}
	}
	updates := append([]api.ExecutorUpdate{*call.Update}, call.MoreUpdates...)
	a.mu.Lock()
	a.calls = append(a.calls, len(updates))
	a.mu.Unlock()
	a.record(updates)
	w.WriteHeader(http.StatusAccepted)
	if !a.opts.ManualAck {
		for _, u := range updates {
			a.Acknowledge(u.Status)
		}
	}
}

// UpdateCalls returns how many updates each UPDATE call the agent took
// carried, in order: 1 for a plain call, more for one carrying more
// updates. A test sees from it how an executor shares its calls.
func (a *Agent) UpdateCalls() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// Usage returns the USAGE reports received (api.ExecutorUsage), oldest
// first.
func (a *Agent) Usage() []api.ExecutorUsage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.usage)
}

// decode checks the request as Mesos's agent does and decodes its call.
// A non-zero code is the error answer.
func (a *Agent) decode(r *http.Request) (*api.ExecutorCall, int, string) {
	a.mu.Lock()
	down := a.down
	a.mu.Unlock()
	switch {
	case down:
		return nil, http.StatusServiceUnavailable, "Agent has not finished recovery"
	case r.Method != http.MethodPost:
		return nil, http.StatusMethodNotAllowed, "Expecting a 'POST' request"
	case a.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+a.opts.Token:
		return nil, http.StatusUnauthorized, "Invalid or missing executor token"
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, http.StatusBadRequest, "Expecting 'Content-Type' to be present"
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Sprintf("Expecting 'Content-Type' of application/json, got %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxRecordSize+1))
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	if len(body) > api.MaxRecordSize {
		return nil, http.StatusRequestEntityTooLarge, "Request body too large"
	}
	call, err := api.DecodeExecutorCall(body)
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	if id := a.opts.FrameworkID; id != "" && call.FrameworkID.Value != id {
		return nil, http.StatusBadRequest, fmt.Sprintf("Framework %q is not the one of this executor", call.FrameworkID.Value)
	}
	if id := a.opts.ExecutorID; id != "" && call.ExecutorID.Value != id {
		return nil, http.StatusBadRequest, fmt.Sprintf("Executor %q cannot be found", call.ExecutorID.Value)
	}
	return call, 0, ""
}

// checkStream checks the Mesos-Stream-Id of a call other than SUBSCRIBE.
func (a *Agent) checkStream(r *http.Request) (int, string) {
	a.mu.Lock()
	s := a.stream
	a.mu.Unlock()
	id := r.Header.Get("Mesos-Stream-Id")
	switch {
	case s == nil:
		return http.StatusForbidden, "Executor is not subscribed"
	case id == "":
		return http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	case id != s.id:
		return http.StatusBadRequest, fmt.Sprintf("The stream ID %q included in this request didn't match the stream ID currently associated with this executor", id)
	}
	return 0, ""
}

// record keeps updates not received before.
func (a *Agent) record(updates []api.ExecutorUpdate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range updates {
		if !a.seen[string(u.Status.UUID)] {
			a.seen[string(u.Status.UUID)] = true
			a.updates = append(a.updates, u.Status)
		}
	}
	a.notify()
}

// serveStream answers SUBSCRIBE: SUBSCRIBED first, then the events sent,
// one record per write, until the stream is dropped or the executor goes.
func (a *Agent) serveStream(w http.ResponseWriter, r *http.Request, call *api.ExecutorCall) {
	if r.Header.Get("Mesos-Stream-Id") != "" {
		http.Error(w, "Subscribe calls should not include the 'Mesos-Stream-Id' header", http.StatusBadRequest)
		return
	}
	s := &stream{id: uuid.NewString(), events: make(chan []byte, 256), done: make(chan struct{})}
	a.record(call.Subscribe.UnacknowledgedUpdates)
	a.mu.Lock()
	old := a.stream
	a.stream = s
	a.subs = append(a.subs, *call.Subscribe)
	a.notify()
	a.mu.Unlock()
	if old != nil {
		old.drop()
	}
	defer func() {
		a.mu.Lock()
		if a.stream == s {
			a.stream = nil
		}
		a.notify()
		a.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mesos-Stream-Id", s.id)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	write := func(ev api.ExecutorEvent) bool {
		rec, _ := json.Marshal(ev)
		if _, err := w.Write(api.AppendRecord(nil, rec)); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !write(api.ExecutorEvent{Type: api.ExecutorEventSubscribed, Subscribed: a.subscribed(call)}) {
		return
	}
	if !a.opts.ManualAck {
		for _, u := range call.Subscribe.UnacknowledgedUpdates {
			if !write(ackEvent(u.Status)) {
				return
			}
		}
	}
	for {
		select {
		case rec := <-s.events:
			if _, err := w.Write(api.AppendRecord(nil, rec)); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-s.done:
			// Break the connection rather than end the response
			// cleanly, as a crashing agent would.
			panic(http.ErrAbortHandler)
		case <-a.closing:
			panic(http.ErrAbortHandler)
		case <-r.Context().Done():
			return
		}
	}
}

// subscribed returns the SUBSCRIBED payload for call.
func (a *Agent) subscribed(call *api.ExecutorCall) *api.ExecutorSubscribed {
	if a.opts.Subscribed != nil {
		s := *a.opts.Subscribed
		s.AcceptsMoreUpdates = !a.opts.SingleUpdates
		return &s
	}
	fw := call.FrameworkID
	return &api.ExecutorSubscribed{
		ExecutorInfo:       api.ExecutorInfo{ExecutorID: call.ExecutorID, FrameworkID: &fw},
		FrameworkInfo:      api.FrameworkInfo{ID: &fw, User: "test", Name: "executortest"},
		AgentInfo:          api.AgentInfo{Hostname: "localhost", ID: &api.AgentID{Value: "agent-1"}},
		ContainerID:        &api.ContainerID{Value: "container-1"},
		AcceptsMoreUpdates: !a.opts.SingleUpdates,
	}
}

// String describes the agent, for test logs.
func (a *Agent) String() string {
	return "executortest agent at " + strings.TrimPrefix(a.srv.URL, "http://")
}
