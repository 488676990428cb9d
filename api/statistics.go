package api

// ResourceStatistics is what a container has used, in the shape of
// Mesos's ResourceStatistics (mesos.proto), as an agent serves it on
// GET_CONTAINERS and /monitor/statistics. Mezzo meters CPU time as one
// figure, user and system together: it is in CPUsUserTimeSecs, with
// CPUsSystemTimeSecs 0, so that their sum — what Mesos tools compute
// usage from — is right. MemPeakBytes and FuelConsumed are Mezzo
// extensions.
type ResourceStatistics struct {
	// Timestamp is when the figures were taken, in seconds since the
	// epoch.
	Timestamp          Float64  `json:"timestamp"`
	CPUsUserTimeSecs   *Float64 `json:"cpus_user_time_secs,omitempty"`
	CPUsSystemTimeSecs *Float64 `json:"cpus_system_time_secs,omitempty"`
	// CPUsLimit is the task's cpus resource.
	CPUsLimit *Float64 `json:"cpus_limit,omitempty"`
	// MemRSSBytes is the memory in use: a Wasm task's linear memory
	// (which never shrinks); for a native task its peak, the only figure
	// its cgroup keeps.
	MemRSSBytes   *Uint64 `json:"mem_rss_bytes,omitempty"`
	MemLimitBytes *Uint64 `json:"mem_limit_bytes,omitempty"`
	// MemPeakBytes is the largest memory footprint seen (see
	// sandbox.Usage.PeakMemoryBytes for what each kind of task counts).
	MemPeakBytes *Uint64 `json:"mem_peak_bytes,omitempty"`
	// FuelConsumed is what a Wasm task executed in wasmtime's fuel units
	// (about one per instruction; sandbox.Usage.Fuel), present only on
	// agents that count fuel (`mezzo agent --wasm-fuel`).
	FuelConsumed *Uint64 `json:"fuel_consumed,omitempty"`
}

// ExecutorUsage is the payload of USAGE, a Mezzo extension of the v1
// Executor API: the built-in executor reports what each of its running
// tasks has used so far, about once a second, since the agent cannot see
// inside it (its Wasm tasks share its process). Executors that do not
// send it are simply not metered.
type ExecutorUsage struct {
	Tasks []TaskUsage `json:"tasks"`
}

// TaskUsage is one task's usage.
type TaskUsage struct {
	TaskID     TaskID             `json:"task_id"`
	Statistics ResourceStatistics `json:"statistics"`
}

// AgentOperatorCall is a call to an agent's operator API (POST /api/v1 on
// the agent, agent.proto). The agent answers GET_CONTAINERS; other types
// are refused as not implemented.
type AgentOperatorCall struct {
	Type          OperatorCallType        `json:"type"`
	GetContainers *AgentGetContainersCall `json:"get_containers,omitempty"`
}

// OperatorGetContainers is the agent operator call that lists containers.
const OperatorGetContainers OperatorCallType = "GET_CONTAINERS"

// AgentGetContainersCall asks for nested containers (a task in a shared
// executor is one) and standalone ones (Mezzo has none).
type AgentGetContainersCall struct {
	ShowNested     bool `json:"show_nested,omitempty"`
	ShowStandalone bool `json:"show_standalone,omitempty"`
}

// AgentOperatorResponse is an agent's answer to an AgentOperatorCall.
type AgentOperatorResponse struct {
	Type          OperatorCallType    `json:"type"`
	GetContainers *AgentGetContainers `json:"get_containers,omitempty"`
}

// AgentGetContainers lists an agent's containers: each executor, and,
// with show_nested, each task it runs as a container nested in the
// executor's (ContainerID.Parent), with the task's usage.
type AgentGetContainers struct {
	Containers []AgentContainer `json:"containers"`
}

// AgentContainer is one container of an agent.
type AgentContainer struct {
	FrameworkID        *FrameworkID        `json:"framework_id,omitempty"`
	ExecutorID         *ExecutorID         `json:"executor_id,omitempty"`
	ExecutorName       string              `json:"executor_name,omitempty"`
	ContainerID        ContainerID         `json:"container_id"`
	ContainerStatus    *ContainerStatus    `json:"container_status,omitempty"`
	ResourceStatistics *ResourceStatistics `json:"resource_statistics,omitempty"`
}

// MonitorStatistics is one entry of an agent's /monitor/statistics (the
// legacy endpoint's JSON array): a container's usage. Mezzo lists each
// task, with the ID of the executor that runs it and the task's ID in
// Source, as Mesos's command executor tasks appear there.
type MonitorStatistics struct {
	ExecutorID   string             `json:"executor_id"`
	ExecutorName string             `json:"executor_name"`
	FrameworkID  string             `json:"framework_id"`
	Source       string             `json:"source"`
	Statistics   ResourceStatistics `json:"statistics"`
}
