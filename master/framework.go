package master

import (
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// framework is the master's record of one framework. Fields are guarded by
// Master.mu.
type framework struct {
	id         string
	info       api.FrameworkInfo
	stream     *stream // nil while disconnected
	registered time.Time
	// reregistered and unregistered are zero until they happen.
	reregistered time.Time
	unregistered time.Time
	tasks        map[string]*task // live tasks by task ID
	// executors is what the executors the master counts for it hold, by
	// role, beside its tasks' resources (executor.go); nil until one.
	executors map[string]api.Resources
	completed []*task // terminal tasks, oldest first
	offers    map[string]*offer
	failover  *time.Timer // runs while disconnected
	// failoverDeadline is when a disconnected framework is removed; zero
	// while connected. It is persisted so a new leader keeps counting.
	failoverDeadline time.Time
	notes            []string // recent launch problems, for GET_FRAMEWORKS diagnostics
	// declined counts the offers it declined and lastDeclined describes
	// the latest, for its diagnostics: what it turned down says what it
	// waits for.
	declined     int
	lastDeclined string
	recovered    bool // known only from an agent's tasks since a master restart
}

// maxNotes bounds a framework's recent launch problems.
const maxNotes = 5

// note remembers a launch problem for the framework's diagnostics.
func (f *framework) note(msg string) {
	f.notes = append(f.notes, msg)
	if n := len(f.notes) - maxNotes; n > 0 {
		f.notes = append([]string(nil), f.notes[n:]...)
	}
}

func newFramework(id string, info api.FrameworkInfo, now time.Time) *framework {
	info.ID = &api.FrameworkID{Value: id}
	return &framework{
		id:         id,
		info:       info,
		registered: now,
		tasks:      map[string]*task{},
		offers:     map[string]*offer{},
	}
}

// connected reports whether the framework has a live event stream.
func (f *framework) connected() bool { return f.stream != nil && !f.stream.closed() }

// partitionAware reports whether the framework understands
// TASK_UNREACHABLE, TASK_DROPPED and TASK_GONE; others get TASK_LOST.
func (f *framework) partitionAware() bool { return f.info.HasCapability(api.CapPartitionAware) }

// send delivers an event if the framework is connected.
func (f *framework) send(ev api.Event) bool { return f.stream.send(ev) }

// update sends a status update to the framework if it is connected. An
// update it misses is sent again when it re-subscribes (if it came from an
// agent) or answered by reconciliation (if the master made it).
func (f *framework) update(st api.TaskStatus) {
	f.send(api.Event{Type: api.EventUpdate, Update: &api.Update{Status: st}})
}

// complete moves terminal tasks to the completed list, keeping at most
// max, and returns the completed tasks it no longer keeps. The list is
// trimmed once per call, so that moving a million tasks at a teardown
// costs one copy of it, not one per task.
func (f *framework) complete(tasks []*task, max int) []*task {
	for _, t := range tasks {
		delete(f.tasks, t.info.TaskID.Value)
	}
	f.completed = append(f.completed, tasks...)
	var evicted []*task
	if n := len(f.completed) - max; n > 0 {
		evicted = f.completed[:n:n]
		f.completed = append([]*task(nil), f.completed[n:]...)
	}
	return evicted
}

// executorsHeld is what its executors hold, all roles together.
func (f *framework) executorsHeld() api.Resources {
	var out api.Resources
	for _, r := range f.executors {
		out = out.Plus(r)
	}
	return out
}
