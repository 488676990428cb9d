package webui

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

var taskTable = tableSpec{
	sorts:   []string{"updated", "name", "id", "state", "framework", "agent"},
	desc:    true,
	filters: []string{"state", "framework", "agent", "name"},
}

// updated is when a task last changed: its latest status's timestamp.
func updated(t *api.Task) api.Float64 {
	if n := len(t.Statuses); n > 0 {
		return t.Statuses[n-1].Timestamp
	}
	return 0
}

// taskOrder compares tasks by a taskTable sort key, ties broken by
// framework and task ID so that pages are stable.
func taskOrder(key string) func(a, b *api.Task) int {
	return func(a, b *api.Task) int {
		var c int
		switch key {
		case "name":
			c = cmp.Compare(a.Name, b.Name)
		case "id":
			c = cmp.Compare(a.TaskID.Value, b.TaskID.Value)
		case "state":
			c = cmp.Compare(a.State, b.State)
		case "framework":
			c = cmp.Compare(a.FrameworkID.Value, b.FrameworkID.Value)
		case "agent":
			c = cmp.Compare(a.AgentID.Value, b.AgentID.Value)
		case "updated":
			c = cmp.Compare(updated(a), updated(b))
		}
		return cmp.Or(c, cmp.Compare(a.FrameworkID.Value, b.FrameworkID.Value), cmp.Compare(a.TaskID.Value, b.TaskID.Value))
	}
}

// taskMatches reports whether t passes the query's filters: an exact state,
// framework and agent ID, and a name that contains the name filter.
func taskMatches(t api.Task, q listQuery) bool {
	f := q.Filters
	return (f["state"] == "" || string(t.State) == f["state"]) &&
		(f["framework"] == "" || t.FrameworkID.Value == f["framework"]) &&
		(f["agent"] == "" || t.AgentID.Value == f["agent"]) &&
		(f["name"] == "" || containsFold(t.Name, f["name"]))
}

type taskListData struct {
	Rows   []api.Task
	Pager  pager
	States []api.TaskState
}

func (c *Console) taskList(r *http.Request, _ Principal) (*view, error) {
	q, err := parseListQuery(r.URL.Query(), taskTable, c.cfg.PageSize)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	q.path = "/tasks"
	if st := q.Filter("state"); st != "" && !slices.Contains(taskStates, api.TaskState(st)) {
		return nil, badRequest("unknown task state %q", st)
	}
	resp, err := c.call(r.Context(), api.OperatorGetTasks)
	if err != nil {
		return nil, err
	}
	var rows []api.Task
	if resp.GetTasks != nil {
		for _, t := range allTasks(resp.GetTasks) {
			if taskMatches(t, q) {
				rows = append(rows, t)
			}
		}
	}
	page, p := paginate(rows, q, taskOrder(q.Sort))
	return &view{Template: "tasks", Title: "Tasks", Nav: "tasks", Topics: []string{topicTask},
		Data: taskListData{Rows: page, Pager: p, States: taskStates}}, nil
}

type taskDetailData struct {
	Task    api.Task
	Updated api.Float64
	Sandbox string // the sandbox's virtual path in the agent's files API
	Over    bool   // the task has ended: nothing to kill
	// FrameworkPrincipal and FrameworkUser are the objects of kill_tasks
	// and view_sandboxes.
	FrameworkPrincipal, FrameworkUser string
	Usage                             *taskUsage
	UsageNote                         string // why there is no usage to show
}

// findTask looks a task up by framework and task ID among every task the
// master knows.
func (c *Console) findTask(r *http.Request) (api.Task, error) {
	fw, id := r.PathValue("framework"), r.PathValue("task")
	resp, err := c.call(r.Context(), api.OperatorGetTasks)
	if err != nil {
		return api.Task{}, err
	}
	if resp.GetTasks != nil {
		for _, t := range allTasks(resp.GetTasks) {
			if t.FrameworkID.Value == fw && t.TaskID.Value == id {
				return t, nil
			}
		}
	}
	return api.Task{}, notFound("Framework %q has no task %q that the master remembers. Completed tasks are kept for a while, then forgotten.", fw, id)
}

// sandboxPath is the virtual path of a task's sandbox in the agent's files
// API (api.SandboxPath): named by the latest of its statuses that says,
// else its executor's latest run, where an executor named after the task
// runs it.
func sandboxPath(t api.Task) string {
	exec := t.TaskID.Value
	if t.ExecutorID != nil && t.ExecutorID.Value != "" {
		exec = t.ExecutorID.Value
	}
	var named api.TaskStatus
	for i := len(t.Statuses) - 1; i >= 0; i-- {
		if _, ok := t.Statuses[i].Labels.Get(api.SandboxLabel); ok {
			named = t.Statuses[i]
			break
		}
	}
	return api.SandboxPath(named, t.FrameworkID.Value, exec)
}

func (c *Console) taskDetail(r *http.Request, _ Principal) (*view, error) {
	t, err := c.findTask(r)
	if err != nil {
		return nil, err
	}
	d := taskDetailData{Task: t, Updated: updated(&t), Sandbox: sandboxPath(t), Over: t.State.IsTerminal()}
	if f, err := c.findAnyFramework(r.Context(), t.FrameworkID.Value); err == nil {
		d.FrameworkPrincipal, d.FrameworkUser = f.FrameworkInfo.Principal, f.FrameworkInfo.User
	}
	d.Usage, d.UsageNote = c.usageOf(r.Context(), t)
	topics := []string{topicTask}
	if !d.Over {
		topics = append(topics, topicTick) // usage moves without events
	}
	return &view{Template: "task", Title: "Task " + t.Name, Nav: "tasks", Topics: topics, Data: d}, nil
}

// findAnyFramework returns a framework, subscribed or completed, that the
// principal may see.
func (c *Console) findAnyFramework(ctx context.Context, id string) (api.FrameworkRecord, error) {
	resp, err := c.call(ctx, api.OperatorGetFrameworks)
	if err != nil {
		return api.FrameworkRecord{}, err
	}
	if resp.GetFrameworks != nil {
		for _, list := range [][]api.FrameworkRecord{resp.GetFrameworks.Frameworks, resp.GetFrameworks.CompletedFrameworks} {
			for _, f := range list {
				if f.FrameworkInfo.ID != nil && f.FrameworkInfo.ID.Value == id {
					return f, nil
				}
			}
		}
	}
	return api.FrameworkRecord{}, notFound("No framework has the ID %q.", id)
}
