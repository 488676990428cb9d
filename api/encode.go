package api

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appender is a message that writes its own JSON in its common cases.
type appender interface {
	AppendJSON(b []byte) ([]byte, bool)
}

// Marshal returns json.Marshal(m), written by m's AppendJSON when it
// takes m (the same bytes, at a third of the cost or less): the one way
// the agent and the executors encode the messages they send most.
func Marshal(m appender) ([]byte, error) {
	if b, ok := m.AppendJSON(make([]byte, 0, 512)); ok {
		return b, nil
	}
	return json.Marshal(m)
}

// AppendJSON appends the call's JSON to b, byte for byte what json.Marshal
// makes of it, for an UPDATE call, and reports whether it did: a call of
// another type, or one whose status holds a field TaskStatus.AppendJSON
// does not write, is left to json.Marshal (nothing is appended). Why: an
// executor encodes an UPDATE call per status update, and encoding/json
// (reflection over TaskStatus, then a scan of what Float64's MarshalJSON
// returns) was 5-10 % of a busy executor's CPU.
func (c *ExecutorCall) AppendJSON(b []byte) ([]byte, bool) {
	if c.Type != ExecutorCallUpdate || c.Update == nil || c.Subscribe != nil || c.Message != nil || c.Usage != nil ||
		!c.Update.Status.plain() {
		return b, false
	}
	for i := range c.MoreUpdates {
		if !c.MoreUpdates[i].Status.plain() {
			return b, false
		}
	}
	b = slices.Grow(b, 512*(1+len(c.MoreUpdates)))
	b = append(b, `{"executor_id":`...)
	b = appendIDJSON(b, c.ExecutorID.Value)
	b = append(b, `,"framework_id":`...)
	b = appendIDJSON(b, c.FrameworkID.Value)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(c.Type))
	b = append(b, `,"update":{"status":`...)
	b = c.Update.Status.appendJSON(b)
	b = append(b, '}')
	if len(c.MoreUpdates) > 0 {
		b = append(b, `,"more_updates":[`...)
		for i := range c.MoreUpdates {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"status":`...)
			b = c.MoreUpdates[i].Status.appendJSON(b)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}'), true
}

// AppendJSON appends the call's JSON to b, byte for byte what json.Marshal
// makes of it, for an UPDATE call, and reports whether it did, as
// ExecutorCall.AppendJSON does: an agent encodes an UPDATE call for
// every batch of updates it sends the master.
func (c *AgentCall) AppendJSON(b []byte) ([]byte, bool) {
	if c.Type != AgentCallUpdate || c.Subscribe != nil || c.Message != nil || c.ExecutorExited != nil || len(c.Updates) == 0 {
		return b, false
	}
	for i := range c.Updates {
		if !c.Updates[i].Status.plain() {
			return b, false
		}
	}
	b = slices.Grow(b, 64+512*len(c.Updates))
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(c.Type))
	if c.AgentID != nil {
		b = append(b, `,"agent_id":`...)
		b = appendIDJSON(b, c.AgentID.Value)
	}
	b = append(b, `,"updates":[`...)
	for i := range c.Updates {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"framework_id":`...)
		b = appendIDJSON(b, c.Updates[i].FrameworkID.Value)
		b = append(b, `,"status":`...)
		b = c.Updates[i].Status.appendJSON(b)
		b = append(b, '}')
	}
	return append(b, "]}"...), true
}

// AppendJSON appends the event's JSON to b, byte for byte what
// json.Marshal makes of it, for an ACKNOWLEDGED event, and reports
// whether it did; any other event is left to json.Marshal. An agent
// sends its executors one per status update.
func (e *ExecutorEvent) AppendJSON(b []byte) ([]byte, bool) {
	if e.Type != ExecutorEventAcknowledged || e.Acknowledged == nil || e.Subscribed != nil || e.Launch != nil ||
		e.LaunchGroup != nil || e.Kill != nil || e.Message != nil || e.Error != nil {
		return b, false
	}
	b = slices.Grow(b, 96+len(e.Acknowledged.TaskID.Value)+base64.StdEncoding.EncodedLen(len(e.Acknowledged.UUID)))
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(e.Type))
	b = append(b, `,"acknowledged":{"task_id":`...)
	b = appendIDJSON(b, e.Acknowledged.TaskID.Value)
	b = append(b, `,"uuid":"`...) // "" for none, as its MarshalJSON writes
	b = base64.StdEncoding.AppendEncode(b, e.Acknowledged.UUID)
	return append(b, `"}}`...), true
}

// AppendJSON appends the status's JSON to b, byte for byte what
// json.Marshal makes of it, and reports whether it did: a status holding
// a field appendJSON does not write (see plain) is left to json.Marshal.
// Why: an agent checkpoints every status update it handles, two per task.
func (s *TaskStatus) AppendJSON(b []byte) ([]byte, bool) {
	if !s.plain() {
		return b, false
	}
	return s.appendJSON(b), true
}

// plain reports whether appendJSON writes every field of s: not a
// check's status, a resource limitation, an unreachable time, network or
// cgroup details, an executor PID or a nested container ID.
func (s *TaskStatus) plain() bool {
	cs := s.ContainerStatus
	return s.CheckStatus == nil && s.UnreachableTime == nil && s.Limitation == nil &&
		(cs == nil || len(cs.NetworkInfos) == 0 && cs.CgroupInfo == nil && cs.ExecutorPID == nil &&
			(cs.ContainerID == nil || cs.ContainerID.Parent == nil))
}

// appendJSON appends s as json.Marshal writes it; s must be plain.
func (s *TaskStatus) appendJSON(b []byte) []byte {
	b = append(b, `{"task_id":`...)
	b = appendIDJSON(b, s.TaskID.Value)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, string(s.State))
	if s.Message != "" {
		b = append(b, `,"message":`...)
		b = appendJSONString(b, s.Message)
	}
	if s.Source != "" {
		b = append(b, `,"source":`...)
		b = appendJSONString(b, string(s.Source))
	}
	if s.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, string(s.Reason))
	}
	if len(s.Data) > 0 {
		b = append(b, `,"data":"`...)
		b = base64.StdEncoding.AppendEncode(b, s.Data)
		b = append(b, '"')
	}
	if s.AgentID != nil {
		b = append(b, `,"agent_id":`...)
		b = appendIDJSON(b, s.AgentID.Value)
	}
	if s.ExecutorID != nil {
		b = append(b, `,"executor_id":`...)
		b = appendIDJSON(b, s.ExecutorID.Value)
	}
	if s.Timestamp != 0 {
		b = append(b, `,"timestamp":`...)
		b = s.Timestamp.AppendJSON(b)
	}
	if len(s.UUID) > 0 {
		b = append(b, `,"uuid":"`...)
		b = base64.StdEncoding.AppendEncode(b, s.UUID)
		b = append(b, '"')
	}
	if s.Healthy != nil {
		b = append(b, `,"healthy":`...)
		b = strconv.AppendBool(b, *s.Healthy)
	}
	if s.Labels != nil {
		b = append(b, `,"labels":{`...)
		if len(s.Labels.Labels) > 0 {
			b = append(b, `"labels":[`...)
			for i, l := range s.Labels.Labels {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"key":`...)
				b = appendJSONString(b, l.Key)
				if l.Value != "" {
					b = append(b, `,"value":`...)
					b = appendJSONString(b, l.Value)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if cs := s.ContainerStatus; cs != nil {
		b = append(b, `,"container_status":{`...)
		if cs.ContainerID != nil {
			b = append(b, `"container_id":`...)
			b = appendIDJSON(b, cs.ContainerID.Value)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendIDJSON appends {"value":s}, the JSON of the IDs.
func appendIDJSON(b []byte, s string) []byte {
	b = append(b, `{"value":`...)
	b = appendJSONString(b, s)
	return append(b, '}')
}

// plainJSON marks the ASCII bytes a JSON string holds as they are.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters, U+2028 and U+2029 included, invalid UTF-8
// as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
