package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api"
)

// subscribedMaster answers every agent SUBSCRIBE with SUBSCRIBED in epoch
// and closes the stream.
func subscribedMaster(t *testing.T, epoch uint64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(api.AgentEvent{Type: api.AgentEventSubscribed, Subscribed: &api.AgentSubscribed{
			AgentID: api.AgentID{Value: "a1"}, HeartbeatIntervalSeconds: 15, Epoch: epoch}})
		w.Header().Set("Mesos-Stream-Id", "s1")
		w.WriteHeader(http.StatusOK)
		w.Write(api.AppendRecord(nil, b))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFencing subscribes an agent to masters of various epochs: one older
// than an epoch it has seen is refused.
func TestFencing(t *testing.T) {
	tests := []struct {
		name    string
		epochs  []uint64
		refused bool // the last subscription
	}{
		{"first master", []uint64{3}, false},
		{"same leader again", []uint64{3, 3}, false},
		{"newer leader", []uint64{3, 5}, false},
		{"deposed leader", []uint64{5, 3}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, nil)
			var err error
			var subscribed bool
			for _, e := range tt.epochs {
				subscribed, err = a.session(context.Background(), subscribedMaster(t, e).URL)
			}
			if refused := errors.Is(err, ErrStaleMaster); refused != tt.refused || subscribed == tt.refused {
				t.Errorf("last session: subscribed %v, err %v; want refused %v", subscribed, err, tt.refused)
			}
		})
	}
}

// TestQuickSendGivesUp sends an update the way a quiet agent's executor
// call does (deliverDue) to a master that never answers: the call gives
// up after quickSend instead of the client's 75 s, which would hold the
// executor's connection all that time, and the update is due again at
// once for deliverUpdates.
func TestQuickSendGivesUp(t *testing.T) {
	hung := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hung); srv.Close() })
	a := subscribedAgent(t, srv.URL)
	if err := a.updates.add("fw", status("t1", api.TaskRunning), time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		a.deliverDue()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deliverDue still waits for a master that does not answer")
	}
	if calls.Load() != 1 {
		t.Fatalf("the master got %d calls, want 1", calls.Load())
	}
	if due, _ := a.updates.due(time.Now()); len(due) != 1 || due[0].status.State != api.TaskRunning {
		t.Fatalf("after the send was given up: due %+v, want the update again at once", due)
	}
}

func TestInBatches(t *testing.T) {
	small := pendingUpdate{status: status("t", api.TaskRunning)}
	big := pendingUpdate{status: api.TaskStatus{TaskID: api.TaskID{Value: "big"}, Data: make([]byte, updateBatchBytes+1)}}
	half := pendingUpdate{status: api.TaskStatus{TaskID: api.TaskID{Value: "half"}, Message: strings.Repeat("m", updateBatchBytes/2)}}
	tests := []struct {
		name string
		due  []pendingUpdate
		want []int // each batch's length
	}{
		{"none", nil, nil},
		{"one", []pendingUpdate{small}, []int{1}},
		{"a full batch", slices.Repeat([]pendingUpdate{small}, updateBatch), []int{updateBatch}},
		{"one past a batch", slices.Repeat([]pendingUpdate{small}, updateBatch+1), []int{updateBatch, 1}},
		{"a large update goes alone", []pendingUpdate{small, big, small}, []int{1, 1, 1}},
		{"large first", []pendingUpdate{big, small}, []int{1, 1}},
		{"two halves fit, a third does not", []pendingUpdate{half, half, half, small}, []int{2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			var joined []pendingUpdate
			for _, b := range inBatches(tt.due) {
				got = append(got, len(b))
				joined = append(joined, b...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batch lengths %v, want %v", got, tt.want)
			}
			if len(joined) != len(tt.due) {
				t.Fatalf("the batches hold %d updates, want %d", len(joined), len(tt.due))
			}
			for i := range joined {
				if joined[i].status.TaskID != tt.due[i].status.TaskID {
					t.Fatalf("update %d is %s, want %s: the order changed", i, joined[i].status.TaskID.Value, tt.due[i].status.TaskID.Value)
				}
			}
		})
	}
}

// TestDueUpdatesShareACall gives a busy agent an update for each of 100
// tasks, and a second for one of them: one pass sends the 100 heads in
// two UPDATE calls the master accepts, and the second update waits for
// its task's first to be acknowledged.
func TestDueUpdatesShareACall(t *testing.T) {
	m := newUpdateMaster(t)
	a := subscribedAgent(t, m.URL)
	now := time.Now()
	var want []string
	for i := range 100 {
		st := status(fmt.Sprintf("t%03d", i), api.TaskRunning)
		st.UUID = bytes.Repeat([]byte{byte(i)}, 16)
		if err := a.updates.add("fw", st, now); err != nil {
			t.Fatal(err)
		}
		want = append(want, st.TaskID.Value)
	}
	second := status("t000", api.TaskFinished)
	second.UUID = bytes.Repeat([]byte{0xff}, 16)
	if err := a.updates.add("fw", second, now); err != nil {
		t.Fatal(err)
	}
	a.deliverDue()
	calls, _ := m.result()
	var got []string
	for _, c := range calls {
		for _, u := range c {
			if u.Status.State != api.TaskRunning {
				t.Errorf("%s's %s was sent before its TASK_RUNNING was acknowledged", u.Status.TaskID.Value, u.Status.State)
			}
			got = append(got, u.Status.TaskID.Value)
		}
	}
	if len(calls) != 2 {
		t.Errorf("the master got %d calls, want 2 (of %d and %d updates)", len(calls), updateBatch, 100-updateBatch)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the master got updates for %v, want one for each of %v", got, want)
	}
}

// TestRefusedBatchIsSplit sends updates whose messages JSON escapes
// six-fold ('<' becomes \u003c), so that a batch the agent takes for
// small is over the master's cap on a call's body. The master refuses it
// (413, as http.MaxBytesReader makes the master's handler answer), and
// the agent sends it again in halves at once: every update arrives in
// one deliverDue. Retried whole, the batch would be refused for ever.
func TestRefusedBatchIsSplit(t *testing.T) {
	m := newUpdateMaster(t)
	a := subscribedAgent(t, m.URL)
	now := time.Now()
	var want []string
	var pending []pendingUpdate
	for i := range updateBatch {
		st := status(fmt.Sprintf("t%03d", i), api.TaskFailed)
		st.UUID = bytes.Repeat([]byte{byte(i)}, 16)
		st.Message = strings.Repeat("<", 4000)
		if err := a.updates.add("fw", st, now); err != nil {
			t.Fatal(err)
		}
		want = append(want, st.TaskID.Value)
		pending = append(pending, pendingUpdate{status: st})
	}
	if b := inBatches(pending); len(b) != 1 {
		t.Fatalf("the updates make %d batches; the test needs them in one", len(b))
	}
	a.deliverDue()
	calls, refused := m.result()
	var got []string
	for _, c := range calls {
		for _, u := range c {
			got = append(got, u.Status.TaskID.Value)
		}
	}
	if refused == 0 {
		t.Error("no call was refused: the test's updates are too small to test the split")
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the master got %d updates (%d calls refused), want all %d", len(got), refused, len(want))
	}
}

// TestOversizedUpdateIsStripped gives the agent an update whose data
// alone is over the master's cap on a call, and a later one of the same
// task. The master refuses the first however it is sent, so the agent
// sends it without its data and labels, its message saying so: the
// framework learns the task's state, and the later update is not held
// back behind it for ever.
func TestOversizedUpdateIsStripped(t *testing.T) {
	m := newUpdateMaster(t)
	a := subscribedAgent(t, m.URL)
	now := time.Now()
	big := status("t1", api.TaskRunning)
	big.Data = bytes.Repeat([]byte("x"), 2<<20)
	big.Message = strings.Repeat("é", 1000)
	big.Labels = &api.Labels{Labels: []api.Label{{Key: "k", Value: "v"}}}
	if err := a.updates.add("fw", big, now); err != nil {
		t.Fatal(err)
	}
	a.deliverDue()
	calls, refused := m.result()
	if refused != 1 || len(calls) != 1 || len(calls[0]) != 1 {
		t.Fatalf("%d calls refused and %d accepted (%v), want the update refused once, then accepted", refused, len(calls), calls)
	}
	got := calls[0][0].Status
	if got.State != api.TaskRunning || len(got.Data) != 0 || got.Labels != nil || !strings.Contains(got.Message, "dropped this update's data (2097152 bytes)") ||
		!utf8.ValidString(got.Message) || len(got.Message) > 2*strippedMessageBytes {
		t.Errorf("the master got %s with %d bytes of data, labels %v and message %q", got.State, len(got.Data), got.Labels, got.Message)
	}
	if err := a.updates.acknowledge("fw", "t1", got.UUID, now); err != nil {
		t.Fatalf("acknowledging the stripped update: %v", err)
	}
	if err := a.updates.add("fw", status("t1", api.TaskFinished), now); err != nil {
		t.Fatal(err)
	}
	a.barrier().wait() // the acknowledgement's deletion, which makes the next update due
	a.deliverDue()
	if calls, _ := m.result(); len(calls) != 2 || calls[1][0].Status.State != api.TaskFinished {
		t.Errorf("the task's next update was not delivered: %v", calls)
	}
}

// TestHungUpdateCallIsRetried has a master hold the agent's first
// UPDATE call without an answer, as one that vanished without closing
// its connections does. The call is given up after updateCallTimeout
// and its update sent again at once, not left to the HTTP client's
// timeout of 75 s.
func TestHungUpdateCallIsRetried(t *testing.T) {
	defer func(d time.Duration) { updateCallTimeout = d }(updateCallTimeout)
	updateCallTimeout = 200 * time.Millisecond
	release := make(chan struct{})
	var calls atomic.Int32
	delivered := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			select { // hung
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		call, err := api.DecodeAgentCall(body)
		if err != nil || len(call.Updates) != 1 {
			t.Errorf("call %s: %v", body, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		select {
		case delivered <- call.Updates[0].Status.TaskID.Value:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	a := subscribedAgent(t, srv.URL)
	if err := a.updates.add("fw", status("t1", api.TaskRunning), time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.deliverUpdates(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case id := <-delivered:
		if id != "t1" {
			t.Errorf("delivered %s, want t1", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the update was not delivered after its first call hung (%d calls)", calls.Load())
	}
}

// subscribedAgent is a bare agent that takes master for the master it
// is subscribed to, so that it sends its updates there.
func subscribedAgent(t *testing.T, master string) *Agent {
	t.Helper()
	a := newBareAgent(t, nil)
	a.mu.Lock()
	a.master, a.streamID, a.agentID = master, "s1", "a1"
	a.mu.Unlock()
	return a
}

// updateMaster is a fake master that answers UPDATE calls as the real
// one does: a body over the master's default MaxCallBytes (1 MiB) is
// refused with 413, as its http.MaxBytesReader makes it; any other
// call's updates are recorded and accepted.
type updateMaster struct {
	*httptest.Server
	mu      sync.Mutex
	calls   [][]api.AgentUpdate
	refused int
}

func newUpdateMaster(t *testing.T) *updateMaster {
	t.Helper()
	m := &updateMaster{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			m.mu.Lock()
			m.refused++
			m.mu.Unlock()
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		call, err := api.DecodeAgentCall(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			t.Error(err)
			return
		}
		m.mu.Lock()
		m.calls = append(m.calls, call.Updates)
		m.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(m.Close)
	return m
}

// result returns the accepted calls' updates and how many calls were
// refused.
func (m *updateMaster) result() (calls [][]api.AgentUpdate, refused int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls), m.refused
}

// TestSubscribeListsFrameworks checks that a re-registering agent reports
// the FrameworkInfo of each framework its executors run, once, principal
// included: a master that lost its state lets only that principal
// subscribe as the framework it recovers from the agent.
func TestSubscribeListsFrameworks(t *testing.T) {
	a := newBareAgent(t, nil)
	a.mu.Lock()
	for _, e := range []struct{ fw, principal, executor string }{
		{"web-fw", "web", "e1"}, {"web-fw", "web", "e2"}, {"ci-fw", "ci", "e1"},
	} {
		r := a.newRun(e.fw, api.FrameworkInfo{Name: e.fw, Principal: e.principal}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: e.executor}})
		a.executors[r.key] = r
	}
	a.mu.Unlock()
	call := a.subscribeCall()
	a.mu.Lock()
	clear(a.executors) // never started: nothing to shut down
	a.mu.Unlock()

	got := map[string]string{}
	for _, fw := range call.Subscribe.Frameworks {
		if fw.ID == nil {
			t.Fatalf("framework %q listed without its ID", fw.Name)
		}
		if _, dup := got[fw.ID.Value]; dup {
			t.Errorf("framework %s listed twice", fw.ID.Value)
		}
		got[fw.ID.Value] = fw.Principal
	}
	if want := map[string]string{"web-fw": "web", "ci-fw": "ci"}; !maps.Equal(got, want) {
		t.Fatalf("SUBSCRIBE lists frameworks (ID: principal) %v, want %v", got, want)
	}
}

// TestShutdownByMaster has the master answer the agent's subscription
// with SHUTDOWN, as it answers an agent an operator marked gone: Run must
// shut the agent's executors down and return a *ShutdownError, rather
// than subscribe again and again.
func TestShutdownByMaster(t *testing.T) {
	var subscriptions atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if call, err := api.DecodeAgentCall(body); err != nil || call.Type != api.AgentCallSubscribe {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		subscriptions.Add(1)
		w.Header().Set("Mesos-Stream-Id", "s1")
		w.WriteHeader(http.StatusOK)
		for _, ev := range []api.AgentEvent{
			{Type: api.AgentEventSubscribed, Subscribed: &api.AgentSubscribed{AgentID: api.AgentID{Value: "a1"}, HeartbeatIntervalSeconds: 15}},
			{Type: api.AgentEventShutdown, Shutdown: &api.AgentShutdown{Message: "Agent has been marked gone"}},
		} {
			b, _ := json.Marshal(ev)
			w.Write(api.AppendRecord(nil, b))
		}
	}))
	t.Cleanup(srv.Close)
	a := newBareAgent(t, func(c *Config) {
		c.Masters = []string{srv.Listener.Addr().String()}
		c.ExecutorCommand = []string{"sleep", "600"} // never subscribes, ignores SHUTDOWN: killed after its grace
		c.ExecutorRegistrationTimeout = time.Hour
		c.ExecutorShutdownGrace = 100 * time.Millisecond
		c.RegistrationBackoff = 10 * time.Millisecond
	})
	a.mu.Lock()
	r := a.newRun("fw", api.FrameworkInfo{Name: "f"}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "x"}})
	a.executors[r.key] = r
	a.mu.Unlock()
	if _, err := a.startExecutor(r); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- a.Run(context.Background()) }()
	select {
	case err := <-ran:
		if se := (*ShutdownError)(nil); !errors.As(err, &se) || se.Message != "Agent has been marked gone" {
			t.Fatalf("Run returned %v, want a *ShutdownError with the master's reason", err)
		}
	case <-time.After(30 * time.Second):
		a.killExecutor(r)
		t.Fatalf("Run did not return after SHUTDOWN; %d subscriptions", subscriptions.Load())
	}
	if n := subscriptions.Load(); n != 1 {
		t.Errorf("%d subscriptions, want 1: the agent must not subscribe again", n)
	}
	select {
	case <-r.done:
	default:
		t.Error("the executor still runs after the agent shut down")
	}
}
