package api

import (
	"math"
	"strings"
	"testing"
)

// validationCase is one row of a validation table: the thing to validate
// and a substring the error must contain (the field at fault), or "" if it
// must pass.
type validationCase struct {
	name    string
	check   func() error
	mention string
}

func runValidationCases(t *testing.T, tests []validationCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			switch {
			case tt.mention == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.mention != "" && err == nil:
				t.Fatalf("no error, want one mentioning %q", tt.mention)
			case tt.mention != "" && !strings.Contains(err.Error(), tt.mention):
				t.Fatalf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"ordinary", "hello-1", true},
		{"unicode", "tâche-1", true},
		{"255 bytes", strings.Repeat("a", 255), true},
		{"dots inside", "a..b", true},
		{"empty", "", false},
		{"256 bytes", strings.Repeat("a", 256), false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"control character", "a\x01b", false},
		{"newline", "a\nb", false},
		{"delete", "a\x7fb", false},
		{"slash", "a/b", false},
		{"backslash", `a\b`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID("task", tt.id)
			if tt.ok != (err == nil) {
				t.Fatalf("ValidateID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "task ID") {
				t.Errorf("error %q does not name the kind of ID", err)
			}
		})
	}
}

var (
	testFrameworkID = &FrameworkID{Value: "fw-1"}
	testUUID        = []byte("0123456789abcdef")
)

func testFrameworkInfo() FrameworkInfo {
	return FrameworkInfo{
		User:         "root",
		Name:         "sched",
		Roles:        []string{"web", "eng/backend"},
		Capabilities: []FrameworkCapability{{Type: CapMultiRole}},
	}
}

func testSubscribe(edit func(*Call)) func() error {
	return func() error {
		c := &Call{Type: CallSubscribe, Subscribe: &Subscribe{FrameworkInfo: testFrameworkInfo()}}
		edit(c)
		return c.Validate()
	}
}

// testCall builds a call of the given type from the framework fw-1.
func testCall(typ CallType, edit func(*Call)) func() error {
	return func() error {
		c := &Call{Type: typ, FrameworkID: testFrameworkID}
		edit(c)
		return c.Validate()
	}
}

func TestCallValidate(t *testing.T) {
	nothing := func(*Call) {}
	tests := []validationCase{
		{"subscribe", testSubscribe(nothing), ""},
		{"subscribe without type", testSubscribe(func(c *Call) { c.Type = "" }), "'type'"},
		{"unknown type", testCall("FOO", nothing), "'type'"},
		{"UNKNOWN type is left to the master", testCall(CallUnknown, nothing), ""},
		{"subscribe without payload", testSubscribe(func(c *Call) { c.Subscribe = nil }), "'subscribe'"},
		{"subscribe without user", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.User = "" }), ""},
		{"subscribe without name", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Name = "" }), "'subscribe.framework_info.name'"},
		{"subscribe with differing framework IDs", testSubscribe(func(c *Call) {
			c.FrameworkID = testFrameworkID
			c.Subscribe.FrameworkInfo.ID = &FrameworkID{Value: "other"}
		}), "'subscribe.framework_info.id'"},
		{"resubscribe with equal framework IDs", testSubscribe(func(c *Call) {
			c.FrameworkID = testFrameworkID
			c.Subscribe.FrameworkInfo.ID = &FrameworkID{Value: "fw-1"}
		}), ""},
		{"subscribe with framework ID on the call only", testSubscribe(func(c *Call) { c.FrameworkID = testFrameworkID }), ""},
		{"MULTI_ROLE framework with role", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Role = "web" }), "'subscribe.framework_info.role'"},
		{"single-role framework with roles", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Capabilities = nil }), "'subscribe.framework_info.roles'"},
		{"duplicate roles", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Roles = []string{"web", "web"} }), "'subscribe.framework_info.roles'"},
		{"role with a space", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Roles = []string{"a b"} }), "'subscribe.framework_info.roles'"},
		{"role with dot-dot", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Roles = []string{"../etc"} }), "'subscribe.framework_info.roles'"},
		{"role starting with a dash", testSubscribe(func(c *Call) { c.Subscribe.FrameworkInfo.Roles = []string{"-x"} }), "'subscribe.framework_info.roles'"},
		{"suppressed roles are framework roles", testSubscribe(func(c *Call) { c.Subscribe.SuppressedRoles = []string{"eng/backend"} }), ""},
		{"suppressed role not a framework role", testSubscribe(func(c *Call) { c.Subscribe.SuppressedRoles = []string{"db"} }), "'subscribe.suppressed_roles'"},
		{"single-role framework suppresses *", testSubscribe(func(c *Call) {
			c.Subscribe.FrameworkInfo.Capabilities = nil
			c.Subscribe.FrameworkInfo.Roles = nil
			c.Subscribe.SuppressedRoles = []string{"*"}
		}), ""},
		{"call without framework ID", testCall(CallTeardown, func(c *Call) { c.FrameworkID = nil }), "'framework_id'"},
		{"call with empty framework ID", testCall(CallTeardown, func(c *Call) { c.FrameworkID = &FrameworkID{} }), "'framework_id'"},
		{"teardown", testCall(CallTeardown, nothing), ""},
		{"revive without payload means all roles", testCall(CallRevive, nothing), ""},
		{"suppress without payload means all roles", testCall(CallSuppress, nothing), ""},
		{"accept", testCall(CallAccept, func(c *Call) { c.Accept = &Accept{} }), ""},
		{"accept without payload", testCall(CallAccept, nothing), "'accept'"},
		{"decline without payload", testCall(CallDecline, nothing), "'decline'"},
		{"accept inverse offers without payload", testCall(CallAcceptInverseOffers, nothing), "'accept_inverse_offers'"},
		{"decline inverse offers without payload", testCall(CallDeclineInverseOffers, nothing), "'decline_inverse_offers'"},
		{"kill", testCall(CallKill, func(c *Call) { c.Kill = &Kill{TaskID: TaskID{"t"}} }), ""},
		{"kill without payload", testCall(CallKill, nothing), "'kill'"},
		{"kill without task", testCall(CallKill, func(c *Call) { c.Kill = &Kill{} }), "'kill.task_id'"},
		{"shutdown", testCall(CallShutdown, func(c *Call) { c.Shutdown = &Shutdown{ExecutorID{"e"}, AgentID{"a"}} }), ""},
		{"shutdown without payload", testCall(CallShutdown, nothing), "'shutdown'"},
		{"shutdown without executor", testCall(CallShutdown, func(c *Call) { c.Shutdown = &Shutdown{AgentID: AgentID{"a"}} }), "'shutdown.executor_id'"},
		{"shutdown without agent", testCall(CallShutdown, func(c *Call) { c.Shutdown = &Shutdown{ExecutorID: ExecutorID{"e"}} }), "'shutdown.agent_id'"},
		{"acknowledge", testCall(CallAcknowledge, func(c *Call) { c.Acknowledge = &Acknowledge{AgentID{"a"}, TaskID{"t"}, testUUID} }), ""},
		{"acknowledge without payload", testCall(CallAcknowledge, nothing), "'acknowledge'"},
		{"acknowledge without agent", testCall(CallAcknowledge, func(c *Call) { c.Acknowledge = &Acknowledge{TaskID: TaskID{"t"}, UUID: testUUID} }), "'acknowledge.agent_id'"},
		{"acknowledge without task", testCall(CallAcknowledge, func(c *Call) { c.Acknowledge = &Acknowledge{AgentID: AgentID{"a"}, UUID: testUUID} }), "'acknowledge.task_id'"},
		{"acknowledge with a 15-byte uuid", testCall(CallAcknowledge, func(c *Call) { c.Acknowledge = &Acknowledge{AgentID{"a"}, TaskID{"t"}, testUUID[:15]} }), "'acknowledge.uuid'"},
		{"acknowledge without uuid", testCall(CallAcknowledge, func(c *Call) { c.Acknowledge = &Acknowledge{AgentID: AgentID{"a"}, TaskID: TaskID{"t"}} }), "'acknowledge.uuid'"},
		{"acknowledge operation status", testCall(CallAcknowledgeOperationStatus, func(c *Call) {
			c.AcknowledgeOperationStatus = &AcknowledgeOperationStatus{UUID: testUUID, OperationID: OperationID{"op"}}
		}), ""},
		{"acknowledge operation status without payload", testCall(CallAcknowledgeOperationStatus, nothing), "'acknowledge_operation_status'"},
		{"acknowledge operation status without operation", testCall(CallAcknowledgeOperationStatus, func(c *Call) {
			c.AcknowledgeOperationStatus = &AcknowledgeOperationStatus{UUID: testUUID}
		}), "'acknowledge_operation_status.operation_id'"},
		{"acknowledge operation status with a bad uuid", testCall(CallAcknowledgeOperationStatus, func(c *Call) {
			c.AcknowledgeOperationStatus = &AcknowledgeOperationStatus{UUID: []byte("x"), OperationID: OperationID{"op"}}
		}), "'acknowledge_operation_status.uuid'"},
		{"implicit reconcile", testCall(CallReconcile, func(c *Call) { c.Reconcile = &Reconcile{} }), ""},
		{"reconcile without payload", testCall(CallReconcile, nothing), "'reconcile'"},
		{"reconcile a task without ID", testCall(CallReconcile, func(c *Call) { c.Reconcile = &Reconcile{Tasks: []ReconcileTask{{}}} }), "'reconcile.tasks[0].task_id'"},
		{"reconcile operations without payload", testCall(CallReconcileOperations, nothing), "'reconcile_operations'"},
		{"message", testCall(CallMessage, func(c *Call) { c.Message = &FrameworkMessage{AgentID{"a"}, ExecutorID{"e"}, nil} }), ""},
		{"message without payload", testCall(CallMessage, nothing), "'message'"},
		{"message without agent", testCall(CallMessage, func(c *Call) { c.Message = &FrameworkMessage{ExecutorID: ExecutorID{"e"}} }), "'message.agent_id'"},
		{"message without executor", testCall(CallMessage, func(c *Call) { c.Message = &FrameworkMessage{AgentID: AgentID{"a"}} }), "'message.executor_id'"},
		{"request without payload", testCall(CallRequest, nothing), "'request'"},
		{"update framework", testCall(CallUpdateFramework, func(c *Call) {
			c.UpdateFramework = &UpdateFramework{FrameworkInfo: testFrameworkInfo()}
			c.UpdateFramework.FrameworkInfo.ID = testFrameworkID
		}), ""},
		{"update framework without payload", testCall(CallUpdateFramework, nothing), "'update_framework'"},
		{"update framework of another framework", testCall(CallUpdateFramework, func(c *Call) {
			c.UpdateFramework = &UpdateFramework{FrameworkInfo: testFrameworkInfo()}
		}), "'update_framework.framework_info.id'"},
		{"update framework without user", testCall(CallUpdateFramework, func(c *Call) {
			c.UpdateFramework = &UpdateFramework{FrameworkInfo: testFrameworkInfo()}
			c.UpdateFramework.FrameworkInfo.ID = testFrameworkID
			c.UpdateFramework.FrameworkInfo.User = ""
		}), ""},
		{"update framework suppressing a foreign role", testCall(CallUpdateFramework, func(c *Call) {
			c.UpdateFramework = &UpdateFramework{FrameworkInfo: testFrameworkInfo(), SuppressedRoles: []string{"db"}}
			c.UpdateFramework.FrameworkInfo.ID = testFrameworkID
		}), "'update_framework.suppressed_roles'"},
	}
	runValidationCases(t, tests)
}

const testSHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func testTask(edit func(*TaskInfo)) func() error {
	return func() error {
		t := &TaskInfo{
			Name:    "hello",
			TaskID:  TaskID{"hello-1"},
			AgentID: AgentID{"agent-1"},
			Resources: []Resource{
				{Name: "cpus", Type: SCALAR, Scalar: &Scalar{Value: 0.5}},
				{Name: "ports", Type: RANGES, Ranges: &Ranges{Range: []Range{{31000, 31001}}}},
				{Name: "gpus", Type: SET, Set: &Set{Item: []string{"gpu0"}}},
			},
			Command: &CommandInfo{Value: "./serve"},
		}
		edit(t)
		return ValidateTaskInfo(t)
	}
}

func wasmContainer(sha, engine string) *ContainerInfo {
	return &ContainerInfo{Type: ContainerWasm, Wasm: &WasmInfo{SHA256: sha, Engine: engine}}
}

func customExecutor() *ExecutorInfo {
	return &ExecutorInfo{Type: ExecutorCustom, ExecutorID: ExecutorID{"exec-1"}, Command: &CommandInfo{Value: "./executor"}}
}

func TestValidateTaskInfo(t *testing.T) {
	nothing := func(*TaskInfo) {}
	asWasm := func(engine string) func(*TaskInfo) {
		return func(t *TaskInfo) { t.Command = nil; t.Container = wasmContainer(testSHA256, engine) }
	}
	tests := []validationCase{
		{"command task", testTask(nothing), ""},
		{"error names the task", testTask(func(t *TaskInfo) { t.Resources = nil }), "task 'hello-1':"},
		{"empty task ID", testTask(func(t *TaskInfo) { t.TaskID.Value = "" }), "task ID"},
		{"task ID with a slash", testTask(func(t *TaskInfo) { t.TaskID.Value = "a/b" }), "task ID"},
		{"no agent", testTask(func(t *TaskInfo) { t.AgentID.Value = "" }), "'agent_id'"},
		{"no resources", testTask(func(t *TaskInfo) { t.Resources = nil }), "'resources'"},
		{"resource without name", testTask(func(t *TaskInfo) { t.Resources[0].Name = "" }), "'resources[0]': invalid resource \":0.5\": the name is empty"},
		{"resource without type", testTask(func(t *TaskInfo) { t.Resources[0].Type = "" }), "'resources[0]': invalid resource \"cpus:?\": type \"\" is not SCALAR"},
		{"resource of unknown type", testTask(func(t *TaskInfo) { t.Resources[0].Type = "TEXT" }), "type \"TEXT\" is not SCALAR, RANGES or SET"},
		{"scalar without scalar", testTask(func(t *TaskInfo) { t.Resources[0].Scalar = nil }), "type SCALAR needs a scalar"},
		{"scalar with ranges too", testTask(func(t *TaskInfo) { t.Resources[0].Ranges = &Ranges{} }), "type SCALAR needs a scalar and no ranges"},
		{"negative scalar", testTask(func(t *TaskInfo) { t.Resources[0].Scalar.Value = -1 }), "the scalar -1 is negative"},
		{"NaN scalar", testTask(func(t *TaskInfo) { t.Resources[0].Scalar.Value = Float64(math.NaN()) }), "the scalar is NaN"},
		{"infinite scalar", testTask(func(t *TaskInfo) { t.Resources[0].Scalar.Value = Float64(math.Inf(1)) }), "is infinite"},
		{"ranges without ranges", testTask(func(t *TaskInfo) { t.Resources[1].Ranges = nil }), "'resources[1]'"},
		{"range begin after end", testTask(func(t *TaskInfo) { t.Resources[1].Ranges.Range[0] = Range{5, 4} }), "range 5-4 begins after it ends"},
		{"set without set", testTask(func(t *TaskInfo) { t.Resources[2].Set = nil }), "type SET needs a set"},
		{"revocable and non-revocable cpus", testTask(func(t *TaskInfo) {
			r := t.Resources[0]
			r.Revocable = &RevocableInfo{}
			t.Resources = append(t.Resources, r)
		}), "cannot use both revocable and non-revocable 'cpus'"},
		{"revocable cpus beside other resources", testTask(func(t *TaskInfo) { t.Resources[0].Revocable = &RevocableInfo{} }), ""},
		{"neither command nor executor", testTask(func(t *TaskInfo) { t.Command = nil }), "exactly one of 'command', 'executor'"},
		{"both command and executor", testTask(func(t *TaskInfo) { t.Executor = customExecutor() }), "exactly one of 'command', 'executor'"},
		{"executor task", testTask(func(t *TaskInfo) { t.Command = nil; t.Executor = customExecutor() }), ""},
		{"executor with a bad ID", testTask(func(t *TaskInfo) {
			t.Command, t.Executor = nil, customExecutor()
			t.Executor.ExecutorID.Value = ".."
		}), "executor ID"},
		{"default executor with a command", testTask(func(t *TaskInfo) {
			t.Command, t.Executor = nil, customExecutor()
			t.Executor.Type = ExecutorDefault
		}), "'command'"},
		{"custom executor without a command", testTask(func(t *TaskInfo) {
			t.Command, t.Executor = nil, customExecutor()
			t.Executor.Command = nil
		}), "'command'"},
		{"a health check", testTask(func(t *TaskInfo) {
			t.HealthCheck = &HealthCheck{Type: CheckTypeHTTP, HTTP: &HTTPCheckInfo{Port: 80, Path: "/health"}}
		}), ""},
		{"a health check that cannot run", testTask(func(t *TaskInfo) {
			t.HealthCheck = &HealthCheck{Type: CheckTypeHTTP, HTTP: &HTTPCheckInfo{Port: 0}}
		}), "health check: 'http.port' must be in 1..65535"},
		{"a check that cannot run", testTask(func(t *TaskInfo) {
			t.Check = &CheckInfo{Type: CheckTypeTCP, TCP: &CheckTCP{Port: 80}, IntervalSeconds: Ptr(Float64(-1))}
		}), "check: 'interval_seconds' must be non-negative"},
		{"wasm task on the default engine", testTask(asWasm("")), ""},
		{"wasm task on wazero", testTask(asWasm(EngineWazero)), ""},
		{"wasm task on wasmtime", testTask(asWasm(EngineWasmtime)), ""},
		{"wasm task with a command", testTask(func(t *TaskInfo) { t.Container = wasmContainer(testSHA256, "") }), "'command' only to carry 'uris'"},
		{"cpu and memory limits", testTask(func(t *TaskInfo) {
			t.Limits = map[string]Float64Value{"cpus": {Value: 2}, "mem": {Value: Float64(math.Inf(1))}}
		}), ""},
		{"a limit below the request", testTask(func(t *TaskInfo) { t.Limits = map[string]Float64Value{"cpus": {Value: 0.25}} }),
			"'limits.cpus' (0.25) must not be below the task's cpus resource (0.5)"},
		{"a limit on disk", testTask(func(t *TaskInfo) { t.Limits = map[string]Float64Value{"disk": {Value: 10}} }), "only cpus and mem"},
		{"a zero limit", testTask(func(t *TaskInfo) { t.Limits = map[string]Float64Value{"mem": {Value: 0}} }), "must be positive"},
		{"wasm task with URIs to fetch", testTask(func(t *TaskInfo) {
			t.Container = wasmContainer(testSHA256, "")
			t.Command = &CommandInfo{URIs: []CommandURI{{Value: "http://example.com/input"}}}
		}), ""},
		{"wasm task with a command's environment", testTask(func(t *TaskInfo) {
			t.Container = wasmContainer(testSHA256, "")
			t.Command = &CommandInfo{Environment: &Environment{}}
		}), "'command' only to carry 'uris'"},
		{"wasm task with an executor", testTask(func(t *TaskInfo) {
			asWasm("")(t)
			t.Executor = customExecutor()
		}), "exactly one of"},
		{"wasm task on an unknown engine", testTask(asWasm("v8")), "'container.wasm.engine'"},
		{"wasm module hash in uppercase", testTask(func(t *TaskInfo) {
			asWasm("")(t)
			t.Container.Wasm.SHA256 = strings.ToUpper(testSHA256)
		}), "'container.wasm.sha256'"},
		{"wasm module hash too short", testTask(func(t *TaskInfo) {
			asWasm("")(t)
			t.Container.Wasm.SHA256 = testSHA256[:63]
		}), "'container.wasm.sha256'"},
		{"WASM container without wasm", testTask(func(t *TaskInfo) {
			t.Command = nil
			t.Container = &ContainerInfo{Type: ContainerWasm}
		}), "'container.wasm'"},
		{"wasm object in a MESOS container", testTask(func(t *TaskInfo) {
			t.Container = wasmContainer(testSHA256, "")
			t.Container.Type = ContainerMesos
		}), "'container.wasm'"},
		{"negative kill grace period", testTask(func(t *TaskInfo) {
			t.KillPolicy = &KillPolicy{GracePeriod: &DurationInfo{Nanoseconds: -1}}
		}), "'kill_policy.grace_period'"},
		{"negative max completion time", testTask(func(t *TaskInfo) {
			t.MaxCompletionTime = &DurationInfo{Nanoseconds: -1}
		}), "'max_completion_time'"},
	}
	runValidationCases(t, tests)
}

func testAgentCall(typ AgentCallType, edit func(*AgentCall)) func() error {
	return func() error {
		a := &AgentCall{Type: typ, AgentID: &AgentID{"agent-1"}}
		switch typ {
		case AgentCallSubscribe:
			a.Subscribe = &AgentSubscribe{AgentInfo: AgentInfo{Hostname: "host1"}}
		case AgentCallUpdate:
			a.Updates = []AgentUpdate{
				{FrameworkID: *testFrameworkID, Status: TaskStatus{TaskID: TaskID{"t"}, State: TaskRunning, UUID: testUUID}},
				{FrameworkID: *testFrameworkID, Status: TaskStatus{TaskID: TaskID{"t2"}, State: TaskFinished, UUID: testUUID}},
			}
		case AgentCallMessage:
			a.Message = &AgentMessage{FrameworkID: *testFrameworkID, ExecutorID: ExecutorID{"e"}}
		case AgentCallExecutorExited:
			a.ExecutorExited = &AgentExecutorExited{FrameworkID: *testFrameworkID, ExecutorID: ExecutorID{"e"}, Status: Ptr(Int64(9))}
		}
		edit(a)
		return a.Validate()
	}
}

func TestAgentCallValidate(t *testing.T) {
	nothing := func(*AgentCall) {}
	tests := []validationCase{
		{"subscribe", testAgentCall(AgentCallSubscribe, nothing), ""},
		{"first subscribe has no agent ID", testAgentCall(AgentCallSubscribe, func(a *AgentCall) { a.AgentID = nil }), ""},
		{"no type", testAgentCall("", nothing), "'type'"},
		{"unknown type", testAgentCall("LAUNCH", nothing), "'type'"},
		{"subscribe without payload", testAgentCall(AgentCallSubscribe, func(a *AgentCall) { a.Subscribe = nil }), "'subscribe'"},
		{"subscribe without hostname", testAgentCall(AgentCallSubscribe, func(a *AgentCall) { a.Subscribe.AgentInfo.Hostname = "" }), "'subscribe.agent_info.hostname'"},
		{"subscribe with differing agent IDs", testAgentCall(AgentCallSubscribe, func(a *AgentCall) { a.Subscribe.AgentInfo.ID = &AgentID{"other"} }), "'subscribe.agent_info.id'"},
		{"subscribe with a task without ID", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Tasks = []Task{{FrameworkID: *testFrameworkID, State: TaskRunning}}
		}), "'subscribe.tasks[0].task_id'"},
		{"subscribe with a task without framework", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Tasks = []Task{{TaskID: TaskID{"t"}, State: TaskRunning}}
		}), "'subscribe.tasks[0].framework_id'"},
		{"subscribe with a task in a bad state", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Tasks = []Task{{TaskID: TaskID{"t"}, FrameworkID: *testFrameworkID, State: "TASK_SLEEPING"}}
		}), "'subscribe.tasks[0].state'"},
		{"subscribe with executors", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Executors = []ExecutorInfo{{ExecutorID: ExecutorID{"x"}, FrameworkID: testFrameworkID}}
		}), ""},
		{"subscribe with an executor without ID", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Executors = []ExecutorInfo{{ExecutorID: ExecutorID{"x"}, FrameworkID: testFrameworkID}, {FrameworkID: testFrameworkID}}
		}), "'subscribe.executors[1].executor_id'"},
		{"subscribe with an executor without framework", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Executors = []ExecutorInfo{{ExecutorID: ExecutorID{"x"}}}
		}), "'subscribe.executors[0].framework_id'"},
		{"subscribe with an executor of an empty framework ID", testAgentCall(AgentCallSubscribe, func(a *AgentCall) {
			a.Subscribe.Executors = []ExecutorInfo{{ExecutorID: ExecutorID{"x"}, FrameworkID: &FrameworkID{}}}
		}), "'subscribe.executors[0].framework_id'"},
		{"update", testAgentCall(AgentCallUpdate, nothing), ""},
		{"update without agent", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.AgentID = nil }), "'agent_id'"},
		{"update of one task", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates = a.Updates[:1] }), ""},
		{"update without payload", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates = nil }), "'updates'"},
		{"update with an empty list", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates = []AgentUpdate{} }), "'updates'"},
		{"update without framework", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates[0].FrameworkID.Value = "" }), "'updates[0].framework_id'"},
		{"update without task", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates[1].Status.TaskID.Value = "" }), "'updates[1].status.task_id'"},
		{"update with a bad state", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates[1].Status.State = "" }), "'updates[1].status.state'"},
		{"update without uuid", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates[0].Status.UUID = nil }), "'updates[0].status.uuid'"},
		{"update with a short uuid", testAgentCall(AgentCallUpdate, func(a *AgentCall) { a.Updates[1].Status.UUID = testUUID[:8] }), "'updates[1].status.uuid'"},
		{"message", testAgentCall(AgentCallMessage, nothing), ""},
		{"message without payload", testAgentCall(AgentCallMessage, func(a *AgentCall) { a.Message = nil }), "'message'"},
		{"message without framework", testAgentCall(AgentCallMessage, func(a *AgentCall) { a.Message.FrameworkID.Value = "" }), "'message.framework_id'"},
		{"message without executor", testAgentCall(AgentCallMessage, func(a *AgentCall) { a.Message.ExecutorID.Value = "" }), "'message.executor_id'"},
		{"executor exited", testAgentCall(AgentCallExecutorExited, nothing), ""},
		{"executor exited without status", testAgentCall(AgentCallExecutorExited, func(a *AgentCall) { a.ExecutorExited.Status = nil }), ""},
		{"executor exited without agent", testAgentCall(AgentCallExecutorExited, func(a *AgentCall) { a.AgentID = nil }), "'agent_id'"},
		{"executor exited without payload", testAgentCall(AgentCallExecutorExited, func(a *AgentCall) { a.ExecutorExited = nil }), "'executor_exited'"},
		{"executor exited without framework", testAgentCall(AgentCallExecutorExited, func(a *AgentCall) { a.ExecutorExited.FrameworkID.Value = "" }), "'executor_exited.framework_id'"},
		{"executor exited without executor", testAgentCall(AgentCallExecutorExited, func(a *AgentCall) { a.ExecutorExited.ExecutorID.Value = "" }), "'executor_exited.executor_id'"},
	}
	runValidationCases(t, tests)
}

func TestAgentShutdownExecutorValidate(t *testing.T) {
	event := func(fw, exec string) func() error {
		return (&AgentShutdownExecutor{FrameworkID: FrameworkID{fw}, ExecutorID: ExecutorID{exec}}).Validate
	}
	runValidationCases(t, []validationCase{
		{"both named", event("fw", "x"), ""},
		{"no framework", event("", "x"), "'shutdown_executor.framework_id'"},
		{"no executor", event("fw", ""), "'shutdown_executor.executor_id'"},
	})
}

func testExecutorCall(typ ExecutorCallType, edit func(*ExecutorCall)) func() error {
	return func() error {
		c := &ExecutorCall{Type: typ, ExecutorID: ExecutorID{"exec-1"}, FrameworkID: *testFrameworkID}
		switch typ {
		case ExecutorCallSubscribe:
			c.Subscribe = &ExecutorSubscribe{}
		case ExecutorCallUpdate:
			c.Update = &ExecutorUpdate{Status: TaskStatus{
				TaskID: TaskID{"t"}, State: TaskRunning, Source: SourceExecutor, UUID: testUUID,
			}}
		case ExecutorCallMessage:
			c.Message = &ExecutorMessage{Data: []byte("hi")}
		case ExecutorCallUsage:
			c.Usage = &ExecutorUsage{Tasks: []TaskUsage{{TaskID: TaskID{"t"}, Statistics: ResourceStatistics{Timestamp: 1}}}}
		}
		edit(c)
		return c.Validate()
	}
}

func TestExecutorCallValidate(t *testing.T) {
	nothing := func(*ExecutorCall) {}
	tests := []validationCase{
		{"subscribe", testExecutorCall(ExecutorCallSubscribe, nothing), ""},
		{"heartbeat", testExecutorCall(ExecutorCallHeartbeat, nothing), ""},
		{"UNKNOWN is left to the agent", testExecutorCall(ExecutorCallUnknown, nothing), ""},
		{"no type", testExecutorCall("", nothing), "'type'"},
		{"unknown type", testExecutorCall("KILL", nothing), "'type'"},
		{"no executor", testExecutorCall(ExecutorCallHeartbeat, func(c *ExecutorCall) { c.ExecutorID.Value = "" }), "'executor_id'"},
		{"no framework", testExecutorCall(ExecutorCallHeartbeat, func(c *ExecutorCall) { c.FrameworkID.Value = "" }), "'framework_id'"},
		{"subscribe without payload", testExecutorCall(ExecutorCallSubscribe, func(c *ExecutorCall) { c.Subscribe = nil }), "'subscribe'"},
		{"subscribe listing an update", testExecutorCall(ExecutorCallSubscribe, func(c *ExecutorCall) {
			c.Subscribe.UnacknowledgedUpdates = []ExecutorUpdate{{Status: TaskStatus{TaskID: TaskID{"t"}, State: TaskRunning, Source: SourceExecutor, UUID: testUUID}}}
		}), ""},
		{"subscribe listing an update without uuid", testExecutorCall(ExecutorCallSubscribe, func(c *ExecutorCall) {
			c.Subscribe.UnacknowledgedUpdates = []ExecutorUpdate{
				{Status: TaskStatus{TaskID: TaskID{"t"}, State: TaskRunning, Source: SourceExecutor, UUID: testUUID}},
				{Status: TaskStatus{TaskID: TaskID{"u"}, State: TaskRunning, Source: SourceExecutor}},
			}
		}), "'subscribe.unacknowledged_updates[1].status.uuid'"},
		{"subscribe listing a TASK_STAGING", testExecutorCall(ExecutorCallSubscribe, func(c *ExecutorCall) {
			c.Subscribe.UnacknowledgedUpdates = []ExecutorUpdate{{Status: TaskStatus{TaskID: TaskID{"t"}, State: TaskStaging, Source: SourceExecutor, UUID: testUUID}}}
		}), "'subscribe.unacknowledged_updates[0].status.state'"},
		{"update", testExecutorCall(ExecutorCallUpdate, nothing), ""},
		{"update without payload", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update = nil }), "'update'"},
		{"update without uuid", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.UUID = nil }), "'update.status.uuid'"},
		{"update with a long uuid", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.UUID = make([]byte, 17) }), "'update.status.uuid'"},
		{"update without task", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.TaskID.Value = "" }), "'update.status.task_id'"},
		{"update about another executor", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) {
			c.Update.Status.ExecutorID = &ExecutorID{"exec-2"}
		}), "'update.status.executor_id'"},
		{"update about itself", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) {
			c.Update.Status.ExecutorID = &ExecutorID{"exec-1"}
		}), ""},
		{"update from another source", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.Source = SourceAgent }), "'update.status.source'"},
		{"update without source", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.Source = "" }), "'update.status.source'"},
		{"update to TASK_STAGING", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.State = TaskStaging }), "'update.status.state'"},
		{"update to an unknown state", testExecutorCall(ExecutorCallUpdate, func(c *ExecutorCall) { c.Update.Status.State = "TASK_NAPPING" }), "'update.status.state'"},
		{"message", testExecutorCall(ExecutorCallMessage, nothing), ""},
		{"message without payload", testExecutorCall(ExecutorCallMessage, func(c *ExecutorCall) { c.Message = nil }), "'message'"},
		{"usage", testExecutorCall(ExecutorCallUsage, nothing), ""},
		{"usage without payload", testExecutorCall(ExecutorCallUsage, func(c *ExecutorCall) { c.Usage = nil }), "'usage'"},
	}
	runValidationCases(t, tests)
}

func testOperatorCall(c OperatorCall) func() error { return c.Validate }

func TestOperatorCallValidate(t *testing.T) {
	agent := AgentID{"agent-1"}
	tests := []validationCase{
		{"no type", testOperatorCall(OperatorCall{}), "'type'"},
		{"unknown type", testOperatorCall(OperatorCall{Type: "SET_QUOTA"}), "'type'"},
		{"UNKNOWN is left to the master", testOperatorCall(OperatorCall{Type: OperatorUnknown}), ""},
		{"get health", testOperatorCall(OperatorCall{Type: OperatorGetHealth}), ""},
		{"get state", testOperatorCall(OperatorCall{Type: OperatorGetState}), ""},
		{"subscribe", testOperatorCall(OperatorCall{Type: OperatorSubscribe}), ""},
		{"get metrics", testOperatorCall(OperatorCall{Type: OperatorGetMetrics, GetMetrics: &GetMetrics{}}), ""},
		{"get metrics without payload", testOperatorCall(OperatorCall{Type: OperatorGetMetrics}), "'get_metrics'"},
		{"set logging level without payload", testOperatorCall(OperatorCall{Type: OperatorSetLoggingLevel}), "'set_logging_level'"},
		{"list files", testOperatorCall(OperatorCall{Type: OperatorListFiles, ListFiles: &ListFiles{Path: "/master/log"}}), ""},
		{"list files without payload", testOperatorCall(OperatorCall{Type: OperatorListFiles}), "'list_files'"},
		{"list files without path", testOperatorCall(OperatorCall{Type: OperatorListFiles, ListFiles: &ListFiles{}}), "'list_files.path'"},
		{"read file without payload", testOperatorCall(OperatorCall{Type: OperatorReadFile}), "'read_file'"},
		{"read file without path", testOperatorCall(OperatorCall{Type: OperatorReadFile, ReadFile: &ReadFile{}}), "'read_file.path'"},
		{"update weights without payload", testOperatorCall(OperatorCall{Type: OperatorUpdateWeights}), "'update_weights'"},
		{"reserve", testOperatorCall(OperatorCall{Type: OperatorReserveResources, ReserveResources: &ReserveResources{AgentID: agent}}), ""},
		{"reserve without payload", testOperatorCall(OperatorCall{Type: OperatorReserveResources}), "'reserve_resources'"},
		{"reserve without agent", testOperatorCall(OperatorCall{Type: OperatorReserveResources, ReserveResources: &ReserveResources{}}), "'reserve_resources.agent_id'"},
		{"unreserve without agent", testOperatorCall(OperatorCall{Type: OperatorUnreserveResources, UnreserveResources: &UnreserveResources{}}), "'unreserve_resources.agent_id'"},
		{"create volumes without payload", testOperatorCall(OperatorCall{Type: OperatorCreateVolumes}), "'create_volumes'"},
		{"destroy volumes without agent", testOperatorCall(OperatorCall{Type: OperatorDestroyVolumes, DestroyVolumes: &DestroyVolumes{}}), "'destroy_volumes.agent_id'"},
		{"grow volume without payload", testOperatorCall(OperatorCall{Type: OperatorGrowVolume}), "'grow_volume'"},
		{"shrink volume without payload", testOperatorCall(OperatorCall{Type: OperatorShrinkVolume}), "'shrink_volume'"},
		{"update schedule without payload", testOperatorCall(OperatorCall{Type: OperatorUpdateMaintenanceSchedule}), "'update_maintenance_schedule'"},
		{"start maintenance without payload", testOperatorCall(OperatorCall{Type: OperatorStartMaintenance}), "'start_maintenance'"},
		{"stop maintenance without payload", testOperatorCall(OperatorCall{Type: OperatorStopMaintenance}), "'stop_maintenance'"},
		{"drain agent", testOperatorCall(OperatorCall{Type: OperatorDrainAgent, DrainAgent: &DrainAgent{AgentID: agent}}), ""},
		{"drain agent without agent", testOperatorCall(OperatorCall{Type: OperatorDrainAgent, DrainAgent: &DrainAgent{}}), "'drain_agent.agent_id'"},
		{"deactivate agent without payload", testOperatorCall(OperatorCall{Type: OperatorDeactivateAgent}), "'deactivate_agent'"},
		{"reactivate agent without agent", testOperatorCall(OperatorCall{Type: OperatorReactivateAgent, ReactivateAgent: &ReactivateAgent{}}), "'reactivate_agent.agent_id'"},
		{"mark agent gone without agent", testOperatorCall(OperatorCall{Type: OperatorMarkAgentGone, MarkAgentGone: &MarkAgentGone{}}), "'mark_agent_gone.agent_id'"},
		{"update quota", testOperatorCall(OperatorCall{Type: OperatorUpdateQuota, UpdateQuota: &UpdateQuota{
			QuotaConfigs: []QuotaConfig{{Role: "web", Limits: map[string]Scalar{"cpus": {Value: 4}}}},
		}}), ""},
		{"update quota without payload", testOperatorCall(OperatorCall{Type: OperatorUpdateQuota}), "'update_quota'"},
		{"update quota without role", testOperatorCall(OperatorCall{Type: OperatorUpdateQuota, UpdateQuota: &UpdateQuota{
			QuotaConfigs: []QuotaConfig{{}},
		}}), "'update_quota.quota_configs[0].role'"},
		{"update quota of a bad role", testOperatorCall(OperatorCall{Type: OperatorUpdateQuota, UpdateQuota: &UpdateQuota{
			QuotaConfigs: []QuotaConfig{{Role: "a b"}},
		}}), "'update_quota.quota_configs[0].role'"},
		{"teardown", testOperatorCall(OperatorCall{Type: OperatorTeardown, Teardown: &Teardown{FrameworkID: *testFrameworkID}}), ""},
		{"teardown without payload", testOperatorCall(OperatorCall{Type: OperatorTeardown}), "'teardown'"},
		{"teardown without framework", testOperatorCall(OperatorCall{Type: OperatorTeardown, Teardown: &Teardown{}}), "'teardown.framework_id'"},
	}
	runValidationCases(t, tests)
}

func TestSandboxPath(t *testing.T) {
	labelled := TaskStatus{Labels: &Labels{Labels: []Label{{Key: "other", Value: "x"}, {Key: SandboxLabel, Value: "/fw/exec/runs/r1/tasks/t1/"}}}}
	tests := []struct {
		st   TaskStatus
		want string
	}{
		{labelled, "/fw/exec/runs/r1/tasks/t1"},
		{TaskStatus{}, "/fw/t1/runs/latest"},
		{TaskStatus{Labels: &Labels{Labels: []Label{{Key: SandboxLabel}}}}, "/fw/t1/runs/latest"},
	}
	for _, tt := range tests {
		if got := SandboxPath(tt.st, "fw", "t1"); got != tt.want {
			t.Errorf("SandboxPath(%+v) = %q, want %q", tt.st.Labels, got, tt.want)
		}
	}
	var none *Labels
	if _, ok := none.Get(SandboxLabel); ok {
		t.Error("nil labels have a label")
	}
}
