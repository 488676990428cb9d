package api

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"unicode"
)

// Validation follows Mesos's master (src/master/validation.cpp) and agent
// (src/slave/validation.cpp): a call that fails it is answered with 400 Bad
// Request before anything acts on it. Where Mesos has a message for a rule
// the message is Mesos's, so that users can match it against Mesos's
// documentation. Offer operations, and the tasks inside them, are not part
// of call validation: in Mesos an invalid task is answered with a TASK_ERROR
// update, not with a 400, and the master uses ValidateTaskInfo for that.

// maxIDLength is NAME_MAX: IDs become file names on agents.
const maxIDLength = 255

// uuidLength is the size in bytes of the UUIDs that status updates carry.
const uuidLength = 16

// ValidateID returns an error unless value may be used as an ID of the
// given kind ("task", "executor", ...), which only names the ID in the
// error. As in
// Mesos, an ID must be non-empty, at most 255 bytes long, neither "." nor
// "..", and free of control characters, '/' and '\', because agents use IDs
// as directory names in sandbox paths.
func ValidateID(kind, value string) error {
	switch {
	case value == "":
		return fmt.Errorf("%s ID must not be empty", kind)
	case len(value) > maxIDLength:
		return fmt.Errorf("%s ID must not be longer than %d bytes", kind, maxIDLength)
	case value == "." || value == "..":
		return fmt.Errorf("%s ID '%s' is disallowed", kind, value)
	}
	for _, r := range value {
		if unicode.IsControl(r) || r == '/' || r == '\\' {
			return fmt.Errorf("%s ID %q contains invalid characters", kind, value)
		}
	}
	return nil
}

// Validate returns an error, naming the field at fault, unless c is a
// well-formed scheduler call as the master checks it before acting: the type is set and known; every call but
// SUBSCRIBE names its framework; the payload matching the type is present
// (REVIVE and SUPPRESS may omit theirs, meaning all roles) with its required
// fields; acknowledgement UUIDs are 16 bytes. SUBSCRIBE and UPDATE_FRAMEWORK
// also check the FrameworkInfo (user, name, roles, suppressed roles).
//
// UNKNOWN passes validation: the master answers it with 501, as Mesos does.
func (c *Call) Validate() error {
	if c.Type == "" {
		return errors.New("Expecting 'type' to be present")
	}
	if c.Type == CallSubscribe {
		return c.validateSubscribe()
	}
	if c.FrameworkID == nil || c.FrameworkID.Value == "" {
		return errors.New("Expecting 'framework_id' to be present")
	}
	switch c.Type {
	case CallUnknown, CallTeardown, CallRevive, CallSuppress:
		return nil
	case CallAccept:
		return needPayload(c.Accept != nil, "accept")
	case CallDecline:
		return needPayload(c.Decline != nil, "decline")
	case CallAcceptInverseOffers:
		return needPayload(c.AcceptInverseOffers != nil, "accept_inverse_offers")
	case CallDeclineInverseOffers:
		return needPayload(c.DeclineInverseOffers != nil, "decline_inverse_offers")
	case CallKill:
		return c.validateKill()
	case CallShutdown:
		return c.validateShutdown()
	case CallAcknowledge:
		return c.validateAcknowledge()
	case CallAcknowledgeOperationStatus:
		return c.validateAcknowledgeOperationStatus()
	case CallReconcile:
		return c.validateReconcile()
	case CallReconcileOperations:
		return needPayload(c.ReconcileOperations != nil, "reconcile_operations")
	case CallMessage:
		return c.validateMessage()
	case CallRequest:
		return needPayload(c.Request != nil, "request")
	case CallUpdateFramework:
		return c.validateUpdateFramework()
	}
	return fmt.Errorf("unknown call 'type' %q", c.Type)
}

func (c *Call) validateSubscribe() error {
	if c.Subscribe == nil {
		return errors.New("Expecting 'subscribe' to be present")
	}
	fi := &c.Subscribe.FrameworkInfo
	if c.FrameworkID != nil && fi.ID != nil && c.FrameworkID.Value != fi.ID.Value {
		return errors.New("'framework_id' differs from 'subscribe.framework_info.id'")
	}
	if err := checkFrameworkInfo(fi, "subscribe.framework_info"); err != nil {
		return err
	}
	return checkSuppressedRoles(fi, c.Subscribe.SuppressedRoles, "subscribe.suppressed_roles")
}

func (c *Call) validateUpdateFramework() error {
	u := c.UpdateFramework
	if u == nil {
		return errors.New("Expecting 'update_framework' to be present")
	}
	fi := &u.FrameworkInfo
	if fi.ID == nil || fi.ID.Value != c.FrameworkID.Value {
		return errors.New("'framework_id' differs from 'update_framework.framework_info.id'")
	}
	if err := checkFrameworkInfo(fi, "update_framework.framework_info"); err != nil {
		return err
	}
	return checkSuppressedRoles(fi, u.SuppressedRoles, "update_framework.suppressed_roles")
}

func (c *Call) validateKill() error {
	if c.Kill == nil {
		return errors.New("Expecting 'kill' to be present")
	}
	return needField(c.Kill.TaskID.Value, "kill.task_id")
}

func (c *Call) validateShutdown() error {
	if c.Shutdown == nil {
		return errors.New("Expecting 'shutdown' to be present")
	}
	if err := needField(c.Shutdown.ExecutorID.Value, "shutdown.executor_id"); err != nil {
		return err
	}
	return needField(c.Shutdown.AgentID.Value, "shutdown.agent_id")
}

func (c *Call) validateAcknowledge() error {
	a := c.Acknowledge
	if a == nil {
		return errors.New("Expecting 'acknowledge' to be present")
	}
	if err := needField(a.AgentID.Value, "acknowledge.agent_id"); err != nil {
		return err
	}
	if err := needField(a.TaskID.Value, "acknowledge.task_id"); err != nil {
		return err
	}
	return checkUUID(a.UUID, "acknowledge.uuid")
}

func (c *Call) validateAcknowledgeOperationStatus() error {
	a := c.AcknowledgeOperationStatus
	if a == nil {
		return errors.New("Expecting 'acknowledge_operation_status' to be present")
	}
	if err := needField(a.OperationID.Value, "acknowledge_operation_status.operation_id"); err != nil {
		return err
	}
	return checkUUID(a.UUID, "acknowledge_operation_status.uuid")
}

func (c *Call) validateReconcile() error {
	if c.Reconcile == nil {
		return errors.New("Expecting 'reconcile' to be present")
	}
	for i, t := range c.Reconcile.Tasks {
		if err := needField(t.TaskID.Value, fmt.Sprintf("reconcile.tasks[%d].task_id", i)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Call) validateMessage() error {
	m := c.Message
	if m == nil {
		return errors.New("Expecting 'message' to be present")
	}
	if err := needField(m.AgentID.Value, "message.agent_id"); err != nil {
		return err
	}
	return needField(m.ExecutorID.Value, "message.executor_id")
}

// checkFrameworkInfo applies the rules of FrameworkInfo that Mesos checks
// on SUBSCRIBE and UPDATE_FRAMEWORK: name is required (user may be
// empty: see FrameworkInfo), a
// MULTI_ROLE framework uses roles and not role (and the reverse), and the
// roles are valid and distinct.
func checkFrameworkInfo(fi *FrameworkInfo, field string) error {
	if err := needField(fi.Name, field+".name"); err != nil {
		return err
	}
	if fi.HasCapability(CapMultiRole) {
		if fi.Role != "" {
			return fmt.Errorf("'%s.role' must not be set when the framework is MULTI_ROLE capable", field)
		}
	} else if len(fi.Roles) > 0 {
		return fmt.Errorf("'%s.roles' must not be set when the framework is not MULTI_ROLE capable", field)
	}
	seen := map[string]bool{}
	for _, role := range fi.AllRoles() {
		if seen[role] {
			return fmt.Errorf("'%s.roles' contains duplicate role '%s'", field, role)
		}
		seen[role] = true
		if err := ValidateRole(role); err != nil {
			return fmt.Errorf("'%s.roles' contains an invalid role: %w", field, err)
		}
	}
	return nil
}

// checkSuppressedRoles reports a suppressed role the framework is not
// subscribed to.
func checkSuppressedRoles(fi *FrameworkInfo, suppressed []string, field string) error {
	roles := fi.AllRoles()
	for _, r := range suppressed {
		if !slices.Contains(roles, r) {
			return fmt.Errorf("'%s' contains role '%s', which is not one of the framework's roles", field, r)
		}
	}
	return nil
}

// ValidateTaskInfo returns an error unless t can be launched, by the rules of
// Mesos's master (task ID valid, at least one resource, each resource
// well formed, exactly one of command and executor, a valid executor,
// non-negative durations) extended for Mezzo's WASM containers: a task
// whose container is of type WASM runs the module its "wasm" object names
// and takes neither a command nor an executor. Resource quantities are not
// compared with the offer here; that is the master's job. The error names
// the task and the offending field.
func ValidateTaskInfo(t *TaskInfo) error {
	if err := ValidateID("task", t.TaskID.Value); err != nil {
		return err
	}
	if err := checkTaskInfo(t); err != nil {
		return fmt.Errorf("task '%s': %w", t.TaskID.Value, err)
	}
	return nil
}

func checkTaskInfo(t *TaskInfo) error {
	if err := needField(t.AgentID.Value, "agent_id"); err != nil {
		return err
	}
	if len(t.Resources) == 0 {
		return errors.New("'resources' must not be empty: a task must use at least one resource")
	}
	for i := range t.Resources {
		if err := ValidateResource(t.Resources[i]); err != nil {
			return fmt.Errorf("'resources[%d]': %w", i, err)
		}
	}
	if err := checkRevocableMix(t.Resources); err != nil {
		return err
	}
	if err := checkTaskRunnable(t); err != nil {
		return err
	}
	if t.Executor != nil {
		if err := ValidateExecutorInfo(t.Executor); err != nil {
			return fmt.Errorf("'executor': %w", err)
		}
	}
	if err := checkTaskLimits(t); err != nil {
		return err
	}
	// A check the agent cannot run is refused, not run unchecked.
	if t.HealthCheck != nil {
		if _, err := HealthCheckSchedule(t.HealthCheck); err != nil {
			return err
		}
	}
	if t.Check != nil {
		if _, err := CheckInfoSchedule(t.Check); err != nil {
			return err
		}
	}
	if t.KillPolicy != nil && t.KillPolicy.GracePeriod != nil && t.KillPolicy.GracePeriod.Nanoseconds < 0 {
		return errors.New("'kill_policy.grace_period' must be non-negative")
	}
	if t.MaxCompletionTime != nil && t.MaxCompletionTime.Nanoseconds < 0 {
		return errors.New("'max_completion_time' must be non-negative")
	}
	return nil
}

// checkRevocableMix refuses, as Mesos does, a resource name used both
// revocable and not: the agent could take back part of it only.
func checkRevocableMix(res []Resource) error {
	revocable := map[string]bool{}
	for _, r := range res {
		if was, seen := revocable[r.Name]; seen && was != (r.Revocable != nil) {
			return fmt.Errorf("'resources': cannot use both revocable and non-revocable '%s' at the same time", r.Name)
		}
		revocable[r.Name] = r.Revocable != nil
	}
	return nil
}

// checkTaskLimits checks a task's resource limits as Mesos does: only
// cpus and mem, each no less than the task's request of it (the
// resources it takes), Infinity meaning no limit.
func checkTaskLimits(t *TaskInfo) error {
	for name, v := range t.Limits {
		if name != "cpus" && name != "mem" {
			return fmt.Errorf("'limits': %q cannot be limited, only cpus and mem", name)
		}
		limit := float64(v.Value)
		if math.IsNaN(limit) || limit <= 0 {
			return fmt.Errorf("'limits.%s' must be positive (or Infinity)", name)
		}
		if req := Resources(t.Resources).ScalarValue(name); limit < req {
			return fmt.Errorf("'limits.%s' (%g) must not be below the task's %s resource (%g)", name, limit, name, req)
		}
	}
	return nil
}

// checkTaskRunnable checks that the task says what to run in exactly one
// way: a command, an executor, or a WASM container (which may come with a
// command holding only URIs to fetch).
func checkTaskRunnable(t *TaskInfo) error {
	wasm, err := checkWasmContainer(t.Container)
	if err != nil {
		return err
	}
	if wasm && t.Command != nil {
		// As with Mesos's containers, the command may come along to
		// carry the URIs to fetch into the sandbox; what runs, with its
		// arguments and environment, is the module's business.
		c := t.Command
		if c.Value != "" || len(c.Arguments) > 0 || c.Environment != nil || c.User != "" {
			return errors.New("a task with a WASM container may have a 'command' only to carry 'uris': its arguments and environment go in 'container.wasm'")
		}
	}
	n := 0
	for _, set := range []bool{t.Command != nil && !wasm, t.Executor != nil, wasm} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("exactly one of 'command', 'executor' or a WASM container must be set")
	}
	return nil
}

// checkWasmContainer reports whether c is a WASM container, and returns an
// error unless its "wasm" object is well formed: a module named by the lowercase hex SHA-256
// of its bytes, and a known engine.
func checkWasmContainer(c *ContainerInfo) (bool, error) {
	if c == nil {
		return false, nil
	}
	if c.Type != ContainerWasm {
		if c.Wasm != nil {
			return false, fmt.Errorf("'container.wasm' is set but 'container.type' is '%s', not 'WASM'", c.Type)
		}
		return false, nil
	}
	w := c.Wasm
	if w == nil {
		return false, errors.New("'container.type' is 'WASM' but 'container.wasm' is not set")
	}
	if !isLowerHex(w.SHA256, 64) {
		return false, fmt.Errorf("'container.wasm.sha256' must be 64 lowercase hexadecimal characters, got %q", w.SHA256)
	}
	switch w.Engine {
	case "", EngineWazero, EngineWasmtime:
	default:
		return false, fmt.Errorf("'container.wasm.engine' must be '', '%s' or '%s', got %q", EngineWazero, EngineWasmtime, w.Engine)
	}
	return true, nil
}

// ValidateExecutorInfo returns an error unless e is a launchable executor:
// a valid executor ID, well-formed resources, and a command exactly when
// the executor is the framework's own (type CUSTOM, or unset as in old
// frameworks) rather than Mezzo's DEFAULT executor.
func ValidateExecutorInfo(e *ExecutorInfo) error {
	if err := ValidateID("executor", e.ExecutorID.Value); err != nil {
		return err
	}
	switch e.Type {
	case ExecutorDefault:
		if e.Command != nil {
			return fmt.Errorf("executor '%s': 'command' must not be set for a DEFAULT executor", e.ExecutorID.Value)
		}
	case ExecutorCustom, "":
		if e.Command == nil {
			return fmt.Errorf("executor '%s': 'command' must be set for a CUSTOM executor", e.ExecutorID.Value)
		}
	default:
		return fmt.Errorf("executor '%s': unknown 'type' %q", e.ExecutorID.Value, e.Type)
	}
	for i := range e.Resources {
		if err := ValidateResource(e.Resources[i]); err != nil {
			return fmt.Errorf("executor '%s': 'resources[%d]': %w", e.ExecutorID.Value, i, err)
		}
	}
	if e.ShutdownGracePeriod != nil && e.ShutdownGracePeriod.Nanoseconds < 0 {
		return fmt.Errorf("executor '%s': 'shutdown_grace_period' must be non-negative", e.ExecutorID.Value)
	}
	return nil
}

// Validate returns an error, naming the field at fault, unless a is a
// well-formed agent call as the master checks it: a known type; SUBSCRIBE
// carries the agent's hostname (and, on reregistration, an AgentInfo.ID
// that agrees with AgentID); every other call names the agent; UPDATE
// carries at least one update, each naming its framework and task with a
// valid state and a 16-byte UUID; MESSAGE names its framework and
// executor; EXECUTOR_EXITED names its framework and executor. A
// SUBSCRIBE's executors name themselves and their frameworks.
func (a *AgentCall) Validate() error {
	switch a.Type {
	case "":
		return errors.New("Expecting 'type' to be present")
	case AgentCallSubscribe:
		return a.validateSubscribe()
	case AgentCallUpdate, AgentCallMessage, AgentCallExecutorExited:
	default:
		return fmt.Errorf("unknown agent call 'type' %q", a.Type)
	}
	if a.AgentID == nil || a.AgentID.Value == "" {
		return errors.New("Expecting 'agent_id' to be present")
	}
	switch a.Type {
	case AgentCallUpdate:
		return a.validateUpdate()
	case AgentCallExecutorExited:
		return a.validateExecutorExited()
	}
	return a.validateMessage()
}

func (a *AgentCall) validateSubscribe() error {
	s := a.Subscribe
	if s == nil {
		return errors.New("Expecting 'subscribe' to be present")
	}
	if err := needField(s.AgentInfo.Hostname, "subscribe.agent_info.hostname"); err != nil {
		return err
	}
	if a.AgentID != nil && s.AgentInfo.ID != nil && a.AgentID.Value != s.AgentInfo.ID.Value {
		return errors.New("'agent_id' differs from 'subscribe.agent_info.id'")
	}
	for i, t := range s.Tasks {
		field := fmt.Sprintf("subscribe.tasks[%d]", i)
		if err := needField(t.TaskID.Value, field+".task_id"); err != nil {
			return err
		}
		if err := needField(t.FrameworkID.Value, field+".framework_id"); err != nil {
			return err
		}
		if !t.State.Valid() {
			return fmt.Errorf("'%s.state' is not a valid task state: %q", field, t.State)
		}
	}
	for i, e := range s.Executors {
		field := fmt.Sprintf("subscribe.executors[%d]", i)
		if err := needField(e.ExecutorID.Value, field+".executor_id"); err != nil {
			return err
		}
		if e.FrameworkID == nil || e.FrameworkID.Value == "" {
			return fmt.Errorf("Expecting '%s.framework_id' to be present", field)
		}
	}
	return nil
}

func (a *AgentCall) validateUpdate() error {
	if len(a.Updates) == 0 {
		return errors.New("Expecting 'updates' to be present")
	}
	for i := range a.Updates {
		u := &a.Updates[i]
		field := fmt.Sprintf("updates[%d]", i)
		if err := needField(u.FrameworkID.Value, field+".framework_id"); err != nil {
			return err
		}
		if err := checkStatus(&u.Status, field+".status"); err != nil {
			return err
		}
	}
	return nil
}

func (a *AgentCall) validateMessage() error {
	m := a.Message
	if m == nil {
		return errors.New("Expecting 'message' to be present")
	}
	if err := needField(m.FrameworkID.Value, "message.framework_id"); err != nil {
		return err
	}
	return needField(m.ExecutorID.Value, "message.executor_id")
}

func (a *AgentCall) validateExecutorExited() error {
	e := a.ExecutorExited
	if e == nil {
		return errors.New("Expecting 'executor_exited' to be present")
	}
	if err := needField(e.FrameworkID.Value, "executor_exited.framework_id"); err != nil {
		return err
	}
	return needField(e.ExecutorID.Value, "executor_exited.executor_id")
}

// Validate checks that the event names both the framework and the
// executor: an agent must not guess which executor to shut down.
func (s *AgentShutdownExecutor) Validate() error {
	if err := needField(s.FrameworkID.Value, "shutdown_executor.framework_id"); err != nil {
		return err
	}
	return needField(s.ExecutorID.Value, "shutdown_executor.executor_id")
}

// checkStatus checks a status update that must be acknowledged: it names
// its task, has a valid state and carries a 16-byte UUID.
func checkStatus(s *TaskStatus, field string) error {
	if err := needField(s.TaskID.Value, field+".task_id"); err != nil {
		return err
	}
	if !s.State.Valid() {
		return fmt.Errorf("'%s.state' is not a valid task state: %q", field, s.State)
	}
	if s.UUID == nil {
		return fmt.Errorf("Expecting '%s.uuid' to be present", field)
	}
	return checkUUID(s.UUID, field+".uuid")
}

// Validate returns an error, naming the field at fault, unless c is a
// well-formed executor call as Mesos's agent checks it: a type, the executor and framework IDs, the payload
// matching the type; an UPDATE's status carries a 16-byte UUID, comes from
// SOURCE_EXECUTOR, names no other executor and is not TASK_STAGING (which
// only the master may send). UNKNOWN passes and is answered with 501.
func (c *ExecutorCall) Validate() error {
	if c.Type == "" {
		return errors.New("Expecting 'type' to be present")
	}
	if c.ExecutorID.Value == "" {
		return errors.New("Expecting 'executor_id' to be present")
	}
	if c.FrameworkID.Value == "" {
		return errors.New("Expecting 'framework_id' to be present")
	}
	if len(c.MoreUpdates) > 0 && c.Type != ExecutorCallUpdate {
		return fmt.Errorf("'more_updates' may come only with an UPDATE call, not %s", c.Type)
	}
	switch c.Type {
	case ExecutorCallUnknown, ExecutorCallHeartbeat:
		return nil
	case ExecutorCallSubscribe:
		if err := needPayload(c.Subscribe != nil, "subscribe"); err != nil {
			return err
		}
		// The updates an executor lists are recorded and sent as an
		// UPDATE's are: a malformed one would be refused by the master in
		// every call that carried it, with the other tasks' updates there.
		for i := range c.Subscribe.UnacknowledgedUpdates {
			field := fmt.Sprintf("subscribe.unacknowledged_updates[%d]", i)
			if err := checkExecutorUpdate(&c.Subscribe.UnacknowledgedUpdates[i], c.ExecutorID.Value, field); err != nil {
				return err
			}
		}
		return nil
	case ExecutorCallUpdate:
		return c.validateUpdate()
	case ExecutorCallMessage:
		return needPayload(c.Message != nil, "message")
	case ExecutorCallUsage:
		return needPayload(c.Usage != nil, "usage")
	}
	return fmt.Errorf("unknown executor call 'type' %q", c.Type)
}

func (c *ExecutorCall) validateUpdate() error {
	if c.Update == nil {
		return errors.New("Expecting 'update' to be present")
	}
	if err := checkExecutorUpdate(c.Update, c.ExecutorID.Value, "update"); err != nil {
		return err
	}
	if n := len(c.MoreUpdates); n > MaxMoreUpdates {
		return fmt.Errorf("'more_updates' lists %d updates, more than the %d a call may carry", n, MaxMoreUpdates)
	}
	for i := range c.MoreUpdates {
		if err := checkExecutorUpdate(&c.MoreUpdates[i], c.ExecutorID.Value, fmt.Sprintf("more_updates[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// checkExecutorUpdate checks an update an executor sends, or lists when
// it subscribes, named field in errors.
func checkExecutorUpdate(u *ExecutorUpdate, executorID, field string) error {
	s := &u.Status
	if err := checkStatus(s, field+".status"); err != nil {
		return err
	}
	if s.ExecutorID != nil && s.ExecutorID.Value != executorID {
		return fmt.Errorf("'%s.status.executor_id' %q does not match 'executor_id' %q", field, s.ExecutorID.Value, executorID)
	}
	if s.Source != SourceExecutor {
		return fmt.Errorf("'%s.status.source' must be 'SOURCE_EXECUTOR', got %q", field, s.Source)
	}
	if s.State == TaskStaging {
		return fmt.Errorf("'%s.status.state' may not be TASK_STAGING, which only the master sends", field)
	}
	return nil
}

// Validate returns an error, naming the field at fault, unless c is a
// well-formed operator call as Mesos's master checks it: a known type, and the payload matching the type with
// its required fields (the agent, framework, path or schedule it is
// about). Calls without parameters need no payload. UNKNOWN passes and is
// answered with 501.
func (c *OperatorCall) Validate() error {
	switch c.Type {
	case "":
		return errors.New("Expecting 'type' to be present")
	case OperatorUnknown, OperatorGetHealth, OperatorGetFlags, OperatorGetVersion,
		OperatorGetLoggingLevel, OperatorGetState, OperatorGetAgents,
		OperatorGetFrameworks, OperatorGetExecutors, OperatorGetOperations,
		OperatorGetTasks, OperatorGetRoles, OperatorGetWeights, OperatorGetMaster,
		OperatorSubscribe, OperatorGetMaintenanceStatus,
		OperatorGetMaintenanceSchedule, OperatorGetQuota:
		return nil
	case OperatorGetMetrics:
		return needPayload(c.GetMetrics != nil, "get_metrics")
	case OperatorSetLoggingLevel:
		return needPayload(c.SetLoggingLevel != nil, "set_logging_level")
	case OperatorListFiles:
		if c.ListFiles == nil {
			return errors.New("Expecting 'list_files' to be present")
		}
		return needField(c.ListFiles.Path, "list_files.path")
	case OperatorReadFile:
		if c.ReadFile == nil {
			return errors.New("Expecting 'read_file' to be present")
		}
		return needField(c.ReadFile.Path, "read_file.path")
	case OperatorUpdateWeights:
		return needPayload(c.UpdateWeights != nil, "update_weights")
	case OperatorUpdateMaintenanceSchedule:
		return needPayload(c.UpdateMaintenanceSchedule != nil, "update_maintenance_schedule")
	case OperatorStartMaintenance:
		return needPayload(c.StartMaintenance != nil, "start_maintenance")
	case OperatorStopMaintenance:
		return needPayload(c.StopMaintenance != nil, "stop_maintenance")
	case OperatorGrowVolume:
		return needPayload(c.GrowVolume != nil, "grow_volume")
	case OperatorShrinkVolume:
		return needPayload(c.ShrinkVolume != nil, "shrink_volume")
	case OperatorUpdateQuota:
		return c.validateUpdateQuota()
	case OperatorAddMaster, OperatorRemoveMaster:
		m := c.AddMaster
		if c.Type == OperatorRemoveMaster {
			m = c.RemoveMaster
		}
		field := strings.ToLower(string(c.Type))
		if m == nil {
			return fmt.Errorf("Expecting '%s' to be present", field)
		}
		if _, _, err := net.SplitHostPort(m.Address); err != nil {
			return fmt.Errorf("'%s.address' must be HOST:PORT: %v", field, err)
		}
		return nil
	case OperatorTeardown:
		if c.Teardown == nil {
			return errors.New("Expecting 'teardown' to be present")
		}
		return needField(c.Teardown.FrameworkID.Value, "teardown.framework_id")
	case OperatorKillTask:
		if c.KillTask == nil {
			return errors.New("Expecting 'kill_task' to be present")
		}
		if err := needField(c.KillTask.FrameworkID.Value, "kill_task.framework_id"); err != nil {
			return err
		}
		return needField(c.KillTask.TaskID.Value, "kill_task.task_id")
	}
	return c.validateAgentCall()
}

// validateAgentCall checks the operator calls about one agent.
func (c *OperatorCall) validateAgentCall() error {
	agent, known := c.agentPayload()
	if !known {
		return fmt.Errorf("unknown operator call 'type' %q", c.Type)
	}
	field := strings.ToLower(string(c.Type))
	if agent == nil {
		return fmt.Errorf("Expecting '%s' to be present", field)
	}
	return needField(agent.Value, field+".agent_id")
}

// agentPayload returns the agent ID in the payload of a call about one
// agent, nil if the payload is missing; known is false for other calls.
func (c *OperatorCall) agentPayload() (agent *AgentID, known bool) {
	switch c.Type {
	case OperatorReserveResources:
		if c.ReserveResources != nil {
			agent = &c.ReserveResources.AgentID
		}
	case OperatorUnreserveResources:
		if c.UnreserveResources != nil {
			agent = &c.UnreserveResources.AgentID
		}
	case OperatorCreateVolumes:
		if c.CreateVolumes != nil {
			agent = &c.CreateVolumes.AgentID
		}
	case OperatorDestroyVolumes:
		if c.DestroyVolumes != nil {
			agent = &c.DestroyVolumes.AgentID
		}
	case OperatorDrainAgent:
		if c.DrainAgent != nil {
			agent = &c.DrainAgent.AgentID
		}
	case OperatorDeactivateAgent:
		if c.DeactivateAgent != nil {
			agent = &c.DeactivateAgent.AgentID
		}
	case OperatorReactivateAgent:
		if c.ReactivateAgent != nil {
			agent = &c.ReactivateAgent.AgentID
		}
	case OperatorMarkAgentGone:
		if c.MarkAgentGone != nil {
			agent = &c.MarkAgentGone.AgentID
		}
	default:
		return nil, false
	}
	return agent, true
}

func (c *OperatorCall) validateUpdateQuota() error {
	if c.UpdateQuota == nil {
		return errors.New("Expecting 'update_quota' to be present")
	}
	for i, q := range c.UpdateQuota.QuotaConfigs {
		field := fmt.Sprintf("update_quota.quota_configs[%d]", i)
		if err := needField(q.Role, field+".role"); err != nil {
			return err
		}
		if err := ValidateRole(q.Role); err != nil {
			return fmt.Errorf("'%s.role': %w", field, err)
		}
	}
	return nil
}

// needPayload returns Mesos's error for a missing payload.
func needPayload(ok bool, field string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("Expecting '%s' to be present", field)
}

// needField returns Mesos's error for a missing or empty required field.
func needField(value, field string) error {
	if value == "" {
		return fmt.Errorf("Expecting '%s' to be present", field)
	}
	return nil
}

// checkUUID returns an error unless b is a 16-byte UUID.
func checkUUID(b []byte, field string) error {
	if len(b) != uuidLength {
		return fmt.Errorf("'%s' must be a %d-byte UUID, got %d bytes", field, uuidLength, len(b))
	}
	return nil
}

// isLowerHex reports whether s is exactly n lowercase hexadecimal digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
