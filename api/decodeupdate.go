package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeUpdateCall decodes an executor's UPDATE call laid out exactly as
// encoding/json writes an ExecutorCall (its fields in order, no spaces),
// as the built-in executor and sdk/executor send it, more_updates
// included (an empty list is json.Unmarshal's); it reports false for
// anything else, which json.Unmarshal then decodes: other calls, other
// layouts, a string with an escape or a byte it does not take as it is, a
// field it does not know (a check's status, a resource limitation...).
// What it accepts it decodes to what json.Unmarshal would
// (FuzzDecodeUpdateCall). Why: an agent decodes two such calls per task,
// and json.Unmarshal, which scans the whole body before it decodes it by
// reflection, was 11 % of a busy agent's CPU (BenchmarkAgentThroughput).
func decodeUpdateCall(data []byte) (*ExecutorCall, bool) {
	d := updateDecoder{data: data}
	call := &ExecutorCall{Type: ExecutorCallUpdate, Update: &ExecutorUpdate{}}
	d.lit(`{"executor_id":`)
	call.ExecutorID.Value = d.value()
	d.lit(`,"framework_id":`)
	call.FrameworkID.Value = d.value()
	d.lit(`,"type":"UPDATE","update":{"status":`)
	d.status(&call.Update.Status)
	d.lit("}")
	if d.opt(`,"more_updates":[`) {
		for !d.failed {
			var u ExecutorUpdate
			d.lit(`{"status":`)
			d.status(&u.Status)
			d.lit("}")
			call.MoreUpdates = append(call.MoreUpdates, u)
			if !d.opt(",") {
				break
			}
		}
		d.lit("]")
	}
	d.lit("}")
	if d.failed || d.pos != len(d.data) {
		return nil, false
	}
	return call, true
}

// decodeAgentUpdateCall decodes an agent's UPDATE call laid out exactly as
// encoding/json (and AgentCall.AppendJSON) writes it, with at least one
// update, as decodeUpdateCall decodes an executor's; it reports false for
// anything else, which json.Unmarshal then decodes. Why: a master decodes
// one per batch of up to 64 updates from each agent, two updates per
// task, and json.Unmarshal was most of the CPU of the stand-in master in
// BenchmarkAgentThroughput.
func decodeAgentUpdateCall(data []byte) (*AgentCall, bool) {
	d := updateDecoder{data: data}
	call := &AgentCall{Type: AgentCallUpdate}
	d.lit(`{"type":"UPDATE"`)
	if d.opt(`,"agent_id":`) {
		call.AgentID = &AgentID{Value: d.value()}
	}
	d.lit(`,"updates":[`)
	for !d.failed {
		var u AgentUpdate
		d.lit(`{"framework_id":`)
		u.FrameworkID.Value = d.value()
		d.lit(`,"status":`)
		d.status(&u.Status)
		d.lit("}")
		call.Updates = append(call.Updates, u)
		if !d.opt(",") {
			break
		}
	}
	d.lit("]}")
	if d.failed || d.pos != len(d.data) {
		return nil, false
	}
	return call, true
}

// status reads a TaskStatus laid out as TaskStatus.appendJSON writes it.
func (d *updateDecoder) status(st *TaskStatus) {
	d.lit(`{"task_id":`)
	st.TaskID.Value = d.value()
	d.lit(`,"state":`)
	st.State = TaskState(d.str())
	if d.opt(`,"message":`) {
		st.Message = d.str()
	}
	if d.opt(`,"source":`) {
		st.Source = StatusSource(d.str())
	}
	if d.opt(`,"reason":`) {
		st.Reason = StatusReason(d.str())
	}
	if d.opt(`,"data":`) {
		st.Data = d.bytes()
	}
	if d.opt(`,"agent_id":`) {
		st.AgentID = &AgentID{Value: d.value()}
	}
	if d.opt(`,"executor_id":`) {
		st.ExecutorID = &ExecutorID{Value: d.value()}
	}
	if d.opt(`,"timestamp":`) {
		st.Timestamp = d.number()
	}
	if d.opt(`,"uuid":`) {
		st.UUID = d.bytes()
	}
	if d.opt(`,"healthy":`) {
		h := d.opt("true")
		if !h {
			d.lit("false")
		}
		st.Healthy = &h
	}
	if d.opt(`,"labels":{`) {
		st.Labels = &Labels{}
		if d.opt(`"labels":[`) {
			for {
				var l Label
				d.lit(`{"key":`)
				l.Key = d.str()
				if d.opt(`,"value":`) {
					l.Value = d.str()
				}
				d.lit("}")
				st.Labels.Labels = append(st.Labels.Labels, l)
				if !d.opt(",") {
					break
				}
			}
			d.lit("]")
		}
		d.lit("}")
	}
	if d.opt(`,"container_status":{`) {
		st.ContainerStatus = &ContainerStatus{}
		if d.opt(`"container_id":`) {
			st.ContainerStatus.ContainerID = &ContainerID{Value: d.value()}
		}
		d.lit("}")
	}
	d.lit("}")
}

// updateDecoder reads a body laid out as decodeUpdateCall expects; the
// first mismatch sets failed, and everything after it reads nothing.
type updateDecoder struct {
	data   []byte
	pos    int
	failed bool
}

// lit consumes s, which must come next.
func (d *updateDecoder) lit(s string) {
	if !d.opt(s) {
		d.failed = true
	}
}

// opt consumes s if it comes next, and reports whether it did.
func (d *updateDecoder) opt(s string) bool {
	if d.failed || !bytes.HasPrefix(d.data[d.pos:], []byte(s)) {
		return false
	}
	d.pos += len(s)
	return true
}

// raw reads a JSON string's contents, which must hold no escape, no
// control character and only valid UTF-8, so that they are its value.
func (d *updateDecoder) raw() []byte {
	if !d.opt(`"`) {
		d.failed = true
		return nil
	}
	start := d.pos
	for ; d.pos < len(d.data); d.pos++ {
		switch c := d.data[d.pos]; {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(s) {
				d.failed = true
			}
			return s
		case c == '\\' || c < ' ':
			d.failed = true
			return nil
		}
	}
	d.failed = true
	return nil
}

func (d *updateDecoder) str() string {
	s := d.raw()
	if d.failed {
		return ""
	}
	return string(s)
}

// value reads {"value":"..."}, an ID.
func (d *updateDecoder) value() string {
	d.lit(`{"value":`)
	s := d.str()
	d.lit("}")
	return s
}

// bytes reads base64 as encoding/json decodes it into a []byte.
func (d *updateDecoder) bytes() []byte {
	s := d.raw()
	if d.failed {
		return nil
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		d.failed = true
		return nil
	}
	return b[:n]
}

// number reads a JSON number into a Float64, as encoding/json hands the
// literal to Float64's UnmarshalJSON. A string ("Infinity") is not read.
func (d *updateDecoder) number() Float64 {
	if d.failed {
		return 0
	}
	start := d.pos
	for d.pos < len(d.data) && strings.IndexByte("-+.0123456789eE", d.data[d.pos]) >= 0 {
		d.pos++
	}
	lit := d.data[start:d.pos]
	var f Float64
	if len(lit) == 0 || !validNumber(lit) || f.UnmarshalJSON(lit) != nil {
		d.failed = true
	}
	return f
}

// validNumber reports whether b is a number as JSON's grammar has it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

// UnmarshalExecutorEvent is json.Unmarshal(data, ev) for a record of an
// executor's event stream, ev being zero. An ACKNOWLEDGED event laid out
// as an agent writes it (its fields in order, no spaces, a task ID with
// no escape) is read without json.Unmarshal: an executor gets one per
// status update, two per task.
func UnmarshalExecutorEvent(data []byte, ev *ExecutorEvent) error {
	ack, ok := decodeExecutorAck(data)
	if !ok {
		return json.Unmarshal(data, ev)
	}
	ev.Type, ev.Acknowledged = ExecutorEventAcknowledged, ack
	return nil
}

func decodeExecutorAck(data []byte) (*ExecutorAcknowledged, bool) {
	d := updateDecoder{data: data}
	d.lit(`{"type":"ACKNOWLEDGED","acknowledged":{"task_id":`)
	ack := &ExecutorAcknowledged{TaskID: TaskID{Value: d.value()}}
	d.lit(`,"uuid":`)
	ack.UUID = d.bytes()
	d.lit("}}")
	return ack, !d.failed && d.pos == len(data)
}

// UnmarshalAgentEvent is json.Unmarshal(data, ev) for a record of an
// agent's event stream from the master, ev being zero. An ACKNOWLEDGED
// event laid out as encoding/json writes it is read without
// json.Unmarshal: an agent gets one per status update, two per task.
func UnmarshalAgentEvent(data []byte, ev *AgentEvent) error {
	ack, ok := decodeAgentAck(data)
	if !ok {
		return json.Unmarshal(data, ev)
	}
	ev.Type, ev.Acknowledged = AgentEventAcknowledged, ack
	return nil
}

func decodeAgentAck(data []byte) (*AgentAcknowledged, bool) {
	d := updateDecoder{data: data}
	d.lit(`{"type":"ACKNOWLEDGED","acknowledged":{"framework_id":`)
	ack := &AgentAcknowledged{FrameworkID: FrameworkID{Value: d.value()}}
	d.lit(`,"task_id":`)
	ack.TaskID.Value = d.value()
	d.lit(`,"uuid":`)
	ack.UUID = d.bytes()
	d.lit("}}")
	return ack, !d.failed && d.pos == len(data)
}
