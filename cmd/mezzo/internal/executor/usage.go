package executor

import (
	"context"
	"strconv"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// reportUsage sends the running tasks' usage to the agent every
// cfg.UsageInterval until ctx ends (see api.ExecutorUsage), and follows
// the executor's memory cap (followMemoryLimit). A report that
// fails is dropped: the next one replaces it.
func (x *executor) reportUsage(ctx context.Context) {
	t := time.NewTicker(x.cfg.UsageInterval)
	defer t.Stop()
	x.followMemoryLimit()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		x.followMemoryLimit()
		if usage := x.usage(); len(usage) > 0 {
			if err := x.client.Usage(ctx, usage); err != nil {
				x.log.Debug("usage report not sent", "err", err)
			}
		}
	}
}

// usage returns what each running task has used so far.
func (x *executor) usage() []api.TaskUsage {
	x.mu.Lock()
	tasks := x.running()
	x.mu.Unlock()
	now := time.Now()
	out := make([]api.TaskUsage, 0, len(tasks))
	for _, t := range tasks {
		t.mu.Lock()
		p := t.proc
		t.mu.Unlock()
		if p == nil {
			continue
		}
		out = append(out, api.TaskUsage{TaskID: t.info.TaskID, Statistics: Statistics(t.info, p.Usage(), now)})
	}
	return out
}

// Statistics is a task's usage in the shape the agent serves it: its CPU
// time, its memory (see api.ResourceStatistics for what each field holds)
// and the limits from its resources.
func Statistics(info api.TaskInfo, u sandbox.Usage, now time.Time) api.ResourceStatistics {
	st := api.ResourceStatistics{
		Timestamp:          api.Float64(float64(now.UnixNano()) / 1e9),
		CPUsUserTimeSecs:   api.Ptr(api.Float64(u.CPUSeconds)),
		CPUsSystemTimeSecs: api.Ptr(api.Float64(0)),
		MemRSSBytes:        api.Ptr(api.Uint64(u.PeakMemoryBytes)),
		MemPeakBytes:       api.Ptr(api.Uint64(u.PeakMemoryBytes)),
	}
	if cpus := api.Resources(info.Resources).ScalarValue("cpus"); cpus > 0 {
		st.CPUsLimit = api.Ptr(api.Float64(cpus))
	}
	if mem := info.MemoryBytes(); mem > 0 {
		st.MemLimitBytes = api.Ptr(api.Uint64(mem))
	}
	if u.Fuel > 0 {
		st.FuelConsumed = api.Ptr(api.Uint64(u.Fuel))
	}
	return st
}

// UsageLabels are the labels of a terminal update that carry what the
// task used in all (api.CPUSecondsLabel, api.PeakMemoryLabel, and
// api.FuelLabel when fuel was counted).
func UsageLabels(u sandbox.Usage) []api.Label {
	labels := []api.Label{
		{Key: api.CPUSecondsLabel, Value: strconv.FormatFloat(u.CPUSeconds, 'f', 6, 64)},
		{Key: api.PeakMemoryLabel, Value: strconv.FormatUint(u.PeakMemoryBytes, 10)},
	}
	if u.Fuel > 0 {
		labels = append(labels, api.Label{Key: api.FuelLabel, Value: strconv.FormatUint(u.Fuel, 10)})
	}
	return labels
}
