package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// testCall is one API call a test makes: a JSON body posted to path.
type testCall struct {
	name     string
	path     string
	call     any
	streamID string // the Mesos-Stream-Id header, if any
}

// resubscribeCalls are the calls a client makes the moment its stream
// ends: SUBSCRIBE again, as a scheduler, an agent or an operator.
var resubscribeCalls = []testCall{
	{name: "scheduler", path: "/api/v1/scheduler", call: api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f"}}}},
	{name: "agent", path: "/api/v1/agent", call: api.AgentCall{Type: api.AgentCallSubscribe,
		Subscribe: &api.AgentSubscribe{AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", Port: 5051}}}},
	{name: "operator", path: "/api/v1", call: api.OperatorCall{Type: api.OperatorSubscribe}},
}

// serveMaster serves a new master's Handler over proto ("h1", "h2tls" or
// "h2c") and returns the server, a client speaking proto to it, and the
// master.
func serveMaster(t *testing.T, proto string) (*Master, *httptest.Server, *http.Client) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m.Handler())
	switch proto {
	case "h1":
		srv.Start()
		return m, srv, &http.Client{Transport: &http.Transport{}}
	case "h2tls":
		srv.EnableHTTP2 = true
		srv.StartTLS()
		return m, srv, srv.Client()
	case "h2c":
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetHTTP1(true)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		return m, srv, &http.Client{Transport: tr}
	}
	t.Fatalf("unknown protocol %q", proto)
	return nil, nil, nil
}

// runMaster runs m's loops; stop cancels them and returns once Run has.
func runMaster(m *Master) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// closeWithin closes srv, failing the test if that takes longer than d:
// Close waits for every handler, and an HTTP/2 event stream that the
// master never closes stays in its handler for ever. release is then
// called to let the server go. Client connections are not closed first:
// that would end such streams and hide them.
func closeWithin(t *testing.T, srv *httptest.Server, d time.Duration, release func()) {
	t.Helper()
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(d):
		t.Errorf("the server's Close still waits after %v: an event stream was left open", d)
		release()
		<-closed
	}
}

// post sends c to srv with client and returns the response; the caller
// closes it.
func (c testCall) post(ctx context.Context, client *http.Client, srv *httptest.Server) (*http.Response, error) {
	b, err := json.Marshal(c.call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+c.path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.streamID != "" {
		req.Header.Set("Mesos-Stream-Id", c.streamID)
	}
	return client.Do(req)
}

// TestStoppedMasterRefusesCalls checks that a master whose Run has
// returned answers 503, saying it is shutting down, rather than opening
// event streams nothing would close or acting on state no loop serves.
func TestStoppedMasterRefusesCalls(t *testing.T) {
	m, srv, client := serveMaster(t, "h2c")
	runMaster(m)()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer closeWithin(t, srv, 10*time.Second, cancel)

	calls := slices.Concat(resubscribeCalls, []testCall{
		{name: "operator query", path: "/api/v1", call: api.OperatorCall{Type: api.OperatorGetState}},
		{name: "scheduler call", path: "/api/v1/scheduler", streamID: "s",
			call: api.Call{Type: api.CallTeardown, FrameworkID: &api.FrameworkID{Value: "f"}}},
	})
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.post(ctx, client, srv)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("answered %s, want 503", resp.Status)
			}
			if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "shutting down") {
				t.Errorf("answered %q, want it to say the master is shutting down", b)
			}
		})
	}
	t.Run("in-process", func(t *testing.T) {
		var ce *CallError
		if _, err := m.Subscribe(ctx); !errors.As(err, &ce) || ce.Code != http.StatusServiceUnavailable {
			t.Errorf("Subscribe: %v, want a 503 CallError", err)
		}
		if _, err := m.Call(ctx, &api.OperatorCall{Type: api.OperatorGetHealth}); !errors.As(err, &ce) || ce.Code != http.StatusServiceUnavailable {
			t.Errorf("Call: %v, want a 503 CallError", err)
		}
	})
}

// TestShutdownWhileClientsResubscribe checks that no event stream outlives
// Run when schedulers, agents and operators subscribe again the moment
// shutdown ends their streams: every stream registered before shutdown is
// closed by it, and none is opened after. Over HTTP/2 a stream left open
// holds the server's Close; over HTTP/1.1 it stays open on its hijacked
// connection.
func TestShutdownWhileClientsResubscribe(t *testing.T) {
	for _, proto := range []string{"h1", "h2tls", "h2c"} {
		t.Run(proto, func(t *testing.T) {
			for round := range 20 {
				if !shutdownRound(t, proto) {
					t.Fatalf("round %d failed", round)
				}
			}
		})
	}
}

// shutdownRound runs one master with clients re-subscribing, stops it and
// closes its server, and reports whether every stream ended.
func shutdownRound(t *testing.T, proto string) bool {
	t.Helper()
	m, srv, client := serveMaster(t, proto)
	stop := runMaster(m)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()        // before wg.Wait: the clients stop with ctx
	var open atomic.Int32 // streams answered 200 and not yet ended
	for _, c := range resubscribeCalls {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := c.post(ctx, client, srv)
				if err != nil || resp.StatusCode != http.StatusOK {
					if err == nil {
						resp.Body.Close()
					}
					time.Sleep(time.Millisecond) // refused: back off a little
					continue
				}
				open.Add(1)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				open.Add(-1)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	stop()
	closeWithin(t, srv, 10*time.Second, cancel)
	for deadline := time.Now().Add(2 * time.Second); open.Load() > 0; {
		if time.Now().After(deadline) {
			t.Errorf("%d streams still open after the server closed", open.Load())
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return !t.Failed()
}
