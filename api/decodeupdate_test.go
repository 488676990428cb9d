package api

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// updateCalls are UPDATE calls as executors send them, odd ones among
// them.
func updateCalls() []*ExecutorCall {
	yes, no := true, false
	st := func(s TaskStatus) *ExecutorCall {
		return &ExecutorCall{Type: ExecutorCallUpdate, ExecutorID: ExecutorID{Value: "mezzo-executor-f09cbdeb"},
			FrameworkID: FrameworkID{Value: "fw"}, Update: &ExecutorUpdate{Status: s}}
	}
	return []*ExecutorCall{
		st(TaskStatus{TaskID: TaskID{Value: "t1"}, State: TaskRunning, Source: SourceExecutor,
			ExecutorID: &ExecutorID{Value: "mezzo-executor-f09cbdeb"}, Timestamp: 1795488750.670698, UUID: make([]byte, 16),
			ContainerStatus: &ContainerStatus{ContainerID: &ContainerID{Value: "2c1a7d5e"}}}),
		st(TaskStatus{TaskID: TaskID{Value: "t2"}, State: TaskFinished, Message: "Command exited with status 0",
			Source: SourceExecutor, Reason: ReasonCommandExecutorFailed, Data: []byte("data"), AgentID: &AgentID{Value: "a"},
			Timestamp: 4, UUID: []byte{1, 2, 3}, Healthy: &yes,
			Labels:          &Labels{Labels: []Label{{Key: "exit_code", Value: "0"}, {Key: "k"}}},
			ContainerStatus: &ContainerStatus{}}),
		st(TaskStatus{TaskID: TaskID{Value: "t3"}, State: TaskFailed, Healthy: &no, Labels: &Labels{}, Timestamp: 1e-9}),
		st(TaskStatus{TaskID: TaskID{Value: "caf\u00e9 \U0001F600"}, State: TaskRunning, Timestamp: 1e22}),
		st(TaskStatus{TaskID: TaskID{Value: "t4"}, State: TaskRunning, Timestamp: Float64(math.Inf(1))}), // a string: json.Unmarshal's
		st(TaskStatus{TaskID: TaskID{Value: "<t5>"}, State: TaskRunning}),                                // escaped: json.Unmarshal's
		st(TaskStatus{TaskID: TaskID{Value: ""}, State: ""}),                                             // refused by Validate, both ways
	}
}

// moreUpdateCalls are UPDATE calls carrying more_updates, built from
// updateCalls' statuses, with whether each takes the fast path.
func moreUpdateCalls() []struct {
	call *ExecutorCall
	fast bool
} {
	calls := updateCalls()
	with := func(first int, more ...int) *ExecutorCall {
		c := *calls[first]
		for _, i := range more {
			c.MoreUpdates = append(c.MoreUpdates, *calls[i].Update)
		}
		return &c
	}
	return []struct {
		call *ExecutorCall
		fast bool
	}{
		{with(0, 1), true},
		{with(0, 1, 2, 3), true},
		{with(0, 0, 6), true},  // refused by Validate (more_updates[1]), both ways
		{with(1, 0, 5), false}, // an escape in more_updates[1]: json.Unmarshal's
		{with(3, 4, 0), false}, // Infinity in more_updates[0]: json.Unmarshal's
		{&ExecutorCall{Type: ExecutorCallUpdate, ExecutorID: calls[0].ExecutorID, FrameworkID: calls[0].FrameworkID,
			MoreUpdates: []ExecutorUpdate{*calls[0].Update}}, false}, // no update: refused, json.Unmarshal's
	}
}

// TestDecodeUpdateCall checks that the executors' plain UPDATE calls take
// the fast path, and that DecodeExecutorCall answers as json.Unmarshal
// and Validate would, fast path or not.
func TestDecodeUpdateCall(t *testing.T) {
	for i, call := range updateCalls() {
		data, err := json.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		_, fast := decodeUpdateCall(data)
		if want := i < 4 || i == 6; fast != want {
			t.Errorf("call %d: fast path %v, want %v: %s", i, fast, want, data)
		}
		checkDecodeUpdate(t, data)
	}
	for i, tt := range moreUpdateCalls() {
		data, err := json.Marshal(tt.call)
		if err != nil {
			t.Fatal(err)
		}
		if _, fast := decodeUpdateCall(data); fast != tt.fast {
			t.Errorf("call with more updates %d: fast path %v, want %v: %s", i, fast, tt.fast, data)
		}
		checkDecodeUpdate(t, data)
	}
	// An empty list, which encoding/json never writes, and a list that
	// is not closed.
	plain, _ := json.Marshal(updateCalls()[0])
	for _, tail := range []string{`,"more_updates":[]}`, `,"more_updates":[{"status":{}}`, `,"more_updates":null}`} {
		data := append(plain[:len(plain)-1:len(plain)-1], tail...)
		if _, fast := decodeUpdateCall(data); fast {
			t.Errorf("fast path took %s", data)
		}
		checkDecodeUpdate(t, data)
	}
}

// checkDecodeUpdate fails t when DecodeExecutorCall's answer for data
// differs from that of json.Unmarshal and Validate, or when the fast path
// takes what json.Unmarshal would refuse.
func checkDecodeUpdate(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := DecodeExecutorCall(data)
	want, wantErr := decodeCall[ExecutorCall](data, "executor::Call")
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%s: error %v, want %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ndecoded %+v\nwant    %+v", data, got, want)
	}
	if fast, ok := decodeUpdateCall(data); ok {
		var slow ExecutorCall
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("%s: the fast path took what json.Unmarshal refuses: %v", data, err)
		}
		if !reflect.DeepEqual(fast, &slow) {
			t.Fatalf("%s:\nfast %+v\njson %+v", data, fast, &slow)
		}
	}
}

// FuzzDecodeUpdateCall mutates the executors' calls: whatever the fast
// path takes must decode as json.Unmarshal decodes it.
//
//	go test -run '^$' -fuzz FuzzDecodeUpdateCall -fuzztime 1m ./api
func FuzzDecodeUpdateCall(f *testing.F) {
	for _, call := range updateCalls() {
		data, _ := json.Marshal(call)
		f.Add(data)
	}
	for _, tt := range moreUpdateCalls() {
		data, _ := json.Marshal(tt.call)
		f.Add(data)
	}
	f.Fuzz(checkDecodeUpdate)
}

// BenchmarkDecodeExecutorCall decodes the built-in executor's
// TASK_FINISHED call, by the fast path and by json.Unmarshal.
func BenchmarkDecodeExecutorCall(b *testing.B) {
	data, _ := json.Marshal(updateCalls()[1])
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			DecodeExecutorCall(data)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			decodeCall[ExecutorCall](data, "executor::Call")
		}
	})
}

// agentUpdateCalls are UPDATE calls as agents send them to the master:
// the executors' statuses in batches, odd ones among them.
func agentUpdateCalls() []*AgentCall {
	var all []AgentUpdate
	for _, c := range updateCalls() {
		all = append(all, AgentUpdate{FrameworkID: c.FrameworkID, Status: c.Update.Status})
	}
	agent := &AgentID{Value: "agent-1"}
	return []*AgentCall{
		{Type: AgentCallUpdate, AgentID: agent, Updates: all[:4]},
		{Type: AgentCallUpdate, AgentID: agent, Updates: all[:1]},
		{Type: AgentCallUpdate, Updates: all[1:2]},            // refused by Validate, both ways
		{Type: AgentCallUpdate, AgentID: agent, Updates: all}, // escapes and Infinity: json.Unmarshal's
		{Type: AgentCallUpdate, AgentID: agent},               // no updates: json.Unmarshal's
	}
}

// TestDecodeAgentUpdateCall checks that the agents' plain UPDATE calls
// take the fast path, and that DecodeAgentCall answers as json.Unmarshal
// and Validate would, fast path or not.
func TestDecodeAgentUpdateCall(t *testing.T) {
	for i, call := range agentUpdateCalls() {
		data, err := json.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		_, fast := decodeAgentUpdateCall(data)
		if want := i < 3; fast != want {
			t.Errorf("call %d: fast path %v, want %v: %s", i, fast, want, data)
		}
		checkDecodeAgentUpdate(t, data)
	}
}

// checkDecodeAgentUpdate is checkDecodeUpdate for DecodeAgentCall.
func checkDecodeAgentUpdate(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := DecodeAgentCall(data)
	want, wantErr := decodeCall[AgentCall](data, "agent::Call")
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%s: error %v, want %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ndecoded %+v\nwant    %+v", data, got, want)
	}
	if fast, ok := decodeAgentUpdateCall(data); ok {
		var slow AgentCall
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("%s: the fast path took what json.Unmarshal refuses: %v", data, err)
		}
		if !reflect.DeepEqual(fast, &slow) {
			t.Fatalf("%s:\nfast %+v\njson %+v", data, fast, &slow)
		}
	}
}

// FuzzDecodeAgentUpdateCall mutates the agents' calls: whatever the fast
// path takes must decode as json.Unmarshal decodes it.
//
//	go test -run '^$' -fuzz FuzzDecodeAgentUpdateCall -fuzztime 1m ./api
func FuzzDecodeAgentUpdateCall(f *testing.F) {
	for _, call := range agentUpdateCalls() {
		data, _ := json.Marshal(call)
		f.Add(data)
	}
	f.Fuzz(checkDecodeAgentUpdate)
}

// FuzzUnmarshalEvents checks that UnmarshalExecutorEvent and
// UnmarshalAgentEvent decode as json.Unmarshal does, and that the
// acknowledgements agents and masters write take their fast paths.
//
//	go test -run '^$' -fuzz FuzzUnmarshalEvents -fuzztime 1m ./api
func FuzzUnmarshalEvents(f *testing.F) {
	for _, ev := range []any{
		ExecutorEvent{Type: ExecutorEventAcknowledged, Acknowledged: &ExecutorAcknowledged{TaskID: TaskID{Value: "t1"}, UUID: make([]byte, 16)}},
		ExecutorEvent{Type: ExecutorEventAcknowledged, Acknowledged: &ExecutorAcknowledged{TaskID: TaskID{Value: "t<1>"}}},
		ExecutorEvent{Type: ExecutorEventKill, Kill: &ExecutorKill{TaskID: TaskID{Value: "t1"}}},
		AgentEvent{Type: AgentEventAcknowledged, Acknowledged: &AgentAcknowledged{FrameworkID: FrameworkID{Value: "fw"},
			TaskID: TaskID{Value: "t1"}, UUID: []byte{1, 2, 3}}},
		AgentEvent{Type: AgentEventAcknowledged, Acknowledged: &AgentAcknowledged{}},
		AgentEvent{Type: AgentEventShutdownFramework, ShutdownFramework: &AgentShutdownFramework{FrameworkID: FrameworkID{Value: "fw"}}},
		AgentEvent{Type: AgentEventShutdownExecutor, ShutdownExecutor: &AgentShutdownExecutor{
			FrameworkID: FrameworkID{Value: "fw"}, ExecutorID: ExecutorID{Value: "x"}}},
	} {
		data, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fastX, slowX ExecutorEvent
		errFast, errSlow := UnmarshalExecutorEvent(data, &fastX), json.Unmarshal(data, &slowX)
		if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fastX, slowX) {
			t.Fatalf("%s: UnmarshalExecutorEvent %+v, %v; json.Unmarshal %+v, %v", data, fastX, errFast, slowX, errSlow)
		}
		var fastA, slowA AgentEvent
		errFast, errSlow = UnmarshalAgentEvent(data, &fastA), json.Unmarshal(data, &slowA)
		if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fastA, slowA) {
			t.Fatalf("%s: UnmarshalAgentEvent %+v, %v; json.Unmarshal %+v, %v", data, fastA, errFast, slowA, errSlow)
		}
	})
}

// TestAcknowledgementsFastPath checks that the acknowledgements an agent
// sends its executors, and a master its agents, are read by the fast
// paths.
func TestAcknowledgementsFastPath(t *testing.T) {
	x, _ := json.Marshal(ExecutorEvent{Type: ExecutorEventAcknowledged,
		Acknowledged: &ExecutorAcknowledged{TaskID: TaskID{Value: "t1"}, UUID: make([]byte, 16)}})
	if _, ok := decodeExecutorAck(x); !ok {
		t.Errorf("an executor's acknowledgement misses the fast path: %s", x)
	}
	a, _ := json.Marshal(AgentEvent{Type: AgentEventAcknowledged,
		Acknowledged: &AgentAcknowledged{FrameworkID: FrameworkID{Value: "fw"}, TaskID: TaskID{Value: "t1"}, UUID: make([]byte, 16)}})
	if _, ok := decodeAgentAck(a); !ok {
		t.Errorf("an agent's acknowledgement misses the fast path: %s", a)
	}
}
