package webui

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// taskUsage is what a task has used, as the task page shows it.
type taskUsage struct {
	CPUSeconds float64
	MemBytes   int64  // memory in use now (Live only)
	PeakBytes  int64  // 0 when not reported
	Fuel       uint64 // wasmtime fuel executed; 0 when the agent does not count it
	Live       bool   // from the running task, not its final status
	Source     string // where the figures come from, in words
}

// finalUsage reads a terminal task's usage from the labels its final
// status carries (api.CPUSecondsLabel, api.PeakMemoryLabel); nil when it
// carries none.
func finalUsage(t api.Task) *taskUsage {
	for i := len(t.Statuses) - 1; i >= 0; i-- {
		st := t.Statuses[i]
		cpu, ok := st.Labels.Get(api.CPUSecondsLabel)
		if !ok {
			continue
		}
		u := &taskUsage{Source: "the task's final status"}
		u.CPUSeconds, _ = strconv.ParseFloat(cpu, 64)
		if peak, ok := st.Labels.Get(api.PeakMemoryLabel); ok {
			u.PeakBytes, _ = strconv.ParseInt(peak, 10, 64)
		}
		if fuel, ok := st.Labels.Get(api.FuelLabel); ok {
			u.Fuel, _ = strconv.ParseUint(fuel, 10, 64)
		}
		return u
	}
	return nil
}

// statsUsage turns a container's statistics into usage.
func statsUsage(s *api.ResourceStatistics) *taskUsage {
	u := &taskUsage{Live: true}
	if s.CPUsUserTimeSecs != nil {
		u.CPUSeconds += float64(*s.CPUsUserTimeSecs)
	}
	if s.CPUsSystemTimeSecs != nil {
		u.CPUSeconds += float64(*s.CPUsSystemTimeSecs)
	}
	if s.MemRSSBytes != nil {
		u.MemBytes = clampBytes(*s.MemRSSBytes)
	}
	if s.MemPeakBytes != nil {
		u.PeakBytes = clampBytes(*s.MemPeakBytes)
	}
	if s.FuelConsumed != nil {
		u.Fuel = uint64(*s.FuelConsumed)
	}
	u.Source = "its agent, through the master"
	if s.Timestamp > 0 {
		u.Source += ", at " + time.Unix(0, int64(float64(s.Timestamp)*1e9)).UTC().Format("15:04:05 UTC")
	}
	return u
}

// usageOf finds a task's usage: its final status's figures once it has
// ended, else what its agent reports of it through the master. A task the
// agent has no figures for yet, or an agent that cannot be asked, has no
// usage to show (the page says so rather than failing).
func (c *Console) usageOf(ctx context.Context, t api.Task) (*taskUsage, string) {
	if t.State.IsTerminal() {
		if u := finalUsage(t); u != nil {
			return u, ""
		}
		return nil, "The task's final status carries no usage."
	}
	containers, err := c.cluster.Containers(ctx, t.AgentID.Value)
	if err != nil {
		c.log.Debug("task usage", "task", t.TaskID.Value, "err", err)
		return nil, "Usage unavailable: " + err.Error()
	}
	for _, ct := range containers {
		if ct.ContainerID.Parent != nil && ct.ContainerID.Value == t.TaskID.Value &&
			ct.FrameworkID != nil && ct.FrameworkID.Value == t.FrameworkID.Value && ct.ResourceStatistics != nil {
			return statsUsage(ct.ResourceStatistics), ""
		}
	}
	return nil, "The agent reports no usage for this task yet."
}

// agentUsage is the sum of what an agent's metered tasks use.
type agentUsage struct {
	Tasks      int
	CPUSeconds float64
	MemBytes   int64
	Err        string
}

// agentUsageOf sums the usage of the agent's tasks that the principal may
// see (the master leaves out the others).
func (c *Console) agentUsageOf(ctx context.Context, id string) agentUsage {
	containers, err := c.cluster.Containers(ctx, id)
	if err != nil {
		return agentUsage{Err: "Usage unavailable: " + err.Error()}
	}
	var u agentUsage
	for _, ct := range containers {
		if ct.ContainerID.Parent == nil || ct.ResourceStatistics == nil {
			continue
		}
		tu := statsUsage(ct.ResourceStatistics)
		u.Tasks++
		u.CPUSeconds += tu.CPUSeconds
		u.MemBytes += tu.MemBytes
	}
	return u
}

// clampBytes converts a reported byte count for display, capping what an
// agent could report past int64.
func clampBytes(n api.Uint64) int64 {
	return int64(min(uint64(n), math.MaxInt64))
}
