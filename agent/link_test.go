package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

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
	a := newBareAgent(t, nil)
	a.mu.Lock()
	a.master, a.streamID, a.agentID = srv.URL, "s1", "a1"
	a.mu.Unlock()
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
