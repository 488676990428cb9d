package agent

import (
	"encoding/json"
	"fmt"
	"io"
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
