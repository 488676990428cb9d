package agent

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/mezzo-cluster/mezzo/api"
)

// execUsage is what an executor's container reports beyond the sum of
// its live tasks' usage, so that its cumulative figures never go down:
// a task that ends takes its CPU time and fuel out of that sum, and a
// peak is the largest footprint ever seen, not the current one.
// Agent.mu guards it.
type execUsage struct {
	// tasks are the executor's tasks whose usage was recorded, by ID,
	// until they are seen to have left its tasks (tally).
	tasks map[string]*execTask
	// ended adds up the last usage reported for each of its ended
	// tasks: CPU times and fuel.
	ended api.ResourceStatistics
	// peak is the largest sum of its live tasks' peaks seen.
	peak api.Uint64
}

// recordUsage keeps the latest usage an executor reported for its tasks
// (api.ExecutorUsage), for GET_CONTAINERS and /monitor/statistics. Tasks
// that have ended or that the executor does not run are ignored.
func (a *Agent) recordUsage(run *executorRun, u *api.ExecutorUsage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	eu := run.usageTally()
	if eu == nil {
		return
	}
	for _, tu := range u.Tasks {
		if t := run.tasks[tu.TaskID.Value]; t != nil {
			st := tu.Statistics
			t.stats = &st
			eu.tasks[tu.TaskID.Value] = t
		}
	}
	eu.tally(run)
}

// usageLabels are the usage labels of a terminal update the agent makes
// for a task whose executor died or was killed before it could report
// the end (api.CPUSecondsLabel, api.PeakMemoryLabel, api.FuelLabel, as
// the executor's own terminal updates carry them): what s, the task's
// last usage report, says it used; nil without one. The figures are a
// second old at most, and a task the agent kills past its CPU budget
// gets its executor's CPU time at the kill (watchCPU).
func usageLabels(s *api.ResourceStatistics) *api.Labels {
	if s == nil {
		return nil
	}
	var cpu float64
	for _, v := range []*api.Float64{s.CPUsUserTimeSecs, s.CPUsSystemTimeSecs} {
		if v != nil {
			cpu += float64(*v)
		}
	}
	l := &api.Labels{Labels: []api.Label{{Key: api.CPUSecondsLabel, Value: strconv.FormatFloat(cpu, 'f', 6, 64)}}}
	if s.MemPeakBytes != nil {
		l.Labels = append(l.Labels, api.Label{Key: api.PeakMemoryLabel, Value: strconv.FormatUint(uint64(*s.MemPeakBytes), 10)})
	}
	if s.FuelConsumed != nil {
		l.Labels = append(l.Labels, api.Label{Key: api.FuelLabel, Value: strconv.FormatUint(uint64(*s.FuelConsumed), 10)})
	}
	return l
}

// finalUsage takes the totals that a terminal update of Mezzo's executor
// carries in its labels (api.CPUSecondsLabel, api.FuelLabel) as t's last
// usage, so that what the task used after its last USAGE report, up to a
// second of it, counts in its executor's totals. The CPU time beyond the
// last report's system time is user time, as the executor reports it.
// Figures only go up. a.mu must be held.
func (a *Agent) finalUsage(run *executorRun, t *execTask, st *api.TaskStatus) {
	eu := run.usageTally()
	if eu == nil || st.Labels == nil {
		return
	}
	var s api.ResourceStatistics
	if t.stats != nil {
		s = *t.stats
	}
	changed := false
	for _, l := range st.Labels.Labels {
		switch l.Key {
		case api.CPUSecondsLabel:
			total, err := strconv.ParseFloat(l.Value, 64)
			var user, sys float64
			if s.CPUsUserTimeSecs != nil {
				user = float64(*s.CPUsUserTimeSecs)
			}
			if s.CPUsSystemTimeSecs != nil {
				sys = float64(*s.CPUsSystemTimeSecs)
			}
			if err == nil && total > user+sys && !math.IsInf(total, 0) {
				s.CPUsUserTimeSecs = api.Ptr(api.Float64(total - sys))
				s.CPUsSystemTimeSecs = api.Ptr(api.Float64(sys))
				changed = true
			}
		case api.FuelLabel:
			fuel, err := strconv.ParseUint(l.Value, 10, 64)
			if err == nil && (s.FuelConsumed == nil || fuel > uint64(*s.FuelConsumed)) {
				s.FuelConsumed = api.Ptr(api.Uint64(fuel))
				changed = true
			}
		}
	}
	if changed {
		t.stats = &s
		eu.tasks[t.info.TaskID.Value] = t
	}
}

// usageTally returns the run's execUsage; nil once it has exited. Agent.mu
// must be held.
func (r *executorRun) usageTally() *execUsage {
	if r.exited {
		return nil
	}
	if r.usage.tasks == nil {
		r.usage.tasks = map[string]*execTask{}
	}
	return &r.usage
}

// tally adds to eu what the run's tasks that ended since the last tally
// used, and returns the sum of its live tasks' usage (nil if none
// reported any) with eu's running peak updated. A task has ended when
// the run no longer holds it under its ID: a later task reusing the ID
// is another execTask. a.mu must be held.
func (eu *execUsage) tally(run *executorRun) *api.ResourceStatistics {
	for id, t := range eu.tasks {
		if run.tasks[id] == t {
			continue
		}
		delete(eu.tasks, id)
		if s := t.stats; s != nil {
			addStatistics(&eu.ended, &api.ResourceStatistics{Timestamp: s.Timestamp,
				CPUsUserTimeSecs: s.CPUsUserTimeSecs, CPUsSystemTimeSecs: s.CPUsSystemTimeSecs, FuelConsumed: s.FuelConsumed})
		}
	}
	var sum *api.ResourceStatistics
	for _, t := range reported(run) {
		sum = addStatistics(sum, t.stats)
	}
	if sum != nil {
		eu.peak = max(eu.peak, derefU(sum.MemPeakBytes))
	}
	return sum
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
// order, each with its usage: the sum of its live tasks' usage, plus the
// CPU time and fuel of those that ended, with as its peak the largest of
// its cgroup's peak and the sums of its tasks' peaks seen (execUsage),
// so that its cumulative figures never go down. With nested, each
// running task follows its executor as a container nested in the
// executor's, named after the task, with the usage its executor last
// reported.
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
			ContainerStatus:    &api.ContainerStatus{ContainerID: &api.ContainerID{Value: parent.Value}, ExecutorPID: api.Ptr(api.Uint64(r.rec.PID))},
			ResourceStatistics: a.executorStatistics(r),
		}
		out = append(out, exec)
		if !nested {
			continue
		}
		for _, t := range reported(r) {
			st := *t.stats
			out = append(out, api.AgentContainer{
				FrameworkID: exec.FrameworkID, ExecutorID: exec.ExecutorID, ExecutorName: exec.ExecutorName,
				ContainerID: api.ContainerID{Value: t.info.TaskID.Value, Parent: &parent}, ResourceStatistics: &st,
			})
		}
	}
	return out
}

// reported lists run's live tasks that have usage reported, in the
// order they were launched, each once: allTasks lists an ID again when a
// task reuses an ended one's. a.mu must be held.
func reported(run *executorRun) []*execTask {
	var out []*execTask
	seen := make(map[string]bool, len(run.tasks))
	for _, id := range run.allTasks {
		if t := run.tasks[id]; t != nil && t.stats != nil && !seen[id] {
			seen[id] = true
			out = append(out, t)
		}
	}
	return out
}

// executorStatistics is r's usage as its container's (see containers);
// nil when no task of r ever reported any. a.mu must be held.
func (a *Agent) executorStatistics(r *executorRun) *api.ResourceStatistics {
	eu := r.usageTally()
	if eu == nil {
		return nil
	}
	sum := eu.tally(r)
	if sum == nil && eu.ended == (api.ResourceStatistics{}) {
		return nil
	}
	if sum == nil {
		sum = &api.ResourceStatistics{}
	}
	addStatistics(sum, &eu.ended)
	if peak := max(eu.peak, api.Uint64(r.peakMemory())); peak > 0 {
		sum.MemPeakBytes = &peak
	}
	return sum
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
	addU(&sum.FuelConsumed, s.FuelConsumed)
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
