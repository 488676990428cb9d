package registry

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// Framework is the durable record of a framework.
type Framework struct {
	ID         string            `json:"id"`
	Info       api.FrameworkInfo `json:"info"`
	Registered time.Time         `json:"registered"`
	// FailoverDeadline is when a disconnected framework is removed; zero
	// while it is connected. A new leader keeps counting from it rather
	// than starting the timeout afresh, as Mesos does.
	FailoverDeadline time.Time `json:"failover_deadline,omitzero"`
	// Completed is when the framework was removed; zero while it lives.
	Completed time.Time `json:"completed,omitzero"`
	// Recovered marks a framework known only from an agent's tasks.
	Recovered bool `json:"recovered,omitempty"`
}

// AgentState is the lifecycle of an agent as the registry records it.
type AgentState string

// The agent states.
const (
	AgentActive      AgentState = "active"
	AgentDraining    AgentState = "draining"
	AgentUnreachable AgentState = "unreachable"
	AgentGone        AgentState = "gone"
)

// Agent is the durable record of an agent.
type Agent struct {
	ID          string         `json:"id"`
	Info        api.AgentInfo  `json:"info"`
	State       AgentState     `json:"state"`
	Deactivated bool           `json:"deactivated,omitempty"`
	Drain       *api.DrainInfo `json:"drain,omitempty"`
	Registered  time.Time      `json:"registered"`
	// Since is when the agent entered State (unreachable or gone).
	Since time.Time `json:"since,omitzero"`
}

// Task is the durable record of a launched task.
type Task struct {
	Framework string       `json:"framework"`
	Agent     string       `json:"agent"`
	Role      string       `json:"role"`
	Group     bool         `json:"group,omitempty"`
	Info      api.TaskInfo `json:"info"`
	// State is the last state the master knows.
	State api.TaskState `json:"state"`
	// Statuses is the task's status history, oldest first, as the master
	// keeps it (bounded), so that GET_TASKS shows the same history after a
	// failover.
	Statuses []api.TaskStatus `json:"statuses,omitempty"`
	// Latest is the last status, in records written before Statuses
	// existed; a master reads it when Statuses is empty and writes it no
	// more.
	Latest *api.TaskStatus `json:"latest,omitempty"`
	// Pending is the agent's update waiting for the framework's
	// acknowledgement, sent again after a failover; nil when none waits.
	Pending *api.TaskStatus `json:"pending,omitempty"`
	// Acknowledged is the last update the framework acknowledged.
	Acknowledged *api.TaskStatus `json:"acknowledged,omitempty"`
	// Completed marks a terminal task whose last update was acknowledged.
	Completed bool `json:"completed,omitempty"`
}

// Key is the task's key in BucketTasks.
func (t Task) Key() string { return TaskKey(t.Framework, t.Info.TaskID.Value) }

// TaskKey is a task's key in BucketTasks.
func TaskKey(framework, task string) string { return framework + "/" + task }

// State is everything the registry holds, as a master loads it when it
// becomes leader.
type State struct {
	Frameworks  map[string]Framework
	Agents      map[string]Agent
	Tasks       map[string]Task
	Modules     map[string]json.RawMessage
	Weights     map[string]float64
	Quotas      map[string]api.QuotaConfig
	Maintenance *Maintenance
	// AgentDigests are the Digest of each agent's record as stored, so
	// that a master can tell a save that would change nothing.
	AgentDigests map[string]uint64
	// Applied is the raft index the state reflects.
	Applied uint64
}

// Load reads the whole state from the FSM's file.
func (f *FSM) Load() (*State, error) {
	s := &State{
		Frameworks: map[string]Framework{}, Agents: map[string]Agent{}, Tasks: map[string]Task{},
		Modules: map[string]json.RawMessage{}, Weights: map[string]float64{}, Quotas: map[string]api.QuotaConfig{},
		AgentDigests: map[string]uint64{},
	}
	agents := into(s.Agents)
	err := f.View(func(tx *bolt.Tx) error {
		s.Applied = appliedIndex(tx)
		for _, l := range []struct {
			bucket string
			into   func(k string, v []byte) error
		}{
			{BucketFrameworks, into(s.Frameworks)},
			{BucketAgents, func(k string, v []byte) error {
				s.AgentDigests[k] = Digest(v)
				return agents(k, v)
			}},
			{BucketTasks, into(s.Tasks)},
			{BucketModules, into(s.Modules)},
			{BucketWeights, into(s.Weights)},
			{BucketQuotas, into(s.Quotas)},
		} {
			err := tx.Bucket([]byte(l.bucket)).ForEach(func(k, v []byte) error { return l.into(string(k), v) })
			if err != nil {
				return fmt.Errorf("load %s: %w", l.bucket, err)
			}
		}
		if v := tx.Bucket([]byte(BucketMaintenance)).Get([]byte("schedule")); v != nil {
			s.Maintenance = &Maintenance{}
			if err := json.Unmarshal(v, s.Maintenance); err != nil {
				return fmt.Errorf("load maintenance: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	return s, nil
}

// HasModule reports whether the registry records metadata for the module
// named sha, without loading the rest of the state.
func (f *FSM) HasModule(sha string) (bool, error) {
	found := false
	err := f.View(func(tx *bolt.Tx) error {
		found = tx.Bucket([]byte(BucketModules)).Get([]byte(sha)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("look up module %s: %w", sha, err)
	}
	return found, nil
}

// ModuleNames lists the modules the registry records, by sha256, without
// loading the rest of the state.
func (f *FSM) ModuleNames() ([]string, error) {
	var out []string
	err := f.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(BucketModules)).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	return out, nil
}

// DeletedModules lists the modules the registry records as deleted and
// does not list again since (an upload after a deletion lists a module
// anew and leaves its tombstone inert), by sha256: the modules whose
// files every master removes.
func (f *FSM) DeletedModules() ([]string, error) {
	var out []string
	err := f.View(func(tx *bolt.Tx) error {
		listed := tx.Bucket([]byte(BucketModules))
		return tx.Bucket([]byte(BucketDeletedModules)).ForEach(func(k, _ []byte) error {
			if listed.Get(k) == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list deleted modules: %w", err)
	}
	return out, nil
}

// ModuleDeleted reports whether module sha is deleted: it has a
// tombstone and is not listed again.
func (f *FSM) ModuleDeleted(sha string) (bool, error) {
	deleted := false
	err := f.View(func(tx *bolt.Tx) error {
		deleted = tx.Bucket([]byte(BucketDeletedModules)).Get([]byte(sha)) != nil &&
			tx.Bucket([]byte(BucketModules)).Get([]byte(sha)) == nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("look up module %s: %w", sha, err)
	}
	return deleted, nil
}

// Digest is a 64-bit FNV-1a hash of a stored record's bytes: records are
// marshalled the same way every time, so equal records have equal
// digests.
func Digest(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

func into[V any](m map[string]V) func(k string, v []byte) error {
	return func(k string, b []byte) error {
		var v V
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("record %s: %w", k, err)
		}
		m[k] = v
		return nil
	}
}

// The helpers below build the commands the master applies.

// PutFramework records a framework.
func PutFramework(f Framework) Command {
	return Command{Changes: []Change{Put(BucketFrameworks, f.ID, f)}}
}

// PutAgent records an agent.
func PutAgent(a Agent) Command { return Command{Changes: []Change{Put(BucketAgents, a.ID, a)}} }

// PutTask records a task.
func PutTask(t Task) Command { return Command{Changes: []Change{Put(BucketTasks, t.Key(), t)}} }

// LaunchTasks records newly launched tasks under a launch ID, so that the
// launch applies once however often it is retried.
func LaunchTasks(launchID string, tasks ...Task) Command {
	c := Command{Once: "launch/" + launchID}
	for _, t := range tasks {
		c.Changes = append(c.Changes, Put(BucketTasks, t.Key(), t))
	}
	return c
}

// DeleteTask forgets a task.
func DeleteTask(framework, task string) Command {
	return Command{Changes: []Change{Delete(BucketTasks, TaskKey(framework, task))}}
}

// PutModule records a module's metadata.
func PutModule(sha string, meta any) Command {
	return Command{Changes: []Change{Put(BucketModules, sha, meta)}}
}

// DeletedModule is the tombstone of a deleted module, kept in
// BucketDeletedModules so that every master — one that restores a
// snapshot or restarts after a crash included — knows to remove the
// module's file, and removes nothing the registry merely never listed.
// Deleted is when the leader committed the deletion.
type DeletedModule struct {
	SHA256  string    `json:"sha256"`
	Deleted time.Time `json:"deleted"`
}

// DeleteModule forgets a module's metadata and leaves its tombstone, so
// that every master removes the module's file when it applies the
// command, or later from a snapshot or at its next start
// (FSM.DeletedModules). A later PutModule lists the module again.
func DeleteModule(d DeletedModule) Command {
	return Command{Changes: []Change{Delete(BucketModules, d.SHA256), Put(BucketDeletedModules, d.SHA256, d)}}
}

// PutWeight sets a role's weight.
func PutWeight(role string, w float64) Command {
	return Command{Changes: []Change{Put(BucketWeights, role, w)}}
}

// PutQuota sets a role's quota; DeleteQuota clears it.
func PutQuota(q api.QuotaConfig) Command {
	return Command{Changes: []Change{Put(BucketQuotas, q.Role, q)}}
}

// DeleteQuota clears a role's quota.
func DeleteQuota(role string) Command {
	return Command{Changes: []Change{Delete(BucketQuotas, role)}}
}

// Maintenance is the durable record of maintenance: the schedule and the
// machines brought down (START_MAINTENANCE) and not yet up again.
type Maintenance struct {
	Schedule api.MaintenanceSchedule `json:"schedule"`
	Down     []api.MachineID         `json:"down,omitempty"`
}

// PutMaintenance replaces the maintenance record.
func PutMaintenance(m Maintenance) Command {
	return Command{Changes: []Change{Put(BucketMaintenance, "schedule", m)}}
}
