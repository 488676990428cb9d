package scheduler

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/mezzo-cluster/mezzo/api"
)

// Every call goes to the master of the current subscription with its
// Mesos-Stream-Id. It returns an error wrapping ErrNotConnected when there
// is none, an *HTTPError when the master refuses the call, and nil once the
// master accepted it (202; 200 for UPDATE_FRAMEWORK). Acceptance is not
// success: the outcome of ACCEPT, KILL or RECONCILE arrives as events.

// Call makes one call on the framework's behalf; it sets call.FrameworkID.
func (c *Client) Call(ctx context.Context, call *api.Call) error {
	_, err := c.call(ctx, call, true)
	return err
}

// call sends call over the current subscription. With abort set, the call
// is abandoned when the subscription ends meanwhile. It returns the
// subscription used.
func (c *Client) call(ctx context.Context, call *api.Call, abort bool) (*session, error) {
	c.mu.Lock()
	s, id := c.sess, c.info.ID // ID is set while subscribed
	c.mu.Unlock()
	if s == nil {
		return nil, wrap(call.Type, ErrNotConnected)
	}
	call.FrameworkID = &api.FrameworkID{Value: id.Value}
	if u := call.UpdateFramework; u != nil {
		// The ID of the subscription the call goes on, read under the
		// same lock: read before, it could be another's, or none.
		u.FrameworkInfo.ID = &api.FrameworkID{Value: id.Value}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if abort {
		defer context.AfterFunc(s.ctx, func() { cancel(ErrNotConnected) })()
	}
	resp, err := c.post(ctx, c.calls.Do, s.base, call, s.streamID)
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrNotConnected) {
			err = ErrNotConnected
		}
		return s, wrap(call.Type, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		_, _ = io.Copy(io.Discard, resp.Body)
		return s, nil
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// This master no longer leads: subscribe again, via the new leader.
		s.cancel(errLeaderChanged)
	}
	return s, wrap(call.Type, readHTTPError(resp))
}

// Accept uses offers (all on one agent) for operations; what the operations
// leave unused is declined with filters (nil means the default five
// seconds). The tasks of LAUNCH and LAUNCH_GROUP operations join the tasks
// the client reconciles after re-subscribing (see Run) — also when the
// call failed without the master refusing it (the connection broke, the
// master answered 5xx): the launch may have happened, and reconciliation
// then says whether it did (TASK_LOST for a task the master never heard
// of).
func (c *Client) Accept(ctx context.Context, offerIDs []api.OfferID, ops []api.Operation, filters *api.Filters) error {
	err := c.Call(ctx, &api.Call{Type: api.CallAccept, Accept: &api.Accept{
		OfferIDs: offerIDs, Operations: ops, Filters: filters,
	}})
	var refused *HTTPError
	if err == nil || !errors.As(err, &refused) || refused.Code >= 500 {
		c.launched(ops)
	}
	return err
}

// Launch accepts one offer and launches tasks on it; what the tasks leave
// unused is declined with the default filter.
func (c *Client) Launch(ctx context.Context, offer api.OfferID, tasks ...api.TaskInfo) error {
	return c.Accept(ctx, []api.OfferID{offer},
		[]api.Operation{{Type: api.OpLaunch, Launch: &api.LaunchOperation{TaskInfos: tasks}}}, nil)
}

// Decline gives offers back, refusing them for refuseSeconds (0 means no
// filter).
func (c *Client) Decline(ctx context.Context, refuseSeconds float64, offers ...api.OfferID) error {
	return c.Call(ctx, &api.Call{Type: api.CallDecline, Decline: &api.Decline{
		OfferIDs: offers, Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(refuseSeconds))},
	}})
}

// Acknowledge confirms a status update that carried uuid. Only needed with
// Config.ManualAcknowledge.
func (c *Client) Acknowledge(ctx context.Context, agentID, taskID string, uuid []byte) error {
	return c.Call(ctx, &api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: agentID}, TaskID: api.TaskID{Value: taskID}, UUID: uuid,
	}})
}

// Kill asks for a task to be killed; agentID may be "".
func (c *Client) Kill(ctx context.Context, taskID, agentID string) error {
	k := &api.Kill{TaskID: api.TaskID{Value: taskID}}
	if agentID != "" {
		k.AgentID = &api.AgentID{Value: agentID}
	}
	return c.Call(ctx, &api.Call{Type: api.CallKill, Kill: k})
}

// Suppress stops offers for the roles (all of the framework's when none).
// The client re-subscribes with them suppressed until Revive.
func (c *Client) Suppress(ctx context.Context, roles ...string) error {
	err := c.Call(ctx, &api.Call{Type: api.CallSuppress, Suppress: &api.Suppress{Roles: roles}})
	if err == nil {
		c.setSuppressed(roles, true)
	}
	return err
}

// Revive clears filters and resumes offers for the roles (all when none).
func (c *Client) Revive(ctx context.Context, roles ...string) error {
	err := c.Call(ctx, &api.Call{Type: api.CallRevive, Revive: &api.Revive{Roles: roles}})
	if err == nil {
		c.setSuppressed(roles, false)
	}
	return err
}

// setSuppressed records roles (all when none) as suppressed or not.
func (c *Client) setSuppressed(roles []string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(roles) == 0 {
		roles = c.info.AllRoles()
	}
	for _, r := range roles {
		if on {
			c.suppressed[r] = true
		} else {
			delete(c.suppressed, r)
		}
	}
}

// Reconcile asks for the latest state of the tasks; none means all of the
// framework's tasks (implicit reconciliation). The answers arrive as
// UPDATE events with reason REASON_RECONCILIATION. Run reconciles by itself
// after every subscription; see Run.
func (c *Client) Reconcile(ctx context.Context, tasks ...api.ReconcileTask) error {
	return c.Call(ctx, &api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: tasks}})
}

// UpdateFramework replaces the framework's info (its ID is filled in) and
// suppressed roles at once, without re-subscribing; later re-subscriptions
// send the new info. Mesos refuses changes to principal, user and
// checkpoint.
func (c *Client) UpdateFramework(ctx context.Context, info api.FrameworkInfo, suppressedRoles []string) error {
	update := &api.UpdateFramework{FrameworkInfo: info, SuppressedRoles: suppressedRoles}
	err := c.Call(ctx, &api.Call{Type: api.CallUpdateFramework, UpdateFramework: update})
	if err == nil {
		c.mu.Lock()
		c.info = update.FrameworkInfo // with the ID the call went with (call)
		c.suppressed = map[string]bool{}
		for _, r := range suppressedRoles {
			c.suppressed[r] = true
		}
		c.mu.Unlock()
	}
	return err
}

// Message sends data to an executor of the framework, best effort.
func (c *Client) Message(ctx context.Context, agentID, executorID string, data []byte) error {
	return c.Call(ctx, &api.Call{Type: api.CallMessage, Message: &api.FrameworkMessage{
		AgentID: api.AgentID{Value: agentID}, ExecutorID: api.ExecutorID{Value: executorID}, Data: data,
	}})
}

// Shutdown asks for a custom executor to be shut down, with its tasks.
func (c *Client) Shutdown(ctx context.Context, executorID, agentID string) error {
	return c.Call(ctx, &api.Call{Type: api.CallShutdown, Shutdown: &api.Shutdown{
		ExecutorID: api.ExecutorID{Value: executorID}, AgentID: api.AgentID{Value: agentID},
	}})
}

// Teardown removes the framework: its tasks are killed and its stream
// ends. Once the master accepted it, Run returns nil. The framework ID
// cannot be used again.
func (c *Client) Teardown(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	c.mu.Lock()
	c.teardown = done
	c.mu.Unlock()
	// The master closes the stream as it tears the framework down, maybe
	// before its answer arrives: do not let that abandon the call.
	s, err := c.call(ctx, &api.Call{Type: api.CallTeardown}, false)
	if err == nil {
		c.mu.Lock()
		c.tornDown = true
		c.mu.Unlock()
		s.cancel(errTornDown)
	}
	return err
}
