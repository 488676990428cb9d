package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/google/renameio/v2"
)

// Job is what a user defines, in the jobs file or through the HTTP API.
// Exactly one of Schedule and Parents says when it runs; exactly one of
// Command and Module says what runs.
type Job struct {
	Name string `json:"name"`
	// Schedule is an ISO 8601 repeating interval or a cron expression
	// (see parseSchedule).
	Schedule string `json:"schedule,omitempty"`
	// Parents makes the job dependent: it runs once every parent has
	// succeeded since its own last run, as in Chronos.
	Parents []string `json:"parents,omitempty"`
	// Command runs under /bin/sh -c on an agent.
	Command string `json:"command,omitempty"`
	// Module is the SHA-256 of a stored Wasm module, run with Args.
	Module string   `json:"module,omitempty"`
	Args   []string `json:"args,omitempty"`
	CPUs   float64  `json:"cpus,omitempty"`
	Mem    float64  `json:"mem,omitempty"`
	// Retries is how many times a failed run is attempted again.
	Retries int `json:"retries,omitempty"`
}

var jobName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
var moduleHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validate checks a job on its own; checkGraph checks it among others.
func (j *Job) validate() error {
	if !jobName.MatchString(j.Name) {
		return fmt.Errorf("job name %q: want 1–63 of a-z, 0-9, '-', '_', starting with a letter or digit", j.Name)
	}
	if (j.Schedule == "") == (len(j.Parents) == 0) {
		return fmt.Errorf("job %s: give exactly one of 'schedule' and 'parents'", j.Name)
	}
	if j.Schedule != "" {
		if _, err := parseSchedule(j.Schedule); err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
	}
	if (j.Command == "") == (j.Module == "") {
		return fmt.Errorf("job %s: give exactly one of 'command' and 'module'", j.Name)
	}
	if j.Module != "" && !moduleHash.MatchString(j.Module) {
		return fmt.Errorf("job %s: 'module' must be a module's lowercase hex SHA-256", j.Name)
	}
	if j.Command != "" && len(j.Args) > 0 {
		return fmt.Errorf("job %s: 'args' go with a module; put a command's arguments in the command", j.Name)
	}
	if j.CPUs < 0 || j.Mem < 0 || j.Retries < 0 || j.Retries > 100 {
		return fmt.Errorf("job %s: cpus and mem must be ≥ 0 and retries between 0 and 100", j.Name)
	}
	return nil
}

// withDefaults fills the resources a job left out.
func (j Job) withDefaults() Job {
	if j.CPUs == 0 {
		j.CPUs = 0.1
	}
	if j.Mem == 0 {
		j.Mem = 32
	}
	return j
}

// decodeJob reads one job definition, refusing unknown fields: a typo in
// a field name would otherwise silently change what the job does.
func decodeJob(r io.Reader) (Job, error) {
	var j Job
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Job{}, fmt.Errorf("job definition: %w", err)
	}
	if dec.More() {
		return Job{}, errors.New("job definition: more than one JSON value")
	}
	return j, j.validate()
}

// checkGraph checks that every parent exists and that the dependencies
// have no cycle.
func checkGraph(jobs map[string]Job) error {
	for _, j := range jobs {
		for _, p := range j.Parents {
			if _, ok := jobs[p]; !ok {
				return fmt.Errorf("job %s: parent %q does not exist", j.Name, p)
			}
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	mark := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch mark[name] {
		case visiting:
			return fmt.Errorf("jobs depend on each other in a cycle: %v", append(path, name))
		case done:
			return nil
		}
		mark[name] = visiting
		for _, p := range jobs[name].Parents {
			if err := visit(p, append(path, name)); err != nil {
				return err
			}
		}
		mark[name] = done
		return nil
	}
	for name := range jobs {
		if err := visit(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// Run is one run of a job, kept in its history.
type Run struct {
	Number  int       `json:"number"`
	Trigger string    `json:"trigger"` // schedule, parents or manual
	State   string    `json:"state"`   // queued, running, succeeded or failed
	Queued  time.Time `json:"queued"`
	Ended   time.Time `json:"ended,omitzero"`
	// Attempts counts the tasks launched for the run; TaskID is the
	// latest, Message what its last status said.
	Attempts int `json:"attempts"`
	// Lost counts the attempts whose task never ran because its launch
	// died with a master: they are no failure of the job, so they use up
	// no retries.
	Lost int `json:"lost,omitempty"`
	// Ran is set once the current attempt reported TASK_RUNNING.
	Ran     bool   `json:"ran,omitempty"`
	TaskID  string `json:"task_id,omitempty"`
	AgentID string `json:"agent_id,omitempty"`
	Message string `json:"message,omitempty"`
}

// Run states.
const (
	runQueued    = "queued"
	runRunning   = "running"
	runSucceeded = "succeeded"
	runFailed    = "failed"
)

// jobState is a job with what the framework knows about it.
type jobState struct {
	Job Job `json:"job"`
	// Next is when the schedule runs the job next (zero: never).
	Next time.Time `json:"next,omitzero"`
	// ParentsDone holds the parents that succeeded since the job's last
	// run.
	ParentsDone map[string]bool `json:"parents_done,omitempty"`
	// Pending is set when the job was triggered while a run was under
	// way: it runs once more when that run ends.
	Pending    string `json:"pending,omitempty"`
	Runs       []Run  `json:"runs"` // oldest first, at most historySize
	LastNumber int    `json:"last_number"`
}

// historySize is how many runs each job keeps.
const historySize = 50

// state is everything the framework must remember across its own
// restarts, written to one file after every change.
type state struct {
	FrameworkID string               `json:"framework_id,omitempty"`
	Jobs        map[string]*jobState `json:"jobs"`
}

func loadState(path string) (*state, error) {
	s := &state{Jobs: map[string]*jobState{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if s.Jobs == nil {
		s.Jobs = map[string]*jobState{}
	}
	return s, nil
}

// save writes the state atomically (renameio: a temporary file, fsync,
// rename): a crash leaves the old file or the new one, never half of one.
func (s *state) save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := renameio.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}
