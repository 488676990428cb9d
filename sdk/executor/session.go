package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
)

// session is one subscription: its stream and the Mesos-Stream-Id calls
// carry.
type session struct {
	streamID string
	ctx      context.Context // ends with the subscription
	cancel   context.CancelCauseFunc
	// moreUpdates is set, before calls go to the session, when the
	// agent's SUBSCRIBED says it takes more updates per UPDATE call.
	moreUpdates bool

	// Client.mu guards these (see batch.go).
	queue   []*queuedUpdate // updates waiting for the call in flight
	sending bool            // an UPDATE call is in flight, or about to be
}

// eventBuffer is how many decoded events may wait for the handler; their
// records may hold at most httpapi.MaxBacklog bytes.
const eventBuffer = 64

// readEvent is an event the reader has decoded, with the size of its
// record, which it holds in the session's backlog until handled.
type readEvent struct {
	ev   *api.ExecutorEvent
	size int
}

// errShutdownGrace ends the subscription when the shutdown grace period
// has passed.
var errShutdownGrace = errors.New("shutdown grace period passed")

// session subscribes and delivers events until the subscription ends. It
// reports whether SUBSCRIBED arrived, and why the subscription ended; a
// *stopError ends Run.
func (c *Client) session(ctx context.Context, h Handler) (subscribed bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(ErrStreamEnded)
	s := &session{ctx: sctx, cancel: cancel}
	resp, err := c.subscribe(s)
	if err != nil {
		return false, err
	}
	s.streamID = resp.Header.Get("Mesos-Stream-Id")
	events := make(chan readEvent, eventBuffer)
	backlog := httpapi.NewBacklog(httpapi.MaxBacklog)
	readErr := make(chan error, 1)
	go func() {
		readErr <- c.read(sctx, resp.Body, backlog, events)
		close(events)
	}()
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
		c.disconnect(s)
		cancel(ErrStreamEnded)
		resp.Body.Close()
		for range events {
		}
	}()
	shutdown := false
	defer func() {
		// After SHUTDOWN, a subscription that ends, however it ends, ends
		// Run (the handler's own error aside): the agent would not send
		// SHUTDOWN to a new one, and the executor would run on.
		if shutdown && !errors.As(err, new(*stopError)) {
			err = stop(ErrShutdown)
		}
	}()
	for r := range events {
		ev := r.ev
		switch ev.Type {
		case api.ExecutorEventSubscribed:
			s.moreUpdates = ev.Subscribed.AcceptsMoreUpdates
			if err := c.connect(s); err != nil {
				return subscribed, err
			}
			subscribed = true
		case api.ExecutorEventShutdown:
			if !shutdown {
				shutdown = true
				grace = time.AfterFunc(c.cfg.ShutdownGracePeriod, func() { cancel(errShutdownGrace) })
			}
		case api.ExecutorEventLaunch, api.ExecutorEventLaunchGroup:
			c.mu.Lock()
			c.led.launched(ev)
			c.mu.Unlock()
		}
		handled := h(ctx, ev)
		backlog.Free(r.size)
		if handled != nil {
			if errors.Is(handled, ErrNotConnected) {
				return subscribed, handled
			}
			return subscribed, stop(handled)
		}
		if ev.Type == api.ExecutorEventError {
			return subscribed, &ErrorEvent{Message: ev.Error.Message}
		}
	}
	err = <-readErr
	if errors.Is(err, io.EOF) {
		err = ErrStreamEnded
	}
	return subscribed, fmt.Errorf("event stream: %w", causeOf(sctx, err))
}

// causeOf prefers the reason ctx was cancelled over the I/O error the
// cancellation caused.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// subscribe POSTs SUBSCRIBE, listing what the agent has not acknowledged,
// and returns the 200 response.
func (c *Client) subscribe(s *session) (*http.Response, error) {
	c.mu.Lock()
	tasks, updates := c.led.snapshot(s)
	c.mu.Unlock()
	call := c.call(api.ExecutorCallSubscribe)
	call.Subscribe = &api.ExecutorSubscribe{UnacknowledgedTasks: tasks, UnacknowledgedUpdates: updates}
	resp, err := c.post(s.ctx, c.stream.RoundTrip, call, "")
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		herr := readHTTPError(resp)
		resp.Body.Close()
		err := fmt.Errorf("subscribe to %s: %w", c.url, herr)
		if herr.Code == http.StatusRequestEntityTooLarge {
			body, _ := json.Marshal(call)
			err = fmt.Errorf("subscribe to %s: the SUBSCRIBE listing %d unacknowledged tasks and %d unacknowledged updates is %d bytes, more than the agent accepts; the executor cannot subscribe again: %w",
				c.url, len(tasks), len(updates), len(body), herr)
		}
		if !herr.Retryable() {
			return nil, stop(err)
		}
		return nil, err
	}
	return resp, nil
}

// connect makes s the subscription calls go to, once the updates that
// were made since SUBSCRIBE was sent, and so are not listed in it, have
// been sent. Until then calls return ErrNotConnected and their updates
// join the ones being sent, so that the updates of a task reach the agent
// in order.
func (c *Client) connect(s *session) error {
	for {
		c.mu.Lock()
		batch := c.led.unsent(s)
		if len(batch) == 0 {
			c.sess = s
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		for len(batch) > 0 {
			n := 1
			if s.moreUpdates {
				n = batchLen(len(batch), func(i int) *api.ExecutorUpdate { return &batch[i] })
			}
			if err := c.sendUpdates(s.ctx, s, batch[:n]); err != nil {
				return fmt.Errorf("update task %s: %w", batch[0].Status.TaskID.Value, err)
			}
			batch = batch[n:]
		}
	}
}

// disconnect forgets s; calls return ErrNotConnected from now on.
func (c *Client) disconnect(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
	}
}

// read decodes the stream's records into out until the stream fails or
// ctx ends, recording acknowledgements as they arrive: the agent has the
// update, whether or not the handler sees the event. (Launches are
// recorded by session as the handler gets them.)
func (c *Client) read(ctx context.Context, body io.Reader, backlog *httpapi.Backlog, out chan<- readEvent) error {
	return readEvents(body, func(ev *api.ExecutorEvent, size int) error {
		if ev.Type == api.ExecutorEventAcknowledged {
			c.mu.Lock()
			c.led.acknowledged(ev.Acknowledged.UUID)
			c.mu.Unlock()
		}
		if err := backlog.Hold(ctx, size); err != nil {
			return context.Cause(ctx)
		}
		select {
		case out <- readEvent{ev: ev, size: size}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
}

// readEvents decodes RecordIO-framed events from r and passes each, with
// the size of its record, to fn until r ends or fails, or fn returns an
// error.
func readEvents(r io.Reader, fn func(ev *api.ExecutorEvent, size int) error) error {
	rr := api.NewRecordReader(r)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return err
		}
		ev, err := decodeEvent(rec)
		if err != nil {
			return err
		}
		if err := fn(ev, len(rec)); err != nil {
			return err
		}
	}
}

// decodeEvent decodes one event and checks that it carries the payload
// its type needs, so that handlers need not check for nil.
func decodeEvent(rec []byte) (*api.ExecutorEvent, error) {
	ev := new(api.ExecutorEvent)
	if err := api.UnmarshalExecutorEvent(rec, ev); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	missing := ""
	switch ev.Type {
	case "":
		return nil, errors.New("decode event: 'type' is missing")
	case api.ExecutorEventSubscribed:
		missing = need(ev.Subscribed != nil, "subscribed")
	case api.ExecutorEventLaunch:
		missing = need(ev.Launch != nil, "launch")
	case api.ExecutorEventLaunchGroup:
		missing = need(ev.LaunchGroup != nil, "launch_group")
	case api.ExecutorEventKill:
		missing = need(ev.Kill != nil, "kill")
	case api.ExecutorEventAcknowledged:
		missing = need(ev.Acknowledged != nil, "acknowledged")
	case api.ExecutorEventMessage:
		missing = need(ev.Message != nil, "message")
	case api.ExecutorEventError:
		missing = need(ev.Error != nil, "error")
	}
	if missing != "" {
		return nil, fmt.Errorf("decode event: %s event without '%s'", ev.Type, missing)
	}
	return ev, nil
}

func need(ok bool, field string) string {
	if ok {
		return ""
	}
	return field
}
