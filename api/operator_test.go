package api

import (
	"encoding/json"
	"testing"
)

// TestWireShapes checks names and nesting of executor and operator
// messages against hand-written JSON in Mesos's mapping: each document
// decodes and re-encodes to itself.
func TestWireShapes(t *testing.T) {
	tests := []struct {
		name string
		v    any
		doc  string
	}{
		{
			name: "executor update call",
			v:    &ExecutorCall{},
			doc: `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"UPDATE",
				"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}}`,
		},
		{
			name: "executor subscribe call",
			v:    &ExecutorCall{},
			doc: `{"executor_id":{"value":"e"},"framework_id":{"value":"f"},"type":"SUBSCRIBE",
				"subscribe":{"unacknowledged_tasks":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"}}],
				"unacknowledged_updates":[{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}]}}`,
		},
		{
			name: "executor subscribed event",
			v:    &ExecutorEvent{},
			doc: `{"type":"SUBSCRIBED","subscribed":{"executor_info":{"executor_id":{"value":"e"}},
				"framework_info":{"user":"u","name":"n","id":{"value":"f"},"failover_timeout":0.0,"checkpoint":false},
				"agent_info":{"hostname":"h","port":5051},"container_id":{"value":"c","parent":{"value":"p"}}}}`,
		},
		{
			name: "executor launch group event",
			v:    &ExecutorEvent{},
			doc:  `{"type":"LAUNCH_GROUP","launch_group":{"task_group":{"tasks":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"}}]}}}`,
		},
		{
			name: "executor kill event",
			v:    &ExecutorEvent{},
			doc:  `{"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":3000000000}}}}`,
		},
		{
			name: "executor acknowledged event",
			v:    &ExecutorEvent{},
			doc:  `{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"t"},"uuid":"o4ZoWNlzQB6nYgf7lmzU9w=="}}`,
		},
		{
			name: "executor error event",
			v:    &ExecutorEvent{},
			doc:  `{"type":"ERROR","error":{"message":"bad"}}`,
		},
		{
			name: "operator get metrics call",
			v:    &OperatorCall{},
			doc:  `{"type":"GET_METRICS","get_metrics":{"timeout":{"nanoseconds":5000000000}}}`,
		},
		{
			name: "operator drain agent call",
			v:    &OperatorCall{},
			doc:  `{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"seconds":10},"mark_gone":true}}`,
		},
		{
			name: "operator update quota call",
			v:    &OperatorCall{},
			doc: `{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"web",
				"guarantees":{"cpus":{"value":1.0}},"limits":{"cpus":{"value":4.0},"mem":{"value":1024.0}}}]}}`,
		},
		{
			name: "operator maintenance schedule call",
			v:    &OperatorCall{},
			doc: `{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[
				{"machine_ids":[{"hostname":"h1","ip":"10.0.0.1"}],"unavailability":{"start":{"nanoseconds":1},"duration":{"nanoseconds":2}}}]}}}`,
		},
		{
			name: "operator health response",
			v:    &OperatorResponse{},
			doc:  `{"type":"GET_HEALTH","get_health":{"healthy":true}}`,
		},
		{
			name: "operator version response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_VERSION","get_version":{"version_info":{"version":"1.11.0","build_date":"2024-08-23 10:00:00",
				"build_time":1724407200.0,"build_user":"ci","git_sha":"c1b42f79","git_branch":"main","git_tag":"v0.1.0"}}}`,
		},
		{
			name: "operator metrics response",
			v:    &OperatorResponse{},
			doc:  `{"type":"GET_METRICS","get_metrics":{"metrics":[{"name":"master/uptime_secs","value":12.5}]}}`,
		},
		{
			name: "operator read file response",
			v:    &OperatorResponse{},
			doc:  `{"type":"READ_FILE","read_file":{"size":5,"data":"aGVsbG8="}}`,
		},
		{
			name: "operator flags and logging level",
			v:    &OperatorResponse{},
			doc:  `{"type":"GET_FLAGS","get_flags":{"flags":[{"name":"port","value":"5050"},{"name":"quiet"}]},"get_logging_level":{"level":0}}`,
		},
		{
			name: "operator files response",
			v:    &OperatorResponse{},
			doc: `{"type":"LIST_FILES","list_files":{"file_infos":[{"path":"/master/log","nlink":1,"size":10,
				"mtime":{"nanoseconds":1},"mode":33188,"uid":"root","gid":"root"}]}}`,
		},
		{
			name: "operator state response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_STATE","get_state":{
				"get_tasks":{"tasks":[{"name":"t","task_id":{"value":"t"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"state":"TASK_RUNNING"}],
					"unreachable_tasks":[{"name":"u","task_id":{"value":"u"},"framework_id":{"value":"f"},"agent_id":{"value":"a"},"state":"TASK_UNREACHABLE"}]},
				"get_executors":{"executors":[{"executor_info":{"executor_id":{"value":"e"}},"agent_id":{"value":"a"}}]},
				"get_frameworks":{"frameworks":[{"framework_info":{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false},
					"active":true,"connected":true,"recovered":false,"registered_time":{"nanoseconds":1}}]},
				"get_agents":{"agents":[{"agent_info":{"hostname":"h","port":5051},"active":true,"deactivated":true,"version":"1.11.0",
					"pid":"slave(1)@10.0.0.3:5051","drain_info":{"state":"DRAINING","config":{"max_grace_period":{"nanoseconds":1},"mark_gone":false}}}],
					"recovered_agents":[{"hostname":"old","port":5051}]}}}`,
		},
		{
			name: "operator roles response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_ROLES","get_roles":{"roles":[{"name":"*","weight":1.0},
				{"name":"web","weight":2.0,"frameworks":[{"value":"f"}],
				"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],
				"quota":{"limits":{"cpus":{"value":4.0}},"consumed":{"cpus":{"value":0.5}}}}]}}`,
		},
		{
			name: "operator master and weights response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_MASTER","get_master":{"master_info":{"id":"m","ip":16777343,"port":5050},
				"start_time":1718000000.5,"elected_time":1718000001.5},"get_weights":{"weight_infos":[{"weight":2.0,"role":"web"}]}}`,
		},
		{
			name: "operator quota response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_QUOTA","get_quota":{"status":{"infos":[{"role":"web","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":1.0}}]}],
				"configs":[{"role":"web","limits":{"cpus":{"value":4.0}}}]}}}`,
		},
		{
			name: "operator maintenance status response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_MAINTENANCE_STATUS","get_maintenance_status":{"status":{"draining_machines":[{"id":{"hostname":"h1"},
				"statuses":[{"status":"ACCEPT","framework_id":{"value":"f"},"timestamp":{"nanoseconds":5}}]}],"down_machines":[{"ip":"10.0.0.2"}]}}}`,
		},
		{
			name: "operator operations response",
			v:    &OperatorResponse{},
			doc: `{"type":"GET_OPERATIONS","get_operations":{"operations":[{"framework_id":{"value":"f"},"agent_id":{"value":"a"},
				"info":{"type":"RESERVE","id":{"value":"op"}},"latest_status":{"operation_id":{"value":"op"},"state":"OPERATION_FINISHED"},
				"uuid":{"value":"o4ZoWNlzQB6nYgf7lmzU9w=="}}]}}`,
		},
		{
			name: "operator subscribed event",
			v:    &OperatorEvent{},
			doc:  `{"type":"SUBSCRIBED","subscribed":{"get_state":{"get_tasks":{}},"heartbeat_interval_seconds":15.0}}`,
		},
		{
			name: "operator task updated event",
			v:    &OperatorEvent{},
			doc: `{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"f"},
				"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"},"state":"TASK_FINISHED"}}`,
		},
		{
			name: "operator agent events",
			v:    &OperatorEvent{},
			doc: `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"h","port":5051},"active":true,"deactivated":false,"version":"1.11.0"}},
				"agent_removed":{"agent_id":{"value":"a"}}}`,
		},
		{
			name: "operator framework events",
			v:    &OperatorEvent{},
			doc: `{"type":"FRAMEWORK_ADDED","framework_added":{"framework":{"framework_info":{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false},
				"active":true,"connected":true,"recovered":false}},
				"framework_updated":{"framework":{"framework_info":{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false},
				"active":false,"connected":false,"recovered":true}},
				"framework_removed":{"framework_info":{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false}}}`,
		},
		{
			name: "operator heartbeat",
			v:    &OperatorEvent{},
			doc:  `{"type":"HEARTBEAT"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.doc), tt.v); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if err := jsonEqual(got, []byte(tt.doc)); err != nil {
				t.Errorf("%v\ngot: %s", err, got)
			}
		})
	}
}
