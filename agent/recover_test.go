package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// liveExecutorRecord starts a process that stands in for a live
// executor, killed when the test ends, and returns the checkpoint of an
// executor "e" of framework "fw" run by it, its run directory made under
// dir.
func liveExecutorRecord(t *testing.T, dir string) executorRecord {
	t.Helper()
	executor := exec.Command("sleep", "600")
	if err := executor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { executor.Process.Kill(); executor.Wait() })
	runDir := filepath.Join(dir, "sandboxes", "fw", "e", "runs", "c")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return executorRecord{Framework: "fw", FrameworkInfo: api.FrameworkInfo{Name: "fw", ID: &api.FrameworkID{Value: "fw"}},
		ExecutorInfo: api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: "e"}}, Container: "c", Dir: runDir, Token: "token",
		PID: executor.Process.Pid, StartTime: processStartTime(executor.Process.Pid)}
}

// restartOver starts an agent over work directory dir whose agent.db
// holds the executor rec with one task, as an agent that died would have
// left it, and returns it.
func restartOver(t *testing.T, dir string, rec executorRecord, task recordedTask) *Agent {
	t.Helper()
	first := newBareAgent(t, func(c *Config) { c.WorkDir = dir })
	w := first.store.checkpoint("fw", "e", &rec, []taskChange{{index: 0, rec: &task}}, false)
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	first.store.close()
	return newBareAgent(t, func(c *Config) { c.WorkDir = dir })
}

// TestRecoveredTaskKeepsItsChecks restarts an agent over the checkpoint
// of a running task that has a health check, its executor's process
// alive: the check runs again. It was started by the task's
// TASK_RUNNING, which came before the restart and does not come again,
// so a task that went unhealthy after a restart was never killed.
func TestRecoveredTaskKeepsItsChecks(t *testing.T) {
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir)
	taskDir := rec.Dir
	interval := api.Float64(3600)
	task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"},
		HealthCheck: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}, IntervalSeconds: &interval},
		Check:       &api.CheckInfo{Type: "TCP", TCP: &api.CheckTCP{Port: 1}, IntervalSeconds: &interval}}
	// Its general check's last status, which its updates carry until the
	// check has another.
	status := &api.CheckStatusInfo{Type: "TCP", TCP: &api.CheckStatusTCP{Succeeded: api.Ptr(false)}}

	second := restartOver(t, dir, rec, recordedTask{Info: task, Dir: taskDir, State: api.TaskRunning, Sent: true, CheckStatus: status})
	second.mu.Lock()
	defer second.mu.Unlock()
	r := second.executors[execKey{"fw", "e"}]
	if r == nil || r.tasks["t"] == nil {
		t.Fatalf("the executor or its task was not recovered: %+v", r)
	}
	if r.tasks["t"].stopChecks == nil {
		t.Error("the recovered running task's health check was not started again")
	}
	if got := r.tasks["t"].checkStatus; !reflect.DeepEqual(got, status) {
		t.Errorf("the recovered task's check status is %+v, want its last, %+v", got, status)
	}
}

// TestRecoveredHealthCheckResumes restarts an agent over the checkpoint
// of a running task whose health check fails (a TCP check of a closed
// port), with what the check had established before the restart. A task
// that had passed, or had failed but once of the two failures allowed, is
// killed at its first failing check after the restart: no new grace
// period of an hour, no failures forgotten. A task whose check had asked
// for its kill is sent its KILL again and not checked again.
func TestRecoveredHealthCheckResumes(t *testing.T) {
	began := time.Now().Add(-2 * time.Hour) // the grace period is long over, unless it begins again
	for _, tc := range []struct {
		name     string
		standing health.Standing
	}{
		{"had passed", health.Standing{Since: began, Succeeded: true, Reported: true, Healthy: true}},
		{"had failed once", health.Standing{Since: began, Succeeded: true, Failures: 1, Reported: true}},
		{"had asked for its kill", health.Standing{Since: began, Succeeded: true, Failures: 2, Reported: true, Killed: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := searchableTempDir(t)
			rec := liveExecutorRecord(t, dir)
			delay, interval, grace, failures := api.Float64(0), api.Float64(0.05), api.Float64(3600), api.Uint64(2)
			task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"},
				HealthCheck: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}, DelaySeconds: &delay,
					IntervalSeconds: &interval, GracePeriodSeconds: &grace, ConsecutiveFailures: &failures}}
			standing := tc.standing
			second := restartOver(t, dir, rec, recordedTask{Info: task, Dir: rec.Dir, State: api.TaskRunning, Sent: true, Health: &standing})
			deadline := time.Now().Add(20 * time.Second)
			for {
				second.mu.Lock()
				r := second.executors[execKey{"fw", "e"}]
				if r == nil || r.tasks["t"] == nil {
					second.mu.Unlock()
					t.Fatalf("the executor or its task was not recovered: %+v", r)
				}
				task := r.tasks["t"]
				killed, checked, healthKilled := r.killPending("t"), task.stopChecks != nil, task.healthKilled
				second.mu.Unlock()
				if killed {
					if !healthKilled {
						t.Error("the task's end will not say its health check killed it (healthy false)")
					}
					if tc.standing.Killed && checked {
						t.Error("a task whose kill its health check asked for is checked again")
					}
					// What the check established is in agent.db for the next restart.
					if err := second.barrier().wait(); err != nil {
						t.Fatal(err)
					}
					recs, err := second.store.executors()
					if err != nil || len(recs) != 1 || len(recs[0].Tasks) != 1 {
						t.Fatalf("agent.db holds %+v (%v), want the executor and its task", recs, err)
					}
					if h := recs[0].Tasks[0].Health; h == nil || !h.Killed || h.Since.Unix() != began.Unix() {
						t.Errorf("agent.db holds the standing %+v, want one since %v with the kill asked for", h, began)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no KILL for the task in 20 s of failing checks (checks running: %v)", checked)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestRecoveredHealthKillStillSaysSo restarts an agent over the
// checkpoint of a task its health check was killing, which its executor
// had reported TASK_KILLING (a framework with TASK_KILLING_STATE): its
// TASK_KILLED after the restart still says healthy false and why, and
// its checks do not run again.
func TestRecoveredHealthKillStillSaysSo(t *testing.T) {
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir)
	interval := api.Float64(3600)
	task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"},
		HealthCheck: &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}, IntervalSeconds: &interval}}
	standing := health.Standing{Since: time.Now().Add(-time.Hour), Succeeded: true, Failures: 3, Reported: true, Killed: true}
	second := restartOver(t, dir, rec, recordedTask{Info: task, Dir: rec.Dir, State: api.TaskKilling, Sent: true, Health: &standing})
	second.mu.Lock()
	defer second.mu.Unlock()
	tk := second.executors[execKey{"fw", "e"}].tasks["t"]
	st := api.TaskStatus{TaskID: task.TaskID, State: api.TaskKilled, Message: "Task killed: Command terminated with signal Terminated"}
	tk.annotate(&st)
	if want := "Task killed after failing its health check: Command terminated with signal Terminated"; st.Healthy == nil || *st.Healthy || st.Message != want {
		t.Errorf("its TASK_KILLED reads %q, healthy %v; want %q, healthy false", st.Message, st.Healthy, want)
	}
	if tk.stopChecks != nil {
		t.Error("the checks of a task being killed for failing them run again")
	}
}

// TestRecoveredLaunchIsPrepared restarts an agent over the checkpoint of
// a live executor whose tasks' LAUNCH was never recorded as sent — the
// agent died while it fetched their URIs, say. At the executor's first
// subscription, a task it lists is taken as sent and not launched again;
// one killed meanwhile that it does not list is reported killed; the
// others are prepared again (their URIs fetched, their sandboxes made,
// a Wasm task's module fetched from the master, once the agent has
// subscribed to one) before they go out, the group as one LAUNCH_GROUP.
func TestRecoveredLaunchIsPrepared(t *testing.T) {
	module := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(module)
	sha := hex.EncodeToString(sum[:])
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/modules/"+sha {
			w.Write(module)
			return
		}
		io.WriteString(w, "fetched")
	}))
	defer files.Close()
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir)
	runDir := rec.Dir
	tasks := []struct {
		id    string
		group int
	}{{"alone", 0}, {"g1", 2}, {"g2", 2}, {"listed", 0}, {"killed", 0}, {"wasm", 0}}
	var changes []taskChange
	for i, tt := range tasks {
		info := api.TaskInfo{Name: tt.id, TaskID: api.TaskID{Value: tt.id},
			Command: &api.CommandInfo{Value: "sleep 600", URIs: []api.CommandURI{{Value: files.URL + "/data.txt"}}}}
		if tt.id == "wasm" {
			info.Command = nil
			info.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha}}
		}
		changes = append(changes, taskChange{index: i, rec: &recordedTask{Index: i, Info: info, Group: tt.group,
			Dir: sandbox.TaskDir(runDir, tt.id, false), State: api.TaskStaging}})
	}
	first := newBareAgent(t, func(c *Config) { c.WorkDir = dir })
	if err := first.store.checkpoint("fw", "e", &rec, changes, false).wait(); err != nil {
		t.Fatal(err)
	}
	first.store.close()

	second := newBareAgent(t, func(c *Config) {
		c.WorkDir = dir
		c.ExecutorHeartbeat = time.Second // so that a launch that never comes does not hang the test
	})
	srv := httptest.NewServer(second.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	second.mu.Lock()
	r := second.executors[execKey{"fw", "e"}]
	second.mu.Unlock()
	if r == nil {
		t.Fatal("the executor was not recovered")
	}
	second.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "killed"}})
	call, err := json.Marshal(api.ExecutorCall{Type: api.ExecutorCallSubscribe, ExecutorID: api.ExecutorID{Value: "e"},
		FrameworkID: api.FrameworkID{Value: "fw"},
		Subscribe:   &api.ExecutorSubscribe{UnacknowledgedTasks: []api.TaskInfo{changes[3].rec.Info}}})
	if err != nil {
		t.Fatal(err)
	}
	_, next := subscribeWith(t, srv, r, string(call))
	// The agent subscribes to its master once its executors have.
	second.subscribed(files.URL, "stream", &api.AgentSubscribed{AgentID: api.AgentID{Value: "agent"}})

	var launched [][]string
	for beats := 0; len(launched) < 3; {
		ev := next()
		switch {
		case ev.Type == api.ExecutorEventHeartbeat:
			if beats++; beats > 20 {
				t.Fatalf("launched %v, and nothing more for 20 heartbeats", launched)
			}
		case ev.Launch != nil:
			launched = append(launched, []string{ev.Launch.Task.TaskID.Value})
		case ev.LaunchGroup != nil:
			var ids []string
			for _, ti := range ev.LaunchGroup.TaskGroup.Tasks {
				ids = append(ids, ti.TaskID.Value)
			}
			launched = append(launched, ids)
		default:
			t.Fatalf("event %s, want the launches", ev.Type)
		}
	}
	if want := [][]string{{"alone"}, {"wasm"}, {"g1", "g2"}}; !reflect.DeepEqual(launched, want) {
		t.Fatalf("launched %v, want %v", launched, want)
	}
	for _, id := range []string{"alone", "g1", "g2"} {
		taskDir := sandbox.TaskDir(runDir, id, false)
		if b, err := os.ReadFile(filepath.Join(taskDir, "data.txt")); err != nil || string(b) != "fetched" {
			t.Errorf("task %s's URI in its sandbox: %q, %v", id, b, err)
		}
		if _, err := os.Stat(filepath.Join(taskDir, sandbox.StdoutFile)); err != nil {
			t.Errorf("task %s's sandbox was not made: %v", id, err)
		}
	}
	second.mu.Lock()
	defer second.mu.Unlock()
	if st := second.updates.latest()[taskKey{"fw", "killed"}]; st.State != api.TaskKilled || st.Reason != api.ReasonTaskKilledDuringLaunch {
		t.Errorf("the task killed before it was launched: %s %s, want TASK_KILLED", st.State, st.Reason)
	}
	if task := r.tasks["listed"]; task == nil || !task.sent {
		t.Errorf("the task the executor listed is not known as sent: %+v", task)
	}
}
