package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestLazyWrites checks that lazy writes join the group the next write
// starts, in order, and that one alone still reaches the disk.
func TestLazyWrites(t *testing.T) {
	s, err := openStore(filepath.Join(t.TempDir(), "agent.db"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	var mu sync.Mutex
	var txs []int // the transaction each write ran in, in order
	record := func(tx *bolt.Tx) error {
		mu.Lock()
		txs = append(txs, tx.ID())
		mu.Unlock()
		return nil
	}
	s.c.mu.Lock()
	s.c.linger = time.Hour // only the next write may commit them
	s.c.mu.Unlock()
	lazy := []*write{s.c.enqueueLazy(record), s.c.enqueueLazy(record)}
	if err := s.c.update(record); err != nil {
		t.Fatal(err)
	}
	for i, w := range lazy {
		select {
		case err := <-w.done:
			if err != nil {
				t.Fatalf("lazy write %d: %v", i, err)
			}
		default:
			t.Fatalf("lazy write %d is not done after the write queued after it", i)
		}
	}
	if len(txs) != 3 || txs[0] != txs[1] || txs[1] != txs[2] {
		t.Fatalf("the writes ran in transactions %v, want one", txs)
	}
	s.c.mu.Lock()
	s.c.linger = time.Millisecond
	s.c.mu.Unlock()
	if err := s.c.enqueueLazy(record).wait(); err != nil {
		t.Fatalf("a lazy write alone: %v", err)
	}
}

// TestCommitterHammer hammers the committer from many goroutines: every
// write is on disk once waited for, the afters run in the order the
// writes were queued, and a write that fails fails alone; whether only
// the committer's goroutine commits or the writers help (drain), as
// executor updates on a quiet agent do.
func TestCommitterHammer(t *testing.T) {
	for _, drain := range []bool{false, true} {
		t.Run(fmt.Sprintf("drain=%v", drain), func(t *testing.T) { hammerCommitter(t, drain) })
	}
}

func hammerCommitter(t *testing.T, drain bool) {
	path := filepath.Join(t.TempDir(), "agent.db")
	s, err := openStore(path, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	bucket := []byte("test")
	if err := s.c.update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 50
	var mu sync.Mutex
	var queued, applied []int
	var wg sync.WaitGroup
	boom := errors.New("boom")
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := g*each + i
				fail := n%97 == 0
				mu.Lock() // queue and record the order atomically
				w := s.c.enqueue(func(tx *bolt.Tx) error {
					if fail {
						return boom
					}
					return tx.Bucket(bucket).Put(binary.BigEndian.AppendUint64(nil, uint64(n)), nil)
				}, func(err error) { // on the goroutine committing, one at a time
					if err == nil {
						applied = append(applied, n)
					}
				})
				if !fail {
					queued = append(queued, n)
				}
				mu.Unlock()
				if drain && g%2 == 0 {
					s.c.drain()
				}
				if err := w.wait(); (err != nil) != fail {
					t.Errorf("write %d: %v, want failure %v", n, err, fail)
				}
			}
		}()
	}
	wg.Wait()
	if s.close() != nil {
		t.Fatal("close")
	}
	if fmt.Sprint(applied) != fmt.Sprint(queued) {
		t.Errorf("afters ran out of queueing order:\n%v\nqueued:\n%v", applied, queued)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucket).Stats().KeyN; n != len(queued) {
			t.Errorf("%d keys on disk, want %d", n, len(queued))
		}
		return nil
	})
	if err := s.c.enqueue(func(*bolt.Tx) error { return nil }, nil).wait(); !errors.Is(err, errStoreClosed) {
		t.Errorf("a write after close: %v, want errStoreClosed", err)
	}
}

// TestCommitterGroups holds the committer in a transaction while 100
// writes are queued: they then commit together, in one transaction.
func TestCommitterGroups(t *testing.T) {
	s, err := openStore(filepath.Join(t.TempDir(), "agent.db"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	release, held := make(chan struct{}), make(chan struct{})
	blocker := s.c.enqueue(func(*bolt.Tx) error { close(held); <-release; return nil }, nil)
	<-held
	txs := map[*bolt.Tx]int{}
	var writes []*write
	for range 100 {
		writes = append(writes, s.c.enqueue(func(tx *bolt.Tx) error { txs[tx]++; return nil }, nil))
	}
	close(release)
	if err := blocker.wait(); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if err := w.wait(); err != nil {
			t.Fatal(err)
		}
	}
	if len(txs) != 1 {
		t.Errorf("100 writes queued together took %d transactions, want 1", len(txs))
	}
}

// TestCloseWhileDraining closes the committer while a writer commits a
// group on its own goroutine (drain): the writes queued meanwhile still
// commit, and close returns once all is on disk.
func TestCloseWhileDraining(t *testing.T) {
	s, err := openStore(filepath.Join(t.TempDir(), "agent.db"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	release, held := make(chan struct{}), make(chan struct{})
	blocker := s.c.add(func(*bolt.Tx) error { close(held); <-release; return nil }, nil, true) // lazy: the loop leaves it
	drained := make(chan struct{})
	go func() {
		s.c.mu.Lock()
		s.c.urgent = true
		s.c.mu.Unlock()
		s.c.drain()
		close(drained)
	}()
	<-held
	after := s.c.enqueue(func(*bolt.Tx) error { return nil }, nil)
	closed := make(chan struct{})
	go func() {
		s.c.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned while a group was committing")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-drained
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return after the draining writer's group")
	}
	for i, w := range []*write{blocker, after} {
		if err := w.wait(); err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	s.db.Close()
}

// TestCheckpointRoundTrip writes an executor and its tasks as
// checkpoints do, changes and forgets some, and reads them back in launch
// order; a record in the earlier format, tasks inside, reads as before.
func TestCheckpointRoundTrip(t *testing.T) {
	s, err := openStore(filepath.Join(t.TempDir(), "agent.db"), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	task := func(i int, id string, st api.TaskState) *recordedTask {
		return &recordedTask{Index: i, Info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, State: st}
	}
	rec := &executorRecord{Framework: "fw", ExecutorInfo: api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "ex"}}, PID: 42}
	steps := [][]taskChange{
		{{index: 0, rec: task(0, "a", api.TaskStaging)}, {index: 1, rec: task(1, "b", api.TaskStaging)}},
		{{index: 2, rec: task(2, "c", api.TaskStaging)}, {index: 0, rec: task(0, "a", api.TaskRunning)}},
		{{index: 1}}, // b ended
	}
	for i, changes := range steps {
		r := rec
		if i > 0 {
			r = nil
		}
		lazy := i == 1 // a lazy write reaches the disk alone, after lazyDelay
		if err := s.checkpoint("fw", "ex", r, changes, lazy).wait(); err != nil {
			t.Fatal(err)
		}
	}
	legacy := &executorRecord{Framework: "fw", ExecutorInfo: api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "old"}},
		Tasks: []recordedTask{*task(0, "x", api.TaskRunning), *task(0, "y", api.TaskRunning)}}
	if err := s.checkpoint("fw", "old", legacy, nil, false).wait(); err != nil {
		t.Fatal(err)
	}
	recs, err := s.executors()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.ExecutorInfo.ExecutorID.Value] = fmt.Sprint(r.PID, r.Tasks)
	}
	describe := func(pid int, ts ...*recordedTask) string {
		var out []recordedTask
		for _, t := range ts {
			out = append(out, *t)
		}
		return fmt.Sprint(pid, out)
	}
	want := map[string]string{
		"ex":  describe(42, task(0, "a", api.TaskRunning), task(2, "c", api.TaskStaging)),
		"old": describe(0, task(0, "x", api.TaskRunning), task(1, "y", api.TaskRunning)),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("executor %s reads back as\n%s\nwant\n%s", k, got[k], w)
		}
	}
	if err := s.deleteExecutor("fw", "ex"); err != nil {
		t.Fatal(err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(tasksBucket).Stats().KeyN; n != 0 {
			t.Errorf("%d task records left after deleteExecutor", n)
		}
		return nil
	})
}
