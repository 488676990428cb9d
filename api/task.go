package api

import (
	"encoding/json"
	"math"
)

// TaskInfo describes a task to launch. Exactly one of Executor and Command
// is set, except for Wasm tasks, whose Container names the module and which
// need neither.
type TaskInfo struct {
	Name              string                  `json:"name"`
	TaskID            TaskID                  `json:"task_id"`
	AgentID           AgentID                 `json:"agent_id"`
	Resources         []Resource              `json:"resources,omitempty"`
	Executor          *ExecutorInfo           `json:"executor,omitempty"`
	Command           *CommandInfo            `json:"command,omitempty"`
	Container         *ContainerInfo          `json:"container,omitempty"`
	HealthCheck       *HealthCheck            `json:"health_check,omitempty"`
	Check             *CheckInfo              `json:"check,omitempty"`
	KillPolicy        *KillPolicy             `json:"kill_policy,omitempty"`
	Data              []byte                  `json:"data,omitempty"`
	Labels            *Labels                 `json:"labels,omitempty"`
	Discovery         *DiscoveryInfo          `json:"discovery,omitempty"`
	MaxCompletionTime *DurationInfo           `json:"max_completion_time,omitempty"`
	Limits            map[string]Float64Value `json:"limits,omitempty"`
}

// Float64Value is Mesos's Value.Scalar-like wrapper used by task limits,
// whose value may be "Infinity".
type Float64Value struct {
	Value Float64 `json:"value"`
}

// IsWasm reports whether the task runs a WebAssembly module.
func (t *TaskInfo) IsWasm() bool {
	return t.Container != nil && t.Container.Type == ContainerWasm && t.Container.Wasm != nil
}

// MemoryBytes is the task's memory cap in bytes as its executor enforces
// it, 0 for none: its limits.mem if it has one (Infinity: none), else its
// mem resource, both in MB as in Mesos; for a Wasm task whose limits set
// memory_pages, those pages instead. The agent sizes an executor's cgroup
// from it, so it must stay the rule the executor applies.
func (t *TaskInfo) MemoryBytes() uint64 {
	if t.IsWasm() && t.Container.Wasm.Limits != nil && t.Container.Wasm.Limits.MemoryPages > 0 {
		return uint64(t.Container.Wasm.Limits.MemoryPages) * 65536
	}
	mb := float64(Resources(t.Resources).ScalarValue("mem"))
	if l, ok := t.Limits["mem"]; ok {
		mb = float64(l.Value)
	}
	if mb <= 0 || math.IsInf(mb, 1) {
		return 0
	}
	return uint64(mb * (1 << 20))
}

// DiskBytes is the task's sandbox disk in bytes, 0 for none: its disk
// resources in MB, as in Mesos, but persistent volumes and disks from a
// source (Resources.SandboxDiskBytes). The agent bounds what fetching the
// task's URIs writes into its sandbox by it.
func (t *TaskInfo) DiskBytes() uint64 { return Resources(t.Resources).SandboxDiskBytes() }

// CommandInfo is a native command. Shell defaults to true, in which case
// Value runs under /bin/sh -c; otherwise Value is the executable and
// Arguments its argv.
type CommandInfo struct {
	URIs        []CommandURI `json:"uris,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Shell       *bool        `json:"shell,omitempty"`
	Value       string       `json:"value,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	User        string       `json:"user,omitempty"`
}

// RunAs returns the user that the native code c describes runs as, as
// the framework names it: c's user, else the framework's. "" means the
// agent's default task user. c may be nil (a Wasm task's COMMAND checks
// run as the framework's user).
func RunAs(fw *FrameworkInfo, c *CommandInfo) string {
	if c != nil && c.User != "" {
		return c.User
	}
	return fw.User
}

// RunsAsUser reports whether the task is a native command that names the
// user it runs as (the agent writes the user in before the launch reaches
// the executor). Such a task never runs in its executor's own sandbox
// directory, only in tasks/<task ID> under it (see sandbox.TaskDir): a
// directory its user owns must not hold what root writes later.
func (t *TaskInfo) RunsAsUser() bool {
	return !t.IsWasm() && t.Command != nil && t.Command.User != ""
}

// RunsCommandChecks reports whether the task has a health check or a
// check that runs a command on the agent: native code even for a Wasm
// task, run as the task's user.
func (t *TaskInfo) RunsCommandChecks() bool {
	return t.HealthCheck != nil && t.HealthCheck.Command != nil || t.Check != nil && t.Check.Command != nil
}

// RunsNativeCode reports whether the task runs anything on its agent
// but WebAssembly: a native command, or a command check of a Wasm task.
// An agent that runs Wasm only refuses it, and an ACL must grant native
// code for it.
func (t *TaskInfo) RunsNativeCode() bool { return !t.IsWasm() || t.RunsCommandChecks() }

// IsShell reports whether the command runs under a shell (the default).
func (c *CommandInfo) IsShell() bool { return c.Shell == nil || *c.Shell }

// MarshalJSON prints shell even when unset, as Mesos does.
func (c CommandInfo) MarshalJSON() ([]byte, error) {
	type plain CommandInfo
	p := plain(c)
	p.Shell = Ptr(c.IsShell())
	return json.Marshal(p)
}

// CommandURI is something to fetch into the sandbox before the command runs
// (CommandInfo.URI in mesos.proto). Extract defaults to true.
type CommandURI struct {
	Value      string `json:"value"`
	Executable *bool  `json:"executable,omitempty"`
	Extract    *bool  `json:"extract,omitempty"`
	Cache      *bool  `json:"cache,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// MarshalJSON prints extract even when unset.
func (u CommandURI) MarshalJSON() ([]byte, error) {
	type plain CommandURI
	p := plain(u)
	if p.Extract == nil {
		p.Extract = Ptr(true)
	}
	return json.Marshal(p)
}

// Environment is a list of variables for a command or module.
type Environment struct {
	Variables []EnvironmentVariable `json:"variables,omitempty"`
}

// Map returns the VALUE variables as a map; later names win.
func (e *Environment) Map() map[string]string {
	m := map[string]string{}
	if e == nil {
		return m
	}
	for _, v := range e.Variables {
		if v.Type == "" || v.Type == "VALUE" {
			m[v.Name] = v.Value
		}
	}
	return m
}

// EnvironmentVariable is one variable. Type defaults to VALUE and is always
// printed; SECRET variables carry a Secret instead of a Value.
type EnvironmentVariable struct {
	Name   string  `json:"name"`
	Type   string  `json:"type,omitempty"`
	Value  string  `json:"value,omitempty"`
	Secret *Secret `json:"secret,omitempty"`
}

// MarshalJSON prints the default type VALUE when unset.
func (v EnvironmentVariable) MarshalJSON() ([]byte, error) {
	type plain EnvironmentVariable
	p := plain(v)
	if p.Type == "" {
		p.Type = "VALUE"
	}
	return json.Marshal(p)
}

// Secret is a reference to, or the value of, a secret.
type Secret struct {
	Type      string       `json:"type"`
	Reference *SecretRef   `json:"reference,omitempty"`
	Value     *SecretValue `json:"value,omitempty"`
}

// SecretRef names a secret held by a secret store.
type SecretRef struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

// SecretValue carries a secret inline.
type SecretValue struct {
	Data []byte `json:"data"`
}

// ExecutorType tells the built-in default executor from a framework's own.
type ExecutorType string

// Executor types.
const (
	ExecutorDefault ExecutorType = "DEFAULT"
	ExecutorCustom  ExecutorType = "CUSTOM"
)

// ExecutorInfo describes an executor: the built-in default executor
// (LAUNCH_GROUP) or a framework's own program given by Command.
type ExecutorInfo struct {
	Type                ExecutorType   `json:"type,omitempty"`
	ExecutorID          ExecutorID     `json:"executor_id"`
	FrameworkID         *FrameworkID   `json:"framework_id,omitempty"`
	Command             *CommandInfo   `json:"command,omitempty"`
	Container           *ContainerInfo `json:"container,omitempty"`
	Resources           []Resource     `json:"resources,omitempty"`
	Name                string         `json:"name,omitempty"`
	Source              string         `json:"source,omitempty"`
	Data                []byte         `json:"data,omitempty"`
	Discovery           *DiscoveryInfo `json:"discovery,omitempty"`
	ShutdownGracePeriod *DurationInfo  `json:"shutdown_grace_period,omitempty"`
	Labels              *Labels        `json:"labels,omitempty"`
}

// KillPolicy says how long a task gets between SIGTERM and SIGKILL.
type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

// DiscoveryInfo makes a task findable by service discovery.
type DiscoveryInfo struct {
	Visibility  string  `json:"visibility"`
	Name        string  `json:"name,omitempty"`
	Environment string  `json:"environment,omitempty"`
	Location    string  `json:"location,omitempty"`
	Version     string  `json:"version,omitempty"`
	Ports       *Ports  `json:"ports,omitempty"`
	Labels      *Labels `json:"labels,omitempty"`
}

// Ports lists named ports for discovery.
type Ports struct {
	Ports []Port `json:"ports,omitempty"`
}

// Port is one named port.
type Port struct {
	Number     Uint64  `json:"number"`
	Name       string  `json:"name,omitempty"`
	Protocol   string  `json:"protocol,omitempty"`
	Visibility string  `json:"visibility,omitempty"`
	Labels     *Labels `json:"labels,omitempty"`
}

// Task is the master's and agent's record of a launched task (mesos.proto
// Task), as served by the operator API. State is the latest state known;
// StatusUpdateState and StatusUpdateUUID describe the update being delivered
// to the framework.
type Task struct {
	Name              string                  `json:"name"`
	TaskID            TaskID                  `json:"task_id"`
	FrameworkID       FrameworkID             `json:"framework_id"`
	ExecutorID        *ExecutorID             `json:"executor_id,omitempty"`
	AgentID           AgentID                 `json:"agent_id"`
	State             TaskState               `json:"state"`
	Resources         []Resource              `json:"resources,omitempty"`
	Statuses          []TaskStatus            `json:"statuses,omitempty"`
	StatusUpdateState TaskState               `json:"status_update_state,omitempty"`
	StatusUpdateUUID  []byte                  `json:"status_update_uuid,omitempty"`
	Labels            *Labels                 `json:"labels,omitempty"`
	Discovery         *DiscoveryInfo          `json:"discovery,omitempty"`
	Container         *ContainerInfo          `json:"container,omitempty"`
	HealthCheck       *HealthCheck            `json:"health_check,omitempty"`
	User              string                  `json:"user,omitempty"`
	KillPolicy        *KillPolicy             `json:"kill_policy,omitempty"`
	Limits            map[string]Float64Value `json:"limits,omitempty"`
}

// TaskEnvironment is the environment every task gets besides its own
// variables: the MESOS_* names Mesos tasks rely on and their MEZZO_*
// equivalents. sandbox is the sandbox as the task sees it ("/" for a Wasm
// task). The executor gives it to tasks and the agent to the checks it
// runs beside them; one definition keeps the two the same. The task's own
// variables (env) win.
func TaskEnvironment(frameworkID, executorID, agentID, taskID, sandbox string, env *Environment) map[string]string {
	m := map[string]string{
		"MESOS_SANDBOX":      sandbox,
		"MESOS_TASK_ID":      taskID,
		"MESOS_FRAMEWORK_ID": frameworkID,
		"MESOS_EXECUTOR_ID":  executorID,
		"MEZZO_SANDBOX":      sandbox,
		"MEZZO_TASK_ID":      taskID,
		"MEZZO_FRAMEWORK_ID": frameworkID,
		"MEZZO_AGENT_ID":     agentID,
	}
	for k, v := range env.Map() {
		m[k] = v
	}
	return m
}
