package executor

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestAppendUpdateCall checks that appendUpdateCall writes what
// json.Marshal writes, byte for byte, for statuses as the built-in
// executor and others make them, odd strings and numbers among them, and
// that it leaves to json.Marshal what it does not write.
func TestAppendUpdateCall(t *testing.T) {
	odd := []string{"", "plain", `quote " and \ back`, "<html> & </html>", "line\nbreak\r\ttab\b\f",
		"\x00\x01\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf8 \xe2\x82", "\u00a0"}
	floats := []float64{0, 1, -1, 1795488750.670698, 0.5, 1e-7, 1.5e-9, 1e21, 123456789e15, 3, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1)}
	yes := true
	var statuses []api.TaskStatus
	for i, s := range odd {
		st := api.TaskStatus{TaskID: api.TaskID{Value: s}, State: api.TaskRunning, Message: odd[(i+1)%len(odd)],
			Source: api.SourceExecutor, Reason: api.StatusReason(odd[(i+2)%len(odd)]),
			ExecutorID: &api.ExecutorID{Value: s}, Timestamp: api.Float64(floats[i%len(floats)]), UUID: []byte(s)}
		statuses = append(statuses, st)
	}
	for _, f := range floats {
		statuses = append(statuses, api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, Timestamp: api.Float64(f)})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		f := math.Float64frombits(rng.Uint64())
		statuses = append(statuses, api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, Timestamp: api.Float64(f)})
	}
	statuses = append(statuses,
		api.TaskStatus{TaskID: api.TaskID{Value: "t1"}, State: api.TaskFinished, Message: "Command exited with status 0",
			Data: []byte{0, 1, 2, 250}, AgentID: &api.AgentID{Value: "a"}, Healthy: &yes,
			Labels:          &api.Labels{Labels: []api.Label{{Key: "exit_code", Value: "0"}, {Key: "empty"}, {Key: "<k>", Value: "\u2028"}}},
			ContainerStatus: &api.ContainerStatus{ContainerID: &api.ContainerID{Value: "c"}}},
		api.TaskStatus{TaskID: api.TaskID{Value: "t2"}, State: api.TaskFailed, Labels: &api.Labels{}, ContainerStatus: &api.ContainerStatus{},
			Data: []byte{}, UUID: []byte{}},
		api.TaskStatus{TaskID: api.TaskID{Value: "t3"}, State: api.TaskFailed, Labels: &api.Labels{Labels: []api.Label{}},
			ContainerStatus: &api.ContainerStatus{NetworkInfos: []api.NetworkInfo{}}},
	)
	for _, st := range statuses {
		call := &api.ExecutorCall{Type: api.ExecutorCallUpdate, ExecutorID: api.ExecutorID{Value: "ex <1>"},
			FrameworkID: api.FrameworkID{Value: "fw"}, Update: &api.ExecutorUpdate{Status: st}}
		want, err := json.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendUpdateCall(nil, call)
		if !ok {
			t.Errorf("status %+v left to json.Marshal", st)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendUpdateCall:\n%s\njson.Marshal:\n%s", got, want)
		}
	}
	left := []*api.ExecutorCall{
		{Type: api.ExecutorCallMessage, Message: &api.ExecutorMessage{Data: []byte("x")}},
		{Type: api.ExecutorCallUpdate, Update: &api.ExecutorUpdate{Status: api.TaskStatus{CheckStatus: &api.CheckStatusInfo{}}}},
		{Type: api.ExecutorCallUpdate, Update: &api.ExecutorUpdate{Status: api.TaskStatus{Limitation: &api.TaskResourceLimitation{}}}},
		{Type: api.ExecutorCallUpdate, Update: &api.ExecutorUpdate{Status: api.TaskStatus{ContainerStatus: &api.ContainerStatus{
			ContainerID: &api.ContainerID{Value: "c", Parent: &api.ContainerID{Value: "p"}}}}}},
		{Type: api.ExecutorCallUpdate, Update: &api.ExecutorUpdate{Status: api.TaskStatus{ContainerStatus: &api.ContainerStatus{
			ExecutorPID: new(api.Uint64)}}}},
	}
	for _, call := range left {
		if _, ok := appendUpdateCall(nil, call); ok {
			t.Errorf("%+v was written, not left to json.Marshal", call)
		}
		want, _ := json.Marshal(call)
		if got, err := encodeCall(call); err != nil || !bytes.Equal(got, want) {
			t.Errorf("encodeCall = %s, %v; want %s", got, err, want)
		}
	}
}

// BenchmarkEncodeUpdateCall encodes the built-in executor's TASK_FINISHED
// call with appendUpdateCall and with json.Marshal.
func BenchmarkEncodeUpdateCall(b *testing.B) {
	call := &api.ExecutorCall{Type: api.ExecutorCallUpdate, ExecutorID: api.ExecutorID{Value: "mezzo-executor-f09cbdeb"},
		FrameworkID: api.FrameworkID{Value: "fw"}, Update: &api.ExecutorUpdate{Status: api.TaskStatus{
			TaskID: api.TaskID{Value: "t1234"}, State: api.TaskFinished, Message: "Command exited with status 0",
			Source: api.SourceExecutor, ExecutorID: &api.ExecutorID{Value: "mezzo-executor-f09cbdeb"},
			Timestamp: 1795488750.670698, UUID: make([]byte, 16),
			Labels:          &api.Labels{Labels: []api.Label{{Key: "exit_code", Value: "0"}, {Key: "mezzo.usage.cpu_seconds", Value: "0.000123"}}},
			ContainerStatus: &api.ContainerStatus{ContainerID: &api.ContainerID{Value: "2c1a7d5e-5f0c-4b8e-9d4e-1f2a3b4c5d6e"}}}}}
	b.Run("appendUpdateCall", func(b *testing.B) {
		for b.Loop() {
			encodeCall(call)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(call)
		}
	})
}
