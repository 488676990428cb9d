package registry

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

func openTestFSM(t *testing.T) *FSM {
	t.Helper()
	f, err := OpenFSM(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func entry(t *testing.T, index uint64, c Command) *raft.Log {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: b}
}

func applyErr(v any) error {
	err, _ := v.(error)
	return err
}

func sampleTask(fw, id string) Task {
	return Task{Framework: fw, Agent: "a1", Role: "*", State: api.TaskStaging,
		Info: api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: "a1"}}}
}

func TestFSMApply(t *testing.T) {
	tests := []struct {
		name    string
		entries []Command
		want    []error // one per entry
		check   func(t *testing.T, s *State)
	}{
		{
			name: "framework and agent are recorded",
			entries: []Command{
				PutFramework(Framework{ID: "f1", Info: api.FrameworkInfo{Name: "web"}}),
				PutAgent(Agent{ID: "a1", State: AgentActive}),
			},
			want: []error{nil, nil},
			check: func(t *testing.T, s *State) {
				if s.Frameworks["f1"].Info.Name != "web" || s.Agents["a1"].State != AgentActive {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "a launch applies once however often it is retried",
			entries: []Command{
				LaunchTasks("L1", sampleTask("f1", "t1")),
				PutTask(func() Task { x := sampleTask("f1", "t1"); x.State = api.TaskRunning; return x }()),
				LaunchTasks("L1", sampleTask("f1", "t1")),
			},
			want: []error{nil, nil, ErrDuplicate},
			check: func(t *testing.T, s *State) {
				if got := s.Tasks["f1/t1"].State; got != api.TaskRunning {
					t.Errorf("the retried launch overwrote the task: state %s", got)
				}
			},
		},
		{
			name:    "delete removes a task",
			entries: []Command{PutTask(sampleTask("f1", "t1")), DeleteTask("f1", "t1")},
			want:    []error{nil, nil},
			check: func(t *testing.T, s *State) {
				if len(s.Tasks) != 0 {
					t.Errorf("tasks = %v", s.Tasks)
				}
			},
		},
		{
			name:    "weights, quotas and maintenance",
			entries: []Command{PutWeight("web", 2), PutQuota(api.QuotaConfig{Role: "web"}), PutMaintenance(Maintenance{})},
			want:    []error{nil, nil, nil},
			check: func(t *testing.T, s *State) {
				if s.Weights["web"] != 2 || s.Quotas["web"].Role != "web" || s.Maintenance == nil {
					t.Errorf("state = %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := openTestFSM(t)
			for i, c := range tt.entries {
				if got := applyErr(f.Apply(entry(t, uint64(i+1), c))); !errors.Is(got, tt.want[i]) {
					t.Fatalf("entry %d: Apply = %v, want %v", i+1, got, tt.want[i])
				}
			}
			s, err := f.Load()
			if err != nil {
				t.Fatal(err)
			}
			if s.Applied != uint64(len(tt.entries)) {
				t.Errorf("applied = %d, want %d", s.Applied, len(tt.entries))
			}
			tt.check(t, s)
		})
	}
}

// TestFSMSkipsReplayedEntries replays entries the file already holds, as
// raft does after a restart without restoring a snapshot: they must not
// apply again (a replayed launch would otherwise answer ErrDuplicate and a
// replayed older put would undo a newer one).
func TestFSMSkipsReplayedEntries(t *testing.T) {
	f := openTestFSM(t)
	running := sampleTask("f1", "t1")
	running.State = api.TaskRunning
	f.Apply(entry(t, 1, LaunchTasks("L1", sampleTask("f1", "t1"))))
	f.Apply(entry(t, 2, PutTask(running)))
	if err := applyErr(f.Apply(entry(t, 1, LaunchTasks("L1", sampleTask("f1", "t1"))))); err != nil {
		t.Fatalf("replayed entry answered %v", err)
	}
	s, _ := f.Load()
	if s.Tasks["f1/t1"].State != api.TaskRunning {
		t.Errorf("replay undid a later entry: %s", s.Tasks["f1/t1"].State)
	}
}

func TestFSMRejectsBadEntries(t *testing.T) {
	f := openTestFSM(t)
	for i, data := range []string{`{`, `{"changes":[{"op":"put","bucket":"once","key":"x","value":1}]}`,
		`{"changes":[{"op":"put","bucket":"tasks","key":"","value":1}]}`, `{"changes":[]}`} {
		l := &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: []byte(data)}
		if applyErr(f.Apply(l)) == nil {
			t.Errorf("entry %q applied", data)
		}
	}
	if f.Applied() != 4 {
		t.Errorf("rejected entries must still advance the applied index; got %d", f.Applied())
	}
}

// TestSnapshotRestore writes a snapshot through raft's file snapshot store
// and restores it into another registry file.
func TestSnapshotRestore(t *testing.T) {
	src := openTestFSM(t)
	src.Apply(entry(t, 1, PutFramework(Framework{ID: "f1"})))
	src.Apply(entry(t, 2, LaunchTasks("L1", sampleTask("f1", "t1"))))
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Changes after the snapshot must not be in it.
	src.Apply(entry(t, 3, PutFramework(Framework{ID: "f2"})))

	store, err := raft.NewFileSnapshotStoreWithLogger(t.TempDir(), 1, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	sink, err := store.Create(raft.SnapshotVersionMax, 2, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	_, rc, err := store.Open(sink.ID())
	if err != nil {
		t.Fatal(err)
	}
	dst := openTestFSM(t)
	dst.Apply(entry(t, 1, PutFramework(Framework{ID: "stale"})))
	if err := dst.Restore(rc); err != nil {
		t.Fatal(err)
	}
	s, err := dst.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Frameworks["f1"]; !ok || len(s.Frameworks) != 1 || len(s.Tasks) != 1 || s.Applied != 2 {
		t.Errorf("restored state = frameworks %v, tasks %v, applied %d", s.Frameworks, s.Tasks, s.Applied)
	}
	if err := applyErr(dst.Apply(entry(t, 3, LaunchTasks("L1", sampleTask("f1", "t1"))))); !errors.Is(err, ErrDuplicate) {
		t.Errorf("launch IDs must survive a restore; retried launch answered %v", err)
	}
	if err := dst.Check(); err != nil {
		t.Errorf("restored file fails bbolt's check: %v", err)
	}
}

var _ io.Closer = (*FSM)(nil)

// TestApplyBatch applies several entries at once, a replayed one among
// them: each gets its own result and the file records the last index.
func TestApplyBatch(t *testing.T) {
	f := openTestFSM(t)
	f.Apply(entry(t, 1, LaunchTasks("L1", sampleTask("f1", "t1"))))
	logs := []*raft.Log{
		entry(t, 1, LaunchTasks("L1", sampleTask("f1", "t1"))), // replayed: skipped
		entry(t, 2, PutWeight("a", 1)),
		entry(t, 3, LaunchTasks("L1", sampleTask("f1", "t1"))), // a retry: duplicate
		{Index: 4, Type: raft.LogCommand, Data: []byte("{")},
		{Index: 5, Type: raft.LogNoop},
	}
	res := f.ApplyBatch(logs)
	if applyErr(res[0]) != nil || applyErr(res[1]) != nil || !errors.Is(applyErr(res[2]), ErrDuplicate) || applyErr(res[3]) == nil {
		t.Errorf("results = %v", res)
	}
	if f.Applied() != 4 {
		t.Errorf("applied = %d, want 4 (the last command entry)", f.Applied())
	}
	s, _ := f.Load()
	if s.Weights["a"] != 1 {
		t.Errorf("weights = %v", s.Weights)
	}
}

// TestFSMModuleDeletion applies module records and deletions: a deleted
// module leaves the list and is named by DeletedModules, an upload after
// the deletion lists it again and makes its tombstone inert, every such
// entry signals ModulesChanged, and a snapshot carries the tombstone to
// a master that restores it.
func TestFSMModuleDeletion(t *testing.T) {
	const a, b = "aaaa", "bbbb"
	tests := []struct {
		name        string
		entries     []Command
		wantListed  []string
		wantDeleted []string
	}{
		{name: "recorded", entries: []Command{PutModule(a, nil), PutModule(b, nil)},
			wantListed: []string{a, b}},
		{name: "deleted", entries: []Command{PutModule(a, nil), PutModule(b, nil), DeleteModule(DeletedModule{SHA256: a})},
			wantListed: []string{b}, wantDeleted: []string{a}},
		{name: "deleted, then uploaded again", entries: []Command{PutModule(a, nil), DeleteModule(DeletedModule{SHA256: a}), PutModule(a, nil)},
			wantListed: []string{a}},
		{name: "deleted twice", entries: []Command{PutModule(a, nil), DeleteModule(DeletedModule{SHA256: a}), DeleteModule(DeletedModule{SHA256: a})},
			wantDeleted: []string{a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := openTestFSM(t)
			for i, c := range tt.entries {
				if err := applyErr(f.Apply(entry(t, uint64(i+1), c))); err != nil {
					t.Fatalf("entry %d: %v", i+1, err)
				}
				select {
				case <-f.ModulesChanged():
				default:
					t.Fatalf("entry %d did not signal ModulesChanged", i+1)
				}
			}
			listed, err := f.ModuleNames()
			if err != nil || !slices.Equal(listed, tt.wantListed) {
				t.Errorf("ModuleNames = %v, %v; want %v", listed, err, tt.wantListed)
			}
			deleted, err := f.DeletedModules()
			if err != nil || !slices.Equal(deleted, tt.wantDeleted) {
				t.Errorf("DeletedModules = %v, %v; want %v", deleted, err, tt.wantDeleted)
			}
			for _, sha := range []string{a, b} {
				got, err := f.ModuleDeleted(sha)
				if want := slices.Contains(tt.wantDeleted, sha); err != nil || got != want {
					t.Errorf("ModuleDeleted(%s) = %v, %v; want %v", sha, got, err, want)
				}
			}
		})
	}

	t.Run("through a snapshot", func(t *testing.T) {
		src := openTestFSM(t)
		src.Apply(entry(t, 1, PutModule(a, nil)))
		src.Apply(entry(t, 2, DeleteModule(DeletedModule{SHA256: a})))
		snap, err := src.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		sink := &memorySink{}
		if err := snap.Persist(sink); err != nil {
			t.Fatal(err)
		}
		dst := openTestFSM(t)
		dst.Apply(entry(t, 1, PutModule(a, nil)))
		<-dst.ModulesChanged()
		if err := dst.Restore(io.NopCloser(&sink.Buffer)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-dst.ModulesChanged():
		default:
			t.Fatal("the restore did not signal ModulesChanged")
		}
		if deleted, err := dst.DeletedModules(); err != nil || !slices.Equal(deleted, []string{a}) {
			t.Errorf("DeletedModules after the restore = %v, %v; want [%s]", deleted, err, a)
		}
	})
}

// memorySink is a raft.SnapshotSink over memory.
type memorySink struct{ bytes.Buffer }

func (*memorySink) ID() string    { return "memory" }
func (*memorySink) Cancel() error { return nil }
func (*memorySink) Close() error  { return nil }

var _ raft.SnapshotSink = (*memorySink)(nil)

// TestFSMForgetsOldOnceIDs applies a launch, then the same launch again
// within OnceTTL (a duplicate) and after it (applied: the ID is
// forgotten, so the registry does not grow with every launch for ever).
// A registry from before Once IDs had ages forgets its IDs at the next
// entry.
func TestFSMForgetsOldOnceIDs(t *testing.T) {
	f := openTestFSM(t)
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	at := func(index uint64, c Command, when time.Time) *raft.Log {
		l := entry(t, index, c)
		l.AppendedAt = when
		return l
	}
	launch := LaunchTasks("L1", sampleTask("f1", "t1"))
	steps := []struct {
		when time.Time
		cmd  Command
		want error
	}{
		{t0, launch, nil},
		{t0.Add(OnceTTL - time.Minute), launch, ErrDuplicate},
		{t0.Add(OnceTTL + time.Minute), PutAgent(Agent{ID: "a1", State: AgentActive}), nil}, // any entry forgets
		{t0.Add(OnceTTL + 2*time.Minute), launch, nil},
	}
	for i, s := range steps {
		if err := applyErr(f.Apply(at(uint64(i+1), s.cmd, s.when))); !errors.Is(err, s.want) {
			t.Fatalf("step %d: %v, want %v", i, err, s.want)
		}
	}
	if n := onceIDs(t, f); n != 1 {
		t.Errorf("the registry remembers %d Once IDs, want 1 (the second L1)", n)
	}

	// A registry written before ages: the once bucket alone.
	err := f.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(bucketOnceAge)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte(bucketOnceAge)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketOnce)).Put([]byte("launch/old"), make([]byte, 8))
	})
	if err != nil {
		t.Fatal(err)
	}
	path := f.path
	f.Close()
	f, err = OpenFSM(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := applyErr(f.Apply(at(10, PutAgent(Agent{ID: "a2", State: AgentActive}), t0.Add(OnceTTL+3*time.Minute)))); err != nil {
		t.Fatal(err)
	}
	if n := onceIDs(t, f); n != 0 {
		t.Errorf("the registry remembers %d Once IDs from before ages, want 0", n)
	}
}

// onceIDs counts the Once IDs f remembers, checking that each has its age.
func onceIDs(t *testing.T, f *FSM) int {
	t.Helper()
	var ids, ages int
	f.View(func(tx *bolt.Tx) error {
		ids = tx.Bucket([]byte(bucketOnce)).Stats().KeyN
		ages = tx.Bucket([]byte(bucketOnceAge)).Stats().KeyN
		return nil
	})
	if ids != ages {
		t.Errorf("%d Once IDs and %d ages", ids, ages)
	}
	return ids
}
