package master

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/master/registry"
)

// TestEntries checks how a batch of queued writes becomes raft entries:
// plain changes merge, a write with a Once ID or a follow-up stands
// alone, and a marker (no change, a follow-up) is an entry of its own.
func TestEntries(t *testing.T) {
	put := func(role string) write { return write{cmd: registry.PutWeight(role, 1)} }
	then := func(w write) write { w.then = func() {}; return w }
	launch := write{cmd: registry.LaunchTasks("L")}
	marker := write{then: func() {}}
	many := make([]write, maxChangesPerEntry+1)
	for i := range many {
		many[i] = put(fmt.Sprint(i))
	}
	tests := []struct {
		name    string
		batch   []write
		changes []int // per entry
		markers []bool
	}{
		{"empty", nil, nil, nil},
		{"plain changes merge", []write{put("a"), put("b"), put("c")}, []int{3}, []bool{false}},
		{"a follow-up ends a run", []write{put("a"), then(put("b")), put("c")}, []int{1, 1, 1}, []bool{false, false, false}},
		{"a launch stands alone", []write{put("a"), launch, put("b")}, []int{1, 0, 1}, []bool{false, false, false}},
		{"a marker stands alone", []write{put("a"), marker, put("b")}, []int{1, 0, 1}, []bool{false, true, false}},
		{"a run is bounded", many, []int{maxChangesPerEntry, 1}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries(tt.batch)
			var changes []int
			var markers []bool
			for _, e := range es {
				changes = append(changes, len(e.cmd.Changes))
				markers = append(markers, e.marker())
			}
			if !slices.Equal(changes, tt.changes) || !slices.Equal(markers, tt.markers) {
				t.Errorf("entries: changes %v markers %v, want %v %v", changes, markers, tt.changes, tt.markers)
			}
		})
	}
}

// TestPipelinedWrites queues many writes at once — launches with
// follow-ups, plain changes, commit markers — on a master over a real
// registry, and half of them more from the first follow-up, while the
// rest are in flight: every follow-up runs once, in queue order, and only
// once its own write is in the registry, though the write loop has many
// entries in raft at a time.
func TestPipelinedWrites(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	const n = 6 * pipelineDepth
	var mu sync.Mutex
	var order []int
	var missing []string
	done := make(chan struct{})
	// queue queues writes from..to-1; rm.mu must be held.
	var queue func(from, to int)
	queue = func(from, to int) {
		for i := from; i < to; i++ {
			fw := fmt.Sprintf("f%d", i)
			// Each follow-up checks for its own write, a marker's for
			// the write queued before it.
			var cmd registry.Command
			var held func(*registry.State) bool
			switch i % 3 {
			case 0:
				task := registry.Task{Framework: fw}
				cmd = registry.LaunchTasks(fw, task)
				held = func(s *registry.State) bool { _, ok := s.Tasks[task.Key()]; return ok }
			case 1:
				cmd = registry.PutFramework(registry.Framework{ID: fw})
				held = func(s *registry.State) bool { _, ok := s.Frameworks[fw]; return ok }
			default:
				held = func(s *registry.State) bool { return s.Weights[fw] == 1 }
			}
			rm.persist(registry.PutWeight(fw, 1), nil)
			rm.persist(cmd, func() {
				if i == 0 {
					queue(n/2, n) // follow-ups run with rm.mu held
				}
				s, err := rm.reg.Load()
				mu.Lock()
				defer mu.Unlock()
				if err != nil || !held(s) {
					missing = append(missing, fw)
				}
				order = append(order, i)
				if len(order) == n {
					close(done)
				}
			})
		}
	}
	rm.mu.Lock()
	queue(0, n/2)
	rm.mu.Unlock()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the follow-ups did not all run")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, got := range order {
		if got != i {
			t.Fatalf("follow-ups ran in the order %v, want queue order", order)
		}
	}
	if len(missing) > 0 {
		t.Errorf("follow-ups ran before the registry held their writes: %v", missing)
	}
}
