package simagent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// errNotSubscribed is returned for a send while the agent has no
// subscription.
var errNotSubscribed = errors.New("agent is not subscribed")

// simAgent is one simulated agent. Its stream is read by one goroutine,
// run's; updates are sent by the fleet's senders.
type simAgent struct {
	fleet *Fleet
	index int

	mu       sync.Mutex
	master   string    // the master it subscribes to, or is subscribed to
	next     int       // the index in the fleet's masters of the one to try after it
	id       string    // given by the master; kept across re-subscriptions
	streamID string    // "" while not subscribed
	since    time.Time // when the current subscription began
	closer   func()    // ends the current stream; nil when there is none
	tasks    map[taskKey]*simTask
	inflight map[*simTask]struct{} // tasks with updates waiting for acknowledgement
}

type taskKey struct{ framework, task string }

// simTask is a simulated task: its latest state and its queue of updates,
// the head of which is in flight. Guarded by simAgent.mu.
type simTask struct {
	key   taskKey
	state api.TaskState // the state of the latest queued update
	queue []api.TaskStatus
	// sentAt is when the head was last posted, or found no subscription
	// to post on; backoff is how long it then waits for acknowledgement
	// before it is sent again. queued says it waits in the send queue.
	sentAt  time.Time
	backoff time.Duration
	queued  bool
	timer   *time.Timer
}

func newSimAgent(f *Fleet, index int) *simAgent {
	return &simAgent{fleet: f, index: index, master: f.masters[0], next: 1 % len(f.masters),
		tasks: map[taskKey]*simTask{}, inflight: map[*simTask]struct{}{}}
}

// target is the master the agent subscribes to next.
func (a *simAgent) target() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.master
}

// follow makes the leader a standby named the agent's next target.
func (a *simAgent) follow(leader string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.master = leader
}

// moveOn makes the next master of the list the agent's target, after one
// that could not be reached or had no leader.
func (a *simAgent) moveOn() {
	masters := a.fleet.masters
	a.mu.Lock()
	defer a.mu.Unlock()
	a.master = masters[a.next]
	a.next = (a.next + 1) % len(masters)
}

func (a *simAgent) agentID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// session returns the agent's ID, stream ID and the master it is
// subscribed to, all "" while it has no subscription.
func (a *simAgent) session() (agentID, streamID, master string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streamID == "" {
		return "", "", ""
	}
	return a.id, a.streamID, a.master
}

// maxRedirects bounds the 307s one agent follows in a row, in case masters
// disagree about who leads during an election.
const maxRedirects = 5

// The backoff between attempts to subscribe: full jitter (a random wait
// up to the current bound) so that a fleet that lost its master does not
// come back in lockstep, doubling from minBackoff to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// run keeps the agent subscribed until ctx ends, calling started once
// after its first attempt to subscribe.
func (a *simAgent) run(ctx context.Context, started func()) {
	var once sync.Once
	defer once.Do(started)
	backoff, hops := minBackoff, 0
	for ctx.Err() == nil {
		subscribed, err := a.stream(ctx, func() { once.Do(started) })
		if ctx.Err() != nil {
			return
		}
		a.fleet.stats.streamErrors.Add(1)
		var redirect *redirectError
		if errors.As(err, &redirect) && hops < maxRedirects {
			hops++
			a.follow(redirect.leader)
			continue
		}
		hops = 0
		if subscribed {
			backoff = minBackoff
		}
		a.fleet.cfg.Logger.Warn("simulated agent stream ended", "agent", a.index, "master", a.target(), "err", err)
		if len(a.fleet.masters) > 1 {
			a.moveOn()
		}
		once.Do(started)
		select {
		case <-ctx.Done():
			return
		case <-time.After(rand.N(backoff) + time.Millisecond):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// closeConn ends the current stream, if any, ending its read.
func (a *simAgent) closeConn() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closer != nil {
		a.closer()
	}
}

// eventStream is an open event stream, over a connection of its own
// (HTTP/1.1) or a shared one (HTTP/2).
type eventStream struct {
	body     io.ReadCloser
	streamID string
	// readBy bounds the next read: a master silent past it is gone.
	readBy func(time.Time)
	close  func()
}

// stream subscribes and handles events until the stream ends. It reports
// whether SUBSCRIBED arrived.
func (a *simAgent) stream(ctx context.Context, onSubscribed func()) (bool, error) {
	f := a.fleet
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	a.closer = cancel
	a.mu.Unlock()
	open := a.openHTTP1
	if f.cfg.HTTP2 {
		open = a.openHTTP2
	}
	es, err := open(ctx, a.target())
	if err != nil {
		return false, err
	}
	defer func() {
		es.close()
		a.mu.Lock()
		wasSubscribed := a.streamID != ""
		a.streamID, a.closer = "", nil
		a.mu.Unlock()
		if wasSubscribed {
			f.stats.subscribed.Add(-1)
		}
	}()
	rr := newRecordReader(es.body)
	window := time.Minute // until SUBSCRIBED names the heartbeat interval
	subscribed := false
	for {
		es.readBy(time.Now().Add(window))
		rec, err := rr.next()
		if err != nil {
			return subscribed, fmt.Errorf("read events: %w", err)
		}
		var ev api.AgentEvent
		if err := json.Unmarshal(rec, &ev); err != nil {
			return subscribed, fmt.Errorf("decode event: %w", err)
		}
		if ev.Type == api.AgentEventSubscribed && ev.Subscribed != nil && !subscribed {
			subscribed = true
			if hb := float64(ev.Subscribed.HeartbeatIntervalSeconds); hb > 0 {
				window = 5 * time.Duration(hb*float64(time.Second))
			}
			a.subscribed(ev.Subscribed.AgentID.Value, es.streamID)
			onSubscribed()
			continue
		}
		if !subscribed {
			return false, fmt.Errorf("first event was %s, not SUBSCRIBED", ev.Type)
		}
		if err := a.handle(&ev); err != nil {
			return true, err
		}
	}
}

// openHTTP1 dials a connection of the stream's own, writes the SUBSCRIBE
// call on it and reads the answer's headers: the body that follows is the
// event stream, read through one small buffer by the caller's goroutine.
func (a *simAgent) openHTTP1(ctx context.Context, master string) (*eventStream, error) {
	f := a.fleet
	conn, err := f.dialer().DialContext(ctx, "tcp", master)
	if err != nil {
		return nil, fmt.Errorf("dial master: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*eventStream, error) {
		stop()
		conn.Close()
		return nil, err
	}
	req, err := a.subscribeRequest(context.Background(), master)
	if err != nil {
		return fail(err)
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if err := req.Write(conn); err != nil {
		return fail(fmt.Errorf("send subscribe: %w", err))
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, f.cfg.ReadBuffer), req)
	if err != nil {
		return fail(fmt.Errorf("read subscribe answer: %w", err))
	}
	if err := checkSubscribed(resp); err != nil {
		return fail(err)
	}
	return &eventStream{
		body: resp.Body, streamID: resp.Header.Get("Mesos-Stream-Id"),
		readBy: func(t time.Time) { _ = conn.SetReadDeadline(t) },
		close:  func() { stop(); conn.Close() },
	}, nil
}

// openHTTP2 subscribes over the fleet's shared HTTP/2 connections.
func (a *simAgent) openHTTP2(ctx context.Context, master string) (*eventStream, error) {
	f := a.fleet
	ctx, cancel := context.WithCancel(ctx)
	req, err := a.subscribeRequest(ctx, master)
	if err != nil {
		cancel()
		return nil, err
	}
	watchdog := time.AfterFunc(time.Minute, cancel)
	resp, err := f.streams.Do(req)
	if err != nil {
		watchdog.Stop()
		cancel()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if err := checkSubscribed(resp); err != nil {
		watchdog.Stop()
		cancel()
		return nil, err
	}
	return &eventStream{
		body: resp.Body, streamID: resp.Header.Get("Mesos-Stream-Id"),
		readBy: func(t time.Time) { watchdog.Reset(time.Until(t)) },
		close:  func() { watchdog.Stop(); cancel(); resp.Body.Close() },
	}, nil
}

// subscribeRequest is the SUBSCRIBE call for the agent as it is now.
func (a *simAgent) subscribeRequest(ctx context.Context, master string) (*http.Request, error) {
	body, err := json.Marshal(a.subscribeCall())
	if err != nil {
		return nil, fmt.Errorf("encode subscribe: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+master+"/api/v1/agent", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("subscribe request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// redirectError is a standby's answer: the leader is elsewhere.
type redirectError struct{ leader string }

func (e *redirectError) Error() string { return "subscribe: redirected to the leader at " + e.leader }

// checkSubscribed turns an answer other than 200 into an error, closing
// its body: a *redirectError for a standby's 307 (Location
// "//leader:port/path", Mesos's form, or a full URL).
func checkSubscribed(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Host == "" {
			return fmt.Errorf("subscribe: master answered %s with Location %q, which names no master", resp.Status, resp.Header.Get("Location"))
		}
		return &redirectError{leader: loc.Host}
	}
	return fmt.Errorf("subscribe: master answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// subscribeCall describes the agent and, when it re-registers, the tasks
// it runs or still has updates of.
func (a *simAgent) subscribeCall() *api.AgentCall {
	f := a.fleet
	a.mu.Lock()
	defer a.mu.Unlock()
	info := api.AgentInfo{
		Hostname:  f.cfg.Hostname + "-" + strconv.Itoa(a.index),
		Port:      api.Int64(5051),
		Resources: f.cfg.Resources,
	}
	var tasks []api.Task
	if a.id != "" {
		info.ID = &api.AgentID{Value: a.id}
		for key, t := range a.tasks {
			tasks = append(tasks, api.Task{
				TaskID: api.TaskID{Value: key.task}, FrameworkID: api.FrameworkID{Value: key.framework},
				ExecutorID: &api.ExecutorID{Value: key.task}, AgentID: api.AgentID{Value: a.id}, State: t.state,
			})
		}
	}
	return &api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{AgentInfo: info, Tasks: tasks}}
}

// subscribed records a subscription and sends every unacknowledged
// update again on it.
func (a *simAgent) subscribed(agentID, streamID string) {
	f := a.fleet
	a.mu.Lock()
	defer a.mu.Unlock()
	a.id, a.streamID, a.since = agentID, streamID, time.Now()
	f.stats.subscribed.Add(1)
	f.stats.subscriptions.Add(1)
	now := time.Now()
	for t := range a.inflight {
		a.sendHead(t, now, true)
	}
}

// handle carries out one event from the master.
func (a *simAgent) handle(ev *api.AgentEvent) error {
	switch ev.Type {
	case api.AgentEventLaunch:
		if l := ev.Launch; l != nil {
			fw := ""
			if l.FrameworkInfo.ID != nil {
				fw = l.FrameworkInfo.ID.Value
			}
			tasks := l.Tasks
			if l.TaskGroup != nil {
				tasks = l.TaskGroup.Tasks
			}
			a.launch(fw, tasks)
		}
	case api.AgentEventKill:
		if k := ev.Kill; k != nil {
			a.kill(taskKey{k.FrameworkID.Value, k.TaskID.Value})
		}
	case api.AgentEventShutdownFramework:
		if s := ev.ShutdownFramework; s != nil {
			a.shutdownFramework(s.FrameworkID.Value)
		}
	case api.AgentEventAcknowledged:
		if ack := ev.Acknowledged; ack != nil {
			a.acknowledge(taskKey{ack.FrameworkID.Value, ack.TaskID.Value}, ack.UUID)
		}
	case api.AgentEventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return fmt.Errorf("master sent ERROR: %s", msg)
	}
	return nil
}
