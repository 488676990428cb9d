package webui

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestScheduleText(t *testing.T) {
	start := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	good := "# racks r1 and r2\ndb1,10.0.0.7 2026-12-01T02:00:00Z 4h\n\n  web3   2026-12-01T02:00:00Z  \n"
	s, err := parseSchedule(good)
	if err != nil {
		t.Fatal(err)
	}
	want := api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{
		{MachineIDs: []api.MachineID{{Hostname: "db1"}, {IP: "10.0.0.7"}},
			Unavailability: api.Unavailability{Start: api.TimeInfo{Nanoseconds: api.Int64(start.UnixNano())}, Duration: &api.DurationInfo{Nanoseconds: api.Int64(4 * time.Hour)}}},
		{MachineIDs: []api.MachineID{{Hostname: "web3"}}, Unavailability: api.Unavailability{Start: api.TimeInfo{Nanoseconds: api.Int64(start.UnixNano())}}},
	}}
	if formatSchedule(s) != formatSchedule(want) || len(s.Windows) != 2 || s.Windows[1].Unavailability.Duration != nil {
		t.Fatalf("parsed %+v, want %+v", s, want)
	}
	if got := formatSchedule(s); got != "db1,10.0.0.7 2026-12-01T02:00:00Z 4h0m0s\nweb3 2026-12-01T02:00:00Z\n" {
		t.Fatalf("formatted %q", got)
	}
	for _, tt := range []struct{ text, msg string }{
		{"db1", "line 1: write MACHINE"},
		{"db1 tomorrow", "not an RFC 3339 time"},
		{"db1 2026-12-01T02:00:00Z 4h extra", "write MACHINE"},
		{"db1 2026-12-01T02:00:00Z -4h", "positive Go duration"},
		{"db1 2026-12-01T02:00:00Z 0s", "positive Go duration"},
		{"db1 2026-12-01T02:00:00Z 100000h", "at most ten years"},
		{"db1,,db2 2026-12-01T02:00:00Z", "empty machine name"},
		{"db1 2026-12-01T02:00:00Z\ndb1 2026-12-02T02:00:00Z", "line 2: machine db1 is in the schedule twice"},
		{"db\u00e9 2026-12-01T02:00:00Z", "cannot have"},
		{"db1 0001-01-01T00:00:00Z", "outside 1970 to 2262"},
		{strings.Repeat("\n", maxScheduleLines+1), "at most"},
	} {
		if _, err := parseSchedule(tt.text); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseSchedule(%q): %v, want %q", tt.text, err, tt.msg)
		}
	}
}

func TestMaintenanceSchedulePage(t *testing.T) {
	c, f := newConsole(t, nil)
	w := post(t, c, "/maintenance/schedule", formType, strings.NewReader(url.Values{"schedule": {"host-one 2026-12-01T02:00:00Z 2h"}}.Encode()))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/maintenance" {
		t.Fatalf("saving a schedule: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	calls := f.callsOf(api.OperatorUpdateMaintenanceSchedule)
	if len(calls) != 1 || len(calls[0].UpdateMaintenanceSchedule.Schedule.Windows) != 1 {
		t.Fatalf("UPDATE_MAINTENANCE_SCHEDULE calls: %+v", calls)
	}
	code, body := get(t, c, "/maintenance")
	for _, want := range []string{"<code>host-one</code>", "2026-12-01 02:00 UTC", "2h0m0s", `id="schedule-form"`, ">host-one 2026-12-01T02:00:00Z 2h0m0s\n</textarea>"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("maintenance page: %d, no %q", code, want)
		}
	}
	if w := post(t, c, "/maintenance/schedule", formType, strings.NewReader("schedule=host-one+soon")); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "line 1") {
		t.Errorf("a bad schedule: %d\n%s", w.Code, w.Body)
	}
	if n := len(f.callsOf(api.OperatorUpdateMaintenanceSchedule)); n != 1 {
		t.Errorf("a refused schedule reached the master: %d calls", n)
	}
	// A principal without drain_agents sees the schedule, not the form.
	v, _ := newConsole(t, withLogin)
	cookie, csrf := login(t, v, "viewer", "pw")
	if _, body := get(t, v, "/maintenance", "Cookie", cookie); strings.Contains(body, "schedule-form") {
		t.Error("viewer is offered the schedule form")
	}
	if w := post(t, v, "/maintenance/schedule", formType, strings.NewReader("schedule=host-one+2026-12-01T02:00:00Z"), "Cookie", cookie, csrfHeader, csrf); w.Code != http.StatusForbidden {
		t.Errorf("viewer saving a schedule: %d, want 403", w.Code)
	}
}

// FuzzParseSchedule feeds the schedule form's parser arbitrary text: it
// must not panic, and what it accepts must write back to text that reads
// as the same schedule.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{
		"db1,10.0.0.7 2026-12-01T02:00:00Z 4h", "# c\n\nweb 2026-12-01T02:00:00+02:00", "::1 2026-12-01T02:00:00Z 1ns",
		"a,a 2026-12-01T02:00:00Z", "x 2262-04-11T23:47:16Z 87600h", "x 9999-12-31T23:59:59Z 87600h", "x 2026-13-01T02:00:00Z", "x\x00 2026-12-01T02:00:00Z",
		"", "\n\n\n", "x 2026-12-01T02:00:00Z 1h\r\ny 2026-12-01T02:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseSchedule(text)
		if err != nil {
			return
		}
		again, err := parseSchedule(formatSchedule(s))
		if err != nil {
			t.Fatalf("%q parsed, but its text %q does not: %v", text, formatSchedule(s), err)
		}
		if formatSchedule(again) != formatSchedule(s) {
			t.Fatalf("%q: %q read back as %q", text, formatSchedule(s), formatSchedule(again))
		}
	})
}

// TestScheduleMachinesRoundTrip checks that the schedule's text keeps
// every machine as the master has it, so that saving the form unchanged
// keeps the schedule. A machine named by hostname and IP was written as
// its hostname alone: a save dropped its IP, and two machines of the same
// hostname became one and could not be saved ("in the schedule twice").
func TestScheduleMachinesRoundTrip(t *testing.T) {
	at := api.Unavailability{Start: api.TimeInfo{Nanoseconds: 1.8e18}}
	tests := []struct {
		name string
		ids  []api.MachineID
		text string
	}{
		{"hostname", []api.MachineID{{Hostname: "db1"}}, "db1"},
		{"IP", []api.MachineID{{IP: "10.9.9.9"}}, "10.9.9.9"},
		{"hostname and IP", []api.MachineID{{Hostname: "db1", IP: "10.9.9.9"}}, "db1@10.9.9.9"},
		{"hostname and IPv6", []api.MachineID{{Hostname: "db1", IP: "fd00::1"}}, "db1@fd00::1"},
		{"one hostname, two IPs", []api.MachineID{{Hostname: "db1", IP: "10.0.0.1"}, {Hostname: "db1", IP: "10.0.0.2"}}, "db1@10.0.0.1,db1@10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := api.MaintenanceSchedule{Windows: []api.MaintenanceWindow{{MachineIDs: tt.ids, Unavailability: at}}}
			text := formatSchedule(s)
			if machines, _, _ := strings.Cut(text, " "); machines != tt.text {
				t.Errorf("machines written as %q, want %q", machines, tt.text)
			}
			back, err := parseSchedule(text)
			if err != nil {
				t.Fatalf("%q does not read back: %v", text, err)
			}
			if !reflect.DeepEqual(back, s) {
				t.Errorf("%q reads back as %+v, want %+v", text, back, s)
			}
			c, f := newConsole(t, nil)
			f.schedule = s
			if _, body := get(t, c, "/maintenance"); !strings.Contains(body, ">"+html.EscapeString(text)+"</textarea>") {
				t.Errorf("the form is not prefilled with %q", text)
			}
		})
	}
	for _, tt := range []struct{ text, msg string }{
		{"db1@ 2026-12-01T02:00:00Z", "not HOSTNAME@IP"},
		{"@10.0.0.1 2026-12-01T02:00:00Z", "not HOSTNAME@IP"},
		{"db1@db2 2026-12-01T02:00:00Z", "not HOSTNAME@IP"},
		{"10.0.0.2@10.0.0.1 2026-12-01T02:00:00Z", "not HOSTNAME@IP"},
		{"db1@10.0.0.1,db1@10.0.0.1 2026-12-01T02:00:00Z", "twice"},
	} {
		if _, err := parseSchedule(tt.text); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseSchedule(%q): %v, want %q", tt.text, err, tt.msg)
		}
	}
}

// TestScheduleHiddenMachines checks that a principal whose view of the
// schedule leaves machines out (view_agents) is neither offered the
// schedule form nor let save it. The form is prefilled from the filtered
// view and saving replaces the whole schedule, so a save silently dropped
// the hidden machines' windows.
func TestScheduleHiddenMachines(t *testing.T) {
	for _, tt := range []struct {
		hidden int
		code   int // of saving the form
	}{
		{0, http.StatusSeeOther},
		{2, http.StatusForbidden},
	} {
		t.Run(fmt.Sprint(tt.hidden, " hidden"), func(t *testing.T) {
			c, f := newConsole(t, nil)
			f.hiddenMachines = tt.hidden
			_, body := get(t, c, "/maintenance")
			if offered := strings.Contains(body, `id="schedule-form"`); offered != (tt.hidden == 0) {
				t.Errorf("form offered %v", offered)
			}
			w := post(t, c, "/maintenance/schedule", formType, strings.NewReader(url.Values{"schedule": {"host-one 2026-12-01T02:00:00Z 2h"}}.Encode()))
			if w.Code != tt.code {
				t.Fatalf("saving: %d, want %d\n%s", w.Code, tt.code, w.Body)
			}
			if tt.hidden > 0 {
				if !strings.Contains(w.Body.String(), "does not see 2 machines") {
					t.Errorf("the refusal does not say why:\n%s", w.Body)
				}
				if n := len(f.callsOf(api.OperatorUpdateMaintenanceSchedule)); n != 0 {
					t.Errorf("the refused schedule reached the master: %d calls", n)
				}
			}
		})
	}
}
