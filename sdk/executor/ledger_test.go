package executor

import (
	"fmt"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func update(task string, state api.TaskState, uuid string) api.ExecutorUpdate {
	return api.ExecutorUpdate{Status: api.TaskStatus{TaskID: api.TaskID{Value: task}, State: state, UUID: []byte(uuid)}}
}

func launch(ids ...string) *api.ExecutorEvent {
	var tasks []api.TaskInfo
	for _, id := range ids {
		tasks = append(tasks, api.TaskInfo{TaskID: api.TaskID{Value: id}})
	}
	return &api.ExecutorEvent{Type: api.ExecutorEventLaunchGroup,
		LaunchGroup: &api.ExecutorLaunchGroup{TaskGroup: api.TaskGroupInfo{Tasks: tasks}}}
}

func describe(tasks []api.TaskInfo, updates []api.ExecutorUpdate) string {
	var ts, us []string
	for _, t := range tasks {
		ts = append(ts, t.TaskID.Value)
	}
	for _, u := range updates {
		us = append(us, string(u.Status.UUID))
	}
	return fmt.Sprint(ts, us)
}

func TestLedger(t *testing.T) {
	tests := []struct {
		name string
		do   func(l *ledger)
		want string
	}{
		{"empty", func(l *ledger) {}, "[] []"},
		{"launched tasks in order", func(l *ledger) { l.launched(launch("b", "a")); l.launched(launch("c")) }, "[b a c] []"},
		{"launched twice", func(l *ledger) { l.launched(launch("a", "b")); l.launched(launch("a")) }, "[a b] []"},
		{"updates in order", func(l *ledger) {
			l.add(update("a", api.TaskRunning, "2"))
			l.add(update("a", api.TaskFinished, "1"))
		}, "[] [2 1]"},
		{"non-terminal ack keeps the task", func(l *ledger) {
			l.launched(launch("a"))
			l.add(update("a", api.TaskRunning, "u1"))
			l.acknowledged([]byte("u1"))
		}, "[a] []"},
		{"terminal ack forgets the task", func(l *ledger) {
			l.launched(launch("a", "b"))
			l.add(update("a", api.TaskRunning, "u1"))
			l.add(update("a", api.TaskFailed, "u2"))
			l.acknowledged([]byte("u2"))
		}, "[b] [u1]"},
		{"unknown ack", func(l *ledger) { l.add(update("a", api.TaskRunning, "u1")); l.acknowledged([]byte("zz")) }, "[] [u1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger()
			tt.do(&l)
			if got := describe(l.snapshot(nil)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestLedgerUnsent checks which updates a new subscription sends before
// calls go through: those its SUBSCRIBE did not list.
func TestLedgerUnsent(t *testing.T) {
	l := newLedger()
	old, s := &session{}, &session{}
	l.add(update("a", api.TaskRunning, "1")).sentIn = old
	_, listed := l.snapshot(s)
	l.add(update("a", api.TaskFinished, "2")) // made while subscribing
	l.add(update("b", api.TaskRunning, "3")).sentIn = old
	if len(listed) != 1 {
		t.Fatalf("SUBSCRIBE listed %d updates, want 1", len(listed))
	}
	if got := describe(nil, l.unsent(s)); got != "[] [2 3]" {
		t.Errorf("unsent = %s, want [] [2 3]", got)
	}
	if got := describe(nil, l.unsent(s)); got != "[] []" {
		t.Errorf("unsent again = %s, want nothing", got)
	}
}
