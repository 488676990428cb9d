package executor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

const waitTime = 10 * time.Second

// harness runs a client against a stub agent.
type harness struct {
	t      *testing.T
	agent  *executortest.Agent
	client *executor.Client
	events chan *api.ExecutorEvent // every event the handler saw
	done   chan error              // Run's result
	cancel context.CancelFunc
}

func config(agent *executortest.Agent) executor.Config {
	return executor.Config{
		AgentEndpoint:   agent.Endpoint(),
		FrameworkID:     "fw-1",
		ExecutorID:      "ex-1",
		MinBackoff:      5 * time.Millisecond,
		MaxBackoff:      20 * time.Millisecond,
		RecoveryTimeout: waitTime,
	}
}

// handler is a test's event handler; hs gives it the client.
type handler func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error

// start runs a client with cfg (nil: config(agent)) whose handler records
// every event and then calls h, if set.
func start(t *testing.T, agent *executortest.Agent, cfg *executor.Config, h handler) *harness {
	t.Helper()
	if cfg == nil {
		c := config(agent)
		cfg = &c
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{t: t, agent: agent, client: executor.New(*cfg),
		events: make(chan *api.ExecutorEvent, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		hs.done <- hs.client.Run(ctx, func(ctx context.Context, ev *api.ExecutorEvent) error {
			hs.events <- ev
			if h != nil {
				return h(hs, ctx, ev)
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-hs.done:
		case <-time.After(waitTime):
			t.Error("Run did not return after its context ended")
		}
	})
	return hs
}

// wait fails the test unless cond becomes true.
func (hs *harness) wait(what string, cond func() bool) {
	hs.t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			hs.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// next returns the next event the handler saw of type typ, skipping
// others.
func (hs *harness) next(typ api.ExecutorEventType) *api.ExecutorEvent {
	hs.t.Helper()
	deadline := time.After(waitTime)
	for {
		select {
		case ev := <-hs.events:
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			hs.t.Fatalf("no %s event", typ)
		}
	}
}

// result waits for Run to return.
func (hs *harness) result() error {
	hs.t.Helper()
	select {
	case err := <-hs.done:
		hs.done <- err // for the cleanup
		return err
	case <-time.After(waitTime):
		hs.t.Fatal("Run did not return")
		return nil
	}
}

func (hs *harness) subscriptions(n int) []api.ExecutorSubscribe {
	hs.t.Helper()
	hs.wait(fmt.Sprintf("%d subscriptions", n), func() bool {
		return len(hs.agent.Subscriptions()) >= n && hs.agent.Connected() && hs.client.Connected()
	})
	return hs.agent.Subscriptions()
}

func task(id string) api.TaskInfo {
	return api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: "agent-1"},
		Command: &api.CommandInfo{Value: "true"}}
}

func status(id string, state api.TaskState) api.TaskStatus {
	return api.TaskStatus{TaskID: api.TaskID{Value: id}, State: state}
}

func ids(tasks []api.TaskInfo) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.TaskID.Value)
	}
	return out
}

func updateStates(us []api.ExecutorUpdate) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Status.TaskID.Value+":"+string(u.Status.State))
	}
	return out
}

func TestSubscribeLaunchUpdateAcknowledge(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1", Token: "s3cret"})
	defer agent.Close()
	cfg := config(agent)
	cfg.Token = "s3cret"
	hs := start(t, agent, &cfg, func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error {
		if ev.Type == api.ExecutorEventLaunch {
			return hs.client.Update(ctx, status(ev.Launch.Task.TaskID.Value, api.TaskRunning))
		}
		return nil
	})
	subs := hs.subscriptions(1)
	if len(subs[0].UnacknowledgedTasks) != 0 || len(subs[0].UnacknowledgedUpdates) != 0 {
		t.Errorf("first SUBSCRIBE lists %v and %v, want nothing", subs[0].UnacknowledgedTasks, subs[0].UnacknowledgedUpdates)
	}
	sub := hs.next(api.ExecutorEventSubscribed).Subscribed
	if sub.FrameworkInfo.ID == nil || sub.FrameworkInfo.ID.Value != "fw-1" {
		t.Errorf("SUBSCRIBED framework = %+v", sub.FrameworkInfo.ID)
	}

	if err := agent.Launch(task("t1")); err != nil {
		t.Fatal(err)
	}
	hs.next(api.ExecutorEventLaunch)
	hs.wait("TASK_RUNNING", func() bool { return len(agent.States("t1")) == 1 })
	if err := hs.client.Update(context.Background(), status("t1", api.TaskFinished)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	hs.wait("TASK_FINISHED", func() bool { return len(agent.States("t1")) == 2 })
	for _, u := range agent.Updates() {
		if len(u.UUID) != 16 || u.Source != api.SourceExecutor || u.ExecutorID == nil ||
			u.ExecutorID.Value != "ex-1" || u.Timestamp <= 0 {
			t.Errorf("update %+v lacks the fields Update sets", u)
		}
	}
	hs.next(api.ExecutorEventAcknowledged)
	hs.next(api.ExecutorEventAcknowledged)
	tasks, updates := hs.client.Unacknowledged()
	if len(tasks) != 0 || len(updates) != 0 {
		t.Errorf("after the acknowledgements Unacknowledged = %v, %v; want nothing", ids(tasks), updateStates(updates))
	}
	if err := hs.client.Message(context.Background(), []byte("hi")); err != nil {
		t.Fatalf("Message: %v", err)
	}
	hs.wait("the message", func() bool { return len(agent.Messages()) == 1 })
	if got := string(agent.Messages()[0]); got != "hi" {
		t.Errorf("message = %q", got)
	}
}

// TestReconnectResendsUnacknowledged drops the stream and takes the agent
// down while tasks run: each re-subscription lists the tasks whose
// terminal update is not acknowledged and the updates that are not, and
// an update made while disconnected goes out with the next SUBSCRIBE.
func TestReconnectResendsUnacknowledged(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{ManualAck: true})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	ctx := context.Background()

	if err := agent.LaunchGroup(task("t1"), task("t2")); err != nil {
		t.Fatal(err)
	}
	hs.next(api.ExecutorEventLaunchGroup)
	for _, id := range []string{"t1", "t2"} {
		if err := hs.client.Update(ctx, status(id, api.TaskRunning)); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	hs.wait("two updates", func() bool { return len(agent.Updates()) == 2 })
	if err := agent.Acknowledge(agent.Updates()[0]); err != nil { // t1 RUNNING
		t.Fatal(err)
	}
	hs.next(api.ExecutorEventAcknowledged)

	agent.Drop()
	subs := hs.subscriptions(2)
	if got, want := fmt.Sprint(ids(subs[1].UnacknowledgedTasks)), "[t1 t2]"; got != want {
		t.Errorf("re-subscription lists tasks %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(updateStates(subs[1].UnacknowledgedUpdates)), "[t2:TASK_RUNNING]"; got != want {
		t.Errorf("re-subscription lists updates %s, want %s", got, want)
	}
	if !equalUUID(subs[1].UnacknowledgedUpdates[0].Status.UUID, agent.Updates()[1].UUID) {
		t.Error("the re-sent update has a new UUID; the agent cannot tell it is the same")
	}

	agent.SetDown(true)
	hs.wait("the client to notice", func() bool { return !hs.client.Connected() })
	err := hs.client.Update(ctx, status("t1", api.TaskFinished))
	if !errors.Is(err, executor.ErrNotConnected) {
		t.Fatalf("Update while the agent is down = %v, want ErrNotConnected", err)
	}
	agent.SetDown(false)
	subs = hs.subscriptions(3)
	hs.wait("t1's terminal update", func() bool { return len(agent.States("t1")) == 2 })
	// The update made during the outage is listed by the next SUBSCRIBE,
	// or, if that SUBSCRIBE was already on its way, sent by UPDATE as soon
	// as the subscription starts.
	switch got := fmt.Sprint(updateStates(subs[2].UnacknowledgedUpdates)); got {
	case "[t2:TASK_RUNNING t1:TASK_FINISHED]", "[t2:TASK_RUNNING]":
	default:
		t.Errorf("after the outage the SUBSCRIBE lists updates %s, want t2's RUNNING (and t1's FINISHED)", got)
	}

	// Once the terminal update is acknowledged the task is no longer
	// listed.
	for _, u := range agent.Updates()[1:] { // t1's RUNNING is acknowledged
		if err := agent.Acknowledge(u); err != nil {
			t.Fatal(err)
		}
	}
	hs.next(api.ExecutorEventAcknowledged)
	hs.next(api.ExecutorEventAcknowledged)
	tasks, updates := hs.client.Unacknowledged()
	if fmt.Sprint(ids(tasks)) != "[t2]" || len(updates) != 0 {
		t.Errorf("Unacknowledged = %v, %v; want [t2] and no updates", ids(tasks), updateStates(updates))
	}
}

func equalUUID(a, b []byte) bool { return string(a) == string(b) }

// TestUpdatesSurviveDrops hammers the client with updates from many
// goroutines while the stream keeps breaking: every update reaches the
// agent and is acknowledged in the end.
func TestUpdatesSurviveDrops(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	const senders, each = 8, 25
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				st := status(fmt.Sprintf("t%d", g), api.TaskRunning)
				st.Message = fmt.Sprint(i)
				err := hs.client.Update(context.Background(), st)
				if err != nil && !errors.Is(err, executor.ErrNotConnected) {
					t.Errorf("Update: %v", err)
				}
			}
		}()
	}
	for range 5 {
		time.Sleep(5 * time.Millisecond)
		agent.Drop()
	}
	wg.Wait()
	hs.wait("every update", func() bool { return len(agent.Updates()) == senders*each })
	hs.wait("every acknowledgement", func() bool {
		_, updates := hs.client.Unacknowledged()
		return len(updates) == 0
	})
	// Each sender's updates arrived in the order they were made.
	next := map[string]int{}
	for _, u := range agent.Updates() {
		if want := fmt.Sprint(next[u.TaskID.Value]); u.Message != want {
			t.Fatalf("task %s: update %s arrived when %s was due", u.TaskID.Value, u.Message, want)
		}
		next[u.TaskID.Value]++
	}
}

func TestRecoveryTimeout(t *testing.T) {
	t.Run("agent down from the start", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		defer agent.Close()
		agent.SetDown(true)
		cfg := config(agent)
		cfg.RecoveryTimeout = 200 * time.Millisecond
		hs := start(t, agent, &cfg, nil)
		err := hs.result()
		if !errors.Is(err, executor.ErrRecoveryTimeout) {
			t.Fatalf("Run = %v, want ErrRecoveryTimeout", err)
		}
		var herr *executor.HTTPError
		if !errors.As(err, &herr) || herr.Code != 503 {
			t.Errorf("Run's error %v does not carry the agent's 503", err)
		}
	})
	t.Run("agent gone after a subscription", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		cfg := config(agent)
		cfg.RecoveryTimeout = 300 * time.Millisecond
		hs := start(t, agent, &cfg, nil)
		hs.subscriptions(1)
		// The timeout counts from the disconnection, not from Run's start.
		time.Sleep(2 * cfg.RecoveryTimeout)
		if !hs.client.Connected() {
			t.Fatal("client disconnected while the agent was up")
		}
		began := time.Now()
		agent.Close()
		err := hs.result()
		if !errors.Is(err, executor.ErrRecoveryTimeout) {
			t.Fatalf("Run = %v, want ErrRecoveryTimeout", err)
		}
		if took := time.Since(began); took < cfg.RecoveryTimeout {
			t.Errorf("Run gave up %v after the agent went, before RecoveryTimeout %v", took, cfg.RecoveryTimeout)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg := executor.Config{AgentEndpoint: addr, FrameworkID: "f", ExecutorID: "e",
			RecoveryTimeout: 100 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
		err = executor.New(cfg).Run(context.Background(), func(context.Context, *api.ExecutorEvent) error { return nil })
		if !errors.Is(err, executor.ErrRecoveryTimeout) {
			t.Fatalf("Run = %v, want ErrRecoveryTimeout", err)
		}
	})
}

func TestShutdown(t *testing.T) {
	killAll := func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error {
		if ev.Type == api.ExecutorEventShutdown {
			tasks, _ := hs.client.Unacknowledged()
			for _, ti := range tasks {
				if err := hs.client.Update(ctx, status(ti.TaskID.Value, api.TaskKilled)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	t.Run("grace period passes", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		defer agent.Close()
		cfg := config(agent)
		cfg.ShutdownGracePeriod = 200 * time.Millisecond
		hs := start(t, agent, &cfg, killAll)
		hs.subscriptions(1)
		agent.Launch(task("t1"))
		hs.next(api.ExecutorEventLaunch)
		began := time.Now()
		agent.Shutdown()
		if err := hs.result(); !errors.Is(err, executor.ErrShutdown) {
			t.Fatalf("Run = %v, want ErrShutdown", err)
		}
		if took := time.Since(began); took < cfg.ShutdownGracePeriod/2 {
			t.Errorf("Run returned %v after SHUTDOWN, well before the grace period", took)
		}
		if got := fmt.Sprint(agent.States("t1")); got != "[TASK_KILLED]" {
			t.Errorf("t1 went through %s, want [TASK_KILLED]", got)
		}
	})
	t.Run("agent closes the stream", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		defer agent.Close()
		cfg := config(agent)
		cfg.ShutdownGracePeriod = time.Hour
		hs := start(t, agent, &cfg, killAll)
		hs.subscriptions(1)
		agent.Shutdown()
		hs.next(api.ExecutorEventShutdown)
		agent.Drop()
		if err := hs.result(); !errors.Is(err, executor.ErrShutdown) {
			t.Fatalf("Run = %v, want ErrShutdown", err)
		}
		if n := len(agent.Subscriptions()); n != 1 {
			t.Errorf("the client subscribed %d times; after SHUTDOWN it must not come back", n)
		}
	})
	// After SHUTDOWN, a subscription that ends for any reason but the
	// handler's own error ends Run: were it to subscribe again, the
	// agent would not send SHUTDOWN twice, and the executor would run on.
	for _, tt := range []struct {
		name  string
		after []api.ExecutorEvent // sent after SHUTDOWN
		fail  error               // the handler's error for SHUTDOWN
	}{
		{name: "handler not connected", fail: fmt.Errorf("update task t1: %w", executor.ErrNotConnected)},
		{name: "ERROR event", after: []api.ExecutorEvent{{Type: api.ExecutorEventError, Error: &api.ErrorEvent{Message: "oops"}}}},
	} {
		t.Run("subscription ends: "+tt.name, func(t *testing.T) {
			agent := executortest.NewAgent(executortest.Options{})
			defer agent.Close()
			cfg := config(agent)
			cfg.ShutdownGracePeriod = time.Hour
			hs := start(t, agent, &cfg, func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error {
				if ev.Type == api.ExecutorEventShutdown {
					return tt.fail
				}
				return nil
			})
			hs.subscriptions(1)
			for _, ev := range append([]api.ExecutorEvent{{Type: api.ExecutorEventShutdown}}, tt.after...) {
				if err := agent.Send(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := hs.result(); !errors.Is(err, executor.ErrShutdown) {
				t.Fatalf("Run = %v, want ErrShutdown", err)
			}
			if n := len(agent.Subscriptions()); n != 1 {
				t.Errorf("the client subscribed %d times; after SHUTDOWN it must not come back", n)
			}
		})
	}
	t.Run("executor finishes first", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		defer agent.Close()
		cfg := config(agent)
		cfg.ShutdownGracePeriod = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		c := executor.New(cfg)
		go func() {
			done <- c.Run(ctx, func(ctx context.Context, ev *api.ExecutorEvent) error {
				if ev.Type == api.ExecutorEventShutdown {
					cancel() // nothing to kill: exit at once
				}
				return nil
			})
		}()
		wctx, wcancel := context.WithTimeout(context.Background(), waitTime)
		defer wcancel()
		agent.Wait(wctx, agent.Connected)
		agent.Shutdown()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run = %v, want nil after the executor's context ended", err)
			}
		case <-time.After(waitTime):
			t.Fatal("Run did not return")
		}
	})
}

func TestRunEnds(t *testing.T) {
	t.Run("refused subscription", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{Token: "right"})
		defer agent.Close()
		cfg := config(agent)
		cfg.Token = "wrong"
		hs := start(t, agent, &cfg, nil)
		var herr *executor.HTTPError
		if err := hs.result(); !errors.As(err, &herr) || herr.Code != 401 {
			t.Fatalf("Run = %v, want a 401 *HTTPError", err)
		}
	})
	t.Run("handler error", func(t *testing.T) {
		agent := executortest.NewAgent(executortest.Options{})
		defer agent.Close()
		boom := errors.New("boom")
		hs := start(t, agent, nil, func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error {
			if ev.Type == api.ExecutorEventMessage {
				return boom
			}
			return nil
		})
		hs.subscriptions(1)
		agent.Send(api.ExecutorEvent{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: []byte("x")}})
		if err := hs.result(); err != boom {
			t.Fatalf("Run = %v, want the handler's error", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		err := executor.New(executor.Config{}).Run(context.Background(), nil)
		if err == nil {
			t.Fatal("Run with an empty Config succeeded")
		}
	})
}

// TestErrorEventResubscribes checks that an ERROR event reaches the
// handler and ends only the subscription.
func TestErrorEventResubscribes(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	agent.Send(api.ExecutorEvent{Type: api.ExecutorEventError, Error: &api.ErrorEvent{Message: "oops"}})
	if ev := hs.next(api.ExecutorEventError); ev.Error.Message != "oops" {
		t.Errorf("ERROR message = %q", ev.Error.Message)
	}
	hs.subscriptions(2)
}

// TestCallsWhileDisconnected checks the calls made before Run.
func TestCallsWhileDisconnected(t *testing.T) {
	c := executor.New(executor.Config{AgentEndpoint: "127.0.0.1:1", FrameworkID: "f", ExecutorID: "e"})
	ctx := context.Background()
	if err := c.Message(ctx, []byte("x")); !errors.Is(err, executor.ErrNotConnected) {
		t.Errorf("Message before Run = %v, want ErrNotConnected", err)
	}
	if err := c.Update(ctx, status("t1", api.TaskRunning)); !errors.Is(err, executor.ErrNotConnected) {
		t.Errorf("Update before Run = %v, want ErrNotConnected", err)
	}
	if _, updates := c.Unacknowledged(); len(updates) != 1 {
		t.Errorf("the update made before Run is not kept: %v", updates)
	}
	if err := c.Update(ctx, status("t1", api.TaskStaging)); err == nil || errors.Is(err, executor.ErrNotConnected) {
		t.Errorf("Update with TASK_STAGING = %v, want a validation error", err)
	}
	if _, updates := c.Unacknowledged(); len(updates) != 1 {
		t.Errorf("an invalid update was kept: %v", updates)
	}
}

// TestConcurrentUpdatesShareConnections sends many updates at once, as an
// executor whose tasks all start together does: the client must queue
// them on a bounded pool of connections instead of dialling one per call.
func TestConcurrentUpdatesShareConnections(t *testing.T) {
	const tasks, most = 300, 64
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1"})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	errs := make(chan error, tasks)
	var wg sync.WaitGroup
	for i := range tasks {
		wg.Go(func() {
			errs <- hs.client.Update(context.Background(), status(fmt.Sprintf("t%d", i), api.TaskRunning))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	if got := len(agent.Updates()); got != tasks {
		t.Errorf("the agent recorded %d updates, want %d", got, tasks)
	}
	if got := agent.MostConns(); got > most {
		t.Errorf("the client had %d connections open at once (the stream's among them), want at most %d", got, most)
	}
}

// TestUndeliveredLaunchNotListed ends a subscription while a LAUNCH
// waits, decoded, for the handler: the handler fails on t1 (as an Update
// that failed under it makes it do), or the agent sends ERROR after t1,
// and t2's LAUNCH follows. t2 never reaches the handler, so the next
// SUBSCRIBE must not list it: the agent takes a listed task as one the
// executor runs, and would wait for its updates for ever, where an
// unlisted one it reports lost.
func TestUndeliveredLaunchNotListed(t *testing.T) {
	tests := []struct {
		name string
		end  []api.ExecutorEvent // sent after LAUNCH t1, before LAUNCH t2
		fail error               // the handler's error for t1
	}{
		{name: "handler not connected", fail: fmt.Errorf("update task t1: %w", executor.ErrNotConnected)},
		{name: "ERROR event", end: []api.ExecutorEvent{{Type: api.ExecutorEventError, Error: &api.ErrorEvent{Message: "oops"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := executortest.NewAgent(executortest.Options{ManualAck: true})
			defer agent.Close()
			release := make(chan struct{})
			hs := start(t, agent, nil, func(hs *harness, ctx context.Context, ev *api.ExecutorEvent) error {
				if ev.Type == api.ExecutorEventLaunch && ev.Launch.Task.TaskID.Value == "t1" {
					<-release
					return tt.fail
				}
				return nil
			})
			hs.subscriptions(1)
			// An update whose acknowledgement, sent after t2's LAUNCH,
			// tells when the client has read that LAUNCH: acknowledgements
			// are recorded as they are read.
			if err := hs.client.Update(context.Background(), status("t0", api.TaskRunning)); err != nil {
				t.Fatal(err)
			}
			events := []api.ExecutorEvent{{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: task("t1")}}}
			events = append(events, tt.end...)
			events = append(events, api.ExecutorEvent{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: task("t2")}},
				api.ExecutorEvent{Type: api.ExecutorEventAcknowledged,
					Acknowledged: &api.ExecutorAcknowledged{TaskID: api.TaskID{Value: "t0"}, UUID: agent.Updates()[0].UUID}})
			for _, ev := range events {
				if err := agent.Send(ev); err != nil {
					t.Fatal(err)
				}
			}
			hs.next(api.ExecutorEventLaunch) // t1's handler now waits
			hs.wait("t2's LAUNCH read", func() bool { _, updates := hs.client.Unacknowledged(); return len(updates) == 0 })
			close(release)
			subs := hs.subscriptions(2)
			delivered := false
			for len(hs.events) > 0 {
				if ev := <-hs.events; ev.Type == api.ExecutorEventLaunch && ev.Launch.Task.TaskID.Value == "t2" {
					delivered = true
				}
			}
			if got := fmt.Sprint(ids(subs[1].UnacknowledgedTasks)); got != "[t1]" {
				t.Errorf("re-subscription lists tasks %s (t2 delivered: %v), want [t1]", got, delivered)
			}
		})
	}
}

// TestResubscribeLarge re-subscribes with 17 tasks of 1 MiB each, more
// than the 16 MiB a call may carry. A task's data is not listed (the
// executor has it, and the agent needs only what the task is), so big
// data does not keep the executor from coming back; what the listing
// cannot shed makes a SUBSCRIBE the agent refuses, and Run says so.
func TestResubscribeLarge(t *testing.T) {
	big := string(bytes.Repeat([]byte{'x'}, 1<<20))
	tests := []struct {
		name   string
		fill   func(ti *api.TaskInfo)
		refuse bool // the re-subscription is refused with 413
	}{
		{name: "big data", fill: func(ti *api.TaskInfo) { ti.Data = []byte(big) }},
		{name: "big labels", fill: func(ti *api.TaskInfo) { ti.Labels = &api.Labels{Labels: []api.Label{{Key: "k", Value: big}}} },
			refuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := executortest.NewAgent(executortest.Options{})
			defer agent.Close()
			hs := start(t, agent, nil, nil)
			hs.subscriptions(1)
			for i := range 17 {
				ti := task(fmt.Sprintf("t%d", i))
				tt.fill(&ti)
				if err := agent.Launch(ti); err != nil {
					t.Fatal(err)
				}
				if ev := hs.next(api.ExecutorEventLaunch); !bytes.Equal(ev.Launch.Task.Data, ti.Data) {
					t.Fatalf("the handler got task %s with %d bytes of data, want %d",
						ev.Launch.Task.TaskID.Value, len(ev.Launch.Task.Data), len(ti.Data))
				}
			}
			agent.Drop()
			if tt.refuse {
				err := hs.result()
				var herr *executor.HTTPError
				if !errors.As(err, &herr) || herr.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("Run = %v, want a 413 *HTTPError", err)
				}
				if !strings.Contains(err.Error(), "17 unacknowledged tasks") {
					t.Errorf("Run's error %q does not say what the SUBSCRIBE listed", err)
				}
				return
			}
			subs := hs.subscriptions(2)
			if n := len(subs[1].UnacknowledgedTasks); n != 17 {
				t.Fatalf("re-subscription lists %d tasks, want 17", n)
			}
			for _, ti := range subs[1].UnacknowledgedTasks {
				if ti.Data != nil || ti.Command == nil {
					t.Errorf("re-subscription lists task %s with %d bytes of data and command %v; want no data, the rest as launched",
						ti.TaskID.Value, len(ti.Data), ti.Command)
				}
			}
		})
	}
}
