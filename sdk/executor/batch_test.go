package executor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/executor"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

// holdFirst returns an OnUpdate hook that holds the first UPDATE call in
// flight until release is closed, and the channel closed once it is held.
func holdFirst(release <-chan struct{}) (func(*api.ExecutorCall) error, <-chan struct{}) {
	held := make(chan struct{})
	var once sync.Once
	return func(*api.ExecutorCall) error {
		first := false
		once.Do(func() { first = true })
		if first {
			close(held)
			<-release
		}
		return nil
	}, held
}

// callInFlight starts a client on an agent whose first UPDATE call, t0's
// TASK_RUNNING, it holds in flight; hook, if set, answers every call
// after it. It returns the harness, the agent, t0's Update's outcome to
// come, and a func that lets the held call go (called at the test's end
// too, so that the agent's Close returns).
func callInFlight(t *testing.T, hook func(*api.ExecutorCall) error) (*harness, *executortest.Agent, <-chan error, func()) {
	t.Helper()
	release := make(chan struct{})
	hold, held := holdFirst(release)
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1",
		OnUpdate: func(call *api.ExecutorCall) error {
			if err := hold(call); err != nil || hook == nil {
				return err
			}
			return hook(call)
		}})
	let := sync.OnceFunc(func() { close(release) })
	t.Cleanup(func() {
		let()
		agent.Close()
	})
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	first := make(chan error, 1)
	go func() { first <- hs.client.Update(context.Background(), status("t0", api.TaskRunning)) }()
	<-held
	return hs, agent, first, let
}

// updateAll sends an update of each task at once, from a goroutine each,
// and returns their errors once all have returned.
func updateAll(c *executor.Client, tasks []string) []error {
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, id := range tasks {
		wg.Go(func() { errs[i] = c.Update(context.Background(), status(id, api.TaskRunning)) })
	}
	wg.Wait()
	return errs
}

// TestUpdatesShareCalls makes updates while an UPDATE call is in flight:
// they must wait for it and then go out together, in one call, in the
// order they were made, and each Update must return once the agent took
// its update.
func TestUpdatesShareCalls(t *testing.T) {
	hs, agent, first, let := callInFlight(t, nil)
	rest := make(chan []error, 1)
	go func() { rest <- updateAll(hs.client, []string{"t1", "t2", "t3", "t4", "t5"}) }()
	hs.wait("the updates to queue", func() bool { _, us := hs.client.Unacknowledged(); return len(us) == 6 })
	var made []string // the order in which they were made
	_, us := hs.client.Unacknowledged()
	for _, u := range us[1:] {
		made = append(made, u.Status.TaskID.Value)
	}
	select {
	case err := <-first:
		t.Fatalf("the first Update returned (%v) before the agent took its update", err)
	case errs := <-rest:
		t.Fatalf("the queued Updates returned (%v) before the agent took their updates", errs)
	default:
	}
	let()
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	for _, err := range <-rest {
		if err != nil {
			t.Fatalf("queued Update: %v", err)
		}
	}
	if got := agent.UpdateCalls(); !slices.Equal(got, []int{1, 5}) {
		t.Errorf("UPDATE calls carried %v updates, want [1 5]", got)
	}
	var got []string
	for _, u := range agent.Updates()[1:] {
		got = append(got, u.TaskID.Value)
	}
	if !slices.Equal(got, made) {
		t.Errorf("the agent recorded %v after t0, want them as made: %v", got, made)
	}
}

// TestQuietUpdatesGoAlone checks that an update made with no call in
// flight goes out at once, alone.
func TestQuietUpdatesGoAlone(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1"})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	for i := range 3 {
		if err := hs.client.Update(context.Background(), status(fmt.Sprintf("t%d", i), api.TaskRunning)); err != nil {
			t.Fatal(err)
		}
	}
	if got := agent.UpdateCalls(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("UPDATE calls carried %v updates, want [1 1 1]", got)
	}
}

// TestRefusedSharedCall has the agent refuse the call that carries the
// queued updates: each of their Updates must fail as a refused call does
// (ErrNotConnected and the *HTTPError), and the next SUBSCRIBE must list
// them, so that the agent gets them all the same.
func TestRefusedSharedCall(t *testing.T) {
	var mu sync.Mutex
	refused := 0
	hs, agent, first, let := callInFlight(t, func(call *api.ExecutorCall) error {
		if len(call.MoreUpdates) > 0 {
			mu.Lock()
			defer mu.Unlock()
			refused++
			return errors.New("refused for the test")
		}
		return nil
	})
	rest := make(chan []error, 1)
	tasks := []string{"t1", "t2", "t3"}
	go func() { rest <- updateAll(hs.client, tasks) }()
	hs.wait("the updates to queue", func() bool { _, us := hs.client.Unacknowledged(); return len(us) == 4 })
	let()
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	for _, err := range <-rest {
		var herr *executor.HTTPError
		if !errors.Is(err, executor.ErrNotConnected) || !errors.As(err, &herr) || herr.Code != 400 {
			t.Fatalf("queued Update: %v, want ErrNotConnected and a 400 *HTTPError", err)
		}
	}
	subs := hs.subscriptions(2)
	if got := updateStates(subs[1].UnacknowledgedUpdates); len(got) != len(tasks) {
		t.Errorf("the second SUBSCRIBE listed %v, want the %d refused updates", got, len(tasks))
	}
	hs.wait("the agent to have every update", func() bool { return len(agent.Updates()) == 1+len(tasks) })
	if mu.Lock(); refused != 1 {
		t.Errorf("%d calls refused, want 1", refused)
	}
	mu.Unlock()
}

// TestSingleUpdatesWithoutAgentSupport runs many updates at once against
// an agent that does not say it takes more updates per call (and refuses
// such calls): every call must carry one update, and all must succeed.
func TestSingleUpdatesWithoutAgentSupport(t *testing.T) {
	agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1", SingleUpdates: true})
	defer agent.Close()
	hs := start(t, agent, nil, nil)
	hs.subscriptions(1)
	var tasks []string
	for i := range 100 {
		tasks = append(tasks, fmt.Sprintf("t%d", i))
	}
	for _, err := range updateAll(hs.client, tasks) {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	calls := agent.UpdateCalls()
	if len(calls) != len(tasks) || slices.Max(calls) != 1 {
		t.Errorf("UPDATE calls carried %v updates, want one each", calls)
	}
}

// TestTooLargeSharedCallIsSplit has the agent refuse, as too large (413),
// every call that carries more than one update: the queued updates must
// go in smaller calls, in order, and the subscription must live on,
// rather than end over a batch's size and list them all in a SUBSCRIBE
// the agent would refuse for its size too.
func TestTooLargeSharedCallIsSplit(t *testing.T) {
	hs, agent, first, let := callInFlight(t, func(call *api.ExecutorCall) error {
		if len(call.MoreUpdates) > 0 {
			return &executortest.StatusError{Code: 413, Message: "Request Entity Too Large"}
		}
		return nil
	})
	rest := make(chan []error, 1)
	tasks := []string{"t1", "t2", "t3", "t4"}
	go func() { rest <- updateAll(hs.client, tasks) }()
	hs.wait("the updates to queue", func() bool { _, us := hs.client.Unacknowledged(); return len(us) == 5 })
	let()
	if err := <-first; err != nil {
		t.Fatalf("first Update: %v", err)
	}
	for _, err := range <-rest {
		if err != nil {
			t.Fatalf("queued Update: %v, want it taken in a smaller call", err)
		}
	}
	if got := agent.UpdateCalls(); !slices.Equal(got, []int{1, 1, 1, 1, 1}) {
		t.Errorf("UPDATE calls the agent took carried %v updates, want five of one", got)
	}
	if n := len(hs.subscriptions(1)); n != 1 {
		t.Errorf("%d subscriptions, want the first only", n)
	}
}

// TestUpdateAfterAFailedCallWaits has the agent refuse a task's first
// update: the task's next update, made at once, must not reach the agent
// before it on the stream the agent still holds, but follow it in the
// next SUBSCRIBE, so that the framework sees them in order.
func TestUpdateAfterAFailedCallWaits(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single updates %v", single), func(t *testing.T) {
			var once sync.Once
			hook := func(call *api.ExecutorCall) error {
				refuse := false
				once.Do(func() { refuse = true })
				if refuse {
					return errors.New("refused for the test")
				}
				return nil
			}
			agent := executortest.NewAgent(executortest.Options{FrameworkID: "fw-1", ExecutorID: "ex-1", OnUpdate: hook, SingleUpdates: single})
			defer agent.Close()
			hs := start(t, agent, nil, nil)
			hs.subscriptions(1)
			if err := hs.client.Update(context.Background(), status("t1", api.TaskRunning)); !errors.Is(err, executor.ErrNotConnected) {
				t.Fatalf("refused Update: %v, want ErrNotConnected", err)
			}
			if hs.client.Connected() {
				t.Fatal("connected still once a call failed: the next update could overtake the failed one")
			}
			// Refused as not connected, or sent once the client has
			// subscribed again: either way after t1's TASK_RUNNING, which
			// the agent is to have first.
			_ = hs.client.Update(context.Background(), status("t1", api.TaskFinished))
			hs.wait("the agent to have both updates", func() bool { return len(agent.Updates()) == 2 })
			var got []api.TaskState
			for _, st := range agent.Updates() {
				got = append(got, st.State)
			}
			if !slices.Equal(got, []api.TaskState{api.TaskRunning, api.TaskFinished}) {
				t.Fatalf("the agent recorded %v, want TASK_RUNNING then TASK_FINISHED", got)
			}
		})
	}
}
