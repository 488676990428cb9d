package scheduler_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

func TestSubscribeAndOffers(t *testing.T) {
	tm := startMaster(t)
	tm.agent(t, "cpus:2;mem:1024;ports:[31000-31009]")
	rec := newRecorder(t)
	c := scheduler.New(framework(tm.addr))
	run(t, c, rec.handle)

	id := rec.subscribed()
	if id == "" || c.FrameworkID() != id {
		t.Fatalf("FrameworkID() = %q, SUBSCRIBED said %q", c.FrameworkID(), id)
	}
	if c.Leader() != tm.url() {
		t.Fatalf("Leader() = %q, want %q", c.Leader(), tm.url())
	}
	o := rec.offer()
	if !scheduler.Fits(o, mustParse(t, "cpus:1;mem:512;ports:[31005-31005]")) {
		t.Fatalf("cpus:1;mem:512 does not fit offer %v", api.Resources(o.Resources))
	}
	if scheduler.Fits(o, mustParse(t, "cpus:3")) {
		t.Fatal("cpus:3 fits an offer of 2 cpus")
	}
	if err := c.Decline(context.Background(), 0, o.ID); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error { return c.Suppress(ctx) },
		func(ctx context.Context) error { return c.Revive(ctx, "test") },
	} {
		if err := call(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	rec.offer() // revived: offered again
}

func TestLaunchAndAcknowledge(t *testing.T) {
	tests := []struct {
		name   string
		manual bool
	}{
		{name: "automatic"},
		{name: "manual", manual: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			agent := tm.agent(t, "cpus:2;mem:1024")
			rec := newRecorder(t)
			cfg := framework(tm.addr)
			cfg.ManualAcknowledge = tt.manual
			c := scheduler.New(cfg)
			var acked atomic.Int32
			rec.react = func(ctx context.Context, ev *api.Event) error {
				if tt.manual && ev.Type == api.EventUpdate && len(ev.Update.Status.UUID) > 0 {
					st := ev.Update.Status
					acked.Add(1)
					return c.Acknowledge(ctx, st.AgentID.Value, st.TaskID.Value, st.UUID)
				}
				return nil
			}
			run(t, c, rec.handle)
			fw := rec.subscribed()

			o := rec.offer()
			launch, rest := scheduler.Pack(o, []api.TaskInfo{
				scheduler.CommandTask("t1", "", "", "true", mustParse(t, "cpus:1;mem:128")),
			})
			if len(launch) != 1 || len(rest) != 0 {
				t.Fatalf("Pack: %d to launch, %d left; want 1 and 0", len(launch), len(rest))
			}
			if err := c.Launch(context.Background(), o.ID, launch...); err != nil {
				t.Fatal(err)
			}
			got := agent.launched()
			if got.TaskID.Value != "t1" || got.AgentID.Value != agent.id {
				t.Fatalf("agent asked to launch %s on %s", got.TaskID.Value, got.AgentID.Value)
			}
			agent.send(fw, "t1", api.TaskRunning, 1)
			if st := rec.update("t1", api.TaskRunning); base64.StdEncoding.EncodeToString(st.UUID) == "" {
				t.Fatal("update without UUID")
			}
			agent.acknowledged("t1", 1)
			if err := c.Kill(context.Background(), "t1", agent.id); err != nil {
				t.Fatal(err)
			}
			agent.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventKill && ev.Kill.TaskID.Value == "t1" })
			agent.send(fw, "t1", api.TaskKilled, 2)
			rec.update("t1", api.TaskKilled)
			agent.acknowledged("t1", 2)
			if tt.manual && acked.Load() != 2 {
				t.Fatalf("handler acknowledged %d updates, want 2", acked.Load())
			}
		})
	}
}

func TestMasterRestart(t *testing.T) {
	tm := startMaster(t)
	agent := tm.agent(t, "cpus:2;mem:1024")
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	cfg.Framework.Capabilities = []api.FrameworkCapability{{Type: api.CapPartitionAware}}
	var disconnects atomic.Int32
	cfg.Disconnected = func(err error) { disconnects.Add(1) }
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	fw := rec.subscribed()
	o := rec.offer()
	if err := c.Launch(context.Background(), o.ID, scheduler.CommandTask("t1", "", o.AgentID.Value, "sleep 1000", mustParse(t, "cpus:1;mem:128"))); err != nil {
		t.Fatal(err)
	}
	agent.launched()
	agent.send(fw, "t1", api.TaskRunning, 1)
	rec.update("t1", api.TaskRunning)
	agent.acknowledged("t1", 1)

	tm.stop()
	waitFor(t, "the client to notice the master is gone", func() bool { return c.Leader() == "" })
	if err := c.Decline(context.Background(), 0, o.ID); !errors.Is(err, scheduler.ErrNotConnected) {
		t.Fatalf("Decline while disconnected: %v, want ErrNotConnected", err)
	}
	tm.start()

	if id := rec.subscribed(); id != fw {
		t.Fatalf("re-subscribed as %q, want the same framework ID %q", id, fw)
	}
	if disconnects.Load() == 0 {
		t.Fatal("Disconnected was not called")
	}
	// The new master has never heard of t1 (it keeps no registry yet):
	// explicit reconciliation makes it say so.
	st := rec.next(func(ev *api.Event) bool {
		return ev.Type == api.EventUpdate && ev.Update.Status.TaskID.Value == "t1" &&
			ev.Update.Status.Reason == api.ReasonReconciliation
	}).Update.Status
	t.Logf("after the restart the master reconciles t1 as %s: %s", st.State, st.Message)
	if err := c.Decline(context.Background(), 0); err != nil {
		t.Fatalf("call after re-subscribing: %v", err)
	}
}

func TestRedirectToLeader(t *testing.T) {
	tests := []struct {
		name       string
		location   string // %s is the leader's HOST:PORT
		wantLeader string // %s likewise
	}{
		{name: "protocol-relative, as Mesos sends it", location: "//%s/api/v1/scheduler", wantLeader: "http://%s"},
		{name: "absolute URL", location: "http://%s/api/v1/scheduler", wantLeader: "http://%s"},
		{name: "under /master", location: "//%s/master/api/v1/scheduler", wantLeader: "http://%s/master"},
		{name: "bare host and port, as Mesos's docs show it", location: "%s", wantLeader: "http://%s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			var auth atomic.Value
			tm.wrap = func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if u, p, ok := r.BasicAuth(); ok {
						auth.Store(u + ":" + p)
					}
					h.ServeHTTP(w, r)
				})
			}
			tm.restart() // with the wrapper
			var redirected atomic.Int32
			follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				redirected.Add(1)
				w.Header().Set("Location", fmt.Sprintf(tt.location, tm.addr))
				w.WriteHeader(http.StatusTemporaryRedirect)
			}))
			t.Cleanup(follower.Close)

			rec := newRecorder(t)
			cfg := framework(follower.URL)
			cfg.Principal, cfg.Secret = "fw", "s3cret"
			c := scheduler.New(cfg)
			run(t, c, rec.handle)
			rec.subscribed()
			if want := fmt.Sprintf(tt.wantLeader, tm.addr); c.Leader() != want {
				t.Fatalf("Leader() = %q, want %q", c.Leader(), want)
			}
			// Calls go to the leader: the follower would refuse them.
			if err := c.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := redirected.Load(); n != 1 {
				t.Fatalf("the follower saw %d requests, want only the SUBSCRIBE", n)
			}
			if got, _ := auth.Load().(string); got != "fw:s3cret" {
				t.Fatalf("leader saw credentials %q, want fw:s3cret", got)
			}
		})
	}
}

func TestGoesRoundTheMasters(t *testing.T) {
	tm := startMaster(t)
	dead := newTestMaster(t) // a reserved port nobody serves
	var noLeader atomic.Int32
	electing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noLeader.Add(1)
		http.Error(w, "No leader elected", http.StatusServiceUnavailable)
	}))
	t.Cleanup(electing.Close)

	rec := newRecorder(t)
	c := scheduler.New(framework(dead.addr, electing.URL, tm.addr))
	run(t, c, rec.handle)
	rec.subscribed()
	if c.Leader() != tm.url() {
		t.Fatalf("Leader() = %q, want %q", c.Leader(), tm.url())
	}
	if noLeader.Load() == 0 {
		t.Fatal("the master without a leader was skipped")
	}
}

func TestMissedHeartbeats(t *testing.T) {
	tm := startMaster(t, func(c *master.Config) { c.HeartbeatInterval = 20 * time.Millisecond })
	agent := tm.agent(t, "cpus:2;mem:1024")
	proxy := startProxy(t, tm.addr)
	rec := newRecorder(t)
	cfg := framework(proxy.addr())
	cfg.FailoverTimeout = time.Hour
	// The client takes the master's 20 ms as 1 s, the shortest interval
	// it believes: one missed is silence enough here.
	cfg.MissedHeartbeats = 1
	reasons := make(chan error, 10)
	cfg.Disconnected = func(err error) { reasons <- err }
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	fw := rec.subscribed()
	o := rec.offer()
	if err := c.Launch(context.Background(), o.ID, scheduler.CommandTask("t1", "", o.AgentID.Value, "sleep 1000", mustParse(t, "cpus:1;mem:128"))); err != nil {
		t.Fatal(err)
	}
	agent.launched()
	agent.send(fw, "t1", api.TaskRunning, 1)
	rec.update("t1", api.TaskRunning)
	agent.acknowledged("t1", 1)

	proxy.stall()
	select {
	case err := <-reasons:
		if !errors.Is(err, scheduler.ErrMissedHeartbeats) {
			t.Fatalf("Disconnected(%v), want ErrMissedHeartbeats", err)
		}
	case <-time.After(waitTime):
		t.Fatal("the client did not notice the silent stream")
	}
	if id := rec.subscribed(); id != fw {
		t.Fatalf("re-subscribed as %q, want %q", id, fw)
	}
	// The master still runs t1; explicit reconciliation confirms it.
	rec.next(func(ev *api.Event) bool {
		if ev.Type != api.EventUpdate {
			return false
		}
		st := ev.Update.Status
		return st.TaskID.Value == "t1" && st.State == api.TaskRunning && st.Reason == api.ReasonReconciliation
	})
}

// TestHeartbeatIntervalOutOfRange: a heartbeat interval the master names
// far out of range does not make the client drop every stream as
// silent. A microsecond used to leave the stream five of them; 1e10
// seconds overflowed into a negative duration.
func TestHeartbeatIntervalOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		secs float64
	}{
		{name: "a tenth of a microsecond", secs: 1e-7},
		{name: "overflows a Duration", secs: 1e10},
		{name: "far beyond", secs: 1e300},
		{name: "infinite", secs: math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interval := api.Float64(tt.secs)
			fm := startFakeMaster(t, &api.Event{Type: api.EventSubscribed, Subscribed: &api.Subscribed{
				FrameworkID: api.FrameworkID{Value: "fw-1"}, HeartbeatIntervalSeconds: &interval}})
			var disconnects atomic.Int32
			cfg := framework(fm.srv.URL)
			cfg.Disconnected = func(error) { disconnects.Add(1) }
			rec := newRecorder(t)
			run(t, scheduler.New(cfg), rec.handle)
			rec.subscribed()
			// The same stream still carries the next event.
			fm.send(&api.Event{Type: api.EventRescind, Rescind: &api.Rescind{OfferID: api.OfferID{Value: "o1"}}})
			rec.next(isType(api.EventRescind))
			if n, d := fm.subscriptions.Load(), disconnects.Load(); n != 1 || d != 0 {
				t.Fatalf("%d subscriptions and %d disconnections, want 1 and 0", n, d)
			}
		})
	}
}

func TestFrameworkRemovedEndsRun(t *testing.T) {
	tm := startMaster(t)
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	c := scheduler.New(cfg)
	wait := run(t, c, rec.handle)
	fw := rec.subscribed()

	tm.operatorTeardown(t, fw)
	err := wait()
	var ee *scheduler.ErrorEvent
	if !errors.As(err, &ee) || !ee.Fatal() || !strings.Contains(ee.Message, scheduler.MsgFrameworkRemoved) {
		t.Fatalf("Run: %v, want an ERROR event saying the framework was removed", err)
	}
	// The handler saw the ERROR event first.
	rec.next(isType(api.EventError))
}

func TestTeardownEndsRun(t *testing.T) {
	tm := startMaster(t)
	rec := newRecorder(t)
	c := scheduler.New(framework(tm.addr))
	rec.react = func(ctx context.Context, ev *api.Event) error {
		if ev.Type == api.EventSubscribed {
			return c.Teardown(ctx)
		}
		return nil
	}
	if err := run(t, c, rec.handle)(); err != nil {
		t.Fatalf("Run after Teardown: %v, want nil", err)
	}
	if err := c.Decline(context.Background(), 0); !errors.Is(err, scheduler.ErrNotConnected) {
		t.Fatalf("call after Run returned: %v, want ErrNotConnected", err)
	}
}

func TestHandlerErrorEndsRun(t *testing.T) {
	tm := startMaster(t)
	rec := newRecorder(t)
	rec.react = func(ctx context.Context, ev *api.Event) error {
		if ev.Type == api.EventSubscribed {
			return errDone
		}
		return nil
	}
	c := scheduler.New(framework(tm.addr))
	if err := run(t, c, rec.handle)(); err != errDone {
		t.Fatalf("Run: %v, want the handler's error unchanged", err)
	}
}

func TestSubscriptionRefused(t *testing.T) {
	tm := startMaster(t)
	cfg := framework(tm.addr)
	cfg.Roles = []string{"no spaces allowed"}
	c := scheduler.New(cfg)
	err := run(t, c, newRecorder(t).handle)()
	var he *scheduler.HTTPError
	if !errors.As(err, &he) || he.Code != http.StatusBadRequest {
		t.Fatalf("Run: %v, want a 400 HTTPError", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*scheduler.Config)
		want   string
	}{
		{name: "no master", change: func(c *scheduler.Config) { c.Masters = nil }, want: "Masters"},
		{name: "backoff", change: func(c *scheduler.Config) { c.MaxBackoff = time.Millisecond; c.MinBackoff = time.Second }, want: "MaxBackoff"},
		{name: "secret alone", change: func(c *scheduler.Config) { c.Secret = "x" }, want: "Principal"},
		{name: "credentials to plain http with TLS", change: func(c *scheduler.Config) {
			c.Masters = []string{"http://127.0.0.1:1"}
			c.Principal, c.TLS = "ops", &tls.Config{}
		}, want: "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := framework("127.0.0.1:1")
			tt.change(&cfg)
			err := scheduler.New(cfg).Run(context.Background(), newRecorder(t).handle)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestCallsBeforeSubscribing(t *testing.T) {
	c := scheduler.New(framework("127.0.0.1:1"))
	if err := c.Kill(context.Background(), "t", ""); !errors.Is(err, scheduler.ErrNotConnected) {
		t.Fatalf("Kill before Run: %v, want ErrNotConnected", err)
	}
}

// TestCallsFromManyGoroutines hammers the client with calls while the
// master restarts under it; run with -race.
func TestCallsFromManyGoroutines(t *testing.T) {
	tm := startMaster(t)
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	rec.subscribed()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// Errors are expected while the master is away; the
				// point is that nothing races or hangs.
				_ = c.Reconcile(ctx, api.ReconcileTask{TaskID: api.TaskID{Value: fmt.Sprint("t", i)}})
				_ = c.FrameworkID()
				_ = c.Leader()
			}
		}()
	}
	tm.restart()
	rec.subscribed()
	cancel()
	wg.Wait()
}

func mustParse(t *testing.T, s string) api.Resources {
	t.Helper()
	r, err := api.ParseResources(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMaxFailures(t *testing.T) {
	dead := newTestMaster(t) // a reserved port nobody serves
	cfg := framework(dead.addr)
	cfg.MaxFailures = 3
	err := run(t, scheduler.New(cfg), newRecorder(t).handle)()
	if err == nil || !strings.Contains(err.Error(), dead.addr) {
		t.Fatalf("Run: %v, want the last subscription error", err)
	}
}

// TestMaxFailuresCountsRounds gives a one-shot client two masters that
// refuse connections before one that answers, as a failover does: a
// failure moves on to the next master, and only a round in which every
// master failed counts toward MaxFailures.
func TestMaxFailuresCountsRounds(t *testing.T) {
	dead1, dead2 := newTestMaster(t), newTestMaster(t) // reserved ports nobody serves
	live := newTestMaster(t)
	live.start()
	cfg := framework(dead1.addr, dead2.addr, live.addr)
	cfg.MaxFailures = 1
	err := scheduler.New(cfg).Run(context.Background(), func(_ context.Context, ev *api.Event) error {
		if ev.Type == api.EventSubscribed {
			return errSubscribed
		}
		return nil
	})
	if !errors.Is(err, errSubscribed) {
		t.Fatalf("Run: %v, want a subscription to the third master", err)
	}
}

func TestSuppressedRolesSurviveReconnect(t *testing.T) {
	tm := newTestMaster(t)
	subscribes := recordCalls(tm, api.CallSubscribe)
	tm.start()
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	rec.subscribed()
	if call := <-subscribes; len(call.Subscribe.SuppressedRoles) != 0 {
		t.Fatalf("first SUBSCRIBE suppresses %v", call.Subscribe.SuppressedRoles)
	}
	if err := c.Suppress(context.Background()); err != nil {
		t.Fatal(err)
	}
	tm.restart()
	rec.subscribed()
	if call := <-subscribes; !slices.Equal(call.Subscribe.SuppressedRoles, []string{"test"}) {
		t.Fatalf("SUBSCRIBE after Suppress suppresses %v, want [test]", call.Subscribe.SuppressedRoles)
	}
}

func TestHandlerNotConnectedResubscribes(t *testing.T) {
	tm := startMaster(t)
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	var first atomic.Bool
	first.Store(true)
	rec.react = func(ctx context.Context, ev *api.Event) error {
		if ev.Type == api.EventSubscribed && first.Swap(false) {
			return fmt.Errorf("launch: %w", scheduler.ErrNotConnected)
		}
		return nil
	}
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	if a, b := rec.subscribed(), rec.subscribed(); a != b {
		t.Fatalf("re-subscribed as %s, want %s", b, a)
	}
}

// TestUpdateFrameworkSurvivesReconnect updates the framework's info and
// suppressed roles without re-subscribing: the call carries the ID of the
// subscription it goes on, and the next SUBSCRIBE, after the master
// restarts, sends the new info under the same framework ID.
func TestUpdateFrameworkSurvivesReconnect(t *testing.T) {
	tm := newTestMaster(t)
	calls := recordCalls(tm, api.CallSubscribe, api.CallUpdateFramework)
	tm.start()
	rec := newRecorder(t)
	cfg := framework(tm.addr)
	cfg.FailoverTimeout = time.Hour
	c := scheduler.New(cfg)
	run(t, c, rec.handle)
	id := rec.subscribed()
	info := (<-calls).Subscribe.FrameworkInfo // as the first SUBSCRIBE sent it
	info.ID = nil
	info.Name = "renamed"
	if err := c.UpdateFramework(context.Background(), info, []string{"test"}); err != nil {
		t.Fatal(err)
	}
	if call := <-calls; call.UpdateFramework == nil || call.UpdateFramework.FrameworkInfo.ID == nil || call.UpdateFramework.FrameworkInfo.ID.Value != id {
		t.Fatalf("UPDATE_FRAMEWORK %+v, want the info with ID %s", call.UpdateFramework, id)
	}
	tm.restart()
	if again := rec.subscribed(); again != id {
		t.Fatalf("re-subscribed as %s, want %s", again, id)
	}
	call := <-calls
	if got := call.Subscribe.FrameworkInfo; got.Name != "renamed" || got.ID == nil || got.ID.Value != id ||
		!slices.Equal(call.Subscribe.SuppressedRoles, []string{"test"}) {
		t.Fatalf("SUBSCRIBE after UpdateFramework: %+v, suppressed %v", got, call.Subscribe.SuppressedRoles)
	}
}

// recordCalls makes tm, not yet started, pass on the calls of the given
// types it is sent, in order.
func recordCalls(tm *testMaster, types ...api.CallType) <-chan api.Call {
	calls := make(chan api.Call, 10)
	tm.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var call api.Call
			if json.Unmarshal(body, &call) == nil && slices.Contains(types, call.Type) {
				calls <- call
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		})
	}
	return calls
}
