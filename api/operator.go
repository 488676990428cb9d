package api

import "encoding/json"

// The operator API is Mesos's v1 master operator API (master.proto): an
// operator, a tool or the console POSTs an OperatorCall to the master's
// /api/v1. Every call but SUBSCRIBE is answered synchronously, with an
// OperatorResponse of the same type (200) for queries and an empty 202 for
// changes; SUBSCRIBE answers with a RecordIO stream of OperatorEvents.

// OperatorCallType names an operator call, and also the OperatorResponse
// that answers it: master.proto's Call.Type and Response.Type share their
// names, and a response's type is its call's.
type OperatorCallType string

// Operator call types (master.proto, message Call). UNKNOWN is valid on the
// wire and is answered with 501 Not Implemented, as Mesos does. The
// deprecated SET_QUOTA and REMOVE_QUOTA are not supported; UPDATE_QUOTA
// replaces both.
const (
	OperatorUnknown                   OperatorCallType = "UNKNOWN"
	OperatorGetHealth                 OperatorCallType = "GET_HEALTH"
	OperatorGetFlags                  OperatorCallType = "GET_FLAGS"
	OperatorGetVersion                OperatorCallType = "GET_VERSION"
	OperatorGetMetrics                OperatorCallType = "GET_METRICS"
	OperatorGetLoggingLevel           OperatorCallType = "GET_LOGGING_LEVEL"
	OperatorSetLoggingLevel           OperatorCallType = "SET_LOGGING_LEVEL"
	OperatorListFiles                 OperatorCallType = "LIST_FILES"
	OperatorReadFile                  OperatorCallType = "READ_FILE"
	OperatorGetState                  OperatorCallType = "GET_STATE"
	OperatorGetAgents                 OperatorCallType = "GET_AGENTS"
	OperatorGetFrameworks             OperatorCallType = "GET_FRAMEWORKS"
	OperatorGetExecutors              OperatorCallType = "GET_EXECUTORS"
	OperatorGetOperations             OperatorCallType = "GET_OPERATIONS"
	OperatorGetTasks                  OperatorCallType = "GET_TASKS"
	OperatorGetRoles                  OperatorCallType = "GET_ROLES"
	OperatorGetWeights                OperatorCallType = "GET_WEIGHTS"
	OperatorUpdateWeights             OperatorCallType = "UPDATE_WEIGHTS"
	OperatorGetMaster                 OperatorCallType = "GET_MASTER"
	OperatorSubscribe                 OperatorCallType = "SUBSCRIBE"
	OperatorReserveResources          OperatorCallType = "RESERVE_RESOURCES"
	OperatorUnreserveResources        OperatorCallType = "UNRESERVE_RESOURCES"
	OperatorCreateVolumes             OperatorCallType = "CREATE_VOLUMES"
	OperatorDestroyVolumes            OperatorCallType = "DESTROY_VOLUMES"
	OperatorGrowVolume                OperatorCallType = "GROW_VOLUME"
	OperatorShrinkVolume              OperatorCallType = "SHRINK_VOLUME"
	OperatorGetMaintenanceStatus      OperatorCallType = "GET_MAINTENANCE_STATUS"
	OperatorGetMaintenanceSchedule    OperatorCallType = "GET_MAINTENANCE_SCHEDULE"
	OperatorUpdateMaintenanceSchedule OperatorCallType = "UPDATE_MAINTENANCE_SCHEDULE"
	OperatorStartMaintenance          OperatorCallType = "START_MAINTENANCE"
	OperatorStopMaintenance           OperatorCallType = "STOP_MAINTENANCE"
	OperatorDrainAgent                OperatorCallType = "DRAIN_AGENT"
	OperatorDeactivateAgent           OperatorCallType = "DEACTIVATE_AGENT"
	OperatorReactivateAgent           OperatorCallType = "REACTIVATE_AGENT"
	OperatorGetQuota                  OperatorCallType = "GET_QUOTA"
	OperatorUpdateQuota               OperatorCallType = "UPDATE_QUOTA"
	OperatorTeardown                  OperatorCallType = "TEARDOWN"
	OperatorMarkAgentGone             OperatorCallType = "MARK_AGENT_GONE"
	// ADD_MASTER and REMOVE_MASTER are Mezzo's: they change the set of
	// replicated masters (Mesos changes its ZooKeeper ensemble instead).
	OperatorAddMaster    OperatorCallType = "ADD_MASTER"
	OperatorRemoveMaster OperatorCallType = "REMOVE_MASTER"
	// OperatorKillTask kills one task of a framework on an operator's
	// behalf (Mesos's operator API has no such call: there, an operator
	// can only tear the whole framework down). The kill_tasks ACL decides
	// who may, by the principal of the task's framework.
	OperatorKillTask OperatorCallType = "KILL_TASK"
)

// OperatorCall is a v1 operator call to the master. Exactly the payload
// matching Type is set; calls that take no parameters (GET_HEALTH,
// GET_STATE, SUBSCRIBE, ...) have none. See Validate for the rules the
// master enforces.
type OperatorCall struct {
	Type                      OperatorCallType           `json:"type"`
	GetMetrics                *GetMetrics                `json:"get_metrics,omitempty"`
	SetLoggingLevel           *SetLoggingLevel           `json:"set_logging_level,omitempty"`
	ListFiles                 *ListFiles                 `json:"list_files,omitempty"`
	ReadFile                  *ReadFile                  `json:"read_file,omitempty"`
	UpdateWeights             *UpdateWeights             `json:"update_weights,omitempty"`
	ReserveResources          *ReserveResources          `json:"reserve_resources,omitempty"`
	UnreserveResources        *UnreserveResources        `json:"unreserve_resources,omitempty"`
	CreateVolumes             *CreateVolumes             `json:"create_volumes,omitempty"`
	DestroyVolumes            *DestroyVolumes            `json:"destroy_volumes,omitempty"`
	GrowVolume                *GrowPersistentVolume      `json:"grow_volume,omitempty"`
	ShrinkVolume              *ShrinkPersistentVolume    `json:"shrink_volume,omitempty"`
	UpdateMaintenanceSchedule *UpdateMaintenanceSchedule `json:"update_maintenance_schedule,omitempty"`
	StartMaintenance          *StartMaintenance          `json:"start_maintenance,omitempty"`
	StopMaintenance           *StopMaintenance           `json:"stop_maintenance,omitempty"`
	DrainAgent                *DrainAgent                `json:"drain_agent,omitempty"`
	DeactivateAgent           *DeactivateAgent           `json:"deactivate_agent,omitempty"`
	ReactivateAgent           *ReactivateAgent           `json:"reactivate_agent,omitempty"`
	UpdateQuota               *UpdateQuota               `json:"update_quota,omitempty"`
	Teardown                  *Teardown                  `json:"teardown,omitempty"`
	MarkAgentGone             *MarkAgentGone             `json:"mark_agent_gone,omitempty"`
	AddMaster                 *MasterAddress             `json:"add_master,omitempty"`
	RemoveMaster              *MasterAddress             `json:"remove_master,omitempty"`
	KillTask                  *KillTask                  `json:"kill_task,omitempty"`
}

// KillTask names the task an operator kills (KILL_TASK). The task ends as
// a framework's own KILL would end it, within its kill policy's grace
// period; the framework hears of it through its status updates.
type KillTask struct {
	FrameworkID FrameworkID `json:"framework_id"`
	TaskID      TaskID      `json:"task_id"`
}

// MasterAddress names a master by the HOST:PORT it serves on, which is
// also its identity among the replicated masters. A master to add must be
// running with --join.
type MasterAddress struct {
	Address string `json:"address"`
}

// GetMetrics asks for a snapshot of the master's metrics. Metrics that are
// not ready within Timeout are left out; no timeout means wait for all.
type GetMetrics struct {
	Timeout *DurationInfo `json:"timeout,omitempty"`
}

// SetLoggingLevel raises the master's log verbosity to Level for Duration,
// after which it reverts to the level the master started with.
type SetLoggingLevel struct {
	Level    Uint64       `json:"level"`
	Duration DurationInfo `json:"duration"`
}

// ListFiles asks for the listing of a directory of the master's virtual
// file tree, such as /master/log.
type ListFiles struct {
	Path string `json:"path"`
}

// ReadFile asks for up to Length bytes of a file from Offset. An unset
// Length reads to the end of the file, capped (as in Mesos) at 16 pages.
type ReadFile struct {
	Path   string  `json:"path"`
	Offset Uint64  `json:"offset"`
	Length *Uint64 `json:"length,omitempty"`
}

// UpdateWeights sets the weights of roles, all or none.
type UpdateWeights struct {
	WeightInfos []WeightInfo `json:"weight_infos,omitempty"`
}

// ReserveResources dynamically reserves resources on an agent. Source, when
// set, names the resources being refined (the post-refinement form);
// Resources is the result.
type ReserveResources struct {
	AgentID   AgentID    `json:"agent_id"`
	Source    []Resource `json:"source,omitempty"`
	Resources []Resource `json:"resources,omitempty"`
}

// UnreserveResources returns dynamically reserved resources on an agent to
// their parent role (the unreserved pool for a single reservation).
type UnreserveResources struct {
	AgentID   AgentID    `json:"agent_id"`
	Resources []Resource `json:"resources,omitempty"`
}

// CreateVolumes creates persistent volumes on reserved disk of an agent.
// The master forwards the request; success shows in later agent state.
type CreateVolumes struct {
	AgentID AgentID    `json:"agent_id"`
	Volumes []Resource `json:"volumes,omitempty"`
}

// DestroyVolumes destroys persistent volumes of an agent.
type DestroyVolumes struct {
	AgentID AgentID    `json:"agent_id"`
	Volumes []Resource `json:"volumes,omitempty"`
}

// GrowPersistentVolume grows a persistent volume by Addition (the
// GROW_VOLUME call; the offer operation is GrowVolume). AgentID is set for
// agent-local volumes and unset for external ones.
type GrowPersistentVolume struct {
	AgentID  *AgentID `json:"agent_id,omitempty"`
	Volume   Resource `json:"volume"`
	Addition Resource `json:"addition"`
}

// ShrinkPersistentVolume shrinks a persistent volume by Subtract (the
// SHRINK_VOLUME call). AgentID is as for GrowPersistentVolume.
type ShrinkPersistentVolume struct {
	AgentID  *AgentID `json:"agent_id,omitempty"`
	Volume   Resource `json:"volume"`
	Subtract Scalar   `json:"subtract"`
}

// UpdateMaintenanceSchedule replaces the cluster's maintenance schedule.
type UpdateMaintenanceSchedule struct {
	Schedule MaintenanceSchedule `json:"schedule"`
}

// StartMaintenance brings machines down for maintenance.
type StartMaintenance struct {
	Machines []MachineID `json:"machines,omitempty"`
}

// StopMaintenance brings machines back up after maintenance.
type StopMaintenance struct {
	Machines []MachineID `json:"machines,omitempty"`
}

// DrainAgent deactivates an agent and kills its tasks, each within the
// smaller of its kill policy's grace period and MaxGracePeriod. With
// MarkGone the agent is removed for good once drained, and its tasks end as
// TASK_GONE_BY_OPERATOR. MarkGone defaults to false and is always printed.
type DrainAgent struct {
	AgentID        AgentID        `json:"agent_id"`
	MaxGracePeriod *ProtoDuration `json:"max_grace_period,omitempty"`
	MarkGone       bool           `json:"mark_gone"`
}

// ProtoDuration is google.protobuf.Duration as Mesos's JSON mapping prints
// it: a plain message of seconds and nanoseconds, not protojson's "1.5s"
// string. Only DrainAgent uses it; everything else uses DurationInfo.
type ProtoDuration struct {
	Seconds Int64 `json:"seconds,omitempty"`
	Nanos   Int64 `json:"nanos,omitempty"`
}

// DeactivateAgent stops offers of an agent's resources; its tasks keep
// running.
type DeactivateAgent struct {
	AgentID AgentID `json:"agent_id"`
}

// ReactivateAgent resumes offers of a deactivated or drained agent.
type ReactivateAgent struct {
	AgentID AgentID `json:"agent_id"`
}

// UpdateQuota sets the quota of roles, all or none. Force skips the check
// that the limits fit the cluster and the roles' current consumption.
type UpdateQuota struct {
	Force        bool          `json:"force,omitempty"`
	QuotaConfigs []QuotaConfig `json:"quota_configs,omitempty"`
}

// Teardown removes a framework, killing all its tasks and executors.
type Teardown struct {
	FrameworkID FrameworkID `json:"framework_id"`
}

// MarkAgentGone asserts that an unreachable agent will never come back: its
// tasks become TASK_GONE_BY_OPERATOR, and the agent is shut down should it
// ever reregister.
type MarkAgentGone struct {
	AgentID AgentID `json:"agent_id"`
}

// OperatorResponse is the synchronous answer to an OperatorCall. Its Type
// is the call's, and exactly the payload matching it is set; a call that
// changes state (SET_LOGGING_LEVEL, RESERVE_RESOURCES, TEARDOWN, ...) is
// answered with an empty 202 instead.
type OperatorResponse struct {
	Type                   OperatorCallType                `json:"type"`
	GetHealth              *GetHealthResponse              `json:"get_health,omitempty"`
	GetFlags               *GetFlagsResponse               `json:"get_flags,omitempty"`
	GetVersion             *GetVersionResponse             `json:"get_version,omitempty"`
	GetMetrics             *GetMetricsResponse             `json:"get_metrics,omitempty"`
	GetLoggingLevel        *GetLoggingLevelResponse        `json:"get_logging_level,omitempty"`
	ListFiles              *ListFilesResponse              `json:"list_files,omitempty"`
	ReadFile               *ReadFileResponse               `json:"read_file,omitempty"`
	GetState               *GetStateResponse               `json:"get_state,omitempty"`
	GetAgents              *GetAgentsResponse              `json:"get_agents,omitempty"`
	GetFrameworks          *GetFrameworksResponse          `json:"get_frameworks,omitempty"`
	GetExecutors           *GetExecutorsResponse           `json:"get_executors,omitempty"`
	GetOperations          *GetOperationsResponse          `json:"get_operations,omitempty"`
	GetTasks               *GetTasksResponse               `json:"get_tasks,omitempty"`
	GetRoles               *GetRolesResponse               `json:"get_roles,omitempty"`
	GetWeights             *GetWeightsResponse             `json:"get_weights,omitempty"`
	GetMaster              *GetMasterResponse              `json:"get_master,omitempty"`
	GetMaintenanceStatus   *GetMaintenanceStatusResponse   `json:"get_maintenance_status,omitempty"`
	GetMaintenanceSchedule *GetMaintenanceScheduleResponse `json:"get_maintenance_schedule,omitempty"`
	GetQuota               *GetQuotaResponse               `json:"get_quota,omitempty"`
}

// GetHealthResponse says whether the master is healthy. A slow answer is
// itself a sign of poor health.
type GetHealthResponse struct {
	Healthy bool `json:"healthy"`
}

// GetFlagsResponse lists the master's configuration, one flag per entry.
type GetFlagsResponse struct {
	Flags []Flag `json:"flags,omitempty"`
}

// Flag is one configuration setting and its value as text.
type Flag struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// GetVersionResponse carries the master's version.
type GetVersionResponse struct {
	VersionInfo VersionInfo `json:"version_info"`
}

// VersionInfo describes a build. Version is the Mesos version Mezzo is
// compatible with ("1.x.y"), which clients read to pick features;
// BuildTime is in seconds since the Unix epoch.
type VersionInfo struct {
	Version   string  `json:"version"`
	BuildDate string  `json:"build_date,omitempty"`
	BuildTime Float64 `json:"build_time,omitempty"`
	BuildUser string  `json:"build_user,omitempty"`
	GitSHA    string  `json:"git_sha,omitempty"`
	GitBranch string  `json:"git_branch,omitempty"`
	GitTag    string  `json:"git_tag,omitempty"`
}

// GetMetricsResponse is a snapshot of the master's metrics.
type GetMetricsResponse struct {
	Metrics []Metric `json:"metrics,omitempty"`
}

// Metric is one named value, such as "master/tasks_running".
type Metric struct {
	Name  string  `json:"name"`
	Value Float64 `json:"value"`
}

// GetLoggingLevelResponse carries the master's current log verbosity.
type GetLoggingLevelResponse struct {
	Level Uint64 `json:"level"`
}

// ListFilesResponse lists a directory, like ls -l.
type ListFilesResponse struct {
	FileInfos []FileInfo `json:"file_infos,omitempty"`
}

// ListingTruncatedHeader is set ("true") on an agent's /files/browse
// answer that lists only part of a directory with more entries than the
// agent lists at once; the master's proxy passes it on. The answer is
// Mesos's plain array, so the header is where a client learns the listing
// is partial.
const ListingTruncatedHeader = "Mezzo-Listing-Truncated"

// FileInfo describes one file of a listing. Mode holds the permission and
// type bits, portable across systems; Mtime is the last modification.
type FileInfo struct {
	Path  string    `json:"path"`
	Nlink Int64     `json:"nlink"`
	Size  Uint64    `json:"size"`
	Mtime *TimeInfo `json:"mtime,omitempty"`
	Mode  Uint64    `json:"mode"`
	UID   string    `json:"uid,omitempty"`
	GID   string    `json:"gid,omitempty"`
}

// ReadFileResponse carries part of a file: Size is the whole file's size in
// bytes and Data the bytes read (base64 on the wire, always printed).
type ReadFileResponse struct {
	Size Uint64 `json:"size"`
	Data []byte `json:"data"`
}

// MarshalJSON prints data as "" when it is nil: the field is required in
// master.proto, and encoding/json would print a nil slice as null.
func (r ReadFileResponse) MarshalJSON() ([]byte, error) {
	type plain ReadFileResponse
	p := plain(r)
	if p.Data == nil {
		p.Data = []byte{}
	}
	return json.Marshal(p)
}

// GetStateResponse is the whole state of the cluster as the master knows
// it; it is also the snapshot that opens an operator event stream.
type GetStateResponse struct {
	GetTasks      *GetTasksResponse      `json:"get_tasks,omitempty"`
	GetExecutors  *GetExecutorsResponse  `json:"get_executors,omitempty"`
	GetFrameworks *GetFrameworksResponse `json:"get_frameworks,omitempty"`
	GetAgents     *GetAgentsResponse     `json:"get_agents,omitempty"`
}

// GetAgentsResponse lists the registered agents, and those recovered from
// the registry after a master failover that have not yet reregistered.
type GetAgentsResponse struct {
	Agents          []AgentRecord `json:"agents,omitempty"`
	RecoveredAgents []AgentInfo   `json:"recovered_agents,omitempty"`
}

// AgentRecord is the master's record of a registered agent
// (Response.GetAgents.Agent in master.proto). Active is false while the
// agent is disconnected; Deactivated is true while offers of its resources
// are stopped (DEACTIVATE_AGENT, DRAIN_AGENT). Version is the agent's
// build version.
type AgentRecord struct {
	AgentInfo               AgentInfo         `json:"agent_info"`
	Active                  bool              `json:"active"`
	Deactivated             bool              `json:"deactivated"`
	Version                 string            `json:"version"`
	PID                     string            `json:"pid,omitempty"`
	RegisteredTime          *TimeInfo         `json:"registered_time,omitempty"`
	ReregisteredTime        *TimeInfo         `json:"reregistered_time,omitempty"`
	TotalResources          []Resource        `json:"total_resources,omitempty"`
	AllocatedResources      []Resource        `json:"allocated_resources,omitempty"`
	OfferedResources        []Resource        `json:"offered_resources,omitempty"`
	Capabilities            []AgentCapability `json:"capabilities,omitempty"`
	DrainInfo               *DrainInfo        `json:"drain_info,omitempty"`
	EstimatedDrainStartTime *TimeInfo         `json:"estimated_drain_start_time,omitempty"`
}

// DrainState is where an agent is in draining.
type DrainState string

// Drain states (mesos.proto, enum DrainState).
const (
	DrainUnknown  DrainState = "UNKNOWN"
	DrainDraining DrainState = "DRAINING"
	// DrainDrained means every task has ended, its terminal update has
	// been acknowledged, and every operation has finished.
	DrainDrained DrainState = "DRAINED"
)

// DrainInfo is the state of a draining agent and the DRAIN_AGENT call that
// started it.
type DrainInfo struct {
	State  DrainState  `json:"state"`
	Config DrainConfig `json:"config"`
}

// DrainConfig is the configuration of a drain; see DrainAgent. MarkGone
// defaults to false and is always printed.
type DrainConfig struct {
	MaxGracePeriod *DurationInfo `json:"max_grace_period,omitempty"`
	MarkGone       bool          `json:"mark_gone"`
}

// GetFrameworksResponse lists the frameworks the master knows: those
// subscribed or expected back (disconnected, or recovered after a master
// failover), and those torn down.
type GetFrameworksResponse struct {
	Frameworks          []FrameworkRecord `json:"frameworks,omitempty"`
	CompletedFrameworks []FrameworkRecord `json:"completed_frameworks,omitempty"`
}

// FrameworkRecord is the master's record of a framework
// (Response.GetFrameworks.Framework in master.proto). Connected is true
// while its event stream is open; Active while it is connected and not
// deactivated; Recovered while it has not resubscribed since a master
// failover. Offers, allocations and constraints are never sent in operator
// events, only in GET_FRAMEWORKS and GET_STATE.
type FrameworkRecord struct {
	FrameworkInfo      FrameworkInfo     `json:"framework_info"`
	Active             bool              `json:"active"`
	Connected          bool              `json:"connected"`
	Recovered          bool              `json:"recovered"`
	RegisteredTime     *TimeInfo         `json:"registered_time,omitempty"`
	ReregisteredTime   *TimeInfo         `json:"reregistered_time,omitempty"`
	UnregisteredTime   *TimeInfo         `json:"unregistered_time,omitempty"`
	Offers             []Offer           `json:"offers,omitempty"`
	InverseOffers      []InverseOffer    `json:"inverse_offers,omitempty"`
	AllocatedResources []Resource        `json:"allocated_resources,omitempty"`
	OfferedResources   []Resource        `json:"offered_resources,omitempty"`
	OfferConstraints   *OfferConstraints `json:"offer_constraints,omitempty"`
	// Diagnostics is Mezzo's extension: short sentences on why the
	// framework's recent demand was not met (suppressed, filtered, over
	// quota, no agent with enough of a resource, ...), the answer to
	// "why is my task not launching?".
	Diagnostics []string `json:"diagnostics,omitempty"`
}

// GetExecutorsResponse lists the executors the master knows.
type GetExecutorsResponse struct {
	Executors []ExecutorRecord `json:"executors,omitempty"`
}

// ExecutorRecord is an executor and the agent it runs on
// (Response.GetExecutors.Executor in master.proto).
type ExecutorRecord struct {
	ExecutorInfo ExecutorInfo `json:"executor_info"`
	AgentID      AgentID      `json:"agent_id"`
}

// GetOperationsResponse lists the offer operations the master tracks.
type GetOperationsResponse struct {
	Operations []OperationRecord `json:"operations,omitempty"`
}

// OperationRecord is the master's record of an offer operation (Operation
// in mesos.proto): what was asked, its latest status and its history. UUID
// is Mesos's internal identity of the operation, independent of the
// framework's optional Info.ID.
type OperationRecord struct {
	FrameworkID  *FrameworkID      `json:"framework_id,omitempty"`
	AgentID      *AgentID          `json:"agent_id,omitempty"`
	Info         Operation         `json:"info"`
	LatestStatus OperationStatus   `json:"latest_status"`
	Statuses     []OperationStatus `json:"statuses,omitempty"`
	UUID         UUID              `json:"uuid"`
}

// GetTasksResponse lists the tasks the master knows: Tasks are launched and
// not yet terminal, or terminal with the terminal update not yet
// acknowledged; UnreachableTasks ran on agents now partitioned away (the
// master keeps a bounded number); CompletedTasks are terminal and
// acknowledged.
type GetTasksResponse struct {
	Tasks            []Task `json:"tasks,omitempty"`
	UnreachableTasks []Task `json:"unreachable_tasks,omitempty"`
	CompletedTasks   []Task `json:"completed_tasks,omitempty"`
}

// GetRolesResponse lists every role that has a framework, a non-default
// weight or a quota.
type GetRolesResponse struct {
	Roles []Role `json:"roles,omitempty"`
}

// Role describes a role: its weight in fair sharing (default 1), the
// frameworks subscribed to it, and Resources, the resources allocated to
// it. Allocated, Offered, Reserved and Quota are Mezzo's extensions, as in
// Mesos's v0 /roles endpoint; Mesos's v1 Role stops at Resources.
type Role struct {
	Name       string        `json:"name"`
	Weight     Float64       `json:"weight"`
	Frameworks []FrameworkID `json:"frameworks,omitempty"`
	Resources  []Resource    `json:"resources,omitempty"`
	Allocated  []Resource    `json:"allocated,omitempty"`
	Offered    []Resource    `json:"offered,omitempty"`
	Reserved   []Resource    `json:"reserved,omitempty"`
	Quota      *RoleQuota    `json:"quota,omitempty"`
}

// RoleQuota is a role's quota and what counts against it (allocations plus
// reservations), as scalar quantities by resource name. It is Mezzo's
// extension; see Role.
type RoleQuota struct {
	Guarantees map[string]Scalar `json:"guarantees,omitempty"`
	Limits     map[string]Scalar `json:"limits,omitempty"`
	Consumed   map[string]Scalar `json:"consumed,omitempty"`
}

// GetWeightsResponse lists the roles' weights.
type GetWeightsResponse struct {
	WeightInfos []WeightInfo `json:"weight_infos,omitempty"`
}

// WeightInfo is a role's weight: a weight-2 role gets twice the fair share
// of a weight-1 role.
type WeightInfo struct {
	Weight Float64 `json:"weight"`
	Role   string  `json:"role,omitempty"`
}

// GetMasterResponse describes the answering master. StartTime and
// ElectedTime are in seconds since the Unix epoch; ElectedTime is unset on
// a master that is not the leader.
type GetMasterResponse struct {
	MasterInfo  *MasterInfo `json:"master_info,omitempty"`
	StartTime   Float64     `json:"start_time,omitempty"`
	ElectedTime Float64     `json:"elected_time,omitempty"`
	// Masters lists every master of a replicated cluster, the leader
	// marked (Mezzo's extension: Mesos finds its masters in ZooKeeper);
	// empty for a master started without --peers.
	Masters []ReplicatedMaster `json:"masters,omitempty"`
}

// ReplicatedMaster is one master of a replicated cluster, named by the
// HOST:PORT it serves on (its identity among the masters).
type ReplicatedMaster struct {
	Address string `json:"address"`
	Leader  bool   `json:"leader,omitempty"`
	// Voter is false for a master that follows the log without a vote.
	Voter bool `json:"voter"`
}

// GetMaintenanceStatusResponse carries the cluster's maintenance status.
type GetMaintenanceStatusResponse struct {
	Status MaintenanceStatus `json:"status"`
}

// GetMaintenanceScheduleResponse carries the maintenance schedule.
type GetMaintenanceScheduleResponse struct {
	Schedule MaintenanceSchedule `json:"schedule"`
	// HiddenMachines is how many machines of the schedule the caller's
	// view_agents ACLs left out of Schedule (a Mezzo extension, absent
	// when none). UPDATE_MAINTENANCE_SCHEDULE replaces the whole
	// schedule, so a client that edits this view and saves it would drop
	// the hidden machines' windows without knowing: it should refuse to.
	HiddenMachines int `json:"hidden_machines,omitempty"`
}

// MachineID names a machine by hostname, IP address, or both.
type MachineID struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
}

// MaintenanceSchedule is a list of maintenance windows
// (maintenance.Schedule). A machine appears in at most one window.
type MaintenanceSchedule struct {
	Windows []MaintenanceWindow `json:"windows,omitempty"`
}

// MaintenanceWindow is a set of machines and when they may become
// unavailable (maintenance.Window).
type MaintenanceWindow struct {
	MachineIDs     []MachineID    `json:"machine_ids,omitempty"`
	Unavailability Unavailability `json:"unavailability"`
}

// MaintenanceStatus lists the machines being drained, with the frameworks'
// answers to their inverse offers, and the machines down for maintenance
// (maintenance.ClusterStatus).
type MaintenanceStatus struct {
	DrainingMachines []DrainingMachine `json:"draining_machines,omitempty"`
	DownMachines     []MachineID       `json:"down_machines,omitempty"`
}

// DrainingMachine is a machine scheduled for maintenance and each
// framework's latest answer to its inverse offers.
type DrainingMachine struct {
	ID       MachineID            `json:"id"`
	Statuses []InverseOfferStatus `json:"statuses,omitempty"`
}

// InverseOfferStatus is a framework's answer to an inverse offer: UNKNOWN
// (none yet), ACCEPT or DECLINE, and when it was given.
type InverseOfferStatus struct {
	Status      string      `json:"status"`
	FrameworkID FrameworkID `json:"framework_id"`
	Timestamp   TimeInfo    `json:"timestamp"`
}

// GetQuotaResponse carries the configured quotas.
type GetQuotaResponse struct {
	Status QuotaStatus `json:"status"`
}

// QuotaStatus lists every role with a non-default quota; roles not listed
// have no guarantee and no limit. Infos is the deprecated form, filled in
// beside Configs for old clients; it carries guarantees only.
type QuotaStatus struct {
	Infos   []QuotaInfo   `json:"infos,omitempty"`
	Configs []QuotaConfig `json:"configs,omitempty"`
}

// QuotaInfo is the deprecated description of a role's quota guarantee
// (quota.QuotaInfo).
type QuotaInfo struct {
	Role      string     `json:"role,omitempty"`
	Principal string     `json:"principal,omitempty"`
	Guarantee []Resource `json:"guarantee,omitempty"`
}

// QuotaConfig is a role's quota: scalar quantities by resource name that
// the role is guaranteed (deprecated, best effort) and may not exceed. An
// absent resource has no guarantee and no limit.
type QuotaConfig struct {
	Role       string            `json:"role"`
	Guarantees map[string]Scalar `json:"guarantees,omitempty"`
	Limits     map[string]Scalar `json:"limits,omitempty"`
}

// OperatorEventType names an event on an operator's event stream.
type OperatorEventType string

// Operator event types (master.proto, message Event).
const (
	OperatorEventUnknown          OperatorEventType = "UNKNOWN"
	OperatorEventSubscribed       OperatorEventType = "SUBSCRIBED"
	OperatorEventTaskAdded        OperatorEventType = "TASK_ADDED"
	OperatorEventTaskUpdated      OperatorEventType = "TASK_UPDATED"
	OperatorEventAgentAdded       OperatorEventType = "AGENT_ADDED"
	OperatorEventAgentRemoved     OperatorEventType = "AGENT_REMOVED"
	OperatorEventFrameworkAdded   OperatorEventType = "FRAMEWORK_ADDED"
	OperatorEventFrameworkUpdated OperatorEventType = "FRAMEWORK_UPDATED"
	OperatorEventFrameworkRemoved OperatorEventType = "FRAMEWORK_REMOVED"
	OperatorEventHeartbeat        OperatorEventType = "HEARTBEAT"
)

// OperatorEvent is one record of the stream that answers an operator's
// SUBSCRIBE: a SUBSCRIBED snapshot first, then changes as they happen, and
// heartbeats in between. Exactly the payload matching Type is set.
type OperatorEvent struct {
	Type             OperatorEventType   `json:"type"`
	Subscribed       *OperatorSubscribed `json:"subscribed,omitempty"`
	TaskAdded        *TaskAdded          `json:"task_added,omitempty"`
	TaskUpdated      *TaskUpdated        `json:"task_updated,omitempty"`
	AgentAdded       *AgentAdded         `json:"agent_added,omitempty"`
	AgentRemoved     *AgentRemoved       `json:"agent_removed,omitempty"`
	FrameworkAdded   *FrameworkAdded     `json:"framework_added,omitempty"`
	FrameworkUpdated *FrameworkUpdated   `json:"framework_updated,omitempty"`
	FrameworkRemoved *FrameworkRemoved   `json:"framework_removed,omitempty"`
}

// OperatorSubscribed opens an operator event stream with a snapshot of the
// cluster; later events are changes to it. A subscriber that hears nothing
// for several heartbeat intervals should reconnect.
type OperatorSubscribed struct {
	GetState                 *GetStateResponse `json:"get_state,omitempty"`
	HeartbeatIntervalSeconds *Float64          `json:"heartbeat_interval_seconds,omitempty"`
}

// TaskAdded reports a task newly known to the master: launched, or brought
// back by a reregistering agent.
type TaskAdded struct {
	Task Task `json:"task"`
}

// TaskUpdated reports a task's change of state. Status is the latest update
// the framework has acknowledged; State is the latest state the agent
// reported, which may be newer.
type TaskUpdated struct {
	FrameworkID FrameworkID `json:"framework_id"`
	Status      TaskStatus  `json:"status"`
	State       TaskState   `json:"state"`
}

// AgentAdded reports an agent that registered or reregistered.
type AgentAdded struct {
	Agent AgentRecord `json:"agent"`
}

// AgentRemoved reports an agent that was removed (gone, or unreachable).
type AgentRemoved struct {
	AgentID AgentID `json:"agent_id"`
}

// FrameworkAdded reports a framework that subscribed for the first time.
type FrameworkAdded struct {
	Framework FrameworkRecord `json:"framework"`
}

// FrameworkUpdated reports a framework that resubscribed, after a
// disconnection or a master failover, or that changed its FrameworkInfo.
type FrameworkUpdated struct {
	Framework FrameworkRecord `json:"framework"`
}

// FrameworkRemoved reports a framework torn down, or whose failover timeout
// expired.
type FrameworkRemoved struct {
	FrameworkInfo FrameworkInfo `json:"framework_info"`
}
