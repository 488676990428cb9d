package api

import (
	"encoding/json"
	"strconv"
	"time"
)

// The executor API is Mesos's v1 Executor HTTP API (executor.proto): an
// executor POSTs ExecutorCalls to its agent's /api/v1/executor, and the
// SUBSCRIBE call answers with a RecordIO stream of ExecutorEvents. Mezzo's
// built-in executors and any Mesos v1 executor speak it unchanged.

// ExecutorCallType names a call from an executor to its agent.
type ExecutorCallType string

// Executor call types (executor.proto, message Call). UNKNOWN is valid on
// the wire and is answered with 501 Not Implemented, as Mesos does.
const (
	ExecutorCallUnknown   ExecutorCallType = "UNKNOWN"
	ExecutorCallSubscribe ExecutorCallType = "SUBSCRIBE"
	ExecutorCallUpdate    ExecutorCallType = "UPDATE"
	ExecutorCallMessage   ExecutorCallType = "MESSAGE"
	ExecutorCallHeartbeat ExecutorCallType = "HEARTBEAT"
	// ExecutorCallUsage is a Mezzo extension: see ExecutorUsage.
	ExecutorCallUsage ExecutorCallType = "USAGE"
)

// ExecutorCall is a v1 executor call. ExecutorID and FrameworkID are
// required on every call and name the executor that makes it; exactly the
// payload matching Type is set (HEARTBEAT has none). See Validate for the
// rules the agent enforces before acting on a call.
type ExecutorCall struct {
	ExecutorID  ExecutorID         `json:"executor_id"`
	FrameworkID FrameworkID        `json:"framework_id"`
	Type        ExecutorCallType   `json:"type"`
	Subscribe   *ExecutorSubscribe `json:"subscribe,omitempty"`
	Update      *ExecutorUpdate    `json:"update,omitempty"`
	// MoreUpdates, Mezzo's extension, are updates an UPDATE call carries
	// after Update, to be taken in order as if each came in an UPDATE
	// call of its own: all of them, or (the call refused) none. Only an
	// agent whose SUBSCRIBED says AcceptsMoreUpdates reads them; a Mesos
	// agent would drop them unread. Why: an executor whose tasks end
	// together sends their updates in one call rather than a call each,
	// and the calls were most of a busy executor's CPU (RATIONALE.md,
	// "Why may an UPDATE call carry more than one update?").
	MoreUpdates []ExecutorUpdate `json:"more_updates,omitempty"`
	Message     *ExecutorMessage `json:"message,omitempty"`
	Usage       *ExecutorUsage   `json:"usage,omitempty"`
}

// MaxMoreUpdates is the most updates an UPDATE call's MoreUpdates may
// list. Why a cap: the agent takes a call's updates under one hold of its
// lock, and a call of 16 MiB of small updates would hold it for tens of
// thousands of them; the SDK sends at most 63.
const MaxMoreUpdates = 255

// ExecutorSubscribe opens the executor's event stream. An executor that
// re-subscribes after losing its agent connection lists every task and
// status update the agent has not yet acknowledged, so that the agent can
// rebuild its view and resend the updates; a first subscription lists none.
type ExecutorSubscribe struct {
	UnacknowledgedTasks   []TaskInfo       `json:"unacknowledged_tasks,omitempty"`
	UnacknowledgedUpdates []ExecutorUpdate `json:"unacknowledged_updates,omitempty"`
}

// ExecutorUpdate carries one task status update from an executor. The
// executor sets Status.UUID to a fresh 16-byte UUID and Status.Source to
// SOURCE_EXECUTOR; the agent answers with an ACKNOWLEDGED event once the
// update is safely recorded, and the executor resends it until then.
type ExecutorUpdate struct {
	Status TaskStatus `json:"status"`
}

// ExecutorMessage carries opaque bytes between an executor and its
// framework's scheduler, without any delivery guarantee. It is the payload
// of both the MESSAGE call and the MESSAGE event.
type ExecutorMessage struct {
	Data []byte `json:"data"`
}

// MarshalJSON prints data as "" when it is nil: the field is required in
// executor.proto, and encoding/json would print a nil slice as null.
func (m ExecutorMessage) MarshalJSON() ([]byte, error) {
	type plain ExecutorMessage
	p := plain(m)
	if p.Data == nil {
		p.Data = []byte{}
	}
	return json.Marshal(p)
}

// ExecutorEventType names an event on an executor's stream.
type ExecutorEventType string

// Executor event types (executor.proto, message Event).
const (
	ExecutorEventUnknown      ExecutorEventType = "UNKNOWN"
	ExecutorEventSubscribed   ExecutorEventType = "SUBSCRIBED"
	ExecutorEventLaunch       ExecutorEventType = "LAUNCH"
	ExecutorEventLaunchGroup  ExecutorEventType = "LAUNCH_GROUP"
	ExecutorEventKill         ExecutorEventType = "KILL"
	ExecutorEventAcknowledged ExecutorEventType = "ACKNOWLEDGED"
	ExecutorEventMessage      ExecutorEventType = "MESSAGE"
	ExecutorEventError        ExecutorEventType = "ERROR"
	ExecutorEventShutdown     ExecutorEventType = "SHUTDOWN"
	ExecutorEventHeartbeat    ExecutorEventType = "HEARTBEAT"
)

// ExecutorEvent is one record of an executor's event stream from its agent.
// Exactly the payload matching Type is set; SHUTDOWN and HEARTBEAT have
// none. On SHUTDOWN the executor must kill its tasks, send their terminal
// updates and exit within its shutdown grace period.
type ExecutorEvent struct {
	Type         ExecutorEventType     `json:"type"`
	Subscribed   *ExecutorSubscribed   `json:"subscribed,omitempty"`
	Acknowledged *ExecutorAcknowledged `json:"acknowledged,omitempty"`
	Launch       *ExecutorLaunch       `json:"launch,omitempty"`
	LaunchGroup  *ExecutorLaunchGroup  `json:"launch_group,omitempty"`
	Kill         *ExecutorKill         `json:"kill,omitempty"`
	Message      *ExecutorMessage      `json:"message,omitempty"`
	Error        *ErrorEvent           `json:"error,omitempty"`
}

// ExecutorSubscribed is the first event of an executor's stream: what the
// executor runs as, for which framework, on which agent and in which
// container. FrameworkInfo.ID is always set.
type ExecutorSubscribed struct {
	ExecutorInfo  ExecutorInfo  `json:"executor_info"`
	FrameworkInfo FrameworkInfo `json:"framework_info"`
	AgentInfo     AgentInfo     `json:"agent_info"`
	ContainerID   *ContainerID  `json:"container_id,omitempty"`
	// AcceptsMoreUpdates, Mezzo's extension, says that the agent takes
	// UPDATE calls carrying ExecutorCall.MoreUpdates. An executor may
	// send them only when it is set: a Mesos agent, and a Mezzo agent of
	// an earlier build, leave it unset.
	AcceptsMoreUpdates bool `json:"accepts_more_updates,omitempty"`
}

// ExecutorLaunch asks the executor to launch one task. Once it runs, the
// executor sends a TASK_RUNNING update.
type ExecutorLaunch struct {
	Task TaskInfo `json:"task"`
	// ExecutorSandbox, Mezzo's extension, says where the agent placed
	// the task: in the executor's own sandbox (true) or in tasks/<task
	// ID> under it (false), by sandbox.TaskDir. Unset, the executor
	// gives its sandbox to the first task launched alone that reaches
	// it. Why the agent says: it places a task when the task arrives,
	// and the task it placed in the executor's sandbox may fail before
	// it is sent (its fetch fails, it is killed); the executor would
	// then give its sandbox to the next task, which the agent placed in
	// tasks/<task ID>.
	ExecutorSandbox *bool `json:"executor_sandbox,omitempty"`
}

// ExecutorLaunchGroup asks the executor to launch a group of tasks
// atomically: all of them start, or none does.
type ExecutorLaunchGroup struct {
	TaskGroup TaskGroupInfo `json:"task_group"`
}

// ExecutorKill asks the executor to kill a task and then send its terminal
// update (TASK_KILLED, or TASK_FAILED). KillPolicy, when set, overrides the
// task's own kill policy, so a scheduler can force a task that is already
// being killed.
type ExecutorKill struct {
	TaskID     TaskID      `json:"task_id"`
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
}

// ExecutorAcknowledged tells the executor that the agent has recorded the
// status update with UUID for the task, so the executor may stop resending
// it.
type ExecutorAcknowledged struct {
	TaskID TaskID `json:"task_id"`
	UUID   []byte `json:"uuid"`
}

// MarshalJSON prints uuid as "" when it is nil: the field is required in
// executor.proto, and encoding/json would print a nil slice as null.
func (a ExecutorAcknowledged) MarshalJSON() ([]byte, error) {
	type plain ExecutorAcknowledged
	p := plain(a)
	if p.UUID == nil {
		p.UUID = []byte{}
	}
	return json.Marshal(p)
}

// MesosDuration writes d as Mesos's agents write the durations they pass
// to executors (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD and its kin): a
// whole number of the largest unit that holds it exactly, as "15mins",
// "5secs" or "1500ms". An executor built on libmesos parses them with
// stout, which knows only its own units and exits on Go's "15m0s";
// sdk/executor.ParseDuration reads both.
func MesosDuration(d time.Duration) string {
	if d < 0 {
		return "-" + MesosDuration(-d)
	}
	units := []struct {
		name string
		size time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour}, {"mins", time.Minute},
		{"secs", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond},
	}
	for _, u := range units {
		if d >= u.size && d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
