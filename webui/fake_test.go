package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/mezzo-cluster/mezzo/api"
)

// statusError is an error with an HTTP status, as the master's are.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) StatusCode() int { return e.code }

// fakeCluster is an in-memory Cluster: a state to answer GET_* calls
// from, a record of the calls that change things, an event channel the
// test feeds, and sandbox files by virtual path.
type fakeCluster struct {
	mu      sync.Mutex
	state   api.GetStateResponse
	roles   []api.Role
	modules []api.ModuleInfo
	calls   []api.OperatorCall
	files   map[string]string // virtual path -> content; directories are implied
	// containers is each agent's GET_CONTAINERS answer; an agent not in
	// it cannot be reached.
	containers map[string][]api.AgentContainer
	schedule   api.MaintenanceSchedule
	// hiddenMachines is what GET_MAINTENANCE_SCHEDULE says the view ACLs
	// left out of the schedule.
	hiddenMachines int
	// browseLimit, if set, is the most entries a browse lists, as an
	// agent's files.BrowseLimit: a longer listing is cut and says so in
	// api.ListingTruncatedHeader.
	browseLimit int
	// agentFiles, if set, answers Files in place of files: an agent's
	// real files API (files.Handler), reached with the query the master
	// would send it.
	agentFiles http.Handler
	// badReads holds "path@offset" reads answered with JSON cut short.
	badReads map[string]bool
	events   chan api.OperatorEvent
	// standby and leader are what Standby answers.
	standby bool
	leader  string
	subs    int  // open subscriptions
	shared  bool // answer from the state itself, not a copy (benchmarks)
}

var _ Cluster = (*fakeCluster)(nil)

func newFake() *fakeCluster {
	return &fakeCluster{files: map[string]string{}, badReads: map[string]bool{}, containers: map[string][]api.AgentContainer{}, events: make(chan api.OperatorEvent)}
}

func (f *fakeCluster) Call(_ context.Context, call *api.OperatorCall) (*api.OperatorResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &api.OperatorResponse{Type: call.Type}
	// Deep copy through JSON so that handlers cannot share the fake's slices.
	st := f.state
	if !f.shared {
		st = api.GetStateResponse{}
		b, _ := json.Marshal(f.state)
		_ = json.Unmarshal(b, &st)
	}
	switch call.Type {
	case api.OperatorGetState:
		resp.GetState = &st
	case api.OperatorGetTasks:
		resp.GetTasks = st.GetTasks
	case api.OperatorGetAgents:
		resp.GetAgents = st.GetAgents
	case api.OperatorGetFrameworks:
		resp.GetFrameworks = st.GetFrameworks
	case api.OperatorGetRoles:
		resp.GetRoles = &api.GetRolesResponse{Roles: f.roles}
	case api.OperatorGetMaster:
		resp.GetMaster = &api.GetMasterResponse{MasterInfo: &api.MasterInfo{ID: "master-1", Hostname: "m1", Port: 5050, Version: "1.11.0"}, StartTime: 1.7e9, ElectedTime: 1.7e9,
			Masters: []api.ReplicatedMaster{{Address: "m1:5050", Leader: true, Voter: true}, {Address: "m2:5050", Voter: true}}}
	case api.OperatorGetMaintenanceSchedule:
		resp.GetMaintenanceSchedule = &api.GetMaintenanceScheduleResponse{Schedule: f.schedule, HiddenMachines: f.hiddenMachines}
	case api.OperatorUpdateMaintenanceSchedule:
		f.calls = append(f.calls, *call)
		f.schedule = call.UpdateMaintenanceSchedule.Schedule
	case api.OperatorDrainAgent, api.OperatorReactivateAgent, api.OperatorTeardown, api.OperatorKillTask,
		api.OperatorUpdateWeights, api.OperatorUpdateQuota:
		f.calls = append(f.calls, *call)
	default:
		return nil, &statusError{code: http.StatusNotImplemented, msg: "not in the fake: " + string(call.Type)}
	}
	return resp, nil
}

func (f *fakeCluster) Subscribe(ctx context.Context) (<-chan api.OperatorEvent, error) {
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	out := make(chan api.OperatorEvent)
	go func() {
		defer func() {
			f.mu.Lock()
			f.subs--
			f.mu.Unlock()
			close(out)
		}()
		for {
			select {
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (f *fakeCluster) Modules(context.Context) ([]api.ModuleInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.ModuleInfo(nil), f.modules...), nil
}

func (f *fakeCluster) PutModule(_ context.Context, wasm []byte) (api.ModuleInfo, error) {
	if !strings.HasPrefix(string(wasm), "\x00asm") {
		return api.ModuleInfo{}, &statusError{code: http.StatusBadRequest, msg: "invalid module: not a WebAssembly binary (bad magic)"}
	}
	m := api.ModuleInfo{SHA256: fmt.Sprintf("%064x", len(wasm)), Size: int64(len(wasm))}
	f.mu.Lock()
	f.modules = append(f.modules, m)
	f.mu.Unlock()
	return m, nil
}

// DeleteModule forgets a module; one it does not hold is a 404, as on the
// master.
func (f *fakeCluster) DeleteModule(_ context.Context, sha string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.modules {
		if m.SHA256 == sha {
			f.modules = append(f.modules[:i], f.modules[i+1:]...)
			return nil
		}
	}
	return &statusError{code: http.StatusNotFound, msg: "Module " + sha + " not found"}
}

// Files answers browse and read from f.files as an agent's files API
// would; "gone" is an agent the master does not know.
func (f *fakeCluster) Files(_ context.Context, agentID, op string, q url.Values) (*http.Response, error) {
	if agentID == "gone" {
		return nil, &statusError{code: http.StatusNotFound, msg: "Agent cannot be found"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := httptest.NewRecorder()
	if f.agentFiles != nil {
		f.agentFiles.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/files/"+op+"?"+q.Encode(), nil))
		return rec.Result(), nil
	}
	p := q.Get("path")
	switch op {
	case "browse":
		var out []entry
		if data, ok := f.files[p]; ok {
			out = append(out, entry{Path: p, Size: int64(len(data)), Mode: "-rw-r--r--"})
		}
		seen := map[string]bool{}
		for fp, data := range f.files {
			if !strings.HasPrefix(fp, p+"/") {
				continue
			}
			rest := strings.TrimPrefix(fp, p+"/")
			name, _, isDir := strings.Cut(rest, "/")
			if seen[name] {
				continue
			}
			seen[name] = true
			e := entry{Path: path.Join(p, name), Size: int64(len(data)), Mode: "-rw-r--r--"}
			if isDir {
				e.Mode, e.Size = "drwxr-xr-x", 4096
			}
			out = append(out, e)
		}
		if len(out) == 0 {
			http.Error(rec, "No such file or directory", http.StatusNotFound)
			break
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
		if f.browseLimit > 0 && len(out) > f.browseLimit {
			out = out[:f.browseLimit]
			rec.Header().Set(api.ListingTruncatedHeader, "true")
		}
		_ = json.NewEncoder(rec).Encode(out)
	case "read":
		data, ok := f.files[p]
		if !ok {
			http.Error(rec, "No such file", http.StatusNotFound)
			break
		}
		if f.badReads[p+"@"+q.Get("offset")] {
			rec.WriteString(`{"offset": 0, "data": "cut sh`)
			break
		}
		var off, length int64
		fmt.Sscan(q.Get("offset"), &off)
		length = int64(len(data))
		if l := q.Get("length"); l != "" {
			fmt.Sscan(l, &length)
		}
		if off < 0 {
			_ = json.NewEncoder(rec).Encode(chunk{Offset: int64(len(data))})
			break
		}
		off = min(off, int64(len(data)))
		end := min(off+length, int64(len(data)))
		_ = json.NewEncoder(rec).Encode(chunk{Offset: off, Data: data[off:end], Length: end - off})
	case "download":
		data, ok := f.files[p]
		if !ok {
			http.Error(rec, "No such file", http.StatusNotFound)
			break
		}
		rec.Header().Set("Content-Type", "application/octet-stream")
		rec.Header().Set("Content-Disposition", "attachment; filename="+path.Base(p))
		rec.WriteString(data)
	default:
		http.Error(rec, "Unknown operation", http.StatusNotFound)
	}
	resp := rec.Result()
	resp.Body = io.NopCloser(strings.NewReader(rec.Body.String()))
	return resp, nil
}

// Containers answers from f.containers, as an agent asked through the
// master would.
func (f *fakeCluster) Containers(_ context.Context, agentID string) ([]api.AgentContainer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cs, ok := f.containers[agentID]
	if !ok {
		return nil, &statusError{code: http.StatusBadGateway, msg: "Agent is not reachable"}
	}
	return append([]api.AgentContainer(nil), cs...), nil
}

// Standby says whether the fake plays a master that does not lead.
func (f *fakeCluster) Standby() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.standby, f.leader
}

// appendFile grows a sandbox file, as a task writing output does.
func (f *fakeCluster) appendFile(p, data string) {
	f.mu.Lock()
	f.files[p] += data
	f.mu.Unlock()
}

// callsOf returns the recorded calls of one type.
func (f *fakeCluster) callsOf(t api.OperatorCallType) []api.OperatorCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.OperatorCall
	for _, c := range f.calls {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeCluster) subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

// seed fills the fake with a small cluster: two agents (one draining), a
// connected framework holding an offer, a completed framework, and tasks
// in several states, one with a sandbox.
func seed(f *fakeCluster) {
	cpus := func(v float64) []api.Resource {
		return []api.Resource{api.ScalarResource("cpus", v), api.ScalarResource("mem", v*1024)}
	}
	f.state = api.GetStateResponse{
		GetAgents: &api.GetAgentsResponse{Agents: []api.AgentRecord{
			{AgentInfo: api.AgentInfo{ID: &api.AgentID{Value: "a1"}, Hostname: "host-one", Port: 5051,
				Attributes: []api.Attribute{{Name: "rack", Type: "TEXT", Text: &api.Text{Value: "r1"}}}},
				Active: true, TotalResources: cpus(4), AllocatedResources: cpus(1), OfferedResources: cpus(2)},
			{AgentInfo: api.AgentInfo{ID: &api.AgentID{Value: "a2"}, Hostname: "host-two", Port: 5051},
				Active: true, Deactivated: true, TotalResources: cpus(2),
				DrainInfo: &api.DrainInfo{State: api.DrainDraining, Config: api.DrainConfig{
					MaxGracePeriod: &api.DurationInfo{Nanoseconds: 30e9}, MarkGone: true}}},
		}},
		GetFrameworks: &api.GetFrameworksResponse{
			Frameworks: []api.FrameworkRecord{{
				FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw1"}, Name: "web", Roles: []string{"web"}, User: "alice", Principal: "web-fw"},
				Active:        true, Connected: true, AllocatedResources: cpus(1), OfferedResources: cpus(2),
				Offers: []api.Offer{{ID: api.OfferID{Value: "o1"}, FrameworkID: api.FrameworkID{Value: "fw1"},
					AgentID: api.AgentID{Value: "a1"}, Hostname: "host-one", Resources: cpus(2)}},
				Diagnostics: []string{"role web is at its quota limit for cpus"},
			}},
			CompletedFrameworks: []api.FrameworkRecord{{FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw0"}, Name: "batch"}}},
		},
		GetTasks: &api.GetTasksResponse{
			Tasks: []api.Task{
				task("fw1", "t-run", "server", "a1", api.TaskRunning, 30),
				task("fw1", "t-stage", "worker", "a1", api.TaskStaging, 40),
			},
			CompletedTasks: []api.Task{task("fw0", "t-done", "report", "a2", api.TaskFailed, 20)},
		},
	}
	f.roles = []api.Role{{Name: "web", Weight: 2, Frameworks: []api.FrameworkID{{Value: "fw1"}},
		Quota: &api.RoleQuota{Limits: map[string]api.Scalar{"cpus": {Value: 1}}, Consumed: map[string]api.Scalar{"cpus": {Value: 1}}}}}
	f.modules = []api.ModuleInfo{{SHA256: strings.Repeat("ab", 32), Size: 2629365}}
	parent := api.ContainerID{Value: "exec-1"}
	f.containers["a1"] = []api.AgentContainer{
		{FrameworkID: &api.FrameworkID{Value: "fw1"}, ContainerID: parent},
		{FrameworkID: &api.FrameworkID{Value: "fw1"}, ContainerID: api.ContainerID{Value: "t-run", Parent: &parent},
			ResourceStatistics: &api.ResourceStatistics{Timestamp: 1.7e9, CPUsUserTimeSecs: api.Ptr(api.Float64(1.25)),
				CPUsSystemTimeSecs: api.Ptr(api.Float64(0.25)), MemRSSBytes: api.Ptr(api.Uint64(3 << 20)), MemPeakBytes: api.Ptr(api.Uint64(5 << 20)), FuelConsumed: api.Ptr(api.Uint64(123456))}},
	}
	done := &f.state.GetTasks.CompletedTasks[0].Statuses[0]
	done.Labels = &api.Labels{Labels: []api.Label{{Key: api.CPUSecondsLabel, Value: "7.5"}, {Key: api.PeakMemoryLabel, Value: "2097152"}, {Key: api.FuelLabel, Value: "99"}}}
	f.files["/fw1/t-run/runs/latest/stdout"] = "hello from stdout\n"
	f.files["/fw1/t-run/runs/latest/stderr"] = "warning on stderr\n"
}

// task builds a task with one status at second ts.
func task(fw, id, name, agent string, state api.TaskState, ts float64) api.Task {
	return api.Task{
		Name: name, TaskID: api.TaskID{Value: id}, FrameworkID: api.FrameworkID{Value: fw},
		AgentID: api.AgentID{Value: agent}, State: state,
		Statuses: []api.TaskStatus{{TaskID: api.TaskID{Value: id}, State: state, Timestamp: api.Float64(1.7e9 + ts),
			Reason: "REASON_COMMAND_EXECUTOR_FAILED", Message: "status of " + id}},
	}
}
