package scheduler

import "github.com/mezzo-cluster/mezzo/api"

// WasmTask returns a task that runs the stored module with the given hex
// sha256 (as POST /api/v1/modules answered) with args, on the agent's
// default engine. name defaults to id; agentID may be left for Pack to
// fill in.
func WasmTask(id, name, agentID, sha256 string, args []string, res api.Resources) api.TaskInfo {
	t := newTask(id, name, agentID, res)
	t.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha256, Arguments: args}}
	return t
}

// CommandTask returns a task that runs command under /bin/sh -c on the
// agent. name defaults to id; agentID may be left for Pack to fill in.
func CommandTask(id, name, agentID, command string, res api.Resources) api.TaskInfo {
	t := newTask(id, name, agentID, res)
	t.Command = &api.CommandInfo{Value: command}
	return t
}

func newTask(id, name, agentID string, res api.Resources) api.TaskInfo {
	if name == "" {
		name = id
	}
	return api.TaskInfo{Name: name, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: agentID},
		Resources: api.NewResources(res...)}
}

// Pack takes tasks from the front of queue while each fits in what the
// tasks before it left of offer. It returns those tasks, ready to launch on
// the offer: their AgentID set to the offer's and their resources replaced
// by what Take found for them; and the rest of the queue, in order. The
// queue itself is not modified.
//
//	launch, queue = scheduler.Pack(offer, queue)
//	if len(launch) > 0 {
//		err = c.Launch(ctx, offer.ID, launch...)
//	}
func Pack(offer api.Offer, queue []api.TaskInfo) (launch, rest []api.TaskInfo) {
	left := api.Resources(offer.Resources)
	for i, t := range queue {
		taken, ok := Take(left, t.Resources)
		if !ok {
			return launch, queue[i:]
		}
		left = left.Minus(taken)
		t.AgentID = offer.AgentID
		t.Resources = taken
		launch = append(launch, t)
	}
	return launch, nil
}
