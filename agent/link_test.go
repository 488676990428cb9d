package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

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
