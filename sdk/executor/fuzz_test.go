package executor

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// FuzzReadEvents feeds arbitrary bytes to the stream decoder, as an agent
// (or whatever answers on its port) might send them: it must not panic,
// and every event it passes on carries the payload its type needs and
// survives a round trip through JSON.
func FuzzReadEvents(f *testing.F) {
	for _, ev := range []api.ExecutorEvent{
		{Type: api.ExecutorEventSubscribed, Subscribed: &api.ExecutorSubscribed{
			FrameworkInfo: api.FrameworkInfo{User: "u", Name: "n", ID: &api.FrameworkID{Value: "f"}}}},
		{Type: api.ExecutorEventLaunch, Launch: &api.ExecutorLaunch{Task: api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}}}},
		{Type: api.ExecutorEventLaunchGroup, LaunchGroup: &api.ExecutorLaunchGroup{TaskGroup: api.TaskGroupInfo{
			Tasks: []api.TaskInfo{{TaskID: api.TaskID{Value: "a"}}, {TaskID: api.TaskID{Value: "b"}}}}}},
		{Type: api.ExecutorEventKill, Kill: &api.ExecutorKill{TaskID: api.TaskID{Value: "t"}}},
		{Type: api.ExecutorEventAcknowledged, Acknowledged: &api.ExecutorAcknowledged{TaskID: api.TaskID{Value: "t"}, UUID: make([]byte, 16)}},
		{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: []byte("hi")}},
		{Type: api.ExecutorEventError, Error: &api.ErrorEvent{Message: "no"}},
		{Type: api.ExecutorEventShutdown},
		{Type: api.ExecutorEventHeartbeat},
	} {
		rec, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(api.AppendRecord(nil, rec))
		f.Add(api.AppendRecord(api.AppendRecord(nil, rec), []byte(`{"type":"HEARTBEAT"}`)))
	}
	f.Add([]byte("5\n{\"ty"))
	f.Add([]byte("0\n"))
	f.Add([]byte("99999999999999999999999\n{}"))
	f.Add([]byte(`20` + "\n" + `{"type":"LAUNCH"}   `))
	f.Add([]byte(`29` + "\n" + `{"type":"KILL","kill":null}  `))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLedger()
		readEvents(bytes.NewReader(data), func(ev *api.ExecutorEvent, _ int) error {
			checkPayload(t, ev)
			l.launched(ev)
			if ev.Type == api.ExecutorEventAcknowledged {
				l.acknowledged(ev.Acknowledged.UUID)
			}
			rec, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", ev, err)
			}
			again, err := decodeEvent(rec)
			if err != nil {
				t.Fatalf("decode re-encoded event %s: %v", rec, err)
			}
			if again.Type != ev.Type {
				t.Fatalf("type changed in a round trip: %s -> %s", ev.Type, again.Type)
			}
			return nil
		})
		l.snapshot(nil)
	})
}

func checkPayload(t *testing.T, ev *api.ExecutorEvent) {
	t.Helper()
	ok := true
	switch ev.Type {
	case "":
		ok = false
	case api.ExecutorEventSubscribed:
		ok = ev.Subscribed != nil
	case api.ExecutorEventLaunch:
		ok = ev.Launch != nil
	case api.ExecutorEventLaunchGroup:
		ok = ev.LaunchGroup != nil
	case api.ExecutorEventKill:
		ok = ev.Kill != nil
	case api.ExecutorEventAcknowledged:
		ok = ev.Acknowledged != nil
	case api.ExecutorEventMessage:
		ok = ev.Message != nil
	case api.ExecutorEventError:
		ok = ev.Error != nil
	}
	if !ok {
		t.Fatalf("event %+v passed on without its payload", ev)
	}
}
