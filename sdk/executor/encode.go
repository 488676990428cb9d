package executor

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api"
)

// encodeCall is json.Marshal(call), with UPDATE calls written by
// appendUpdateCall. Why: an executor makes an UPDATE call per status
// update, and encoding/json, reflecting over TaskStatus and calling
// Float64's MarshalJSON (which marshals again, and whose output it then
// checks), cost about a tenth of a busy executor's CPU
// (BenchmarkAgentThroughput's executor profile). The bytes are the
// same; TestAppendUpdateCall compares them.
func encodeCall(call *api.ExecutorCall) ([]byte, error) {
	if b, ok := appendUpdateCall(make([]byte, 0, 1024), call); ok {
		return b, nil
	}
	return json.Marshal(call)
}

// appendUpdateCall appends the JSON of an UPDATE call to b, byte for byte
// what json.Marshal makes of it, and reports whether it did: a call of
// another type, or a status with a field it does not write (a check's
// status, a resource limitation, an unreachable time, network or cgroup
// details, a nested container ID), is left to json.Marshal.
func appendUpdateCall(b []byte, call *api.ExecutorCall) ([]byte, bool) {
	if call.Type != api.ExecutorCallUpdate || call.Update == nil ||
		call.Subscribe != nil || call.Message != nil || call.Usage != nil {
		return b, false
	}
	st := &call.Update.Status
	cs := st.ContainerStatus
	if st.CheckStatus != nil || st.UnreachableTime != nil || st.Limitation != nil ||
		cs != nil && (len(cs.NetworkInfos) > 0 || cs.CgroupInfo != nil || cs.ExecutorPID != nil ||
			cs.ContainerID != nil && cs.ContainerID.Parent != nil) {
		return b, false
	}
	b = append(b, `{"executor_id":`...)
	b = appendValue(b, call.ExecutorID.Value)
	b = append(b, `,"framework_id":`...)
	b = appendValue(b, call.FrameworkID.Value)
	b = append(b, `,"type":`...)
	b = appendString(b, string(call.Type))
	b = append(b, `,"update":{"status":{"task_id":`...)
	b = appendValue(b, st.TaskID.Value)
	b = append(b, `,"state":`...)
	b = appendString(b, string(st.State))
	if st.Message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, st.Message)
	}
	if st.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, string(st.Source))
	}
	if st.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, string(st.Reason))
	}
	if len(st.Data) > 0 {
		b = append(b, `,"data":"`...)
		b = base64.StdEncoding.AppendEncode(b, st.Data)
		b = append(b, '"')
	}
	if st.AgentID != nil {
		b = append(b, `,"agent_id":`...)
		b = appendValue(b, st.AgentID.Value)
	}
	if st.ExecutorID != nil {
		b = append(b, `,"executor_id":`...)
		b = appendValue(b, st.ExecutorID.Value)
	}
	if st.Timestamp != 0 {
		b = append(b, `,"timestamp":`...)
		b = st.Timestamp.AppendJSON(b)
	}
	if len(st.UUID) > 0 {
		b = append(b, `,"uuid":"`...)
		b = base64.StdEncoding.AppendEncode(b, st.UUID)
		b = append(b, '"')
	}
	if st.Healthy != nil {
		b = append(b, `,"healthy":`...)
		b = strconv.AppendBool(b, *st.Healthy)
	}
	if st.Labels != nil {
		b = append(b, `,"labels":{`...)
		if len(st.Labels.Labels) > 0 {
			b = append(b, `"labels":[`...)
			for i, l := range st.Labels.Labels {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"key":`...)
				b = appendString(b, l.Key)
				if l.Value != "" {
					b = append(b, `,"value":`...)
					b = appendString(b, l.Value)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if cs != nil {
		b = append(b, `,"container_status":{`...)
		if cs.ContainerID != nil {
			b = append(b, `"container_id":`...)
			b = appendValue(b, cs.ContainerID.Value)
		}
		b = append(b, '}')
	}
	return append(b, "}}}"...), true
}

// appendValue appends {"value":s}, the JSON of the IDs.
func appendValue(b []byte, s string) []byte {
	b = append(b, `{"value":`...)
	b = appendString(b, s)
	return append(b, '}')
}

// plainJSON marks the ASCII bytes a JSON string holds as they are.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters, U+2028 and U+2029 included, invalid UTF-8
// as U+FFFD).
func appendString(b []byte, s string) []byte {
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
