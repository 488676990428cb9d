package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// These tests drive the framework's bookkeeping directly, without a
// master: what runs when, after what, how often. The e2e tests run the
// whole sample against a real cluster.

func newTestFramework(t *testing.T) (*framework, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	return newFramework(path, st, slog.New(slog.NewTextHandler(io.Discard, nil))), path
}

func (f *framework) queued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, t := range f.queue {
		ids = append(ids, t.TaskID.Value)
	}
	f.queue = nil // as if launched
	return ids
}

func end(f *framework, id string, state api.TaskState, now time.Time) {
	f.update(api.TaskStatus{TaskID: api.TaskID{Value: id}, State: state, AgentID: &api.AgentID{Value: "a1"}}, now)
}

func TestScheduleDependenciesAndRetries(t *testing.T) {
	f, path := newTestFramework(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := f.put(t0,
		Job{Name: "child", Parents: []string{"a", "b"}, Command: "true"},
		Job{Name: "a", Schedule: "R2/2026-01-01T00:00:00Z/PT1M", Command: "true"},
		Job{Name: "b", Schedule: "R1/2026-01-01T00:00:00Z/PT1M", Command: "exit 1", Retries: 1},
	)
	if err != nil {
		t.Fatal(err)
	}
	f.tick(t0)
	if got := strings.Join(sorted(f.queued()), " "); got != "jobs.a.1.1 jobs.b.1.1" {
		t.Fatalf("queued at the start: %s", got)
	}
	end(f, "jobs.a.1.1", api.TaskFinished, t0)
	end(f, "jobs.b.1.1", api.TaskFailed, t0)
	if got := strings.Join(f.queued(), " "); got != "jobs.b.1.2" {
		t.Fatalf("after b failed once: queued %q, want its second attempt", got)
	}
	end(f, "jobs.b.1.2", api.TaskFinished, t0)
	if got := strings.Join(f.queued(), " "); got != "jobs.child.1.1" {
		t.Fatalf("after both parents succeeded: queued %q, want the child", got)
	}
	end(f, "jobs.child.1.1", api.TaskFinished, t0)

	// a's second run is due a minute later; the child waits for b, whose
	// schedule has ended: it does not run again.
	f.tick(t0.Add(59 * time.Second))
	if q := f.queued(); len(q) != 0 {
		t.Fatalf("queued before a's time: %v", q)
	}
	f.tick(t0.Add(time.Minute))
	if got := strings.Join(f.queued(), " "); got != "jobs.a.2.1" {
		t.Fatalf("a minute on: queued %q", got)
	}
	end(f, "jobs.a.2.1", api.TaskFinished, t0.Add(time.Minute))
	if q := f.queued(); len(q) != 0 {
		t.Fatalf("the child ran with only one parent done again: %v", q)
	}
	f.tick(t0.Add(time.Hour))
	if q := f.queued(); len(q) != 0 {
		t.Fatalf("runs after the schedules ended: %v", q)
	}

	// The history, reloaded from the state file as after a restart.
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "succeeded succeeded", "b": "succeeded", "child": "succeeded"}
	for name, w := range want {
		var got []string
		for _, r := range st.Jobs[name].Runs {
			got = append(got, r.State)
		}
		if strings.Join(got, " ") != w {
			t.Errorf("job %s runs %v, want %s", name, got, w)
		}
	}
	if r := st.Jobs["b"].Runs[0]; r.Attempts != 2 || r.Trigger != "schedule" {
		t.Errorf("b's run: %+v, want 2 attempts by schedule", r)
	}
}

func TestManualTriggerWhileRunningIsPending(t *testing.T) {
	f, path := newTestFramework(t)
	t0 := time.Now()
	if err := f.put(t0, Job{Name: "m", Schedule: "R0/2026-01-01T00:00:00Z/PT1H", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	f.tick(t0)
	if q := f.queued(); len(q) != 0 {
		t.Fatalf("an R0 job ran by itself: %v", q)
	}
	f.trigger("m", t0)
	f.trigger("m", t0) // while the first is queued: pending, not a second task
	if got := strings.Join(f.queued(), " "); got != "jobs.m.1.1" {
		t.Fatalf("queued %q", got)
	}

	// A restart while the run is queued: the master has never heard of
	// its task, so reconciliation answers TASK_LOST; the attempt is
	// queued again, under a new task ID (the master may still hold the
	// lost one), and not counted as a failure.
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	f = newFramework(path, st, f.log)
	f.update(api.TaskStatus{TaskID: api.TaskID{Value: "jobs.m.1.1"}, State: api.TaskLost, Reason: api.ReasonReconciliation}, t0)
	if got := strings.Join(f.queued(), " "); got != "jobs.m.1.2" {
		t.Fatalf("after a restart, queued %q, want the attempt again", got)
	}
	if r := f.st.Jobs["m"].Runs[0]; r.Attempts != 2 || r.Lost != 1 || r.State != "queued" {
		t.Fatalf("after the lost attempt: %+v, want 2 attempts, 1 lost, queued", r)
	}
	end(f, "jobs.m.1.2", api.TaskFinished, t0)
	if got := strings.Join(f.queued(), " "); got != "jobs.m.2.1" {
		t.Fatalf("the pending trigger queued %q", got)
	}
	end(f, "jobs.m.2.1", api.TaskFinished, t0)
	end(f, "jobs.m.2.1", api.TaskFinished, t0) // a duplicate update changes nothing
	if n := len(f.st.Jobs["m"].Runs); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

func TestBadJobs(t *testing.T) {
	f, _ := newTestFramework(t)
	now := time.Now()
	if err := f.put(now, Job{Name: "p", Schedule: "@hourly", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		job  Job
		want string
	}{
		{Job{Name: "Bad Name", Schedule: "@hourly", Command: "true"}, "job name"},
		{Job{Name: "x", Command: "true"}, "exactly one of 'schedule' and 'parents'"},
		{Job{Name: "x", Schedule: "@hourly", Parents: []string{"p"}, Command: "true"}, "exactly one of 'schedule' and 'parents'"},
		{Job{Name: "x", Schedule: "@hourly"}, "exactly one of 'command' and 'module'"},
		{Job{Name: "x", Schedule: "@hourly", Module: "abc"}, "SHA-256"},
		{Job{Name: "x", Schedule: "whenever", Command: "true"}, "neither"},
		{Job{Name: "x", Parents: []string{"nope"}, Command: "true"}, "does not exist"},
		{Job{Name: "p", Parents: []string{"p"}, Command: "true"}, "cycle"},
		{Job{Name: "x", Schedule: "@hourly", Command: "true", Retries: -1}, "retries"},
	}
	for _, tt := range tests {
		if err := f.put(now, tt.job); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("put(%+v) = %v, want an error containing %q", tt.job, err, tt.want)
		}
	}
	if err := f.put(now, Job{Name: "c", Parents: []string{"p"}, Command: "true"}); err != nil {
		t.Fatal(err)
	}
	if err := f.remove("p"); err == nil || !strings.Contains(err.Error(), "depends on it") {
		t.Fatalf("removing a parent: %v", err)
	}
	if err := f.put(now, Job{Name: "p", Parents: []string{"c"}, Command: "true"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a two-job cycle: %v", err)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
