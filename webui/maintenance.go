package webui

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/mezzo-cluster/mezzo/api"
)

// The maintenance schedule is edited as text, one window a line:
//
//	MACHINE[,MACHINE...] START [DURATION]
//
// where a machine is a hostname, an IP address, or both as HOSTNAME@IP,
// START is an RFC 3339 time and DURATION a Go duration ("2h30m"; none
// means until further notice). Blank lines and lines starting with # are
// skipped. The master tells machines apart by hostname and IP, so the
// text keeps both: two machines of one hostname differ by their IPs, and
// saving the form unchanged keeps the schedule. It is what a person can
// type into a form without JavaScript, and what the page shows the
// current schedule as, so an edit starts from it.

// Limits of the schedule form.
const (
	maxScheduleLines    = 1000
	maxMachinesPerLine  = 1000
	maxScheduleDuration = 10 * 365 * 24 * time.Hour
)

// parseSchedule reads a maintenance schedule from its text form, naming
// the line of the first mistake.
func parseSchedule(text string) (api.MaintenanceSchedule, error) {
	var s api.MaintenanceSchedule
	lines := strings.Split(text, "\n")
	if len(lines) > maxScheduleLines {
		return s, fmt.Errorf("at most %d lines", maxScheduleLines)
	}
	seen := map[api.MachineID]bool{}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w, err := parseWindow(line, seen)
		if err != nil {
			return api.MaintenanceSchedule{}, fmt.Errorf("line %d: %w", i+1, err)
		}
		s.Windows = append(s.Windows, w)
	}
	return s, nil
}

func parseWindow(line string, seen map[api.MachineID]bool) (api.MaintenanceWindow, error) {
	var w api.MaintenanceWindow
	fields := strings.Fields(line)
	if len(fields) < 2 || len(fields) > 3 {
		return w, errors.New("write MACHINE[,MACHINE...] START [DURATION]")
	}
	names := strings.Split(fields[0], ",")
	if len(names) > maxMachinesPerLine {
		return w, fmt.Errorf("at most %d machines a window", maxMachinesPerLine)
	}
	for _, n := range names {
		if n == "" {
			return w, errors.New("an empty machine name")
		}
		id, err := parseMachine(n)
		if err != nil {
			return w, err
		}
		if seen[id] {
			return w, fmt.Errorf("machine %s is in the schedule twice", n)
		}
		seen[id] = true
		w.MachineIDs = append(w.MachineIDs, id)
	}
	start, err := time.Parse(time.RFC3339, fields[1])
	if err != nil {
		return w, fmt.Errorf("start %q is not an RFC 3339 time such as 2026-01-02T03:00:00Z", fields[1])
	}
	if start.Before(time.Unix(0, 0)) || start.After(time.Unix(0, math.MaxInt64)) { // nanoseconds since 1970 in an int64
		return w, fmt.Errorf("start %q is outside 1970 to 2262", fields[1])
	}
	w.Unavailability.Start = api.TimeInfo{Nanoseconds: api.Int64(start.UnixNano())}
	if len(fields) == 3 {
		d, err := time.ParseDuration(fields[2])
		if err != nil || d <= 0 || d > maxScheduleDuration {
			return w, fmt.Errorf("duration %q must be a positive Go duration such as 2h30m, at most ten years", fields[2])
		}
		w.Unavailability.Duration = &api.DurationInfo{Nanoseconds: api.Int64(d.Nanoseconds())}
	}
	return w, nil
}

// parseMachine reads one machine of the schedule text: HOSTNAME, IP or
// HOSTNAME@IP.
func parseMachine(n string) (api.MachineID, error) {
	if strings.IndexFunc(n, func(r rune) bool { return unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		return api.MachineID{}, fmt.Errorf("machine %q has characters a hostname cannot have", n)
	}
	host, addr, both := strings.Cut(n, "@")
	if !both {
		if ip := net.ParseIP(n); ip != nil {
			return api.MachineID{IP: ip.String()}, nil
		}
		return api.MachineID{Hostname: n}, nil
	}
	ip := net.ParseIP(addr)
	if host == "" || ip == nil || net.ParseIP(host) != nil {
		return api.MachineID{}, fmt.Errorf("machine %q is not HOSTNAME@IP such as db1@10.0.0.7", n)
	}
	return api.MachineID{Hostname: host, IP: ip.String()}, nil
}

// formatSchedule writes a schedule in the text form parseSchedule reads.
func formatSchedule(s api.MaintenanceSchedule) string {
	var b strings.Builder
	for _, w := range s.Windows {
		for i, id := range w.MachineIDs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(machineText(id))
		}
		b.WriteByte(' ')
		b.WriteString(time.Unix(0, int64(w.Unavailability.Start.Nanoseconds)).UTC().Format(time.RFC3339))
		if d := w.Unavailability.Duration; d != nil {
			b.WriteByte(' ')
			b.WriteString(time.Duration(d.Nanoseconds).String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// machineName names a machine by its hostname, else its IP address.
func machineName(id api.MachineID) string {
	if id.Hostname != "" {
		return id.Hostname
	}
	return id.IP
}

// machineText writes a machine as parseMachine reads it: HOSTNAME@IP when
// it has both.
func machineText(id api.MachineID) string {
	if id.Hostname != "" && id.IP != "" {
		return id.Hostname + "@" + id.IP
	}
	return machineName(id)
}

// window is a maintenance window as the Maintenance page shows it.
type window struct {
	Machines []string
	Start    time.Time
	Duration string // "" for until further notice
}

func windows(s api.MaintenanceSchedule) []window {
	out := make([]window, 0, len(s.Windows))
	for _, w := range s.Windows {
		v := window{Start: time.Unix(0, int64(w.Unavailability.Start.Nanoseconds)).UTC()}
		for _, id := range w.MachineIDs {
			v.Machines = append(v.Machines, machineText(id))
		}
		if d := w.Unavailability.Duration; d != nil {
			v.Duration = time.Duration(d.Nanoseconds).String()
		}
		out = append(out, v)
	}
	return out
}

// setSchedule replaces the maintenance schedule with the form's text
// (UPDATE_MAINTENANCE_SCHEDULE). drain_agents must allow every machine it
// names; the master also checks the machines it drops. A principal whose
// view_agents hides machines of the schedule is refused: the form showed
// it the schedule without them, and saving would drop their windows.
func (c *Console) setSchedule(w http.ResponseWriter, r *http.Request, p Principal) error {
	s, err := parseSchedule(r.PostForm.Get("schedule"))
	if err != nil {
		return badRequest("The schedule cannot be read: %v", err)
	}
	for _, win := range s.Windows {
		for _, id := range win.MachineIDs {
			if err := allow(p, ActionDrain, machineName(id)); err != nil {
				return err
			}
		}
	}
	cur, err := c.call(r.Context(), api.OperatorGetMaintenanceSchedule)
	if err != nil {
		return err
	}
	if ms := cur.GetMaintenanceSchedule; ms != nil && ms.HiddenMachines > 0 {
		return &pageError{status: http.StatusForbidden, msg: fmt.Sprintf("Principal %q does not see %d machines of the maintenance schedule (view_agents), "+
			"and saving replaces the whole schedule: their windows would be dropped. Ask someone who sees every machine to change the schedule.", p.Name(), ms.HiddenMachines)}
	}
	call := &api.OperatorCall{Type: api.OperatorUpdateMaintenanceSchedule, UpdateMaintenanceSchedule: &api.UpdateMaintenanceSchedule{Schedule: s}}
	if _, err := c.cluster.Call(r.Context(), call); err != nil {
		return err
	}
	c.log.Info("maintenance schedule set from the console", "windows", len(s.Windows), "principal", p.Name())
	c.changed(w, r, topicAgent, "/maintenance")
	return nil
}
