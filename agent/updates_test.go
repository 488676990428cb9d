package agent

import (
	"bytes"
	"log/slog"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func status(task string, state api.TaskState) api.TaskStatus {
	return api.TaskStatus{TaskID: api.TaskID{Value: task}, State: state}
}

func TestUpdateManagerOrderAndAcks(t *testing.T) {
	now := time.Unix(1000, 0)
	u := newTestUpdates(t, 10*time.Second, 40*time.Second)
	mustAdd(t, u, "f", status("t", api.TaskRunning), now)
	mustAdd(t, u, "f", status("t", api.TaskFinished), now)
	mustAdd(t, u, "f", status("other", api.TaskRunning), now)

	due, _ := u.due(now)
	if len(due) != 2 {
		t.Fatalf("due %d updates, want one head per task (2)", len(due))
	}
	var head pendingUpdate
	for _, d := range due {
		if len(d.status.UUID) != 16 || d.status.Timestamp == 0 || d.status.Source != api.SourceExecutor {
			t.Errorf("update not stamped: %+v", d.status)
		}
		if d.status.TaskID.Value == "t" {
			head = d
		}
	}
	if head.status.State != api.TaskRunning {
		t.Fatalf("head of t is %s, want TASK_RUNNING first", head.status.State)
	}
	if due, _ := u.due(now); len(due) != 0 {
		t.Fatalf("%d updates due again before their retry interval", len(due))
	}
	u.acknowledge("f", "t", []byte("wrong uuid......"), now)
	if u.pending() != 3 {
		t.Fatalf("a wrong UUID popped an update")
	}
	u.acknowledge("f", "t", head.status.UUID, now)
	due = awaitDue(t, u, now)
	if len(due) != 1 || due[0].status.State != api.TaskFinished {
		t.Fatalf("after the ack, due %+v, want TASK_FINISHED of t", due)
	}
}

// awaitDue polls u.due until it hands out an update, failing the test
// after a while.
func awaitDue(t *testing.T, u *updateManager, now time.Time) []pendingUpdate {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if due, _ := u.due(now); len(due) > 0 {
			return due
		}
	}
	t.Fatal("no update fell due")
	return nil
}

// TestNextUpdateWaitsForDeletion checks that a task's next update falls
// due only once the acknowledged one is deleted from agent.db: were it
// sent before, a crash could leave both there with the second
// acknowledged, and the restarted agent would send the first again,
// which the master would take for news. The last update of a task is
// deleted lazily: nothing waits behind it.
func TestNextUpdateWaitsForDeletion(t *testing.T) {
	now := time.Unix(1000, 0)
	u := newTestUpdates(t, 10*time.Second, 40*time.Second)
	mustAdd(t, u, "f", status("t", api.TaskRunning), now)
	mustAdd(t, u, "f", status("t", api.TaskFinished), now)
	stored := func() []api.TaskState {
		_, ups, err := u.store.updates()
		if err != nil {
			t.Fatal(err)
		}
		var states []api.TaskState
		for _, up := range ups {
			states = append(states, up.Status.State)
		}
		return states
	}
	for i, want := range []api.TaskState{api.TaskRunning, api.TaskFinished} {
		due := awaitDue(t, u, now)
		if len(due) != 1 || due[0].status.State != want {
			t.Fatalf("due %+v, want %s", due, want)
		}
		if got := stored(); len(got) != 2-i || got[0] != want {
			t.Fatalf("agent.db holds %v when %s falls due, want it from %s on", got, want, want)
		}
		u.sent(due[0], now, false)
		u.acknowledge("f", "t", due[0].status.UUID, now)
	}
}

func TestUpdateManagerBackoff(t *testing.T) {
	start := time.Unix(1000, 0)
	u := newTestUpdates(t, 10*time.Second, 40*time.Second)
	mustAdd(t, u, "f", status("t", api.TaskRunning), start)
	var sends []time.Duration
	now := start
	for i := 0; i < 6; i++ {
		due, next := u.due(now)
		if len(due) == 1 {
			sends = append(sends, now.Sub(start))
			u.sent(due[0], now, false)
		}
		now = next
	}
	want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second, 110 * time.Second, 150 * time.Second}
	if len(sends) != len(want) {
		t.Fatalf("sent at %v, want %v", sends, want)
	}
	for i := range want {
		if sends[i] != want[i] {
			t.Fatalf("sent at %v, want %v (10 s doubling, capped at 40 s)", sends, want)
		}
	}
	u.resendAll(now.Add(time.Second))
	if due, _ := u.due(now.Add(time.Second)); len(due) != 1 {
		t.Fatalf("resendAll did not make the head due at once")
	}
}

// TestUpdateManagerOneInFlight checks that a head handed out to send is
// not handed out again, even past its retry time, until its send is
// over, and that the sender is then woken for it at once.
func TestUpdateManagerOneInFlight(t *testing.T) {
	now := time.Unix(1000, 0)
	u := newTestUpdates(t, 10*time.Millisecond, time.Second)
	mustAdd(t, u, "f", status("t", api.TaskRunning), now)
	due, next := u.due(now)
	if len(due) != 1 {
		t.Fatalf("due %d updates, want 1", len(due))
	}
	if want := now.Add(10 * time.Millisecond); !next.Equal(want) {
		t.Fatalf("next retry at %v, want %v", next, want)
	}
	<-u.wake // drain the poke of the add
	later := now.Add(time.Minute)
	if again, next := u.due(later); len(again) != 0 || !next.Equal(later.Add(time.Second)) {
		t.Fatalf("while in flight: due %d, next %v; want none, and no retry scheduled (sent wakes)", len(again), next)
	}
	u.sent(due[0], later, false)
	select {
	case <-u.wake:
	default:
		t.Fatal("the end of an overdue head's send did not wake the sender")
	}
	again, _ := u.due(later)
	if len(again) != 1 || !bytes.Equal(again[0].status.UUID, due[0].status.UUID) {
		t.Fatalf("after its send: due %+v, want the same head again", again)
	}
	// A send given up before its retry time makes the head due at once.
	u.sent(again[0], later.Add(time.Millisecond), true)
	select {
	case <-u.wake:
	default:
		t.Fatal("a send given up did not wake the sender")
	}
	if due, _ := u.due(later.Add(time.Millisecond)); len(due) != 1 {
		t.Fatalf("after a send given up: due %d, want the head at once", len(due))
	}
	// The end of a send whose head was acknowledged meanwhile changes nothing.
	u.acknowledge("f", "t", due[0].status.UUID, later)
	u.sent(due[0], later, true)
	if u.pending() != 0 {
		t.Fatalf("%d pending after the ack", u.pending())
	}
}

func newTestUpdates(t *testing.T, min, max time.Duration) *updateManager {
	t.Helper()
	s, err := openStore(filepath.Join(t.TempDir(), "agent.db"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	u, err := newUpdateManager(s, min, max, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustAdd(t *testing.T, u *updateManager, fw string, st api.TaskStatus, now time.Time) {
	t.Helper()
	if err := u.add(fw, st, now); err != nil {
		t.Fatal(err)
	}
}

// TestUpdatesSurviveRestart checks that unacknowledged updates come back,
// in order and with their UUIDs, when agent.db is opened again, and that
// acknowledged ones do not.
func TestUpdatesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	now := time.Unix(1000, 0)
	s, err := openStore(path, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	u, err := newUpdateManager(s, time.Second, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []api.TaskStatus{status("a", api.TaskStarting), status("a", api.TaskRunning), status("a", api.TaskFinished), status("b", api.TaskRunning)} {
		mustAdd(t, u, "f", st, now)
	}
	due, _ := u.due(now)
	for _, d := range due {
		if d.status.TaskID.Value == "a" {
			if err := u.acknowledge("f", "a", d.status.UUID, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := awaitDue(t, u, now) // a's RUNNING, due once STARTING is deleted; b's was sent and waits for its retry
	s.close()

	s, err = openStore(path, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	u, err = newUpdateManager(s, time.Second, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := u.pending(); n != 3 {
		t.Fatalf("%d updates recovered, want 3 (the acknowledged STARTING is gone)", n)
	}
	got, _ := u.due(now)
	heads := map[string]api.TaskStatus{}
	for _, g := range got {
		heads[g.status.TaskID.Value] = g.status
	}
	if len(got) != 2 || heads["a"].State != api.TaskRunning || heads["b"].State != api.TaskRunning {
		t.Fatalf("recovered heads %+v, want a and b in TASK_RUNNING", heads)
	}
	if len(want) != 1 || !bytes.Equal(heads["a"].UUID, want[0].status.UUID) {
		t.Fatalf("a's recovered head has UUID %x, want the original %x", heads["a"].UUID, want[0].status.UUID)
	}
}

// TestSubscribeListsTasksWithPendingUpdates checks that a re-registering
// agent reports, in its latest state, a task whose executor is gone but
// whose terminal update waits for acknowledgement: without it the master
// would call the task lost before that update reached it.
func TestSubscribeListsTasksWithPendingUpdates(t *testing.T) {
	a, _, _ := newTestAgent(t)
	now := time.Unix(1000, 0)
	mustAdd(t, a.updates, "fw", status("t1", api.TaskRunning), now)
	mustAdd(t, a.updates, "fw", status("gone", api.TaskRunning), now)
	mustAdd(t, a.updates, "fw", status("gone", api.TaskFailed), now)

	got := map[string]api.TaskState{}
	for _, task := range a.subscribeCall().Subscribe.Tasks {
		if _, dup := got[task.TaskID.Value]; dup {
			t.Errorf("task %s listed twice", task.TaskID.Value)
		}
		if task.FrameworkID.Value != "fw" {
			t.Errorf("task %s of framework %q, want fw", task.TaskID.Value, task.FrameworkID.Value)
		}
		got[task.TaskID.Value] = task.State
	}
	want := map[string]api.TaskState{"t1": api.TaskStaging, "gone": api.TaskFailed}
	if !maps.Equal(got, want) {
		t.Fatalf("SUBSCRIBE lists %v, want %v", got, want)
	}
}
