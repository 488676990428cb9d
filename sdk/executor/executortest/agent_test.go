package executortest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

// TestCloseWhileExecutorReconnects closes the agent while an executor
// subscribes again the moment its stream breaks, as the package doc's
// tour does with a deferred Close and an executor that is still running.
// A SUBSCRIBE that arrived while Close was cutting the connections used
// to hold Close for ever: its stream waited for the executor to go, and
// the executor was stopped only after Close returned.
func TestCloseWhileExecutorReconnects(t *testing.T) {
	body, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe,
		FrameworkID: api.FrameworkID{Value: "fw"}, ExecutorID: api.ExecutorID{Value: "ex"},
		Subscribe: &api.ExecutorSubscribe{}})
	if err != nil {
		t.Fatal(err)
	}
	// Four executors at once, to widen the window the race needs; without
	// the fix a hundred rounds hang every run.
	for range 100 {
		agent := executortest.NewAgent(executortest.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		var executors sync.WaitGroup
		for range 4 {
			executors.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+agent.Endpoint()+"/api/v1/executor", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					if resp, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			})
		}
		if err := agent.Wait(ctx, agent.Connected); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() {
			agent.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return while the executor kept subscribing")
		}
		cancel()
		executors.Wait()
	}
}
