package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
)

// The golden files are the literal examples of the Mesos reference (§1.5),
// with full IDs in place of ellipses. A file NAME.want.json, where present,
// is what Mesos prints back for NAME.json: the example as a client would
// send it, plus the proto2 defaults Mesos always prints and minus the empty
// repeated fields it never prints.
var goldens = []struct {
	name   string
	decode func([]byte) (any, error)
}{
	{"subscribe_call", decodeGoldenCall},
	{"subscribed_event", decodeGoldenEvent},
	{"offers_event", decodeGoldenEvent},
	{"accept_launch_call", decodeGoldenCall},
	{"update_event", decodeGoldenEvent},
	{"acknowledge_call", decodeGoldenCall},
}

func decodeGoldenCall(b []byte) (any, error) { return DecodeCall(b) }

func decodeGoldenEvent(b []byte) (any, error) {
	var e Event
	err := json.Unmarshal(b, &e)
	return &e, err
}

func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			in := readGolden(t, g.name+".json")
			want := in
			if b, err := os.ReadFile(goldenPath(g.name + ".want.json")); err == nil {
				want = b
			}
			v, err := g.decode(in)
			if err != nil {
				t.Fatalf("decode %s: %v", g.name, err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("encode %s: %v", g.name, err)
			}
			if err := jsonEqual(got, want); err != nil {
				t.Errorf("re-encoded %s differs from the golden file: %v\ngot:  %s", g.name, err, got)
			}
			// The expected output must itself survive a round trip.
			v, err = g.decode(want)
			if err != nil {
				t.Fatalf("decode expected output: %v", err)
			}
			again, _ := json.Marshal(v)
			if err := jsonEqual(again, want); err != nil {
				t.Errorf("expected output is not a fixed point: %v", err)
			}
		})
	}
}

// TestGoldenLaunchTaskIsValid checks that the task of the ACCEPT example
// passes task validation.
func TestGoldenLaunchTaskIsValid(t *testing.T) {
	call, err := DecodeCall(readGolden(t, "accept_launch_call.json"))
	if err != nil {
		t.Fatal(err)
	}
	task := &call.Accept.Operations[0].Launch.TaskInfos[0]
	if err := ValidateTaskInfo(task); err != nil {
		t.Fatal(err)
	}
	if !task.Command.IsShell() || task.HealthCheck.HTTP.Port != 31000 {
		t.Errorf("task decoded wrongly: %+v", task)
	}
}

// TestGoldenBytes checks that the UPDATE's base64 uuid decodes to the 16
// bytes an ACKNOWLEDGE must echo.
func TestGoldenBytes(t *testing.T) {
	v, err := decodeGoldenEvent(readGolden(t, "update_event.json"))
	if err != nil {
		t.Fatal(err)
	}
	uuid := v.(*Event).Update.Status.UUID
	want := []byte{0xa3, 0x86, 0x68, 0x58, 0xd9, 0x73, 0x40, 0x1e, 0xa7, 0x62, 0x07, 0xfb, 0x96, 0x6c, 0xd4, 0xf7}
	if !bytes.Equal(uuid, want) {
		t.Errorf("uuid = %x, want %x", uuid, want)
	}
}

func TestZeroValuesPrintDefaults(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"Filters", Filters{}, `{"refuse_seconds":5.0}`},
		{"CommandInfo", CommandInfo{}, `{"shell":true}`},
		{"FrameworkInfo", FrameworkInfo{}, `{"user":"","name":"","failover_timeout":0.0,"checkpoint":false}`},
		{"MasterInfo", MasterInfo{}, `{"id":"","ip":0,"port":5050}`},
		{"HealthCheck", HealthCheck{}, `{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0,"consecutive_failures":3,"grace_period_seconds":10.0}`},
		{"EnvironmentVariable", EnvironmentVariable{}, `{"name":"","type":"VALUE"}`},
		{"CommandURI", CommandURI{}, `{"value":"","extract":true}`},
		{"DrainAgent", DrainAgent{}, `{"agent_id":{"value":""},"mark_gone":false}`},
		{"DrainConfig", DrainConfig{}, `{"mark_gone":false}`},
		{"ReadFileResponse", ReadFileResponse{}, `{"size":0,"data":""}`},
		{"ExecutorMessage", ExecutorMessage{}, `{"data":""}`},
		{"ExecutorAcknowledged", ExecutorAcknowledged{}, `{"task_id":{"value":""},"uuid":""}`},
		{"GetHealthResponse", GetHealthResponse{}, `{"healthy":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// A pointer to the value, as in an optional field, prints the same.
			ptr := reflect.New(reflect.TypeOf(tt.v))
			ptr.Elem().Set(reflect.ValueOf(tt.v))
			got, err = json.Marshal(ptr.Interface())
			if err != nil || string(got) != tt.want {
				t.Errorf("through a pointer: got %s, %v", got, err)
			}
		})
	}
}

// TestAgentShutdownEvents pins the wire form of the events by which a
// master shuts a framework's executors, one executor, or the whole agent
// down: an agent of another build must read them as this one writes them.
func TestAgentShutdownEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   AgentEvent
		want string
	}{
		{"framework", AgentEvent{Type: AgentEventShutdownFramework,
			ShutdownFramework: &AgentShutdownFramework{FrameworkID: FrameworkID{"fw"}}},
			`{"type":"SHUTDOWN_FRAMEWORK","shutdown_framework":{"framework_id":{"value":"fw"}}}`},
		{"executor", AgentEvent{Type: AgentEventShutdownExecutor,
			ShutdownExecutor: &AgentShutdownExecutor{FrameworkID: FrameworkID{"fw"}, ExecutorID: ExecutorID{"x"}}},
			`{"type":"SHUTDOWN_EXECUTOR","shutdown_executor":{"framework_id":{"value":"fw"},"executor_id":{"value":"x"}}}`},
		{"agent", AgentEvent{Type: AgentEventShutdown, Shutdown: &AgentShutdown{Message: "Agent has been marked gone"}},
			`{"type":"SHUTDOWN","shutdown":{"message":"Agent has been marked gone"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var back AgentEvent
			if err := UnmarshalAgentEvent([]byte(tt.want), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.ev) {
				t.Errorf("decoded %+v, want %+v", back, tt.ev)
			}
		})
	}
}

// TestAgentExecutorExitedCall pins the wire form of an agent's report
// of an executor's exit: a master of another build must read it as this
// one writes it.
func TestAgentExecutorExitedCall(t *testing.T) {
	tests := []struct {
		name string
		call AgentCall
		want string
	}{
		{"with status", AgentCall{Type: AgentCallExecutorExited, AgentID: &AgentID{"a"},
			ExecutorExited: &AgentExecutorExited{FrameworkID: FrameworkID{"fw"}, ExecutorID: ExecutorID{"x"}, Status: Ptr(Int64(256))}},
			`{"type":"EXECUTOR_EXITED","agent_id":{"value":"a"},"executor_exited":{"framework_id":{"value":"fw"},"executor_id":{"value":"x"},"status":256}}`},
		{"without status", AgentCall{Type: AgentCallExecutorExited, AgentID: &AgentID{"a"},
			ExecutorExited: &AgentExecutorExited{FrameworkID: FrameworkID{"fw"}, ExecutorID: ExecutorID{"x"}}},
			`{"type":"EXECUTOR_EXITED","agent_id":{"value":"a"},"executor_exited":{"framework_id":{"value":"fw"},"executor_id":{"value":"x"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			back, err := DecodeAgentCall([]byte(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*back, tt.call) {
				t.Errorf("decoded %+v, want %+v", *back, tt.call)
			}
		})
	}
}

// TestOffersNesting checks the doubled "offers" key of the OFFERS event,
// which the Mesos documentation flattens by mistake.
func TestOffersNesting(t *testing.T) {
	e := Event{Type: EventOffers, Offers: &Offers{Offers: []Offer{{
		ID:          OfferID{"o1"},
		FrameworkID: FrameworkID{"f1"},
		AgentID:     AgentID{"a1"},
		Hostname:    "agent1",
	}}}}
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o1"},"framework_id":{"value":"f1"},"agent_id":{"value":"a1"},"hostname":"agent1"}]}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", "golden", name) }

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(goldenPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEqual reports how two JSON documents differ as values: object key
// order and number spelling (128 and 128.0, 3.6e6 and 3600000) do not
// matter.
func jsonEqual(a, b []byte) error {
	va, err := decodeJSONValue(a)
	if err != nil {
		return fmt.Errorf("first document: %w", err)
	}
	vb, err := decodeJSONValue(b)
	if err != nil {
		return fmt.Errorf("second document: %w", err)
	}
	return jsonValueEqual("$", va, vb)
}

func decodeJSONValue(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func jsonValueEqual(path string, a, b any) error {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object vs %T", path, b)
		}
		for _, k := range unionKeys(a, bm) {
			av, aok := a[k]
			bv, bok := bm[k]
			if aok != bok {
				return fmt.Errorf("%s.%s: present on one side only (%v / %v)", path, k, av, bv)
			}
			if err := jsonValueEqual(path+"."+k, av, bv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return fmt.Errorf("%s: array of %d vs %v", path, len(a), b)
		}
		for i := range a {
			if err := jsonValueEqual(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i]); err != nil {
				return err
			}
		}
		return nil
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return fmt.Errorf("%s: number %s vs %v", path, a, b)
		}
		fa, erra := strconv.ParseFloat(string(a), 64)
		fb, errb := strconv.ParseFloat(string(bn), 64)
		if erra != nil || errb != nil || fa != fb {
			return fmt.Errorf("%s: %s != %s", path, a, bn)
		}
		return nil
	default:
		if a != b {
			return fmt.Errorf("%s: %v != %v", path, a, b)
		}
		return nil
	}
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// TestExecutorMoreUpdatesWire pins the wire form of Mezzo's extension by
// which one UPDATE call carries several updates, and of the SUBSCRIBED
// field by which an agent says it takes them: executors and agents of
// other builds must read them as this one writes them, and an agent
// without the extension must see a plain UPDATE of the first update.
func TestExecutorMoreUpdatesWire(t *testing.T) {
	st := func(task string, state TaskState, uuid byte) ExecutorUpdate {
		return ExecutorUpdate{Status: TaskStatus{TaskID: TaskID{task}, State: state, Source: SourceExecutor,
			UUID: bytes.Repeat([]byte{uuid}, 16)}}
	}
	first := st("t1", TaskFinished, 1)
	call := ExecutorCall{Type: ExecutorCallUpdate, ExecutorID: ExecutorID{"x"}, FrameworkID: FrameworkID{"fw"},
		Update: &first, MoreUpdates: []ExecutorUpdate{st("t2", TaskRunning, 2), st("t2", TaskFailed, 3)}}
	const want = `{"executor_id":{"value":"x"},"framework_id":{"value":"fw"},"type":"UPDATE",` +
		`"update":{"status":{"task_id":{"value":"t1"},"state":"TASK_FINISHED","source":"SOURCE_EXECUTOR","uuid":"AQEBAQEBAQEBAQEBAQEBAQ=="}},` +
		`"more_updates":[{"status":{"task_id":{"value":"t2"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","uuid":"AgICAgICAgICAgICAgICAg=="}},` +
		`{"status":{"task_id":{"value":"t2"},"state":"TASK_FAILED","source":"SOURCE_EXECUTOR","uuid":"AwMDAwMDAwMDAwMDAwMDAw=="}}]}`
	got, err := Marshal(&call)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	back, err := DecodeExecutorCall([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*back, call) {
		t.Errorf("decoded %+v, want %+v", back, call)
	}
	// A decoder that knows only Mesos's fields reads the first update.
	var mesos struct {
		Type   string          `json:"type"`
		Update *ExecutorUpdate `json:"update"`
	}
	if err := json.Unmarshal([]byte(want), &mesos); err != nil || mesos.Type != "UPDATE" || !reflect.DeepEqual(*mesos.Update, first) {
		t.Errorf("as Mesos reads it: %+v, %v", mesos, err)
	}

	sub, err := json.Marshal(ExecutorSubscribed{AcceptsMoreUpdates: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sub, []byte(`,"accepts_more_updates":true}`)) {
		t.Errorf("SUBSCRIBED: %s", sub)
	}
	if sub, _ := json.Marshal(ExecutorSubscribed{}); bytes.Contains(sub, []byte("more_updates")) {
		t.Errorf("SUBSCRIBED of an agent without the extension names it: %s", sub)
	}
}

// TestValidateMoreUpdates checks that every update of a call is
// validated, and that more_updates comes only with UPDATE.
func TestValidateMoreUpdates(t *testing.T) {
	good := ExecutorUpdate{Status: TaskStatus{TaskID: TaskID{"t"}, State: TaskRunning, Source: SourceExecutor, UUID: make([]byte, 16)}}
	staging := good
	staging.Status.State = TaskStaging
	tests := []struct {
		name string
		call ExecutorCall
		want string
	}{
		{"all good", ExecutorCall{Type: ExecutorCallUpdate, Update: &good, MoreUpdates: []ExecutorUpdate{good, good}}, ""},
		{"second bad", ExecutorCall{Type: ExecutorCallUpdate, Update: &good, MoreUpdates: []ExecutorUpdate{good, staging}},
			"'more_updates[1].status.state' may not be TASK_STAGING, which only the master sends"},
		{"no update", ExecutorCall{Type: ExecutorCallUpdate, MoreUpdates: []ExecutorUpdate{good}}, "Expecting 'update' to be present"},
		{"as many as may be", ExecutorCall{Type: ExecutorCallUpdate, Update: &good, MoreUpdates: slices.Repeat([]ExecutorUpdate{good}, MaxMoreUpdates)}, ""},
		{"too many", ExecutorCall{Type: ExecutorCallUpdate, Update: &good, MoreUpdates: slices.Repeat([]ExecutorUpdate{good}, MaxMoreUpdates+1)},
			"'more_updates' lists 256 updates, more than the 255 a call may carry"},
		{"on a message", ExecutorCall{Type: ExecutorCallMessage, Message: &ExecutorMessage{}, MoreUpdates: []ExecutorUpdate{good}},
			"'more_updates' may come only with an UPDATE call, not MESSAGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.ExecutorID, tt.call.FrameworkID = ExecutorID{"x"}, FrameworkID{"fw"}
			err := tt.call.Validate()
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
