package agent

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// serveExecutor answers POST /api/v1/executor, the v1 Executor API its
// executors call (reference/mesos.md §3.1): SUBSCRIBE opens an event
// stream, UPDATE, MESSAGE and HEARTBEAT carry the stream's
// Mesos-Stream-Id and are answered 202.
func (a *Agent) serveExecutor(w http.ResponseWriter, r *http.Request) {
	if a.recovering.Load() {
		http.Error(w, "Agent has not finished recovery", http.StatusServiceUnavailable)
		return
	}
	call, code, msg := decodeExecutorCall(r)
	if code != 0 {
		http.Error(w, msg, code)
		return
	}
	key := execKey{call.FrameworkID.Value, call.ExecutorID.Value}
	a.mu.Lock()
	run := a.executors[key]
	gone := run == nil || run.exited
	a.mu.Unlock()
	switch {
	case gone:
		http.Error(w, fmt.Sprintf("Executor %q of framework %q cannot be found", key.executor, key.framework), http.StatusBadRequest)
		return
	case r.Header.Get("Authorization") != "Bearer "+run.rec.Token:
		http.Error(w, "Invalid or missing executor token", http.StatusUnauthorized)
		return
	}
	switch call.Type {
	case api.ExecutorCallUnknown:
		http.Error(w, "Received 'UNKNOWN' call", http.StatusNotImplemented)
		return
	case api.ExecutorCallSubscribe:
		a.subscribeExecutor(w, r, run, call.Subscribe)
		return
	}
	if code, msg := a.checkStream(r, run); code != 0 {
		http.Error(w, msg, code)
		return
	}
	switch call.Type {
	case api.ExecutorCallUpdate:
		a.executorUpdate(run, call.Update, call.MoreUpdates)
		if a.updates.quiet() {
			a.commitAndDeliver(w)
			return
		}
	case api.ExecutorCallUsage:
		a.recordUsage(run, call.Usage)
	case api.ExecutorCallMessage:
		select {
		case a.messageSlots <- struct{}{}:
		default:
			http.Error(w, "Too many executor messages on their way to the master; try again later", http.StatusServiceUnavailable)
			return
		}
		a.execWG.Add(1)
		go func() {
			defer a.execWG.Done()
			defer func() { <-a.messageSlots }()
			a.sendMessage(key, call.Message.Data)
		}()
	}
	w.WriteHeader(http.StatusAccepted)
}

// maxMessagesInFlight is how many executors' MESSAGE calls may be on
// their way to the master at once; past it a MESSAGE is answered 503.
// Messages are best effort, as in Mesos, and a master that answers
// slowly would otherwise let an executor pile up goroutines without end.
const maxMessagesInFlight = 64

// commitAndDeliver answers an executor's UPDATE, then commits the update
// and sends it to the master on the calling goroutine, which has nothing
// else to do: on a quiet agent, waking the committer's goroutine and then
// the sender's cost a launch about 90 µs each (PERFORMANCE.md, "The
// launch path's floor on this machine"). The answer is complete (its
// length is set) and flushed before the commit, so an HTTP/1.1 executor
// need not wait behind it; but its next call on the same connection
// does (and over HTTP/2 the stream ends only when the handler returns),
// which is why the send is bounded (see deliverDue). Only a quiet agent does
// this: a busy agent's committer and sender batch better on their own
// goroutines, and keep its executors' connections free.
func (a *Agent) commitAndDeliver(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	// A flush that fails means the executor went away; the update is
	// queued all the same, and the executor sends it again when it
	// subscribes again if it never saw the answer.
	_ = http.NewResponseController(w).Flush()
	a.store.c.drain()
	a.deliverDue()
}

// decodeExecutorCall checks a request as Mesos's agent does and decodes
// its call. A non-zero code is the error answer.
func decodeExecutorCall(r *http.Request) (*api.ExecutorCall, int, string) {
	if r.Method != http.MethodPost {
		return nil, http.StatusMethodNotAllowed, "Expecting a 'POST' request"
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, http.StatusBadRequest, "Expecting 'Content-Type' to be present"
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, fmt.Sprintf("Expecting 'Content-Type' of application/json, got %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxRecordSize+1))
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	if len(body) > api.MaxRecordSize {
		return nil, http.StatusRequestEntityTooLarge, "Request body too large"
	}
	call, err := api.DecodeExecutorCall(body)
	if err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	return call, 0, ""
}

// checkStream checks the Mesos-Stream-Id of a call other than SUBSCRIBE.
func (a *Agent) checkStream(r *http.Request, run *executorRun) (int, string) {
	a.mu.Lock()
	s := run.stream
	a.mu.Unlock()
	id := r.Header.Get("Mesos-Stream-Id")
	switch {
	case s == nil:
		return http.StatusForbidden, "Executor is not subscribed"
	case id == "":
		return http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	case id != s.id:
		return http.StatusBadRequest, fmt.Sprintf("The stream ID %q included in this request didn't match the stream ID currently associated with this executor", id)
	}
	return 0, ""
}

// executorUpdate checkpoints an UPDATE call's update, then its more
// updates (Mezzo's extension, validated with the call), each under its
// own UUID, applies each to its task, and acknowledges each on the
// executor's stream. They are taken in order under one hold of a.mu, as
// if each had come in a call of its own.
//
// As Mesos's agent does, it answers at once and acknowledges an update
// on the executor's stream once it is on disk: the executor keeps it
// until then (and lists it if it subscribes again), so nothing waits for
// the disk on the way to the task. An update that cannot be written
// closes the stream, and the executor subscribes again, listing it.
func (a *Agent) executorUpdate(run *executorRun, first *api.ExecutorUpdate, more []api.ExecutorUpdate) {
	a.mu.Lock()
	s := run.stream
	record := func(st api.TaskStatus) []func() {
		stop, _ := a.recordExecutorUpdate(run, st, func(err error) {
			if err != nil {
				s.close()
				return
			}
			s.send(ackEvent(st))
		})
		return stop
	}
	stops := record(first.Status)
	for _, u := range more {
		stops = append(stops, record(u.Status)...)
	}
	a.mu.Unlock()
	runAll(stops)
}

func ackEvent(st api.TaskStatus) api.ExecutorEvent {
	return api.ExecutorEvent{Type: api.ExecutorEventAcknowledged,
		Acknowledged: &api.ExecutorAcknowledged{TaskID: st.TaskID, UUID: st.UUID}}
}

// recordExecutorUpdate queues the checkpoint of an executor's update
// (once per UUID) and applies it to the task at once; it returns what
// stops the task's checks when the update ended it, to call once a.mu is
// released, and the write to wait for before acknowledging the update;
// done, if set, is called when that write is done (see
// updateManager.addFromExecutor).
// a.mu must be held: an update the agent makes itself (a health check's)
// is then never queued after the task's terminal update.
func (a *Agent) recordExecutorUpdate(run *executorRun, st api.TaskStatus, done func(error)) ([]func(), *write) {
	if st.ExecutorID == nil {
		st.ExecutorID = &api.ExecutorID{Value: run.key.executor}
	}
	if st.ContainerStatus == nil {
		st.ContainerStatus = &api.ContainerStatus{ContainerID: &api.ContainerID{Value: run.rec.Container}}
	}
	t := run.tasks[st.TaskID.Value]
	if t != nil {
		a.labelSandbox(run, &st, t)
		t.annotate(&st)
	}
	// Whether a terminal update could be written decides when its
	// task's sandbox may be collected (gc.go).
	var lost *atomic.Bool
	if st.State.IsTerminal() {
		lost = new(atomic.Bool)
		then := done
		done = func(err error) {
			lost.Store(err != nil)
			if then != nil {
				then(err)
			}
		}
	}
	w := a.updates.addFromExecutor(run.key.framework, st, time.Now(), done)
	if at, ok := run.unwritten[st.TaskID.Value]; ok && t == nil && lost != nil {
		// Sent again, the first could not be written: its sandbox
		// goes back in the queue, for this one.
		delete(run.unwritten, st.TaskID.Value)
		run.enqueue(endedSandbox{name: st.TaskID.Value, at: at, lost: lost})
	}
	// An update sent again (its acknowledgement was lost) may be older
	// than the task's state; it is checkpointed once but never applied.
	if t == nil || stateRank(st.State) < stateRank(t.state) {
		return nil, w
	}
	t.state = st.State
	run.touch(t)
	var stop []func()
	switch {
	case st.State.IsTerminal():
		stop = append(stop, t.stopChecks)
		a.finalUsage(run, t, &st)
		run.remove(t)
		run.queueEnded(t, lost) // its update was queued for agent.db above
		stop = append(stop, func() { a.markTaskEnded(t) })
		delete(a.taskIndex, taskKey{run.key.framework, st.TaskID.Value})
		a.taskEnded(run, st.TaskID.Value)
		a.retireIfIdle(run)
		a.queueResize(run)
	case st.State == api.TaskRunning && t.stopChecks == nil:
		t.stopChecks = a.startChecks(run, t)
		if !t.watched {
			t.watched = true
			a.watchCPU(run, t)
		}
	}
	a.checkpoint(run)
	return stop, w
}

// stateRank orders a task's states as they follow each other.
func stateRank(s api.TaskState) int {
	switch {
	case s.IsTerminal():
		return 4
	case s == api.TaskKilling:
		return 3
	case s == api.TaskRunning:
		return 2
	case s == api.TaskStarting:
		return 1
	}
	return 0
}

// subscribeExecutor answers SUBSCRIBE: the updates the executor lists are
// taken as received (checkpointed once and acknowledged), its tasks as
// running; a task the agent sent it that it does not list, and that it
// never sent an update of, was lost on the way and is reported so. (An
// executor lists only the tasks none of whose updates were acknowledged,
// as Mesos's do; one that sent an update has the task.) Then the stream opens with SUBSCRIBED, the
// acknowledgements and the events that waited for it. A new SUBSCRIBE
// replaces the executor's previous stream.
func (a *Agent) subscribeExecutor(w http.ResponseWriter, r *http.Request, run *executorRun, sub *api.ExecutorSubscribe) {
	if r.Header.Get("Mesos-Stream-Id") != "" {
		http.Error(w, "Subscribe calls should not include the 'Mesos-Stream-Id' header", http.StatusBadRequest)
		return
	}
	s := newExecStream(uuid.NewString())
	s.heartbeat = a.cfg.ExecutorHeartbeat
	// The first look at a module's compile cost reads and decodes it, which
	// takes tens of milliseconds for a large one: done here, before a.mu,
	// adoptListed finds it known.
	for _, ti := range sub.UnacknowledgedTasks {
		if ti.IsWasm() {
			a.modules.compileCost(ti.Container.Wasm.SHA256)
		}
	}
	a.mu.Lock()
	if run.exited {
		a.mu.Unlock()
		http.Error(w, "Executor has exited", http.StatusBadRequest)
		return
	}
	a.adoptListed(run, sub.UnacknowledgedTasks)
	var stops []func()
	var acks []api.ExecutorEvent
	var writes []*write
	for _, u := range sub.UnacknowledgedUpdates {
		stop, wr := a.recordExecutorUpdate(run, u.Status, nil)
		stops = append(stops, stop...)
		writes = append(writes, wr)
		acks = append(acks, ackEvent(u.Status))
	}
	a.mu.Unlock()
	// The updates are acknowledged on the new stream: they must be on
	// disk first.
	for _, wr := range writes {
		if err := wr.wait(); err != nil {
			runAll(stops)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	a.mu.Lock()
	if run.exited {
		a.mu.Unlock()
		runAll(stops)
		http.Error(w, "Executor has exited", http.StatusBadRequest)
		return
	}
	listed := map[string]bool{}
	for _, ti := range sub.UnacknowledgedTasks {
		listed[ti.TaskID.Value] = true
	}
	var lost []*execTask
	for _, id := range run.allTasks {
		if t := run.tasks[id]; t != nil && t.sent && t.state == api.TaskStaging && !listed[id] {
			lost = append(lost, t)
			stops = append(stops, t.stopChecks)
			run.remove(t)
			delete(a.taskIndex, taskKey{run.key.framework, id})
			run.touch(t)
		}
	}
	kills := run.killsAgain(listed)
	var killed []*execTask
	if run.recovered && !run.subscribed {
		held, relaunch, dead := a.settleUnsure(run, listed)
		kills, killed = append(kills, held...), dead
		a.relaunch(run, relaunch)
	}
	a.retireIfIdle(run)
	old := run.stream
	run.stream = s
	run.subscribed = true
	if run.regTimer != nil {
		run.regTimer.Stop()
	}
	s.send(api.ExecutorEvent{Type: api.ExecutorEventSubscribed, Subscribed: a.subscribedEvent(run)})
	for _, ev := range acks {
		s.send(ev)
	}
	for _, ev := range run.pending {
		s.send(ev)
		run.markSent(ev)
	}
	run.pending = nil
	for _, ev := range kills {
		a.send(run, ev)
	}
	a.checkpoint(run)
	a.mu.Unlock()
	old.close()
	runAll(stops)
	for _, t := range killed {
		a.reportFor(run, t, api.TaskStatus{State: api.TaskKilled, Source: api.SourceAgent,
			Reason: api.ReasonTaskKilledDuringLaunch, Message: "Task killed before it was launched"})
	}
	for _, t := range lost {
		a.reportFor(run, t, api.TaskStatus{State: api.TaskLost, Source: api.SourceAgent, Reason: api.ReasonExecutorTerminated,
			Message: "The executor does not know the task: its launch was lost"})
	}
	a.log.Info("executor subscribed", "framework", run.key.framework, "executor", run.key.executor,
		"unacknowledged_updates", len(sub.UnacknowledgedUpdates), "unacknowledged_tasks", len(sub.UnacknowledgedTasks))
	s.serve(w, r)
	a.mu.Lock()
	if run.stream == s {
		run.stream = nil
	}
	a.mu.Unlock()
}

// killsAgain returns the KILLs to send again to an executor subscribing
// anew: one sent on a stream that then broke may never have reached it,
// so a task it lists that is being killed is sent its KILL again, unless
// that KILL waits in pending. Agent.mu must be held.
func (r *executorRun) killsAgain(listed map[string]bool) []api.ExecutorEvent {
	var kills []api.ExecutorEvent
	for _, id := range r.allTasks {
		if t := r.tasks[id]; t != nil && t.killing && listed[id] && !r.killPending(id) {
			kills = append(kills, api.ExecutorEvent{Type: api.ExecutorEventKill,
				Kill: &api.ExecutorKill{TaskID: t.info.TaskID, KillPolicy: t.killPolicy}})
		}
	}
	return kills
}

// killPending reports whether a KILL of the task waits in r.pending.
// Agent.mu must be held.
func (r *executorRun) killPending(id string) bool {
	return slices.ContainsFunc(r.pending, func(ev api.ExecutorEvent) bool {
		return ev.Kill != nil && ev.Kill.TaskID.Value == id
	})
}

// adoptListed takes in what a subscribing executor says it runs and the
// agent does not know. A task launched alone may reach its executor
// before its checkpoint is on disk (launchTasks): an agent that died in
// between does not know it, and adopts it, as the task of a started
// executor, in tasks/<task ID> of its sandbox. (One it knows without
// knowing it was sent is settleUnsure's.) A task whose terminal update
// the agent holds has ended and is not adopted. Only an executor
// recovered from agent.db, at its first subscription, can run a task the
// agent does not know: any other listing one is wrong or lying, and
// adopting it would, for one, grow its cgroup's cap by the task's
// resources. a.mu must be held.
func (a *Agent) adoptListed(run *executorRun, listed []api.TaskInfo) {
	if len(listed) == 0 {
		return
	}
	mayAdopt := run.recovered && !run.subscribed
	fw := run.key.framework
	adopted := 0
	for _, ti := range listed {
		id := ti.TaskID.Value
		if _, known := a.taskIndex[taskKey{fw, id}]; !mayAdopt || known || slices.Contains(run.allTasks, id) ||
			api.ValidateID("task", id) != nil || a.updates.hasTerminal(fw, id) {
			continue
		}
		t := &execTask{info: ti, state: api.TaskStaging, queued: true, sent: true, need: a.needOf(ti),
			dir: sandbox.TaskDir(run.rec.Dir, id, false)}
		if t.need.wasm {
			run.need.setModuleCost(t.need.module, a.modules.compileCost(t.need.module))
		}
		run.add(t)
		a.taskIndex[taskKey{fw, id}] = run
		adopted++
	}
	if adopted > 0 {
		a.log.Info("adopted tasks an executor runs that agent.db did not hold", "framework", fw,
			"executor", run.key.executor, "tasks", adopted)
		a.queueResize(run)
	}
}

// subscribedEvent is the SUBSCRIBED payload for an executor. a.mu must
// be held.
func (a *Agent) subscribedEvent(run *executorRun) *api.ExecutorSubscribed {
	agent := api.AgentInfo{Hostname: a.cfg.Hostname, Port: api.Int64(a.cfg.Port), Resources: a.cfg.Resources, Attributes: a.cfg.Attributes}
	if a.agentID != "" {
		agent.ID = &api.AgentID{Value: a.agentID}
	}
	return &api.ExecutorSubscribed{
		ExecutorInfo:  run.rec.ExecutorInfo,
		FrameworkInfo: run.rec.FrameworkInfo,
		AgentInfo:     agent,
		ContainerID:   &api.ContainerID{Value: run.rec.Container},
		// executorUpdate takes every update of an UPDATE call.
		AcceptsMoreUpdates: true,
	}
}

// execStreamLimit is how many events an executor may fall behind before
// its stream is closed; it re-subscribes. A shared executor is sent a
// LAUNCH per task and an ACKNOWLEDGED per update, and on re-subscribing
// an ACKNOWLEDGED per update it lists, so the limit is well above the
// tasks one executor runs at once; the queue grows only as far as the
// backlog does.
const execStreamLimit = 1 << 16

// execStream is one executor subscription's RecordIO event stream. Events
// are queued from any goroutine; the HTTP handler that owns the
// connection writes what has queued, then flushes.
type execStream struct {
	id string
	// heartbeat is how often serve sends a HEARTBEAT when set
	// (Config.ExecutorHeartbeat).
	heartbeat time.Duration
	wake      chan struct{} // capacity 1: events are queued
	done      chan struct{}
	once      sync.Once

	mu    sync.Mutex
	queue [][]byte
}

func newExecStream(id string) *execStream {
	return &execStream{id: id, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues ev without blocking and reports whether it was queued; an
// executor execStreamLimit events behind has its stream closed. On nil
// (an executor whose stream has ended) it queues nothing: an update's
// acknowledgement, say, whose executor then lists the update when it
// subscribes again.
func (s *execStream) send(ev api.ExecutorEvent) bool {
	if s == nil {
		return false
	}
	b, err := api.Marshal(&ev)
	if err != nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
	}
	s.mu.Lock()
	full := len(s.queue) >= execStreamLimit
	if !full {
		s.queue = append(s.queue, b)
	}
	s.mu.Unlock()
	if full {
		s.close()
		return false
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// take returns the queued events, leaving spare's array (emptied) for the
// next ones.
func (s *execStream) take(spare [][]byte) [][]byte {
	clear(spare)
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	s.queue = spare[:0]
	return batch
}

// close ends the stream; it is idempotent and a no-op on nil.
func (s *execStream) close() {
	if s != nil {
		s.once.Do(func() { close(s.done) })
	}
}

// serve writes the stream until it is closed or the executor goes away.
func (s *execStream) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Mesos-Stream-Id", s.id)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	var buf []byte
	var batch [][]byte
	var beat <-chan time.Time
	if s.heartbeat > 0 {
		t := time.NewTicker(s.heartbeat)
		defer t.Stop()
		beat = t.C
	}
	for {
		select {
		case <-beat:
			s.send(api.ExecutorEvent{Type: api.ExecutorEventHeartbeat})
		case <-s.wake:
			batch = s.take(batch)
			buf = buf[:0]
			for _, rec := range batch {
				buf = api.AppendRecord(buf, rec)
			}
			if _, err := w.Write(buf); err != nil {
				s.close()
				return
			}
			if err := rc.Flush(); err != nil {
				s.close()
				return
			}
			if cap(buf) > 1<<20 {
				buf = nil // a burst's buffer is not kept
			}
		case <-s.done:
			return
		case <-r.Context().Done():
			s.close()
			return
		}
	}
}
