package api

// The agent protocol is Mezzo's own, shaped like the scheduler API: the
// agent POSTs SUBSCRIBE to /api/v1/agent and reads a RecordIO stream of
// AgentEvents; every other call is its own POST carrying the
// Mesos-Stream-Id header. Agents dial the master, never the reverse, so an
// agent behind NAT or a firewall still works (see RATIONALE.md).

// AgentCallType names a call from an agent to the master.
type AgentCallType string

// Agent call types.
const (
	AgentCallSubscribe AgentCallType = "SUBSCRIBE"
	AgentCallUpdate    AgentCallType = "UPDATE"
	AgentCallMessage   AgentCallType = "MESSAGE"
	// AgentCallExecutorExited reports that an executor a framework named
	// has exited (AgentExecutorExited).
	AgentCallExecutorExited AgentCallType = "EXECUTOR_EXITED"
)

// AgentCall is a call from an agent to the master.
type AgentCall struct {
	Type      AgentCallType   `json:"type"`
	AgentID   *AgentID        `json:"agent_id,omitempty"`
	Subscribe *AgentSubscribe `json:"subscribe,omitempty"`
	Updates   []AgentUpdate   `json:"updates,omitempty"`
	Message   *AgentMessage   `json:"message,omitempty"`

	ExecutorExited *AgentExecutorExited `json:"executor_exited,omitempty"`
}

// AgentSubscribe registers an agent, or re-registers it when
// AgentInfo.ID is set, listing the tasks it still runs and the frameworks
// they belong to.
type AgentSubscribe struct {
	AgentInfo AgentInfo `json:"agent_info"`
	Tasks     []Task    `json:"tasks,omitempty"`
	// Frameworks are the FrameworkInfos, as the master sent them in
	// LAUNCH, of the frameworks whose executors the agent runs, as in
	// Mesos's ReregisterSlaveMessage.frameworks. A master that lost its
	// state recovers those frameworks from the agents' reports, and learns
	// from here the principal that alone may subscribe as each of them.
	Frameworks []FrameworkInfo `json:"frameworks,omitempty"`
	// Executors are the executors the agent runs that frameworks named
	// (a task's ExecutorInfo or a task group's), each with its
	// FrameworkID set, as in Mesos's ReregisterSlaveMessage.executor_infos.
	// The master holds their resources until they exit, also when no task
	// of theirs is left: it forgets those of the agent's executors this
	// list lacks (their exit reports were lost) and takes in those it did
	// not know (it restarted, or their tasks all ended before a failover).
	Executors []ExecutorInfo `json:"executors,omitempty"`
}

// AgentUpdate carries one task status update from the agent. The status
// carries a UUID; the master forwards it to the framework and relays the
// framework's acknowledgement back as an ACKNOWLEDGED event.
//
// An UPDATE call carries one or more, in the order the master is to
// handle them: a busy agent sends every update that is due in one call
// rather than one call each, since a call costs both ends more CPU than
// handling the update it carries (BenchmarkUpdateCallFloor). The agent
// still sends at most one update per task at a time, so a call holds at
// most one per task.
type AgentUpdate struct {
	FrameworkID FrameworkID `json:"framework_id"`
	Status      TaskStatus  `json:"status"`
}

// AgentMessage carries a message between a framework and one of its
// executors: up from the agent as a MESSAGE call, down to it as a MESSAGE
// event.
type AgentMessage struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  ExecutorID  `json:"executor_id"`
	Data        []byte      `json:"data"`
}

// AgentExecutorExited tells the master that an executor a framework
// named has exited, as Mesos's ExitedExecutorMessage does, so that the
// master gives its resources back, which it holds while the executor
// runs even with no task left, and tells the framework (a FAILURE event).
// The agent sends it for an executor it never started too (refused, or
// shut down before its start), since the master counted it at the launch.
type AgentExecutorExited struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  ExecutorID  `json:"executor_id"`
	// Status is the executor process's wait status, as waitpid(2) gives
	// it and Mesos's FAILURE event carries it; absent when the agent was
	// not its parent (it recovered the executor after a restart) or never
	// started it.
	Status *Int64 `json:"status,omitempty"`
}

// AgentEventType names an event on an agent's stream.
type AgentEventType string

// Agent event types.
const (
	AgentEventSubscribed        AgentEventType = "SUBSCRIBED"
	AgentEventLaunch            AgentEventType = "LAUNCH"
	AgentEventKill              AgentEventType = "KILL"
	AgentEventAcknowledged      AgentEventType = "ACKNOWLEDGED"
	AgentEventShutdownFramework AgentEventType = "SHUTDOWN_FRAMEWORK"
	AgentEventShutdownExecutor  AgentEventType = "SHUTDOWN_EXECUTOR"
	AgentEventMessage           AgentEventType = "MESSAGE"
	AgentEventHeartbeat         AgentEventType = "HEARTBEAT"
	AgentEventError             AgentEventType = "ERROR"
	// AgentEventShutdown tells the agent to shut every executor down and
	// stop (AgentShutdown).
	AgentEventShutdown AgentEventType = "SHUTDOWN"
)

// AgentEvent is one record of an agent's stream from the master.
type AgentEvent struct {
	Type              AgentEventType          `json:"type"`
	Subscribed        *AgentSubscribed        `json:"subscribed,omitempty"`
	Launch            *AgentLaunch            `json:"launch,omitempty"`
	Kill              *AgentKill              `json:"kill,omitempty"`
	Acknowledged      *AgentAcknowledged      `json:"acknowledged,omitempty"`
	ShutdownFramework *AgentShutdownFramework `json:"shutdown_framework,omitempty"`
	ShutdownExecutor  *AgentShutdownExecutor  `json:"shutdown_executor,omitempty"`
	Message           *AgentMessage           `json:"message,omitempty"`
	Error             *ErrorEvent             `json:"error,omitempty"`
	Shutdown          *AgentShutdown          `json:"shutdown,omitempty"`
}

// AgentShutdown tells an agent that the master will have no more of it,
// as Mesos's ShutdownMessage does for an agent an operator marked gone:
// the agent shuts every executor down, killing what they run, and stops,
// rather than subscribe again and again to a master that refuses it. Its
// work directory holds the identity the master refuses, so it registers
// anew only from a new one.
type AgentShutdown struct {
	Message string `json:"message"`
}

// AgentSubscribed confirms a subscription and gives the agent its ID.
type AgentSubscribed struct {
	AgentID                  AgentID     `json:"agent_id"`
	HeartbeatIntervalSeconds Float64     `json:"heartbeat_interval_seconds"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
	// Epoch is the leading master's raft term. Every new leader's is
	// higher than its predecessors', so an agent refuses a master whose
	// epoch is below one it has seen: a deposed leader that does not know
	// it yet can command no agent that found the new one (fencing). Zero
	// for a master without replication.
	Epoch uint64 `json:"epoch,omitempty"`
}

// AgentLaunch asks the agent to launch tasks for a framework: either a
// list of tasks, or a task group under one executor (LAUNCH_GROUP).
type AgentLaunch struct {
	FrameworkInfo FrameworkInfo  `json:"framework_info"`
	Tasks         []TaskInfo     `json:"tasks,omitempty"`
	Executor      *ExecutorInfo  `json:"executor,omitempty"`
	TaskGroup     *TaskGroupInfo `json:"task_group,omitempty"`
}

// AgentKill asks the agent to kill a task.
type AgentKill struct {
	FrameworkID FrameworkID `json:"framework_id"`
	TaskID      TaskID      `json:"task_id"`
	KillPolicy  *KillPolicy `json:"kill_policy,omitempty"`
}

// AgentAcknowledged relays a framework's acknowledgement of an update.
type AgentAcknowledged struct {
	FrameworkID FrameworkID `json:"framework_id"`
	TaskID      TaskID      `json:"task_id"`
	UUID        []byte      `json:"uuid"`
}

// AgentShutdownFramework asks the agent to kill all of a framework's tasks.
type AgentShutdownFramework struct {
	FrameworkID FrameworkID `json:"framework_id"`
}

// AgentShutdownExecutor asks the agent to shut down one executor of a
// framework, as Mesos's ShutdownExecutorMessage does for the scheduler's
// SHUTDOWN call: the agent sends the executor SHUTDOWN and, if it has not
// exited after its shutdown grace period, kills it; its tasks still live
// then end as TASK_LOST with REASON_EXECUTOR_TERMINATED. An executor the
// agent does not run is ignored.
type AgentShutdownExecutor struct {
	FrameworkID FrameworkID `json:"framework_id"`
	ExecutorID  ExecutorID  `json:"executor_id"`
}
