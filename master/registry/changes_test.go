package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestTrackChanges checks what a standby's feed is told of applied
// entries: the last value of each record of the tracked buckets, nil for
// a deleted one, nothing of a launch the FSM refused as a duplicate (it
// changed nothing), nothing before tracking began, and nothing twice.
func TestTrackChanges(t *testing.T) {
	f := openTestFSM(t)
	f.Apply(entry(t, 1, PutFramework(Framework{ID: "before"})))
	f.TrackChanges(BucketFrameworks, BucketTasks)
	running := sampleTask("f1", "t1")
	running.State = api.TaskRunning
	for i, c := range []Command{
		LaunchTasks("L1", sampleTask("f1", "t1")),
		PutTask(running),
		LaunchTasks("L1", sampleTask("f1", "t1")), // a retry: ErrDuplicate
		LaunchTasks("L2", sampleTask("f1", "t2")),
		DeleteTask("f1", "t2"),
		PutFramework(Framework{ID: "f1"}),
		PutWeight("web", 2), // not tracked
	} {
		f.Apply(entry(t, uint64(i+2), c))
	}
	select {
	case <-f.Changed():
	default:
		t.Error("Changed was not signalled")
	}
	got := f.TakeChanges()
	if got.All || got.Applied != 8 {
		t.Fatalf("All %v, Applied %d; want the records up to 8", got.All, got.Applied)
	}
	var task Task
	if err := json.Unmarshal(got.Records[BucketTasks]["f1/t1"], &task); err != nil || task.State != api.TaskRunning {
		t.Errorf("f1/t1 recorded as %+v (%v), want its last value, TASK_RUNNING", task, err)
	}
	if v, ok := got.Records[BucketTasks]["f1/t2"]; !ok || v != nil {
		t.Errorf("f1/t2 recorded as %q (listed %v), want nil: deleted", v, ok)
	}
	if _, ok := got.Records[BucketFrameworks]["f1"]; !ok || len(got.Records[BucketFrameworks]) != 1 {
		t.Errorf("frameworks recorded: %v, want f1 alone", keys(got.Records[BucketFrameworks]))
	}
	if _, ok := got.Records[BucketWeights]; ok {
		t.Error("weights were recorded, though not tracked")
	}
	if again := f.TakeChanges(); len(again.Records) != 0 || again.All || again.Applied != 8 {
		t.Errorf("a second take: %+v, want nothing new at 8", again)
	}
	f.StopTracking()
	f.Apply(entry(t, 9, PutFramework(Framework{ID: "after"})))
	if after := f.TakeChanges(); len(after.Records) != 0 || after.All {
		t.Errorf("after StopTracking: %+v, want nothing", after)
	}
}

// TestTrackChangesAll checks that the tracker reports All, listing
// nothing, once more records changed than it keeps, and when a snapshot
// replaced the file: the reader then reads the whole state.
func TestTrackChangesAll(t *testing.T) {
	t.Run("too many records", func(t *testing.T) {
		tr := newTracker()
		tr.start(0, []string{BucketTasks})
		cmd := Command{}
		for i := range maxTrackedRecords + 1 {
			cmd.Changes = append(cmd.Changes, Put(BucketTasks, fmt.Sprint("f/", i), 1))
		}
		tr.add([]Command{cmd}, 7)
		tr.add([]Command{PutTask(sampleTask("f", "late"))}, 8)
		if got := tr.take(); !got.All || len(got.Records) != 0 || got.Applied != 8 {
			t.Errorf("All %v with %d buckets listed at %d; want All, none listed, at 8", got.All, len(got.Records), got.Applied)
		}
		if got := tr.take(); got.All {
			t.Error("All outlived its take")
		}
	})
	t.Run("a snapshot restored", func(t *testing.T) {
		src := openTestFSM(t)
		src.Apply(entry(t, 1, LaunchTasks("L1", sampleTask("f1", "t1"))))
		snap, err := src.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var sink bytes.Buffer
		if _, err := sink.Write(snap.(*snapshot).data); err != nil {
			t.Fatal(err)
		}
		dst := openTestFSM(t)
		dst.TrackChanges(BucketTasks)
		if err := dst.Restore(io.NopCloser(&sink)); err != nil {
			t.Fatal(err)
		}
		if got := dst.TakeChanges(); !got.All || got.Applied != 1 {
			t.Errorf("after a restore: All %v at %d, want All at 1", got.All, got.Applied)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
