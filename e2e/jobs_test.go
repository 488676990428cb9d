package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// jobsRun is a run as samples/jobs reports it.
type jobsRun struct {
	State    string `json:"state"`
	Trigger  string `json:"trigger"`
	Attempts int    `json:"attempts"`
	Lost     int    `json:"lost"`
	TaskID   string `json:"task_id"`
}

// TestSampleJobs runs samples/jobs, the Chronos-like framework, against a
// dev cluster: repeating and cron schedules, a dependent job, retries, the
// HTTP API with its errors, and a manual run that survives a SIGKILL of
// the framework — which comes back under the same framework ID, settles
// the run and launches nothing twice.
func TestSampleJobs(t *testing.T) {
	c := startDev(t)
	jobsFile := filepath.Join(t.TempDir(), "jobs.json")
	s := newSampleFramework(t, "jobs", c.addr, jobsFile)                // builds it: the schedules start after that
	start := time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339) // runs before the start never happen
	writeFile(t, jobsFile, `[
		{"name": "after", "parents": ["tick"], "command": "echo after"},
		{"name": "tick", "schedule": "R3/`+start+`/PT1S", "command": "echo tick"},
		{"name": "flaky", "schedule": "R1/`+start+`/PT1H", "command": "exit 3", "retries": 1},
		{"name": "slow", "schedule": "R0/`+start+`/PT1H", "command": "sleep 3"},
		{"name": "cron", "schedule": "*/1 * * * * *", "command": "true"}
	]`)
	startJobs, do, runs, state := s.start, s.do, s.runs, s.state
	count := func(job, state string) int {
		n := 0
		for _, r := range runs(job) {
			if r.State == state {
				n++
			}
		}
		return n
	}

	first := startJobs()
	waitFor(t, func() bool { return count("tick", "succeeded") == 3 && count("after", "succeeded") == 3 }, "tick and after to run 3 times each")
	waitFor(t, func() bool { return count("flaky", "failed") == 1 }, "flaky to fail")
	if r := runs("flaky"); len(r) != 1 || r[0].Attempts != 2 {
		t.Fatalf("flaky runs %+v, want one run of 2 attempts", r)
	}
	waitFor(t, func() bool { return count("cron", "succeeded") >= 2 }, "the cron job to run twice")
	if r := runs("after"); r[0].Trigger != "parents" {
		t.Fatalf("after was triggered by %q", r[0].Trigger)
	}
	if code, body := do("GET", "/jobs/tick", ""); code != http.StatusOK || !strings.Contains(string(body), `"name":"tick"`) || !strings.Contains(string(body), `"last_run":{"number":3`) {
		t.Fatalf("GET /jobs/tick: %d %s", code, body)
	}
	if code, body := do("GET", "/jobs/slow/runs", ""); code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("the runs of a job that never ran: %d %s, want []", code, body)
	}

	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"DELETE", "/jobs/cron", "", http.StatusNoContent},
		{"DELETE", "/jobs/tick", "", http.StatusConflict}, // after depends on it
		{"DELETE", "/jobs/nope", "", http.StatusNotFound},
		{"POST", "/jobs/nope/run", "", http.StatusNotFound},
		{"PUT", "/jobs/x", `{"name": "x", "schedule": "@hourly"`, http.StatusBadRequest},
		{"PUT", "/jobs/x", `{"name": "x", "schedule": "@hourly", "comand": "true"}`, http.StatusBadRequest},
		{"PUT", "/jobs/x", `{"name": "y", "schedule": "@hourly", "command": "true"}`, http.StatusBadRequest},
		{"PUT", "/jobs/x", `{"name": "x", "parents": ["x"], "command": "true"}`, http.StatusBadRequest},
		{"GET", "/jobs/nope/runs", "", http.StatusNotFound},
		{"GET", "/jobs/nope", "", http.StatusNotFound},
	} {
		if code, body := do(tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %s: %d %s, want %d", tt.method, tt.path, tt.body, code, body, tt.want)
		}
	}

	if code, body := do("POST", "/jobs/slow/run", ""); code != http.StatusAccepted {
		t.Fatalf("trigger slow: %d %s", code, body)
	}
	waitFor(t, func() bool {
		for _, task := range c.tasks(t).Tasks {
			if strings.HasPrefix(task.TaskID.Value, "jobs.slow.") && task.State == api.TaskRunning {
				return true
			}
		}
		return false
	}, "the manual run to be running")
	first.Process.Kill()
	first.Wait()

	startJobs()
	waitFor(t, func() bool { return count("slow", "succeeded") == 1 }, "the manual run to succeed after the restart")
	var saved struct {
		FrameworkID string `json:"framework_id"`
	}
	data, _ := os.ReadFile(state)
	json.Unmarshal(data, &saved)
	tasks := c.tasks(t)
	slow := 0
	for _, list := range [][]api.Task{tasks.Tasks, tasks.CompletedTasks} {
		for _, task := range list {
			if strings.HasPrefix(task.TaskID.Value, "jobs.slow.") {
				slow++
			}
			if task.FrameworkID.Value != saved.FrameworkID {
				t.Errorf("task %s belongs to framework %s, not the saved %s", task.TaskID.Value, task.FrameworkID.Value, saved.FrameworkID)
			}
		}
	}
	if slow != 1 {
		t.Fatalf("the manual run launched %d tasks, want 1", slow)
	}
	if r := runs("tick"); len(r) != 3 {
		t.Fatalf("tick ran %d times after the restart, want its 3", len(r))
	}
}

// TestSampleJobsSurvivesFailover runs samples/jobs against three
// replicated masters and SIGKILLs the leader while a run is under way:
// the run is settled through the new leader, exactly once, and the
// framework keeps its ID.
func TestSampleJobsSurvivesFailover(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	jobsFile := filepath.Join(t.TempDir(), "jobs.json")
	s := newSampleFramework(t, "jobs", masters, jobsFile) // builds it: the schedule starts after that
	start := time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339)
	writeFile(t, jobsFile, `[{"name": "slow", "schedule": "R1/`+start+`/PT1H", "command": "sleep 4"}]`)
	s.start()
	waitFor(t, func() bool { r := s.runs("slow"); return len(r) == 1 && r[0].State == "running" }, "the run to start")
	id := s.frameworkID()
	c.kill(leader, syscall.SIGKILL)
	c.waitLeader(t)
	waitFor(t, func() bool { r := s.runs("slow"); return len(r) == 1 && r[0].State == "succeeded" }, "the run to succeed after the failover")
	// An attempt whose launch died with the leader is relaunched and is
	// no failure; any other extra attempt is.
	if r := s.runs("slow"); r[0].Attempts-r[0].Lost != 1 {
		t.Fatalf("the run took %d attempts, %d of them lost with the leader; want 1 that ran", r[0].Attempts, r[0].Lost)
	}
	if got := s.frameworkID(); got != id {
		t.Fatalf("framework ID %s after the failover, was %s", got, id)
	}
}
