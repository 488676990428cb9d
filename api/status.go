package api

import "strings"

// TaskState is where a task is in its life; see IsTerminal.
type TaskState string

// Task states of mesos.proto.
const (
	TaskStaging        TaskState = "TASK_STAGING"
	TaskStarting       TaskState = "TASK_STARTING"
	TaskRunning        TaskState = "TASK_RUNNING"
	TaskKilling        TaskState = "TASK_KILLING"
	TaskFinished       TaskState = "TASK_FINISHED"
	TaskFailed         TaskState = "TASK_FAILED"
	TaskKilled         TaskState = "TASK_KILLED"
	TaskError          TaskState = "TASK_ERROR"
	TaskLost           TaskState = "TASK_LOST"
	TaskDropped        TaskState = "TASK_DROPPED"
	TaskUnreachable    TaskState = "TASK_UNREACHABLE"
	TaskGone           TaskState = "TASK_GONE"
	TaskGoneByOperator TaskState = "TASK_GONE_BY_OPERATOR"
	TaskUnknown        TaskState = "TASK_UNKNOWN"
)

// IsTerminal reports whether a task in state s will never run again, so its
// resources can be freed. TASK_LOST counts as terminal, as in Mesos, though
// a partitioned agent may yet bring such a task back.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskError, TaskLost,
		TaskDropped, TaskGone, TaskGoneByOperator:
		return true
	}
	return false
}

// Valid reports whether s is one of the task states above.
func (s TaskState) Valid() bool {
	switch s {
	case TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskUnreachable, TaskUnknown:
		return true
	}
	return s.IsTerminal()
}

// StatusSource says who produced a status update.
type StatusSource string

// Status sources.
const (
	SourceMaster   StatusSource = "SOURCE_MASTER"
	SourceAgent    StatusSource = "SOURCE_AGENT"
	SourceExecutor StatusSource = "SOURCE_EXECUTOR"
)

// StatusReason explains a status update.
type StatusReason string

// The reasons Mezzo produces (the full list is in mesos.proto; any name is
// carried through unchanged).
const (
	ReasonCommandExecutorFailed         StatusReason = "REASON_COMMAND_EXECUTOR_FAILED"
	ReasonContainerLaunchFailed         StatusReason = "REASON_CONTAINER_LAUNCH_FAILED"
	ReasonContainerLimitation           StatusReason = "REASON_CONTAINER_LIMITATION"
	ReasonContainerLimitationDisk       StatusReason = "REASON_CONTAINER_LIMITATION_DISK"
	ReasonContainerLimitationMemory     StatusReason = "REASON_CONTAINER_LIMITATION_MEMORY"
	ReasonContainerPreempted            StatusReason = "REASON_CONTAINER_PREEMPTED"
	ReasonContainerUpdateFailed         StatusReason = "REASON_CONTAINER_UPDATE_FAILED"
	ReasonMaxCompletionTimeReached      StatusReason = "REASON_MAX_COMPLETION_TIME_REACHED"
	ReasonExecutorRegistrationTimeout   StatusReason = "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
	ReasonExecutorReregistrationTimeout StatusReason = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
	ReasonExecutorTerminated            StatusReason = "REASON_EXECUTOR_TERMINATED"
	ReasonExecutorUnregistered          StatusReason = "REASON_EXECUTOR_UNREGISTERED"
	ReasonFrameworkRemoved              StatusReason = "REASON_FRAMEWORK_REMOVED"
	ReasonGCError                       StatusReason = "REASON_GC_ERROR"
	ReasonInvalidFrameworkID            StatusReason = "REASON_INVALID_FRAMEWORKID"
	ReasonInvalidOffers                 StatusReason = "REASON_INVALID_OFFERS"
	ReasonIOSwitchboardExited           StatusReason = "REASON_IO_SWITCHBOARD_EXITED"
	ReasonMasterDisconnected            StatusReason = "REASON_MASTER_DISCONNECTED"
	ReasonReconciliation                StatusReason = "REASON_RECONCILIATION"
	ReasonResourcesUnknown              StatusReason = "REASON_RESOURCES_UNKNOWN"
	ReasonAgentDisconnected             StatusReason = "REASON_AGENT_DISCONNECTED"
	ReasonAgentDraining                 StatusReason = "REASON_AGENT_DRAINING"
	ReasonAgentReregistered             StatusReason = "REASON_AGENT_REREGISTERED"
	ReasonAgentRemoved                  StatusReason = "REASON_AGENT_REMOVED"
	ReasonAgentRemovedByOperator        StatusReason = "REASON_AGENT_REMOVED_BY_OPERATOR"
	ReasonAgentRestarted                StatusReason = "REASON_AGENT_RESTARTED"
	ReasonAgentUnknown                  StatusReason = "REASON_AGENT_UNKNOWN"
	ReasonTaskCheckStatusUpdated        StatusReason = "REASON_TASK_CHECK_STATUS_UPDATED"
	ReasonTaskHealthCheckStatusUpdated  StatusReason = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
	ReasonTaskGroupInvalid              StatusReason = "REASON_TASK_GROUP_INVALID"
	ReasonTaskGroupUnauthorized         StatusReason = "REASON_TASK_GROUP_UNAUTHORIZED"
	ReasonTaskInvalid                   StatusReason = "REASON_TASK_INVALID"
	ReasonTaskKilledDuringLaunch        StatusReason = "REASON_TASK_KILLED_DURING_LAUNCH"
	ReasonTaskUnauthorized              StatusReason = "REASON_TASK_UNAUTHORIZED"
	ReasonTaskUnknown                   StatusReason = "REASON_TASK_UNKNOWN"
)

// ExitCodeLabel is the label of a terminal status update that carries the
// task's exit code. TaskStatus has no exit code field; Mesos writes it in
// the message ("Command exited with status 3"), which Mezzo keeps, and
// adds this label so that clients need not parse prose.
const ExitCodeLabel = "mezzo.exit_code"

// SignalLabel is the label of a terminal status update that carries the
// number of the signal that ended the task's native process, as the
// agent's OS numbers it ("9" for SIGKILL on Linux), whoever sent it: a
// crash, the kernel's OOM killer, a CPU-time rlimit, another process, or
// the executor's kill. A status carries it or ExitCodeLabel, never both;
// a Wasm task, which has no signals, never carries it. Mesos names the
// signal only in the message ("Command terminated with signal Killed"),
// which Mezzo keeps; the label is there so that clients such as mezzo run
// (which exits 128 plus it, as a shell does) need not parse prose.
const SignalLabel = "mezzo.signal"

// CPUSecondsLabel, PeakMemoryLabel and FuelLabel are labels of a
// terminal status update from Mezzo's built-in executor that carry what
// the task used in all: its CPU time in seconds, its peak memory in bytes
// and, where the agent counts it, its fuel (see ResourceStatistics), so
// that usage outlives the task on the master.
const (
	CPUSecondsLabel = "mezzo.cpu_seconds"
	PeakMemoryLabel = "mezzo.peak_memory_bytes"
	FuelLabel       = "mezzo.fuel_consumed"
)

// SandboxLabel is the label of a status update, set by the agent, that
// carries the task's sandbox directory as the agent's files API (and the
// master's proxy of it) names it, e.g.
// "/<framework>/<executor>/runs/<container>/tasks/<task>": tasks share
// their framework's executor, so the directory cannot be derived from the
// task's ID; clients read the task's stdout and stderr there.
const SandboxLabel = "mezzo.sandbox"

// SandboxPath is the files-API path of a task's sandbox, the directory
// holding its stdout and stderr: what the agent put in st's SandboxLabel,
// or for a status without it (from an agent that does not set it, or one
// the master made up) the latest run of executorID's sandbox, which is
// where a task whose executor is named after it runs. It is the one rule
// the CLI, frameworks and the console follow to find a task's output.
func SandboxPath(st TaskStatus, frameworkID, executorID string) string {
	if v, _ := st.Labels.Get(SandboxLabel); v != "" {
		return strings.TrimSuffix(v, "/")
	}
	return "/" + frameworkID + "/" + executorID + "/runs/latest"
}

// TaskStatus is one status update of a task. A status with a UUID came from
// an agent or executor and must be acknowledged; the master strips the UUID
// from updates that need no acknowledgement.
type TaskStatus struct {
	TaskID          TaskID                  `json:"task_id"`
	State           TaskState               `json:"state"`
	Message         string                  `json:"message,omitempty"`
	Source          StatusSource            `json:"source,omitempty"`
	Reason          StatusReason            `json:"reason,omitempty"`
	Data            []byte                  `json:"data,omitempty"`
	AgentID         *AgentID                `json:"agent_id,omitempty"`
	ExecutorID      *ExecutorID             `json:"executor_id,omitempty"`
	Timestamp       Float64                 `json:"timestamp,omitempty"`
	UUID            []byte                  `json:"uuid,omitempty"`
	Healthy         *bool                   `json:"healthy,omitempty"`
	CheckStatus     *CheckStatusInfo        `json:"check_status,omitempty"`
	Labels          *Labels                 `json:"labels,omitempty"`
	ContainerStatus *ContainerStatus        `json:"container_status,omitempty"`
	UnreachableTime *TimeInfo               `json:"unreachable_time,omitempty"`
	Limitation      *TaskResourceLimitation `json:"limitation,omitempty"`
}

// ContainerStatus describes the container a task runs in.
type ContainerStatus struct {
	ContainerID  *ContainerID  `json:"container_id,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
	CgroupInfo   *CgroupInfo   `json:"cgroup_info,omitempty"`
	ExecutorPID  *Uint64       `json:"executor_pid,omitempty"`
}

// CgroupInfo names a container's cgroups.
type CgroupInfo struct {
	NetCls *CgroupNetCls `json:"net_cls,omitempty"`
}

// CgroupNetCls is a net_cls class id.
type CgroupNetCls struct {
	ClassID *Uint64 `json:"classid,omitempty"`
}

// TaskResourceLimitation names the resources whose limit a task hit.
type TaskResourceLimitation struct {
	Resources []Resource `json:"resources,omitempty"`
}
