package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// servicesApp is an app as samples/services reports it.
type servicesApp struct {
	Version   int    `json:"version"`
	Staging   int    `json:"staging"`
	Running   int    `json:"running"`
	Healthy   int    `json:"healthy"`
	Killing   int    `json:"killing"`
	Launches  int    `json:"launches"`
	Backoff   string `json:"backoff"`
	Waiting   string `json:"waiting"`
	Instances []struct {
		TaskID  string `json:"task_id"`
		Version int    `json:"version"`
		State   string `json:"state"`
		Healthy bool   `json:"healthy"`
	} `json:"instances"`
}

// TestSampleServices runs samples/services, the Marathon-like framework,
// against a dev cluster: instances kept at their count, a crashing app
// backing off, a UNIQUE hostname constraint on a one-agent cluster, health
// checks, scaling down, a rolling restart that keeps its minimum healthy
// capacity, removal, and a SIGKILL of the framework after which it comes
// back under the same ID and launches nothing twice.
func TestSampleServices(t *testing.T) {
	c := startDev(t)
	dir := t.TempDir()
	const sleeper = "sleep 61.234"
	appsFile := filepath.Join(dir, "apps.json")
	writeFile(t, appsFile, `[
		{"id": "clock", "instances": 3, "command": "exec `+sleeper+`", "mem": 16},
		{"id": "crashy", "instances": 1, "command": "exit 1", "mem": 16},
		{"id": "uniq", "instances": 2, "command": "exec `+sleeper+`", "mem": 16, "constraints": [["hostname", "UNIQUE"]]},
		{"id": "hc", "instances": 2, "command": "exec `+sleeper+`", "mem": 16, "minimum_health_capacity": 0.5,
		 "health_check": {"type": "COMMAND", "command": {"value": "true"}, "delay_seconds": 0, "interval_seconds": 0.5, "grace_period_seconds": 0}}
	]`)
	s := newServicesSample(t, c.addr, appsFile)
	startServices, do, app := s.start, s.do, s.app
	masterTasks := func(prefix string, state api.TaskState) int {
		n := 0
		tasks := c.tasks(t)
		for _, list := range [][]api.Task{tasks.Tasks, tasks.CompletedTasks} {
			for _, task := range list {
				if strings.HasPrefix(task.TaskID.Value, prefix) && task.State == state {
					n++
				}
			}
		}
		return n
	}

	first := startServices()
	waitFor(t, func() bool { return app("clock").Running == 3 }, "clock to run 3 instances")
	for _, in := range app("clock").Instances { // no health check: running is healthy
		if in.State == "running" && !in.Healthy {
			t.Fatalf("clock's running instance %s is shown unhealthy", in.TaskID)
		}
	}
	waitFor(t, func() bool { return app("hc").Healthy == 2 }, "hc to have 2 healthy instances")
	waitFor(t, func() bool { a := app("uniq"); return a.Running == 1 && strings.Contains(a.Waiting, "hostname UNIQUE") },
		"uniq to run 1 instance and say the constraint holds the other back")
	waitFor(t, func() bool { a := app("crashy"); return a.Launches >= 3 && a.Backoff != "" }, "crashy to be relaunched and back off")

	// Scale down: the same definition with fewer instances is not a new
	// version.
	if code, body := do("PUT", "/apps/clock", `{"id": "clock", "instances": 1, "command": "exec `+sleeper+`", "mem": 16}`); code != http.StatusOK {
		t.Fatalf("scale clock: %d %s", code, body)
	}
	waitFor(t, func() bool { a := app("clock"); return a.Running == 1 && a.Killing == 0 }, "clock to scale down to 1")
	waitFor(t, func() bool { return masterTasks("clock.", api.TaskKilled) == 2 }, "the master to see 2 clock tasks killed")
	if a := app("clock"); a.Version != 1 || a.Launches != 3 {
		t.Fatalf("clock after scaling: version %d, %d launches; want 1 and 3", a.Version, a.Launches)
	}

	// A rolling restart never drops below 1 healthy instance of 2.
	if code, _ := do("POST", "/apps/hc/restart", ""); code != http.StatusAccepted {
		t.Fatalf("restart hc: %d", code)
	}
	minHealthy := 2
	waitFor(t, func() bool {
		a := app("hc")
		minHealthy = min(minHealthy, a.Healthy)
		if a.Version != 2 || a.Healthy != 2 || len(a.Instances) != 2 {
			return false
		}
		for _, in := range a.Instances {
			if in.Version != 2 {
				return false
			}
		}
		return true
	}, "hc to roll over to version 2")
	if minHealthy < 1 {
		t.Fatalf("hc dropped to %d healthy instances during its restart", minHealthy)
	}

	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"DELETE", "/apps/crashy", "", http.StatusNoContent},
		{"GET", "/apps/crashy", "", http.StatusNotFound},
		{"POST", "/apps/nope/restart", "", http.StatusNotFound},
		{"PUT", "/apps/x", `{"id": "x", "instances": 1`, http.StatusBadRequest},
		{"PUT", "/apps/x", `{"id": "y", "instances": 1, "command": "true"}`, http.StatusBadRequest},
		{"PUT", "/apps/x", `{"id": "x", "instances": 1, "command": "true", "constraints": [["hostname", "NEAR"]]}`, http.StatusBadRequest},
	} {
		if code, body := do(tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %s: %d %s, want %d", tt.method, tt.path, tt.body, code, body, tt.want)
		}
	}

	// The framework dies and comes back: same framework, same instances.
	waitFor(t, func() bool {
		return masterTasks("crashy.", api.TaskRunning) == 0 && masterTasks("crashy.", api.TaskStaging) == 0
	}, "crashy's instances to be gone")
	before := map[string]int{}
	for _, id := range []string{"clock", "uniq", "hc"} {
		before[id] = app(id).Launches
	}
	first.Process.Kill()
	first.Wait()
	startServices()
	waitFor(t, func() bool { return app("clock").Running == 1 && app("hc").Healthy == 2 && app("uniq").Running == 1 },
		"the restarted framework to report its instances")
	for id, n := range before {
		if got := app(id).Launches; got != n {
			t.Errorf("%s launched %d tasks after the framework restarted, want none (had %d)", id, got-n, n)
		}
	}
	saved := s.frameworkID()
	for _, task := range c.tasks(t).Tasks {
		if task.FrameworkID.Value != saved {
			t.Errorf("task %s belongs to framework %s, not the saved %s", task.TaskID.Value, task.FrameworkID.Value, saved)
		}
	}
	if n := masterTasks("clock.", api.TaskRunning) + masterTasks("hc.", api.TaskRunning) + masterTasks("uniq.", api.TaskRunning); n != 4 {
		t.Fatalf("the master runs %d service tasks, want 4", n)
	}
}

// sampleFramework runs a long-running sample framework (samples/services
// or samples/jobs) as a process, against the masters given, with its
// definitions file, its HTTP API on a free port and its state in a
// temporary directory.
type sampleFramework struct {
	t                  *testing.T
	name               string // services or jobs
	bin, masters, defs string
	state, addr        string
}

func newSampleFramework(t *testing.T, name, masters, defs string) *sampleFramework {
	t.Helper()
	dir := t.TempDir()
	s := &sampleFramework{t: t, name: name, masters: masters, defs: defs,
		state: filepath.Join(dir, "state.json"), addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	s.bin = buildSample(t, "samples/"+name)
	return s
}

func newServicesSample(t *testing.T, masters, appsFile string) *sampleFramework {
	return newSampleFramework(t, "services", masters, appsFile)
}

// start starts the framework; it is killed when the test ends.
func (s *sampleFramework) start() *exec.Cmd {
	t := s.t
	defsFlag := map[string]string{"services": "--apps", "jobs": "--jobs"}[s.name]
	cmd := exec.Command(s.bin, "--master", s.masters, defsFlag, s.defs, "--state", s.state, "--listen", s.addr)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s framework:\n%s", s.name, logs.String())
		}
	})
	return cmd
}

// do calls the framework's HTTP API; a call that fails answers 0.
func (s *sampleFramework) do(method, path, body string) (int, []byte) {
	req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// app returns what samples/services says of an app (zero if it cannot).
func (s *sampleFramework) app(id string) servicesApp {
	var a servicesApp
	if code, body := s.do("GET", "/apps/"+id, ""); code == http.StatusOK {
		json.Unmarshal(body, &a)
	}
	return a
}

// runs returns what samples/jobs says of a job's runs (none if it
// cannot).
func (s *sampleFramework) runs(job string) []jobsRun {
	var out []jobsRun
	if code, body := s.do("GET", "/jobs/"+job+"/runs", ""); code == http.StatusOK {
		json.Unmarshal(body, &out)
	}
	return out
}

// frameworkID is the framework ID in the sample's state file.
func (s *sampleFramework) frameworkID() string {
	var saved struct {
		FrameworkID string `json:"framework_id"`
	}
	data, _ := os.ReadFile(s.state)
	json.Unmarshal(data, &saved)
	return saved.FrameworkID
}

// TestSampleServicesSurvivesFailover runs samples/services against three
// replicated masters and SIGKILLs the leader: the framework follows the
// new leader under the same ID, its instances keep running without
// being launched again, and an app added after the failover is placed.
func TestSampleServicesSurvivesFailover(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	appsFile := filepath.Join(t.TempDir(), "apps.json")
	writeFile(t, appsFile, `[{"id": "clock", "instances": 2, "command": "exec sleep 61.345", "mem": 16}]`)
	s := newServicesSample(t, masters, appsFile)
	s.start()
	waitFor(t, func() bool { return s.app("clock").Running == 2 }, "clock to run 2 instances")
	id := s.frameworkID()

	c.kill(leader, syscall.SIGKILL)
	c.waitLeader(t)
	if code, body := s.do("PUT", "/apps/after", `{"id": "after", "instances": 1, "command": "exec sleep 61.345", "mem": 16}`); code != http.StatusOK {
		t.Fatalf("put an app after the failover: %d %s", code, body)
	}
	waitFor(t, func() bool { return s.app("after").Running == 1 }, "the app added after the failover to run")
	if a := s.app("clock"); a.Running != 2 || a.Launches != 2 {
		t.Fatalf("clock after the failover: %d running, %d launches; want 2 and 2", a.Running, a.Launches)
	}
	if got := s.frameworkID(); got != id {
		t.Fatalf("framework ID %s after the failover, was %s", got, id)
	}
}
