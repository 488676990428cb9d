package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/mezzo-cluster/mezzo/api"
)

// Update sends a task status update to the agent. It sets the status's
// UUID (16 fresh random bytes), Source (SOURCE_EXECUTOR) and ExecutorID,
// and Timestamp when it is zero. The agent forwards the update to the
// framework and answers with an ACKNOWLEDGED event once it has recorded
// it; until then the client keeps the update and lists it in every
// re-subscription (see Unacknowledged), so it is delivered at least once.
//
// A nil error means the agent accepted the update. Otherwise the update
// is kept and goes out with the next subscription, and must not be sent
// again; the error wraps ErrNotConnected. That is so when the client is
// not subscribed, and when the call failed: on the network, because ctx
// ended under it, or because the agent refused it (the error then also
// wraps an *HTTPError). A failed call ends the subscription, so that the
// update is listed by a SUBSCRIBE at once; an agent that will not have
// the update refuses that SUBSCRIBE, and Run returns. A status that
// breaks the executor API's rules (see api.ExecutorCall.Validate) is
// refused with an error before anything is kept or sent, as is any
// update once ctx is done.
//
// An agent that says so in SUBSCRIBED (api.ExecutorSubscribed.
// AcceptsMoreUpdates, as Mezzo's agents do) takes several updates in one
// call. The client then has one UPDATE call in flight at a time: an
// update made while one is in flight waits for it, and goes out with the
// others that waited in the next call; if that call fails, each of its
// Updates fails as above, and a call the agent finds too large (413) is
// split rather than failed. Such a call is made with the subscription's
// context, not a caller's, since it carries others' updates: a ctx that
// ends stops its caller's wait (which then returns an error wrapping
// ErrNotConnected, the update still going out with the next call or
// subscription), but not a call already made, which the caller whose
// update leads it waits for. Against any other agent every update has a
// call of its own.
//
// The updates of one task should come from one goroutine, in order: the
// agent keeps the order in which they arrive.
func (c *Client) Update(ctx context.Context, status api.TaskStatus) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update task %s: %w", status.TaskID.Value, err)
	}
	id := uuid.New()
	status.UUID = id[:]
	status.Source = api.SourceExecutor
	status.ExecutorID = &api.ExecutorID{Value: c.cfg.ExecutorID}
	if status.Timestamp == 0 {
		status.Timestamp = api.Float64(float64(time.Now().UnixNano()) / 1e9)
	}
	u := api.ExecutorUpdate{Status: status}
	call := c.call(api.ExecutorCallUpdate)
	call.Update = &u
	if err := call.Validate(); err != nil {
		return fmt.Errorf("update task %s: %w", status.TaskID.Value, err)
	}
	c.mu.Lock()
	p := c.led.add(u)
	s := c.sess
	p.sentIn = s
	var q *queuedUpdate
	lead := false
	if s != nil && s.moreUpdates {
		q, lead = s.enqueue(u)
	}
	c.mu.Unlock()
	switch {
	case s == nil:
		return fmt.Errorf("update task %s: %w", status.TaskID.Value, ErrNotConnected)
	case q != nil:
		return c.await(ctx, s, q, lead)
	}
	if err := c.sendUpdates(ctx, s, []api.ExecutorUpdate{u}); err != nil {
		return fmt.Errorf("update task %s: %w", status.TaskID.Value, err)
	}
	return nil
}

// sendUpdates POSTs updates that are in the ledger in one UPDATE call,
// the first as its update and the others as its more_updates (which only
// an agent that accepts them may be sent). When the agent did not take
// them (a network error, ctx ending under the call, a refusal), the
// subscription is ended so that the next SUBSCRIBE lists them: an agent
// that lost track of the stream (403, or 400 for a stale Mesos-Stream-Id)
// takes them that way, and one that will not have them at all refuses
// the SUBSCRIBE, which ends Run. The error then wraps ErrNotConnected.
func (c *Client) sendUpdates(ctx context.Context, s *session, updates []api.ExecutorUpdate) error {
	call := c.call(api.ExecutorCallUpdate)
	call.Update = &updates[0]
	call.MoreUpdates = updates[1:]
	err := c.send(ctx, s, call)
	if err == nil {
		return nil
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge && len(updates) > 1 {
		// Larger than batchLen reckoned: each half in a call of its own,
		// in order, rather than a subscription ended over its size.
		half := len(updates) / 2
		if err := c.sendUpdates(ctx, s, updates[:half]); err != nil {
			return err
		}
		return c.sendUpdates(ctx, s, updates[half:])
	}
	s.cancel(fmt.Errorf("UPDATE failed: %w", err))
	// At once, not when the session's goroutine gets to it: an update
	// made next goes with the next SUBSCRIBE, after these, not before
	// them on the stream the agent still holds.
	c.disconnect(s)
	if !errors.Is(err, ErrNotConnected) {
		err = fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	return err
}

// Message sends data to the framework's scheduler through the agent,
// without any delivery guarantee (the MESSAGE call). It returns an error
// wrapping ErrNotConnected when the client is not subscribed or the call
// failed on the network, and an *HTTPError when the agent refused it.
func (c *Client) Message(ctx context.Context, data []byte) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("message: %w", ErrNotConnected)
	}
	call := c.call(api.ExecutorCallMessage)
	call.Message = &api.ExecutorMessage{Data: data}
	if err := c.send(ctx, s, call); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	return nil
}

// Usage reports what the executor's running tasks have used so far (USAGE,
// a Mezzo extension of the v1 Executor API; see api.ExecutorUsage), so
// that the agent can serve it on GET_CONTAINERS. Like Message it carries
// no delivery guarantee: the next report replaces it.
func (c *Client) Usage(ctx context.Context, tasks []api.TaskUsage) error {
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("usage: %w", ErrNotConnected)
	}
	call := c.call(api.ExecutorCallUsage)
	call.Usage = &api.ExecutorUsage{Tasks: tasks}
	if err := c.send(ctx, s, call); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return nil
}

// call returns a call of type t naming this executor.
func (c *Client) call(t api.ExecutorCallType) *api.ExecutorCall {
	return &api.ExecutorCall{
		Type:        t,
		ExecutorID:  api.ExecutorID{Value: c.cfg.ExecutorID},
		FrameworkID: api.FrameworkID{Value: c.cfg.FrameworkID},
	}
}

// send makes a call other than SUBSCRIBE in subscription s and checks
// that the agent accepted it. A network failure wraps ErrNotConnected; a
// refusal is an *HTTPError.
func (c *Client) send(ctx context.Context, s *session, call *api.ExecutorCall) error {
	resp, err := c.post(ctx, c.calls.Do, call, s.streamID)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readHTTPError(resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return nil
}

// post sends one call to the agent.
func (c *Client) post(ctx context.Context, do func(*http.Request) (*http.Response, error), call *api.ExecutorCall, streamID string) (*http.Response, error) {
	body, err := api.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return do(req)
}
