package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestOperatorAPI checks the agent's operator endpoint: bad requests are
// refused with Mesos's statuses, and GET_CONTAINERS lists the executor,
// and with show_nested its task with the usage the executor reported.
func TestOperatorAPI(t *testing.T) {
	a, r, srv := newTestAgent(t)
	stats := api.ResourceStatistics{Timestamp: 1000, CPUsUserTimeSecs: api.Ptr(api.Float64(1.5)),
		MemPeakBytes: api.Ptr(api.Uint64(4096))}
	a.recordUsage(r, &api.ExecutorUsage{Tasks: []api.TaskUsage{
		{TaskID: api.TaskID{Value: "t1"}, Statistics: stats},
		{TaskID: api.TaskID{Value: "not-mine"}, Statistics: stats},
	}})
	tests := []struct {
		name       string
		method     string
		body       string
		wantStatus int
		wantIDs    []string // container IDs listed, parents as "parent/child"
	}{
		{name: "GET", method: http.MethodGet, wantStatus: http.StatusMethodNotAllowed},
		{name: "not JSON", method: http.MethodPost, body: "{", wantStatus: http.StatusBadRequest},
		{name: "no type", method: http.MethodPost, body: "{}", wantStatus: http.StatusBadRequest},
		{name: "not implemented", method: http.MethodPost, body: `{"type":"GET_STATE"}`, wantStatus: http.StatusNotImplemented},
		{name: "executors", method: http.MethodPost, body: `{"type":"GET_CONTAINERS"}`, wantStatus: http.StatusOK,
			wantIDs: []string{r.rec.Container}},
		{name: "nested", method: http.MethodPost, body: `{"type":"GET_CONTAINERS","get_containers":{"show_nested":true}}`,
			wantStatus: http.StatusOK, wantIDs: []string{r.rec.Container, r.rec.Container + "/t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/api/v1", strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			var got api.AgentOperatorResponse
			if err := json.Unmarshal(body, &got); err != nil || got.GetContainers == nil {
				t.Fatalf("answer %s: %v", body, err)
			}
			var ids []string
			for _, c := range got.GetContainers.Containers {
				id := c.ContainerID.Value
				if c.ContainerID.Parent != nil {
					id = c.ContainerID.Parent.Value + "/" + id
				}
				ids = append(ids, id)
				if c.ResourceStatistics == nil || *c.ResourceStatistics.CPUsUserTimeSecs != 1.5 || *c.ResourceStatistics.MemPeakBytes != 4096 {
					t.Errorf("container %s has statistics %+v, want the task's (the executor's is their sum)", id, c.ResourceStatistics)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tt.wantIDs, " ") {
				t.Errorf("containers %v, want %v", ids, tt.wantIDs)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/monitor/statistics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mon []api.MonitorStatistics
	if err := json.NewDecoder(resp.Body).Decode(&mon); err != nil {
		t.Fatal(err)
	}
	if len(mon) != 1 || mon[0].Source != "t1" || mon[0].ExecutorID != "e1" || mon[0].FrameworkID != "fw" || *mon[0].Statistics.CPUsUserTimeSecs != 1.5 {
		t.Errorf("/monitor/statistics = %+v, want t1's usage under executor e1 of fw", mon)
	}
}

// TestExecutorUsageNeverGoesDown reports the usage of an executor's
// tasks while they come and go: its container's CPU times and fuel add
// up those of its ended tasks too, and its peak is the largest seen, so
// that none of them goes down when a task ends, even when a later task
// reuses an ended one's ID.
func TestExecutorUsageNeverGoesDown(t *testing.T) {
	a, r, _ := newTestAgent(t)
	st := func(cpu float64, fuel, peak uint64) api.ResourceStatistics {
		return api.ResourceStatistics{Timestamp: 1, CPUsUserTimeSecs: api.Ptr(api.Float64(cpu)),
			CPUsSystemTimeSecs: api.Ptr(api.Float64(cpu / 10)), FuelConsumed: api.Ptr(api.Uint64(fuel)),
			MemPeakBytes: api.Ptr(api.Uint64(peak))}
	}
	usage := func(id string, s api.ResourceStatistics) api.TaskUsage {
		return api.TaskUsage{TaskID: api.TaskID{Value: id}, Statistics: s}
	}
	launch := func(id string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		r.tasks[id] = &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, state: api.TaskRunning, queued: true, sent: true}
		r.allTasks = append(r.allTasks, id)
		a.taskIndex[taskKey{"fw", id}] = r
	}
	end := func(id string) {
		uuid := []byte(fmt.Sprintf("%-16s", id+"-end"))[:16]
		a.executorUpdate(r, &api.ExecutorUpdate{Status: api.TaskStatus{TaskID: api.TaskID{Value: id}, State: api.TaskFinished, Source: api.SourceExecutor, UUID: uuid}}, nil)
		a.mu.Lock()
		defer a.mu.Unlock()
		if r.tasks[id] != nil {
			t.Fatalf("task %s has not ended", id)
		}
	}
	tests := []struct {
		name   string
		before func()
		report []api.TaskUsage
		// the executor's figures wanted after the report
		wantCPU  float64
		wantFuel uint64
		wantPeak uint64
	}{
		{name: "two tasks", before: func() { launch("t2") },
			report:  []api.TaskUsage{usage("t1", st(1, 100, 100)), usage("t2", st(10, 1000, 1000))},
			wantCPU: 11, wantFuel: 1100, wantPeak: 1100},
		{name: "t2 ended", before: func() { end("t2") },
			report:  []api.TaskUsage{usage("t1", st(1.5, 150, 100))},
			wantCPU: 11.5, wantFuel: 1150, wantPeak: 1100},
		{name: "t2 ended, no report since", before: func() {},
			wantCPU: 11.5, wantFuel: 1150, wantPeak: 1100},
		{name: "a new t2", before: func() { launch("t2") },
			report:  []api.TaskUsage{usage("t1", st(2, 200, 100)), usage("t2", st(0.5, 50, 10))},
			wantCPU: 12.5, wantFuel: 1250, wantPeak: 1100},
		{name: "the new t2 ended unreported", before: func() { end("t2") },
			wantCPU: 12.5, wantFuel: 1250, wantPeak: 1100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before()
			if tt.report != nil {
				a.recordUsage(r, &api.ExecutorUsage{Tasks: tt.report})
			}
			cs := a.containers(false)
			if len(cs) != 1 || cs[0].ResourceStatistics == nil {
				t.Fatalf("containers %+v, want the executor's with statistics", cs)
			}
			s := cs[0].ResourceStatistics
			cpu, sys, fuel, peak := float64(deref(s.CPUsUserTimeSecs)), float64(deref(s.CPUsSystemTimeSecs)), uint64(derefU(s.FuelConsumed)), uint64(derefU(s.MemPeakBytes))
			if math.Abs(cpu-tt.wantCPU) > 1e-9 || math.Abs(sys-tt.wantCPU/10) > 1e-9 || fuel != tt.wantFuel || peak != tt.wantPeak {
				t.Errorf("executor's user CPU %v, system CPU %v, fuel %d, peak %d; want %v, %v, %d, %d",
					cpu, sys, fuel, peak, tt.wantCPU, tt.wantCPU/10, tt.wantFuel, tt.wantPeak)
			}
		})
	}
}

// TestTerminalUpdateCarriesFinalUsage ends a task whose last USAGE
// report is older than its end: its terminal update's labels carry its
// totals, and the executor's figures take them in, the CPU time past the
// report as user time. Labels that are lower, or not numbers, change
// nothing.
func TestTerminalUpdateCarriesFinalUsage(t *testing.T) {
	tests := []struct {
		name      string
		cpu, fuel string
		wantUser  float64
		wantFuel  uint64
	}{
		{"higher", "3.5", "900", 3.0, 900},
		{"lower", "0.2", "10", 1.0, 300},
		{"not numbers", "lots", "-1", 1.0, 300},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, _ := newTestAgent(t)
			id := fmt.Sprint("t", i)
			a.mu.Lock()
			r.tasks[id] = &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, state: api.TaskRunning, queued: true, sent: true}
			r.allTasks = append(r.allTasks, id)
			a.taskIndex[taskKey{"fw", id}] = r
			a.mu.Unlock()
			a.recordUsage(r, &api.ExecutorUsage{Tasks: []api.TaskUsage{{TaskID: api.TaskID{Value: id}, Statistics: api.ResourceStatistics{
				Timestamp: 1, CPUsUserTimeSecs: api.Ptr(api.Float64(1)), CPUsSystemTimeSecs: api.Ptr(api.Float64(0.5)),
				FuelConsumed: api.Ptr(api.Uint64(300))}}}})
			a.executorUpdate(r, &api.ExecutorUpdate{Status: api.TaskStatus{TaskID: api.TaskID{Value: id}, State: api.TaskFinished, Source: api.SourceExecutor,
				UUID: []byte("0123456789abcdef"), Labels: &api.Labels{Labels: []api.Label{
					{Key: api.CPUSecondsLabel, Value: tt.cpu}, {Key: api.FuelLabel, Value: tt.fuel}}}}}, nil)
			cs := a.containers(false)
			if len(cs) != 1 || cs[0].ResourceStatistics == nil {
				t.Fatalf("containers %+v, want the executor's with statistics", cs)
			}
			s := cs[0].ResourceStatistics
			user, sys, fuel := float64(deref(s.CPUsUserTimeSecs)), float64(deref(s.CPUsSystemTimeSecs)), uint64(derefU(s.FuelConsumed))
			if math.Abs(user-tt.wantUser) > 1e-9 || math.Abs(sys-0.5) > 1e-9 || fuel != tt.wantFuel {
				t.Errorf("executor's user CPU %v, system CPU %v, fuel %d; want %v, 0.5, %d", user, sys, fuel, tt.wantUser, tt.wantFuel)
			}
		})
	}
}

// TestPruneEndedTasks ends pruneAfter tasks of an executor: the oldest
// half leave allTasks, and the UUIDs of their updates are forgotten.
func TestPruneEndedTasks(t *testing.T) {
	a, r, _ := newTestAgent(t)
	old := api.TaskStatus{TaskID: api.TaskID{Value: "old"}, State: api.TaskFinished, Source: api.SourceExecutor,
		UUID: []byte("0123456789abcdef")}
	if err := a.updates.addFromExecutor("fw", old, time.Now(), nil).wait(); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	for i := range pruneAfter {
		id := fmt.Sprintf("ended-%d", i)
		if i == 0 {
			id = "old"
		}
		r.allTasks = append(r.allTasks, id)
		a.taskEnded(r, id)
	}
	n := len(r.allTasks)
	a.mu.Unlock()
	if n != 1+pruneAfter/2 { // t1, still running, and the newer half
		t.Errorf("%d tasks remembered after pruning, want %d", n, 1+pruneAfter/2)
	}
	if err := a.barrier().wait(); err != nil {
		t.Fatal(err)
	}
	// The same update again is fresh: its UUID was forgotten.
	var fresh bool
	w := a.store.putUpdate("fw", old, true, func(_ uint64, f bool, _ error) { fresh = f })
	if err := w.wait(); err != nil || !fresh {
		t.Errorf("the pruned task's update was still remembered (fresh %v, err %v)", fresh, err)
	}
}

// TestUsageLabels checks the labels the agent puts on a terminal update it
// makes for a task whose executor is gone: the last report's figures, in
// the form of the executor's own terminal updates.
func TestUsageLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *api.ResourceStatistics
		want string
	}{
		{name: "no report"},
		{name: "CPU only", s: &api.ResourceStatistics{CPUsUserTimeSecs: api.Ptr(api.Float64(1.25))}, want: "mezzo.cpu_seconds=1.250000"},
		{name: "everything", s: &api.ResourceStatistics{CPUsUserTimeSecs: api.Ptr(api.Float64(1)), CPUsSystemTimeSecs: api.Ptr(api.Float64(0.5)),
			MemPeakBytes: api.Ptr(api.Uint64(4096)), FuelConsumed: api.Ptr(api.Uint64(77))},
			want: "mezzo.cpu_seconds=1.500000 mezzo.peak_memory_bytes=4096 mezzo.fuel_consumed=77"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			if l := usageLabels(tc.s); l != nil {
				for _, kv := range l.Labels {
					got = append(got, kv.Key+"="+kv.Value)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("usageLabels = %q, want %q", g, tc.want)
			}
		})
	}
}
