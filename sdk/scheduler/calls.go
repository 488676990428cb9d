package scheduler

import (
	"context"

	"github.com/mezzo-cluster/mezzo/api"
)

// Launch accepts one offer and launches tasks on it; what the tasks leave
// unused is declined with the default filter.
func (c *Client) Launch(ctx context.Context, offer api.OfferID, tasks ...api.TaskInfo) error {
	return c.Call(ctx, &api.Call{Type: api.CallAccept, Accept: &api.Accept{
		OfferIDs:   []api.OfferID{offer},
		Operations: []api.Operation{{Type: api.OpLaunch, Launch: &api.LaunchOperation{TaskInfos: tasks}}},
	}})
}

// Decline gives offers back, refusing them for refuseSeconds (0 means no
// filter).
func (c *Client) Decline(ctx context.Context, refuseSeconds float64, offers ...api.OfferID) error {
	return c.Call(ctx, &api.Call{Type: api.CallDecline, Decline: &api.Decline{
		OfferIDs: offers, Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(refuseSeconds))},
	}})
}

// Acknowledge confirms a status update that carried uuid.
func (c *Client) Acknowledge(ctx context.Context, agentID, taskID string, uuid []byte) error {
	return c.Call(ctx, &api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{
		AgentID: api.AgentID{Value: agentID}, TaskID: api.TaskID{Value: taskID}, UUID: uuid,
	}})
}

// Kill asks for a task to be killed.
func (c *Client) Kill(ctx context.Context, taskID, agentID string) error {
	k := &api.Kill{TaskID: api.TaskID{Value: taskID}}
	if agentID != "" {
		k.AgentID = &api.AgentID{Value: agentID}
	}
	return c.Call(ctx, &api.Call{Type: api.CallKill, Kill: k})
}

// Suppress stops offers for the roles (all of the framework's when none).
func (c *Client) Suppress(ctx context.Context, roles ...string) error {
	return c.Call(ctx, &api.Call{Type: api.CallSuppress, Suppress: &api.Suppress{Roles: roles}})
}

// Revive clears filters and resumes offers for the roles (all when none).
func (c *Client) Revive(ctx context.Context, roles ...string) error {
	return c.Call(ctx, &api.Call{Type: api.CallRevive, Revive: &api.Revive{Roles: roles}})
}

// Reconcile asks for the latest state of the tasks; none means all.
func (c *Client) Reconcile(ctx context.Context, tasks ...api.ReconcileTask) error {
	return c.Call(ctx, &api.Call{Type: api.CallReconcile, Reconcile: &api.Reconcile{Tasks: tasks}})
}

// Teardown removes the framework: its tasks are killed and its stream ends.
func (c *Client) Teardown(ctx context.Context) error {
	return c.Call(ctx, &api.Call{Type: api.CallTeardown})
}
