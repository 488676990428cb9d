package agent

import (
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func status(task string, state api.TaskState) api.TaskStatus {
	return api.TaskStatus{TaskID: api.TaskID{Value: task}, State: state}
}

func TestUpdateManagerOrderAndAcks(t *testing.T) {
	now := time.Unix(1000, 0)
	u := newUpdateManager(10*time.Second, 40*time.Second)
	u.add("f", status("t", api.TaskRunning), now)
	u.add("f", status("t", api.TaskFinished), now)
	u.add("f", status("other", api.TaskRunning), now)

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
	due, _ = u.due(now)
	if len(due) != 1 || due[0].status.State != api.TaskFinished {
		t.Fatalf("after the ack, due %+v, want TASK_FINISHED of t", due)
	}
}

func TestUpdateManagerBackoff(t *testing.T) {
	start := time.Unix(1000, 0)
	u := newUpdateManager(10*time.Second, 40*time.Second)
	u.add("f", status("t", api.TaskRunning), start)
	var sends []time.Duration
	now := start
	for i := 0; i < 6; i++ {
		due, next := u.due(now)
		if len(due) == 1 {
			sends = append(sends, now.Sub(start))
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
