package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// maxBackoff caps the delay between subscription attempts (Mesos: 1 min).
const maxBackoff = time.Minute

// subscribeLoop subscribes to a master and handles its events; when the
// connection drops it tries again with exponential backoff.
func (a *Agent) subscribeLoop(ctx context.Context) error {
	backoff := a.cfg.RegistrationBackoff
	for ctx.Err() == nil {
		for _, m := range a.cfg.Masters {
			subscribed, err := a.session(ctx, tlsconf.BaseURL(m, a.cfg.TLS != nil))
			if subscribed {
				backoff = a.cfg.RegistrationBackoff
			}
			if ctx.Err() != nil {
				return nil
			}
			if se := (*ShutdownError)(nil); errors.As(err, &se) {
				a.log.Error("the master told this agent to shut down", "master", m, "reason", se.Message)
				return err
			}
			a.log.Warn("master connection ended", "master", m, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
	return nil
}

// session subscribes to one master and handles its stream until it ends.
// It reports whether the subscription succeeded.
func (a *Agent) session(ctx context.Context, master string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := json.Marshal(a.subscribeCall())
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, master+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.stream.Do(req)
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return false, fmt.Errorf("subscribe: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	rr := api.NewRecordReader(resp.Body)
	// A master that goes silent for several heartbeats is treated as gone.
	watchdog := time.AfterFunc(time.Minute, cancel)
	defer watchdog.Stop()
	subscribed := false
	window := time.Minute
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return subscribed, fmt.Errorf("read events: %w", err)
		}
		var ev api.AgentEvent
		if err := api.UnmarshalAgentEvent(rec, &ev); err != nil {
			return subscribed, fmt.Errorf("decode event: %w", err)
		}
		if ev.Type == api.AgentEventSubscribed && ev.Subscribed != nil {
			if err := a.fence(ev.Subscribed.Epoch); err != nil {
				return false, err
			}
			subscribed = true
			a.subscribed(master, resp.Header.Get("Mesos-Stream-Id"), ev.Subscribed)
			if hb := float64(ev.Subscribed.HeartbeatIntervalSeconds); hb > 0 {
				window = 5 * time.Duration(hb*float64(time.Second))
			}
			watchdog.Reset(window)
			continue
		}
		if !subscribed {
			return false, fmt.Errorf("first event was %s, not SUBSCRIBED", ev.Type)
		}
		watchdog.Reset(window)
		if err := a.handle(ctx, &ev); err != nil {
			return true, err
		}
	}
}

// subscribeCall describes the agent, with its ID, the tasks its
// executors run and those executors' frameworks when it re-registers.
func (a *Agent) subscribeCall() *api.AgentCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := api.AgentInfo{
		Hostname:   a.cfg.Hostname,
		Port:       api.Int64(a.cfg.Port),
		Resources:  a.cfg.Resources,
		Attributes: a.cfg.Attributes,
	}
	if a.agentID != "" {
		info.ID = &api.AgentID{Value: a.agentID}
	}
	var tasks []api.Task
	var frameworks []api.FrameworkInfo
	var executors []api.ExecutorInfo
	listed := map[taskKey]bool{}
	known := map[string]bool{}
	for key, r := range a.executors {
		if r.named() {
			executors = append(executors, r.rec.ExecutorInfo) // newRun set its FrameworkID
		}
		if fw := r.rec.FrameworkInfo; !known[key.framework] {
			// The master's own FrameworkInfo, principal included, so that
			// a master that lost its state knows who may claim the
			// framework back.
			known[key.framework] = true
			fw.ID = &api.FrameworkID{Value: key.framework}
			frameworks = append(frameworks, fw)
		}
		for _, id := range r.allTasks {
			t := r.tasks[id]
			if t == nil {
				continue
			}
			listed[taskKey{key.framework, id}] = true
			tasks = append(tasks, api.Task{
				Name: t.info.Name, TaskID: t.info.TaskID, FrameworkID: api.FrameworkID{Value: key.framework},
				ExecutorID: &api.ExecutorID{Value: key.executor},
				AgentID:    api.AgentID{Value: a.agentID}, State: t.state, Resources: t.info.Resources,
			})
		}
	}
	// Tasks whose executor is gone but whose updates still wait for
	// acknowledgement are reported in their latest state, as Mesos's
	// agent does, so the master waits for those updates rather than
	// calling the tasks lost.
	for key, st := range a.updates.latest() {
		if listed[key] {
			continue
		}
		tasks = append(tasks, api.Task{
			TaskID: st.TaskID, FrameworkID: api.FrameworkID{Value: key.framework},
			AgentID: api.AgentID{Value: a.agentID}, State: st.State,
		})
	}
	return &api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{AgentInfo: info, Tasks: tasks, Frameworks: frameworks, Executors: executors}}
}

func (a *Agent) subscribed(master, streamID string, s *api.AgentSubscribed) {
	a.mu.Lock()
	if a.agentID != s.AgentID.Value {
		a.agentID = s.AgentID.Value
		if err := writeIdentity(a.cfg.WorkDir, identity{AgentID: a.agentID, BootID: a.cfg.bootID}); err != nil {
			a.log.Error("checkpoint agent ID", "err", err)
		}
	}
	a.streamID = streamID
	a.master = master
	a.mu.Unlock()
	a.registeredOnce.Do(func() { close(a.registered) })
	a.log.Info("subscribed to master", "master", master, "agent", s.AgentID.Value)
	a.updates.resendAll(time.Now())
	a.sendExits()
}

// handle carries out one event from the master.
func (a *Agent) handle(ctx context.Context, ev *api.AgentEvent) error {
	switch ev.Type {
	case api.AgentEventLaunch:
		if ev.Launch != nil {
			a.launch(ev.Launch)
		}
	case api.AgentEventKill:
		if ev.Kill != nil {
			a.killTask(ev.Kill)
		}
	case api.AgentEventAcknowledged:
		if ack := ev.Acknowledged; ack != nil {
			if err := a.updates.acknowledge(ack.FrameworkID.Value, ack.TaskID.Value, ack.UUID, time.Now()); err != nil {
				a.log.Error("acknowledgement", "err", err)
			}
		}
	case api.AgentEventMessage:
		if msg := ev.Message; msg != nil {
			a.frameworkMessage(msg)
		}
	case api.AgentEventShutdownFramework:
		if ev.ShutdownFramework != nil {
			a.shutdownFramework(ev.ShutdownFramework.FrameworkID.Value)
		}
	case api.AgentEventShutdownExecutor:
		if ev.ShutdownExecutor != nil {
			a.shutdownExecutor(ev.ShutdownExecutor)
		}
	case api.AgentEventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return fmt.Errorf("master sent ERROR: %s", msg)
	case api.AgentEventShutdown:
		msg := ""
		if ev.Shutdown != nil {
			msg = ev.Shutdown.Message
		}
		return &ShutdownError{Message: msg}
	}
	return nil
}

// ShutdownError is what Run returns when the master told the agent to
// shut down (api.AgentShutdown: an operator marked it gone), once it has
// shut every executor down: the agent stops rather than subscribe again
// and again to a master that refuses it.
type ShutdownError struct {
	Message string // the master's reason
}

func (e *ShutdownError) Error() string {
	return fmt.Sprintf("the master told this agent to shut down (%s): its executors are shut down; "+
		"it can register again only with a new work directory", e.Message)
}

// deliverUpdates sends due status updates to the master until ctx ends,
// and waits for the sends it started.
func (a *Agent) deliverUpdates(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	sem := make(chan struct{}, updateSenders)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.updates.wake:
		case <-timer.C:
		}
		due, next := a.updates.due(time.Now())
		for _, batch := range inBatches(due) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for _, u := range batch {
					a.updates.sent(u, time.Now(), false)
				}
				continue
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(ctx, updateCallTimeout)
				defer cancel()
				a.deliver(ctx, batch)
			}()
		}
		timer.Reset(time.Until(next))
	}
}

// updateCallTimeout bounds an UPDATE call of deliverUpdates; its updates
// are then due again at once. Why: a master that vanished without
// closing its connections would otherwise hold each call, and the
// update at the head of each task in it, until the HTTP client's own
// timeout (75 s), past the new master's subscription and its resendAll,
// and updateSenders such calls would stop every delivery. A master
// answers an UPDATE in milliseconds. A variable only for the tests.
var updateCallTimeout = 10 * time.Second

// updateSenders is how many UPDATE calls deliverUpdates has in flight to
// the master at once. Each task has at most one update in flight (its
// queue's head), so their order holds; sending one at a time capped
// delivery at one round trip per call.
const updateSenders = 16

// updateBatch is the most updates one UPDATE call carries, and
// updateBatchBytes about the most bytes of status data, messages and
// labels among them (statusBytes), so that a call stays well under the
// master's cap on a call's body (1 MiB by default). An update larger
// than that goes alone. A call the master refuses as too large all the
// same (a message of characters JSON escapes six-fold, say) is split
// (see deliver).
const (
	updateBatch      = 64
	updateBatchBytes = 256 << 10
)

// inBatches splits the updates due handed out into the groups that are
// sent in one UPDATE call each, keeping their order.
func inBatches(due []pendingUpdate) [][]pendingUpdate {
	var batches [][]pendingUpdate
	start, size := 0, 0
	for i, u := range due {
		n := statusBytes(u.status)
		if i > start && (i-start == updateBatch || size+n > updateBatchBytes) {
			batches = append(batches, due[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(due) {
		batches = append(batches, due[start:])
	}
	return batches
}

// statusBytes is about what an update's variable parts take in a call:
// its data in base64, its message and its labels.
func statusBytes(st api.TaskStatus) int {
	n := len(st.Data)*4/3 + len(st.Message)
	if st.Labels != nil {
		for _, l := range st.Labels.Labels {
			n += len(l.Key) + len(l.Value)
		}
	}
	return n
}

// deliverDue sends the updates due now on the calling goroutine: one
// that has just seen an update committed (see committer.drain) and would
// otherwise hand it to deliverUpdates, whose goroutine takes about 90 µs
// to wake (PERFORMANCE.md, "The launch path's floor on this machine").
// A send that the master has not answered within quickSend is given up
// and made due again at once, for deliverUpdates: the caller is an
// executor's call, which holds the executor's connection.
func (a *Agent) deliverDue() {
	due, _ := a.updates.due(time.Now())
	for _, batch := range inBatches(due) {
		ctx, cancel := context.WithTimeout(a.stopCtx, quickSend)
		a.deliver(ctx, batch)
		cancel()
	}
}

// quickSend is how long deliverDue waits for the master's answer to an
// update before leaving the update to deliverUpdates; the master
// answers a quiet agent in well under a millisecond.
const quickSend = time.Second

// deliver sends a batch of updates that due handed out in one UPDATE
// call, and ends their sends; if the call ran past ctx's deadline they
// are due again at once. A batch the master refuses as too large is sent
// again in halves at once: retried whole, its updates would fall due
// together and be refused together for ever, each holding back its
// task's later updates. An update refused alone is stripped of its data
// and labels (see stripped) and sent again.
func (a *Agent) deliver(ctx context.Context, batch []pendingUpdate) {
	err := a.sendUpdates(ctx, batch)
	if errors.Is(err, errCallTooLarge) && len(batch) > 1 {
		a.deliver(ctx, batch[:len(batch)/2])
		a.deliver(ctx, batch[len(batch)/2:])
		return
	}
	if errors.Is(err, errCallTooLarge) {
		if u, ok := a.updates.strip(batch[0]); ok {
			a.log.Warn("status update too large for the master even alone: sending it without its data and labels",
				"framework", u.framework, "task", u.status.TaskID.Value, "state", u.status.State, "data_bytes", len(batch[0].status.Data))
			a.deliver(ctx, []pendingUpdate{u})
			return
		}
	}
	slow := err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err != nil && !slow {
		a.log.Debug("status updates not delivered; will retry", "updates", len(batch),
			"first_task", batch[0].status.TaskID.Value, "err", err)
	}
	now := time.Now()
	for _, u := range batch {
		a.updates.sent(u, now, slow)
	}
}

// errNotSubscribed is returned while the agent has no master.
var errNotSubscribed = errors.New("not subscribed to a master")

func (a *Agent) sendUpdates(ctx context.Context, batch []pendingUpdate) error {
	a.mu.Lock()
	master, streamID, agentID := a.master, a.streamID, a.agentID
	a.mu.Unlock()
	if master == "" {
		return errNotSubscribed
	}
	call := api.AgentCall{Type: api.AgentCallUpdate, AgentID: &api.AgentID{Value: agentID},
		Updates: make([]api.AgentUpdate, len(batch))}
	for i, u := range batch {
		call.Updates[i] = api.AgentUpdate{FrameworkID: api.FrameworkID{Value: u.framework}, Status: u.status}
	}
	return a.post(ctx, master, streamID, call)
}

// sendMessage passes an executor's message to the master, once: messages
// carry no delivery guarantee.
func (a *Agent) sendMessage(from execKey, data []byte) {
	a.mu.Lock()
	master, streamID, agentID := a.master, a.streamID, a.agentID
	a.mu.Unlock()
	if master == "" {
		a.log.Info("dropping an executor message: not subscribed to a master", "executor", from.executor)
		return
	}
	call := api.AgentCall{
		Type:    api.AgentCallMessage,
		AgentID: &api.AgentID{Value: agentID},
		Message: &api.AgentMessage{FrameworkID: api.FrameworkID{Value: from.framework}, ExecutorID: api.ExecutorID{Value: from.executor}, Data: data},
	}
	if err := a.post(a.stopCtx, master, streamID, call); err != nil {
		a.log.Info("executor message not delivered", "executor", from.executor, "err", err)
	}
}

// pendingExit is an executor's exit not yet accepted by the master.
type pendingExit struct {
	status *api.Int64 // api.AgentExecutorExited.Status
	// stream is the stream whose sendExit sends it; "" when none does.
	stream string
}

// reportExecutorExited tells the master that an executor its framework
// named has exited (api.AgentExecutorExited), so that the master gives
// back the resources it holds for it. The report is kept until the master
// accepts it, and sent again after each subscription: one made while the
// agent was between masters, or refused as the agent re-subscribed, is
// not lost. A new run of the executor drops it (newRunFor): the master
// counts the executor as running, which it is. It returns at once.
func (a *Agent) reportExecutorExited(key execKey, status *api.Int64) {
	a.mu.Lock()
	a.exits[key] = &pendingExit{status: status}
	a.mu.Unlock()
	a.sendExits()
}

// sendExits sends each pending exit report on the current stream, on a
// goroutine of its own (sendExit), unless one sends it there already.
func (a *Agent) sendExits() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.master == "" {
		return // sent after the next subscription
	}
	for key, p := range a.exits {
		if p.stream != a.streamID {
			p.stream = a.streamID
			a.execWG.Add(1)
			go a.sendExit(a.master, a.streamID, a.agentID, key, p)
		}
	}
}

// sendExit posts one exit report to the master on stream streamID,
// retrying with the status updates' backoff for as long as the report is
// pending and this stream's to send: a new subscription sends it afresh.
func (a *Agent) sendExit(master, streamID, agentID string, key execKey, p *pendingExit) {
	defer a.execWG.Done()
	call := api.AgentCall{Type: api.AgentCallExecutorExited, AgentID: &api.AgentID{Value: agentID},
		ExecutorExited: &api.AgentExecutorExited{FrameworkID: api.FrameworkID{Value: key.framework},
			ExecutorID: api.ExecutorID{Value: key.executor}, Status: p.status}}
	mine := func() bool { return a.exits[key] == p && p.stream == streamID }
	delay := a.cfg.StatusRetryMin
	for {
		err := a.post(a.stopCtx, master, streamID, call)
		a.mu.Lock()
		if err == nil && a.exits[key] == p {
			delete(a.exits, key)
		}
		retry := err != nil && mine()
		a.mu.Unlock()
		if !retry {
			return
		}
		a.log.Info("executor's exit not reported; retrying", "framework", key.framework, "executor", key.executor,
			"err", err, "retry_in", delay)
		select {
		case <-a.stopCtx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, a.cfg.StatusRetryMax)
		a.mu.Lock()
		retry = mine()
		a.mu.Unlock()
		if !retry {
			return
		}
	}
}

// post makes a call on the master that is answered 202.
func (a *Agent) post(ctx context.Context, master, streamID string, call api.AgentCall) error {
	body, err := api.Marshal(&call)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, master+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mesos-Stream-Id", streamID)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("master answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			err = fmt.Errorf("%w: %w", errCallTooLarge, err)
		}
		return err
	}
	return nil
}

// errCallTooLarge is post's error for a call whose body the master
// refused as over its cap (413).
var errCallTooLarge = errors.New("call too large for the master")

// ErrStaleMaster is returned for a subscription to a master whose epoch is
// older than one the agent has seen: it was deposed, whether it knows or
// not, and none of its commands may be carried out.
var ErrStaleMaster = errors.New("master leads in an older epoch")

// fence records a master's epoch, or refuses it if it is older than the
// newest the agent has seen.
func (a *Agent) fence(epoch uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if epoch < a.epoch {
		return fmt.Errorf("subscribe: %w: %d, newest seen %d", ErrStaleMaster, epoch, a.epoch)
	}
	a.epoch = epoch
	return nil
}
