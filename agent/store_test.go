package agent

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/health"
	"github.com/mezzo-cluster/mezzo/api"
)

// TestStoreRecordsWrittenAsJSON checks that the records agent.db holds
// most, written by hand (storedUpdate.AppendJSON, recordedTask.AppendJSON),
// are byte for byte what json.Marshal makes of them, which is how they
// are read back; and that what the hand-written writers do not take is
// left to json.Marshal.
func TestStoreRecordsWrittenAsJSON(t *testing.T) {
	odd := []string{"fw", "", `q"uote\`, "<a&b>", "caf\u00e9 \u2028", "bad \xff", "line\nbreak"}
	for _, s := range odd {
		info := api.TaskInfo{Name: s, TaskID: api.TaskID{Value: "t-" + s}, AgentID: api.AgentID{Value: "a"},
			Command: &api.CommandInfo{Value: s}, Labels: &api.Labels{Labels: []api.Label{{Key: s, Value: s}}}}
		infoJSON, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		for _, group := range []int{0, 3} {
			rec := recordedTask{Index: 7 + group, Info: info, Dir: "/sandboxes/" + s, State: api.TaskState(s),
				Sent: group == 0, Group: group, infoJSON: infoJSON}
			compareJSON(t, &rec, true)
		}
		standing := health.Standing{Since: time.Unix(1_700_000_000, 5), Succeeded: true, Failures: 2, Reported: true, Killed: true}
		compareJSON(t, &recordedTask{Index: 2, Info: info, Dir: s, State: api.TaskRunning, Health: &standing, infoJSON: infoJSON}, true)
		status := &api.CheckStatusInfo{Type: api.CheckTypeHTTP, HTTP: &api.CheckStatusHTTP{StatusCode: api.Ptr(api.Uint64(503))}}
		compareJSON(t, &recordedTask{Index: 2, Info: info, Dir: s, State: api.TaskRunning, CheckStatus: status, infoJSON: infoJSON}, true)
		compareJSON(t, &recordedTask{Index: 2, Info: info, Dir: s, State: api.TaskRunning, Health: &standing, CheckStatus: status, infoJSON: infoJSON}, true)
		st := api.TaskStatus{TaskID: api.TaskID{Value: s}, State: api.TaskRunning, Message: s, UUID: []byte(s), Timestamp: 1.5}
		compareJSON(t, &storedUpdate{Framework: s, Status: st}, true)
	}
	compareJSON(t, &recordedTask{Index: 1, State: api.TaskRunning}, false) // TaskInfo's JSON unknown
	compareJSON(t, &storedUpdate{Framework: "fw", Status: api.TaskStatus{CheckStatus: &api.CheckStatusInfo{}}}, false)
	known := map[reflect.Type]string{
		reflect.TypeFor[recordedTask](): "Index Info Dir State Sent Group Health CheckStatus infoJSON",
		reflect.TypeFor[storedUpdate](): "Framework Status",
	}
	for typ, want := range known {
		var names []string
		for f := range typ.Fields() {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s has fields %q; its AppendJSON knows %q: teach it the change", typ, got, want)
		}
	}
}

// compareJSON fails t unless m's AppendJSON writes json.Marshal's bytes
// (or, with written false, declines, appending nothing).
func compareJSON(t *testing.T, m interface{ AppendJSON([]byte) ([]byte, bool) }, written bool) {
	t.Helper()
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.AppendJSON([]byte("x"))
	switch {
	case ok != written:
		t.Errorf("%T.AppendJSON took it: %v, want %v", m, ok, written)
	case !ok && string(got) != "x":
		t.Errorf("%T.AppendJSON declined but appended %q", m, got[1:])
	case ok && !bytes.Equal(got[1:], want):
		t.Errorf("%T.AppendJSON:\n%s\njson.Marshal:\n%s", m, got[1:], want)
	}
}
