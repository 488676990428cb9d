package master

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestConsoleSeam checks the methods the web console reads the master
// through: calls answer as POST /api/v1 and carry the status of refused
// ones; the event stream starts with a snapshot, follows changes and is
// forgotten when its reader goes; modules and files behave as their routes.
func TestConsoleSeam(t *testing.T) {
	tm := startMaster(t)
	ctx := context.Background()
	a := tm.agent(t, "cpus:2;mem:1024")

	resp, err := tm.Call(ctx, &api.OperatorCall{Type: api.OperatorGetAgents})
	if err != nil || resp.GetAgents == nil || len(resp.GetAgents.Agents) != 1 {
		t.Fatalf("GET_AGENTS: %+v, %v", resp, err)
	}
	if _, err := tm.Call(ctx, &api.OperatorCall{Type: api.OperatorGetMetrics}); err != nil {
		t.Fatalf("GET_METRICS: %v", err)
	}
	refused := []struct {
		call *api.OperatorCall
		code int
	}{
		{&api.OperatorCall{Type: api.OperatorDrainAgent}, http.StatusBadRequest},
		{&api.OperatorCall{Type: api.OperatorSubscribe}, http.StatusBadRequest},
		{&api.OperatorCall{Type: api.OperatorGrowVolume}, http.StatusBadRequest},
		{&api.OperatorCall{Type: api.OperatorGrowVolume, GrowVolume: &api.GrowPersistentVolume{}}, http.StatusNotImplemented},
	}
	for _, tt := range refused {
		_, err := tm.Call(ctx, tt.call)
		var ce *CallError
		if !errors.As(err, &ce) || ce.StatusCode() != tt.code {
			t.Errorf("%s: %v, want a CallError with status %d", tt.call.Type, err, tt.code)
		}
	}

	sctx, cancel := context.WithCancel(ctx)
	events, err := tm.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	first := <-events
	if first.Type != api.OperatorEventSubscribed || len(first.Subscribed.GetState.GetAgents.Agents) != 1 {
		t.Fatalf("first event %+v", first)
	}
	f := tm.subscribe(t, api.FrameworkInfo{Name: "seam", User: "u"})
	deadline := time.After(10 * time.Second)
	for added := false; !added; {
		select {
		case ev := <-events:
			added = ev.Type == api.OperatorEventFrameworkAdded && ev.FrameworkAdded.Framework.FrameworkInfo.ID.Value == f.id
		case <-deadline:
			t.Fatal("no FRAMEWORK_ADDED on the in-process stream")
		}
	}
	cancel()
	for range events { // closed once the reader's context ends
	}
	waitUntil(t, "the stream to be forgotten", func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return len(tm.watchers) == 0
	})

	if _, err := tm.PutModule(ctx, []byte("not wasm")); !isCallError(err, http.StatusBadRequest) {
		t.Errorf("invalid module: %v, want a 400 CallError", err)
	}
	if mods, err := tm.Modules(ctx); err != nil || len(mods) != 0 {
		t.Errorf("modules: %v, %v", mods, err)
	}
	if _, err := tm.Files(ctx, "no-such-agent", "browse", url.Values{"path": {"/"}}); !isCallError(err, http.StatusNotFound) {
		t.Errorf("files of an unknown agent: %v, want a 404 CallError", err)
	}
	if _, err := tm.Files(ctx, a.id, "delete", nil); !isCallError(err, http.StatusNotFound) {
		t.Errorf("unknown files operation: %v, want a 404 CallError", err)
	}
}

func isCallError(err error, code int) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.StatusCode() == code
}

// waitUntil polls cond until it holds, failing after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCallOnStandby checks that Call on a master that does not lead
// answers as POST /api/v1 does there: views from the replica, calls about
// the master itself from itself, and every change refused at once with
// 503 naming the leader (none here). Call used to run a change against
// the standby's empty memory, waiting 15 s for a commit that never came,
// and answer views from that memory: an empty cluster.
func TestCallOnStandby(t *testing.T) {
	tm := leaderlessMaster(t)
	if standby, leader := tm.Master.Standby(); !standby || leader != "" {
		t.Fatalf("Standby() = %v, %q; want a standby with no leader known", standby, leader)
	}
	tests := []struct {
		call api.OperatorCall
		code int // 0: answered
	}{
		{api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{WeightInfos: []api.WeightInfo{{Role: "web", Weight: 2}}}}, http.StatusServiceUnavailable},
		{api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: &api.DrainAgent{AgentID: api.AgentID{Value: "a1"}}}, http.StatusServiceUnavailable},
		{api.OperatorCall{Type: api.OperatorGetWeights}, 0},
		{api.OperatorCall{Type: api.OperatorGetState}, 0},
		{api.OperatorCall{Type: api.OperatorGetMaintenanceSchedule}, 0},
		{api.OperatorCall{Type: api.OperatorGetMaster}, 0},
		{api.OperatorCall{Type: api.OperatorGetHealth}, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.call.Type), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			resp, err := tm.Master.Call(ctx, &tt.call)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("answered after %v", took)
			}
			var ce *CallError
			switch {
			case tt.code == 0 && (err != nil || resp == nil || resp.Type != tt.call.Type):
				t.Errorf("%v %v, want an answer", resp, err)
			case tt.code != 0 && (!errors.As(err, &ce) || ce.Code != tt.code || ce.Message != "No leader elected"):
				t.Errorf("%v, want %d No leader elected", err, tt.code)
			}
		})
	}
}

// TestModuleChangesOnStandby checks that the console's module upload and
// deletion on a master that does not lead are refused at once with 503
// saying so (here, that no leader is elected; with one, naming it), and
// change nothing. An upload used to be stored in the standby's own store
// before being refused, so that its console listed the module as
// uploaded though the registry never recorded it; a deletion's refusal
// did not name the leader.
func TestModuleChangesOnStandby(t *testing.T) {
	tm := leaderlessMaster(t)
	ctx := context.Background()
	kept, err := tm.modules.Put(ctx, wasmEmpty)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func() error
	}{
		{"upload", func() error { _, err := tm.PutModule(ctx, wasmWithType); return err }},
		{"delete", func() error { return tm.DeleteModule(ctx, kept.SHA256) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *CallError
			if err := tt.change(); !errors.As(err, &ce) || ce.Code != http.StatusServiceUnavailable || ce.Message != "No leader elected" {
				t.Errorf("%v, want 503 No leader elected", err)
			}
			mods, err := tm.Modules(ctx)
			if err != nil || len(mods) != 1 || mods[0].SHA256 != kept.SHA256 {
				t.Errorf("modules after the refusal: %+v %v, want only %s", mods, err, kept.SHA256)
			}
		})
	}
}
