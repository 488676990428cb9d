package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestAppendUpdateCall checks that ExecutorCall.AppendJSON and
// AgentCall.AppendJSON write what
// json.Marshal writes, byte for byte, for statuses as the built-in
// executor and others make them, odd strings and numbers among them, and
// that it leaves to json.Marshal what it does not write.
func TestAppendUpdateCall(t *testing.T) {
	odd := []string{"", "plain", `quote " and \ back`, "<html> & </html>", "line\nbreak\r\ttab\b\f",
		"\x00\x01\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf8 \xe2\x82", "\u00a0"}
	floats := []float64{0, 1, -1, 1795488750.670698, 0.5, 1e-7, 1.5e-9, 1e21, 123456789e15, 3, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1)}
	yes := true
	var statuses []TaskStatus
	for i, s := range odd {
		st := TaskStatus{TaskID: TaskID{Value: s}, State: TaskRunning, Message: odd[(i+1)%len(odd)],
			Source: SourceExecutor, Reason: StatusReason(odd[(i+2)%len(odd)]),
			ExecutorID: &ExecutorID{Value: s}, Timestamp: Float64(floats[i%len(floats)]), UUID: []byte(s)}
		statuses = append(statuses, st)
	}
	for _, f := range floats {
		statuses = append(statuses, TaskStatus{TaskID: TaskID{Value: "t"}, State: TaskFinished, Timestamp: Float64(f)})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		f := math.Float64frombits(rng.Uint64())
		statuses = append(statuses, TaskStatus{TaskID: TaskID{Value: "t"}, State: TaskFinished, Timestamp: Float64(f)})
	}
	statuses = append(statuses,
		TaskStatus{TaskID: TaskID{Value: "t1"}, State: TaskFinished, Message: "Command exited with status 0",
			Data: []byte{0, 1, 2, 250}, AgentID: &AgentID{Value: "a"}, Healthy: &yes,
			Labels:          &Labels{Labels: []Label{{Key: "exit_code", Value: "0"}, {Key: "empty"}, {Key: "<k>", Value: "\u2028"}}},
			ContainerStatus: &ContainerStatus{ContainerID: &ContainerID{Value: "c"}}},
		TaskStatus{TaskID: TaskID{Value: "t2"}, State: TaskFailed, Labels: &Labels{}, ContainerStatus: &ContainerStatus{},
			Data: []byte{}, UUID: []byte{}},
		TaskStatus{TaskID: TaskID{Value: "t3"}, State: TaskFailed, Labels: &Labels{Labels: []Label{}},
			ContainerStatus: &ContainerStatus{NetworkInfos: []NetworkInfo{}}},
	)
	for _, st := range statuses {
		call := &ExecutorCall{Type: ExecutorCallUpdate, ExecutorID: ExecutorID{Value: "ex <1>"},
			FrameworkID: FrameworkID{Value: "fw"}, Update: &ExecutorUpdate{Status: st}}
		want, err := json.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := call.AppendJSON(nil)
		if !ok {
			t.Errorf("status %+v left to json.Marshal", st)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ExecutorCall.AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
		call.MoreUpdates = []ExecutorUpdate{{Status: st}, {Status: statuses[0]}}
		if want, err = json.Marshal(call); err != nil {
			t.Fatal(err)
		}
		if got, ok := call.AppendJSON(nil); !ok || !bytes.Equal(got, want) {
			t.Errorf("ExecutorCall.AppendJSON with more updates (%v):\n%s\njson.Marshal:\n%s", ok, got, want)
		}
		agentCall := &AgentCall{Type: AgentCallUpdate, AgentID: &AgentID{Value: "a&1"},
			Updates: []AgentUpdate{{FrameworkID: FrameworkID{Value: "fw"}, Status: st}, {Status: st}}}
		if st.Message == "" {
			agentCall.AgentID = nil
		}
		want, err = json.Marshal(agentCall)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := agentCall.AppendJSON(nil); !ok || !bytes.Equal(got, want) {
			t.Errorf("AgentCall.AppendJSON (%v):\n%s\njson.Marshal:\n%s", ok, got, want)
		}
		want, _ = json.Marshal(st)
		if got, ok := st.AppendJSON(nil); !ok || !bytes.Equal(got, want) {
			t.Errorf("TaskStatus.AppendJSON (%v):\n%s\njson.Marshal:\n%s", ok, got, want)
		}
	}
	left := []*ExecutorCall{
		{Type: ExecutorCallMessage, Message: &ExecutorMessage{Data: []byte("x")}},
		{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{Status: TaskStatus{CheckStatus: &CheckStatusInfo{}}}},
		{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{Status: TaskStatus{Limitation: &TaskResourceLimitation{}}}},
		{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{Status: TaskStatus{ContainerStatus: &ContainerStatus{
			ContainerID: &ContainerID{Value: "c", Parent: &ContainerID{Value: "p"}}}}}},
		{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{Status: TaskStatus{ContainerStatus: &ContainerStatus{
			ExecutorPID: new(Uint64)}}}},
	}
	for _, call := range left {
		if _, ok := call.AppendJSON(nil); ok {
			t.Errorf("%+v was written, not left to json.Marshal", call)
		}
		if call.Update != nil {
			ac := &AgentCall{Type: AgentCallUpdate, Updates: []AgentUpdate{{Status: call.Update.Status}}}
			if _, ok := ac.AppendJSON(nil); ok {
				t.Errorf("%+v was written, not left to json.Marshal", ac)
			}
		}
	}
	more := &ExecutorCall{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{},
		MoreUpdates: []ExecutorUpdate{{}, {Status: TaskStatus{CheckStatus: &CheckStatusInfo{}}}}}
	if _, ok := more.AppendJSON(nil); ok {
		t.Errorf("%+v was written, not left to json.Marshal", more)
	}
	for _, ac := range []*AgentCall{{Type: AgentCallUpdate}, {Type: AgentCallMessage, Message: &AgentMessage{}}} {
		if _, ok := ac.AppendJSON(nil); ok {
			t.Errorf("%+v was written, not left to json.Marshal", ac)
		}
	}
}

// BenchmarkEncodeUpdateCall encodes the built-in executor's TASK_FINISHED
// call with ExecutorCall.AppendJSON and with json.Marshal.
func BenchmarkEncodeUpdateCall(b *testing.B) {
	call := &ExecutorCall{Type: ExecutorCallUpdate, ExecutorID: ExecutorID{Value: "mezzo-executor-f09cbdeb"},
		FrameworkID: FrameworkID{Value: "fw"}, Update: &ExecutorUpdate{Status: TaskStatus{
			TaskID: TaskID{Value: "t1234"}, State: TaskFinished, Message: "Command exited with status 0",
			Source: SourceExecutor, ExecutorID: &ExecutorID{Value: "mezzo-executor-f09cbdeb"},
			Timestamp: 1795488750.670698, UUID: make([]byte, 16),
			Labels:          &Labels{Labels: []Label{{Key: "exit_code", Value: "0"}, {Key: "mezzo.usage.cpu_seconds", Value: "0.000123"}}},
			ContainerStatus: &ContainerStatus{ContainerID: &ContainerID{Value: "2c1a7d5e-5f0c-4b8e-9d4e-1f2a3b4c5d6e"}}}}}
	b.Run("AppendJSON", func(b *testing.B) {
		for b.Loop() {
			call.AppendJSON(make([]byte, 0, 1024))
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(call)
		}
	})
	// An agent's UPDATE call to the master, 16 such updates.
	ac := &AgentCall{Type: AgentCallUpdate, AgentID: &AgentID{Value: "agent-1"}}
	for range 16 {
		ac.Updates = append(ac.Updates, AgentUpdate{FrameworkID: FrameworkID{Value: "fw"}, Status: call.Update.Status})
	}
	b.Run("agent-16/AppendJSON", func(b *testing.B) {
		for b.Loop() {
			ac.AppendJSON(nil)
		}
	})
	b.Run("agent-16/json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(ac)
		}
	})
}

// TestAppendAcknowledged compares ExecutorEvent.AppendJSON with
// json.Marshal for acknowledgements, and checks that it leaves other
// events alone.
func TestAppendAcknowledged(t *testing.T) {
	for _, ack := range []ExecutorAcknowledged{
		{TaskID: TaskID{Value: "t1"}, UUID: make([]byte, 16)},
		{TaskID: TaskID{Value: "<t&2>\u2028\xff"}, UUID: []byte{1, 2, 3, 4, 5}},
		{}, {UUID: []byte{}},
	} {
		ev := &ExecutorEvent{Type: ExecutorEventAcknowledged, Acknowledged: &ack}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := ev.AppendJSON(nil); !ok || !bytes.Equal(got, want) {
			t.Errorf("AppendJSON (%v):\n%s\njson.Marshal:\n%s", ok, got, want)
		}
	}
	for _, ev := range []*ExecutorEvent{{Type: ExecutorEventAcknowledged}, {Type: ExecutorEventKill, Kill: &ExecutorKill{}},
		{Type: ExecutorEventAcknowledged, Acknowledged: &ExecutorAcknowledged{}, Error: &ErrorEvent{}}} {
		if _, ok := ev.AppendJSON(nil); ok {
			t.Errorf("%+v was written, not left to json.Marshal", ev)
		}
	}
}

// TestEncodedFieldsKnown fails when a field is added to a type the
// hand-written writers cover (ExecutorCall.AppendJSON and its kin), so
// that the writer, or the check that leaves such a message to
// json.Marshal, is taught about it: otherwise it would drop the field.
func TestEncodedFieldsKnown(t *testing.T) {
	known := map[reflect.Type]string{
		reflect.TypeFor[ExecutorCall]():         "ExecutorID FrameworkID Type Subscribe Update MoreUpdates Message Usage",
		reflect.TypeFor[ExecutorUpdate]():       "Status",
		reflect.TypeFor[AgentCall]():            "Type AgentID Subscribe Updates Message ExecutorExited",
		reflect.TypeFor[AgentUpdate]():          "FrameworkID Status",
		reflect.TypeFor[ExecutorEvent]():        "Type Subscribed Acknowledged Launch LaunchGroup Kill Message Error",
		reflect.TypeFor[ExecutorAcknowledged](): "TaskID UUID",
		reflect.TypeFor[TaskStatus](): "TaskID State Message Source Reason Data AgentID ExecutorID Timestamp UUID " +
			"Healthy CheckStatus Labels ContainerStatus UnreachableTime Limitation",
		reflect.TypeFor[ContainerStatus](): "ContainerID NetworkInfos CgroupInfo ExecutorPID",
		reflect.TypeFor[ContainerID]():     "Value Parent",
		reflect.TypeFor[Labels]():          "Labels",
		reflect.TypeFor[Label]():           "Key Value",
		reflect.TypeFor[TaskID]():          "Value",
		reflect.TypeFor[ExecutorID]():      "Value",
		reflect.TypeFor[FrameworkID]():     "Value",
		reflect.TypeFor[AgentID]():         "Value",
	}
	for typ, want := range known {
		var names []string
		for f := range typ.Fields() {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s has fields %q; api/encode.go knows %q: teach its writers the change", typ, got, want)
		}
	}
}
