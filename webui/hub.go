package webui

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// Topics a change is about. A page lists the topics that can change what
// it shows (data-live) and refreshes its live region when an /events
// message names one of them.
const (
	topicTask      = "task"
	topicAgent     = "agent"
	topicFramework = "framework"
	topicTick      = "tick"   // a master heartbeat: figures that move without events (offers)
	topicSample    = "sample" // a new point on the running-tasks chart
)

var allTopics = []string{topicTask, topicAgent, topicFramework, topicTick, topicSample}

// sample is one point of the running-tasks chart, as one viewer sees it.
type sample struct {
	At      time.Time
	Running int
}

// tally is one point of the running-tasks chart as the hub records it:
// the tasks running, by the user of their framework, so that each viewer
// is shown only the tasks its view_tasks lets it see, as the master's
// queries show it (hub.samples). Its map is not changed once recorded.
type tally struct {
	At     time.Time
	ByUser map[string]int
}

// hub follows the master's event stream and fans changes out to the
// browsers' /events streams. It keeps only what no API call can give
// back later: the state of every task that has not ended (to count
// running ones cheaply), the tasks that ended most recently (so that a
// live tail learns its task is over), and the chart's recent samples.
// None of these grows with the number of tasks ever run.
//
// Lock order: hub.mu, then client.mu.
type hub struct {
	mu      sync.Mutex
	clients map[*client]struct{}
	states  map[[2]string]api.TaskState // of tasks not ended, by framework and task ID
	// users holds the user of every framework the stream has named, the
	// object of view_tasks for its tasks.
	users map[string]string
	// ended holds the last maxEnded tasks seen to end, by framework and
	// task ID; endedRing holds the same keys in a ring, next the slot
	// of the oldest once full.
	ended     map[[2]string]struct{}
	endedRing [][2]string
	next      int
	history   []tally // oldest first, within Config.History
	// seq numbers the broadcasts; changed holds, for each topic, the
	// number of the last broadcast that named it. A page records epoch
	// and seq as it is rendered (mark), and its /events stream starts
	// with what changed since (catchUp): a change between the rendering
	// and the stream's opening is not lost. epoch tells this hub's
	// numbers from those of another console (a master that since lost
	// the lead, or this one before a restart), which mean nothing here.
	epoch     string
	seq       uint64
	changed   map[string]uint64
	connected bool // the master's stream is open
}

func newHub() *hub {
	return &hub{clients: map[*client]struct{}{}, states: map[[2]string]api.TaskState{}, users: map[string]string{}, ended: map[[2]string]struct{}{}, changed: map[string]uint64{},
		epoch: randomToken()[:8]}
}

// client is one browser's /events stream. Changes accumulate in pending
// until its handler takes them, so a slow browser costs one set of topics,
// never a queue, and never blocks the hub.
type client struct {
	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{} // capacity 1
}

func (h *hub) add() *client {
	c := &client{pending: map[string]bool{}, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// clientCount is the number of open /events streams.
func (h *hub) clientCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// broadcast tells every client about topics. It never blocks.
func (h *hub) broadcast(topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	for _, t := range topics {
		h.changed[t] = h.seq
	}
	for c := range h.clients {
		c.mu.Lock()
		for _, t := range topics {
			c.pending[t] = true
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// sequence is the number of the last broadcast (mark without the epoch).
func (h *hub) sequence() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// mark is the position a page is rendered at, "epoch:seq", which its
// /events stream names (since=) to catch up from there.
func (h *hub) mark() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch + ":" + strconv.FormatUint(h.seq, 10)
}

// catchUp adds to c's pending topics those that changed after the mark
// since, and wakes c if there are any. A mark of another epoch, or beyond
// this hub's count, was made by another console: what changed since is
// unknown, so every topic counts as changed. An empty mark asks for
// nothing.
func (h *hub) catchUp(c *client, since string) {
	if since == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	epoch, n, _ := strings.Cut(since, ":")
	seq, err := strconv.ParseUint(n, 10, 64)
	foreign := epoch != h.epoch || err != nil || seq > h.seq
	c.mu.Lock()
	n0 := len(c.pending)
	if foreign {
		for _, t := range allTopics {
			c.pending[t] = true
		}
	}
	for t, at := range h.changed {
		if at > seq {
			c.pending[t] = true
		}
	}
	grew := len(c.pending) > n0
	c.mu.Unlock()
	if grew {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// take returns and clears the client's pending topics, in allTopics order.
func (c *client) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, t := range allTopics {
		if c.pending[t] {
			out = append(out, t)
		}
	}
	clear(c.pending)
	return out
}

// apply updates the hub from one operator event and returns the topics it
// touches.
func (h *hub) apply(ev api.OperatorEvent) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch ev.Type {
	case api.OperatorEventSubscribed:
		h.connected = true
		clear(h.states)
		clear(h.users)
		if s := ev.Subscribed.GetState; s != nil && s.GetFrameworks != nil {
			for _, list := range [][]api.FrameworkRecord{s.GetFrameworks.Frameworks, s.GetFrameworks.CompletedFrameworks} {
				for _, f := range list {
					h.setUser(f.FrameworkInfo)
				}
			}
		}
		if s := ev.Subscribed.GetState; s != nil && s.GetTasks != nil {
			for _, list := range [][]api.Task{s.GetTasks.Tasks, s.GetTasks.UnreachableTasks, s.GetTasks.CompletedTasks} {
				for _, t := range list {
					h.setState(t.FrameworkID.Value, t.TaskID.Value, t.State)
				}
			}
		}
		return allTopics
	case api.OperatorEventTaskAdded:
		t := ev.TaskAdded.Task
		h.setState(t.FrameworkID.Value, t.TaskID.Value, t.State)
		return []string{topicTask}
	case api.OperatorEventTaskUpdated:
		u := ev.TaskUpdated
		h.setState(u.FrameworkID.Value, u.Status.TaskID.Value, u.State)
		return []string{topicTask}
	case api.OperatorEventAgentAdded, api.OperatorEventAgentRemoved:
		return []string{topicAgent}
	case api.OperatorEventFrameworkAdded:
		h.setUser(ev.FrameworkAdded.Framework.FrameworkInfo)
		return []string{topicFramework}
	case api.OperatorEventFrameworkUpdated:
		h.setUser(ev.FrameworkUpdated.Framework.FrameworkInfo)
		return []string{topicFramework}
	case api.OperatorEventFrameworkRemoved:
		// The master forgets a removed framework's tasks from its live
		// lists; keep the counts honest by forgetting them too.
		id := ""
		if ev.FrameworkRemoved.FrameworkInfo.ID != nil {
			id = ev.FrameworkRemoved.FrameworkInfo.ID.Value
		}
		for k := range h.states {
			if k[0] == id {
				delete(h.states, k)
			}
		}
		delete(h.users, id)
		return []string{topicFramework, topicTask}
	case api.OperatorEventHeartbeat:
		return []string{topicTick}
	}
	return nil
}

// setUser records the user of a framework. hub.mu must be held.
func (h *hub) setUser(info api.FrameworkInfo) {
	if info.ID != nil {
		h.users[info.ID.Value] = info.User
	}
}

// maxEnded is how many of the tasks that ended last the hub remembers: a
// live tail asks whether its task is over every Config.TailEvery, so it
// needs to hear of an end only for a few steps, and the hub must not
// remember every task ever run.
const maxEnded = 4096

// setState records a task's state: one that has not ended in states, one
// that has among the recently ended. hub.mu must be held.
func (h *hub) setState(fw, task string, s api.TaskState) {
	k := [2]string{fw, task}
	if !s.IsTerminal() {
		h.states[k] = s
		return
	}
	delete(h.states, k)
	if _, ok := h.ended[k]; ok {
		return
	}
	h.ended[k] = struct{}{}
	if len(h.endedRing) < maxEnded {
		h.endedRing = append(h.endedRing, k)
		return
	}
	delete(h.ended, h.endedRing[h.next])
	h.endedRing[h.next] = k
	h.next = (h.next + 1) % maxEnded
}

// over reports whether the task has ended as far as the hub knows, and
// whether it knows: a task neither live nor among the recently ended is
// one it has not heard of, or ended long ago.
func (h *hub) over(fw, task string) (over, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := [2]string{fw, task}
	if _, ok := h.states[k]; ok {
		return false, true
	}
	_, ok := h.ended[k]
	return ok, ok
}

// running counts tasks in TASK_RUNNING by the user of their framework
// ("" for a framework the stream has not named, as the master's
// frameworkUser). hub.mu must be held.
func (h *hub) running() map[string]int {
	n := map[string]int{}
	for k, s := range h.states {
		if s == api.TaskRunning {
			n[h.users[k[0]]]++
		}
	}
	return n
}

// takeSample records the number of running tasks at now and drops samples
// older than window.
func (h *hub) takeSample(now time.Time, window time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.connected {
		return
	}
	h.history = append(h.history, tally{At: now, ByUser: h.running()})
	cut := 0
	for cut < len(h.history) && now.Sub(h.history[cut].At) > window {
		cut++
	}
	h.history = append(h.history[:0:0], h.history[cut:]...)
}

// samples returns the chart's samples counting only the tasks of
// frameworks whose user sees admits: the hub follows every task, but a
// viewer must not learn from the chart how many tasks run that its view
// ACLs hide from every page. sees is called without hub.mu, once a user.
func (h *hub) samples(sees func(user string) bool) []sample {
	h.mu.Lock()
	history := append([]tally(nil), h.history...)
	h.mu.Unlock()
	seen := map[string]bool{}
	out := make([]sample, 0, len(history))
	for _, t := range history {
		n := 0
		for user, running := range t.ByUser {
			ok, asked := seen[user]
			if !asked {
				ok = sees(user)
				seen[user] = ok
			}
			if ok {
				n += running
			}
		}
		out = append(out, sample{At: t.At, Running: n})
	}
	return out
}

// disconnected marks the master's stream as closed.
func (h *hub) disconnected() {
	h.mu.Lock()
	h.connected = false
	h.mu.Unlock()
}

// follow reads one subscription until it ends, applying and broadcasting
// every event and taking a sample every sampleEvery.
func (h *hub) follow(ctx context.Context, events <-chan api.OperatorEvent, sampleEvery, window time.Duration) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			if topics := h.apply(ev); len(topics) > 0 {
				h.broadcast(topics...)
			}
		case now := <-tick.C:
			h.takeSample(now, window)
			h.broadcast(topicSample)
		case <-ctx.Done():
			return
		}
	}
}
