package agent

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/mezzo-cluster/mezzo/api"
)

// recordUsage keeps the latest usage an executor reported for its tasks
// (api.ExecutorUsage), for GET_CONTAINERS and /monitor/statistics. Tasks
// that have ended or that the executor does not run are ignored.
func (a *Agent) recordUsage(run *executorRun, u *api.ExecutorUsage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tu := range u.Tasks {
		if t := run.tasks[tu.TaskID.Value]; t != nil {
			st := tu.Statistics
			t.stats = &st
		}
	}
}

// serveOperator answers POST /api/v1, the agent's operator API. Of
// agent.proto's calls it answers GET_CONTAINERS; the others are 501.
func (a *Agent) serveOperator(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "Expecting a 'POST' request", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxRecordSize+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > api.MaxRecordSize {
		http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var call api.AgentOperatorCall
	if err := json.Unmarshal(body, &call); err != nil {
		http.Error(w, fmt.Sprintf("Failed to parse body into JSON: %v", err), http.StatusBadRequest)
		return
	}
	switch call.Type {
	case "":
		http.Error(w, "Expecting 'type' to be present", http.StatusBadRequest)
	case api.OperatorGetContainers:
		nested := call.GetContainers != nil && call.GetContainers.ShowNested
		writeJSON(w, api.AgentOperatorResponse{Type: api.OperatorGetContainers,
			GetContainers: &api.AgentGetContainers{Containers: a.containers(nested)}})
	default:
		http.Error(w, fmt.Sprintf("Call %q is not implemented by this agent", call.Type), http.StatusNotImplemented)
	}
}

// serveMonitor answers GET /monitor/statistics (and .json): each running
// task's latest usage, in the legacy endpoint's shape.
func (a *Agent) serveMonitor(w http.ResponseWriter, r *http.Request) {
	out := []api.MonitorStatistics{}
	for _, c := range a.containers(true) {
		if c.ContainerID.Parent == nil || c.ResourceStatistics == nil {
			continue
		}
		out = append(out, api.MonitorStatistics{
			ExecutorID: c.ExecutorID.Value, ExecutorName: c.ExecutorName, FrameworkID: c.FrameworkID.Value,
			Source: c.ContainerID.Value, Statistics: *c.ResourceStatistics,
		})
	}
	writeJSON(w, out)
}

// containers lists the agent's executors as containers, in a stable
// order, each with the sum of its tasks' usage; with nested, each running
// task follows its executor as a container nested in the executor's,
// named after the task, with the usage its executor last reported.
func (a *Agent) containers(nested bool) []api.AgentContainer {
	a.mu.Lock()
	defer a.mu.Unlock()
	runs := make([]*executorRun, 0, len(a.executors))
	for _, r := range a.executors {
		if r.started && !r.exited {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(x, y *executorRun) int {
		if c := cmp.Compare(x.key.framework, y.key.framework); c != 0 {
			return c
		}
		return cmp.Compare(x.key.executor, y.key.executor)
	})
	var out []api.AgentContainer
	for _, r := range runs {
		parent := api.ContainerID{Value: r.rec.Container}
		exec := api.AgentContainer{
			FrameworkID: &api.FrameworkID{Value: r.key.framework}, ExecutorID: &api.ExecutorID{Value: r.key.executor},
			ExecutorName: r.rec.ExecutorInfo.Name, ContainerID: parent,
			ContainerStatus: &api.ContainerStatus{ContainerID: &api.ContainerID{Value: parent.Value}, ExecutorPID: api.Ptr(api.Uint64(r.rec.PID))},
		}
		var tasks []api.AgentContainer
		var sum *api.ResourceStatistics
		for _, id := range r.allTasks {
			t := r.tasks[id]
			if t == nil || t.stats == nil {
				continue
			}
			sum = addStatistics(sum, t.stats)
			st := *t.stats
			tasks = append(tasks, api.AgentContainer{
				FrameworkID: exec.FrameworkID, ExecutorID: exec.ExecutorID, ExecutorName: exec.ExecutorName,
				ContainerID: api.ContainerID{Value: id, Parent: &parent}, ResourceStatistics: &st,
			})
		}
		exec.ResourceStatistics = sum
		out = append(out, exec)
		if nested {
			out = append(out, tasks...)
		}
	}
	return out
}

// addStatistics adds s to sum (nil is none yet): figures add up, the
// timestamp is the latest.
func addStatistics(sum, s *api.ResourceStatistics) *api.ResourceStatistics {
	if sum == nil {
		sum = &api.ResourceStatistics{}
	}
	sum.Timestamp = max(sum.Timestamp, s.Timestamp)
	addF := func(dst **api.Float64, v *api.Float64) {
		if v != nil {
			*dst = api.Ptr(deref(*dst) + *v)
		}
	}
	addU := func(dst **api.Uint64, v *api.Uint64) {
		if v != nil {
			*dst = api.Ptr(derefU(*dst) + *v)
		}
	}
	addF(&sum.CPUsUserTimeSecs, s.CPUsUserTimeSecs)
	addF(&sum.CPUsSystemTimeSecs, s.CPUsSystemTimeSecs)
	addF(&sum.CPUsLimit, s.CPUsLimit)
	addU(&sum.MemRSSBytes, s.MemRSSBytes)
	addU(&sum.MemLimitBytes, s.MemLimitBytes)
	addU(&sum.MemPeakBytes, s.MemPeakBytes)
	return sum
}

func deref(p *api.Float64) api.Float64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefU(p *api.Uint64) api.Uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
