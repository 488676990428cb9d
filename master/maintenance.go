package master

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// maintenance is Mesos's maintenance primitive: a schedule of windows in
// which machines may become unavailable, and the machines an operator has
// brought down. A scheduled machine is "draining": offers of its agents
// carry the window's unavailability, so that frameworks can move work off
// it. A machine that is down keeps its agents deactivated (no offers, even
// after they re-register) until STOP_MAINTENANCE brings it up. Unlike
// Mesos, the master does not shut down the agents of a machine going down
// nor send inverse offers: operators drain agents (DRAIN_AGENT) for that.
// It lives in the registry, so it survives a failover. Why no inverse
// offers: RATIONALE.md, "Why maintenance without inverse offers or agent
// shutdown?". Fields are guarded by Master.mu.
type maintenance struct {
	schedule api.MaintenanceSchedule
	down     []api.MachineID
}

// machineOf names the machine an agent runs on.
func machineOf(a *agent) api.MachineID { return api.MachineID{Hostname: a.info.Hostname, IP: a.ip} }

// sameMachine reports whether id names machine m: each field id gives
// must match (Mesos compares both; an agent's IP is known only once it has
// connected to this master, so a hostname alone is enough).
func sameMachine(id, m api.MachineID) bool {
	if id.Hostname == "" && id.IP == "" {
		return false
	}
	return (id.Hostname == "" || id.Hostname == m.Hostname) && (id.IP == "" || id.IP == m.IP)
}

// window returns the schedule's window for machine m, or nil.
func (mt *maintenance) window(m api.MachineID) *api.MaintenanceWindow {
	for i := range mt.schedule.Windows {
		w := &mt.schedule.Windows[i]
		if slices.ContainsFunc(w.MachineIDs, func(id api.MachineID) bool { return sameMachine(id, m) }) {
			return w
		}
	}
	return nil
}

// isDown reports whether machine m was brought down.
func (mt *maintenance) isDown(m api.MachineID) bool {
	return slices.ContainsFunc(mt.down, func(id api.MachineID) bool { return sameMachine(id, m) })
}

// unavailability is what offers of agent a carry: its machine's window,
// or nil when it is not scheduled. m.mu must be held.
func (m *Master) unavailability(a *agent) *api.Unavailability {
	w := m.maint.window(machineOf(a))
	if w == nil {
		return nil
	}
	u := w.Unavailability
	return &u
}

// keepDown deactivates an agent that (re-)registers on a machine that is
// down for maintenance. m.mu must be held.
func (m *Master) keepDown(a *agent, now time.Time) {
	if m.maint.isDown(machineOf(a)) && !a.deactivated {
		m.deactivate(a, now)
	}
}

// saveMaintenance queues the maintenance record. m.mu must be held.
func (m *Master) saveMaintenance() {
	if m.reg != nil {
		m.persist(registry.PutMaintenance(registry.Maintenance{Schedule: m.maint.schedule, Down: m.maint.down}), nil)
	}
}

// restoreMaintenance takes the maintenance record from the registry.
// m.mu must be held.
func (m *Master) restoreMaintenance(rec *registry.Maintenance) {
	m.maint = maintenance{}
	if rec != nil {
		m.maint = maintenance{schedule: rec.Schedule, down: rec.Down}
	}
}

func (m *Master) opGetMaintenanceSchedule(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	r.GetMaintenanceSchedule = &api.GetMaintenanceScheduleResponse{Schedule: m.maint.schedule}
	return nil
}

// opGetMaintenanceStatus lists the scheduled machines that are not down
// as draining (with no inverse offer answers: Mezzo sends none) and the
// machines that are down.
func (m *Master) opGetMaintenanceStatus(_ *api.OperatorCall, r *api.OperatorResponse, _ time.Time) error {
	st := api.MaintenanceStatus{DownMachines: slices.Clone(m.maint.down)}
	for _, w := range m.maint.schedule.Windows {
		for _, id := range w.MachineIDs {
			if !m.maint.isDown(id) {
				st.DrainingMachines = append(st.DrainingMachines, api.DrainingMachine{ID: id})
			}
		}
	}
	r.GetMaintenanceStatus = &api.GetMaintenanceStatusResponse{Status: st}
	return nil
}

// opUpdateMaintenanceSchedule replaces the schedule after Mesos's checks:
// every window names machines, each by hostname or IP, no machine is in
// two windows, durations are not negative, and every machine that is down
// stays in the schedule.
func (m *Master) opUpdateMaintenanceSchedule(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.UpdateMaintenanceSchedule == nil {
		return badRequest("Expecting 'update_maintenance_schedule' to be present")
	}
	s := call.UpdateMaintenanceSchedule.Schedule
	if err := validateSchedule(s); err != nil {
		return badRequest("Invalid maintenance schedule: %v", err)
	}
	old, next := m.maint, maintenance{schedule: s, down: m.maint.down}
	for _, id := range m.maint.down {
		if next.window(id) == nil {
			return badRequest("Invalid maintenance schedule: machine %s is down and must stay scheduled until STOP_MAINTENANCE", machineString(id))
		}
	}
	m.maint = next
	m.saveMaintenance()
	for _, o := range m.offers {
		// Offers made before carry their agent's old unavailability.
		if a := m.agents[o.agent]; a != nil && !reflect.DeepEqual(old.window(machineOf(a)), next.window(machineOf(a))) {
			m.rescindOffer(o, now)
		}
	}
	m.needFullPass()
	return nil
}

func validateSchedule(s api.MaintenanceSchedule) error {
	var seen []api.MachineID
	for i, w := range s.Windows {
		if len(w.MachineIDs) == 0 {
			return fmt.Errorf("window %d names no machine", i)
		}
		if d := w.Unavailability.Duration; d != nil && d.Nanoseconds < 0 {
			return fmt.Errorf("window %d has a negative duration", i)
		}
		for _, id := range w.MachineIDs {
			if id.Hostname == "" && id.IP == "" {
				return fmt.Errorf("window %d names a machine with neither hostname nor IP", i)
			}
			if slices.Contains(seen, id) {
				return fmt.Errorf("machine %s is in more than one window", machineString(id))
			}
			seen = append(seen, id)
		}
	}
	return nil
}

// opStartMaintenance brings scheduled machines down: their agents are
// deactivated and stay so until STOP_MAINTENANCE.
func (m *Master) opStartMaintenance(call *api.OperatorCall, _ *api.OperatorResponse, now time.Time) error {
	if call.StartMaintenance == nil || len(call.StartMaintenance.Machines) == 0 {
		return badRequest("Expecting 'start_maintenance' to name machines")
	}
	for _, id := range call.StartMaintenance.Machines {
		switch {
		case m.maint.window(id) == nil:
			return badRequest("Machine %s is not in the maintenance schedule", machineString(id))
		case m.maint.isDown(id):
			return badRequest("Machine %s is already down", machineString(id))
		}
	}
	m.maint.down = append(m.maint.down, call.StartMaintenance.Machines...)
	m.saveMaintenance()
	for _, a := range m.agents {
		m.keepDown(a, now)
	}
	return nil
}

// opStopMaintenance brings machines that are down up again: they leave
// the schedule and their agents are reactivated.
func (m *Master) opStopMaintenance(call *api.OperatorCall, _ *api.OperatorResponse, _ time.Time) error {
	if call.StopMaintenance == nil || len(call.StopMaintenance.Machines) == 0 {
		return badRequest("Expecting 'stop_maintenance' to name machines")
	}
	for _, id := range call.StopMaintenance.Machines {
		if !slices.Contains(m.maint.down, id) {
			return badRequest("Machine %s is not down", machineString(id))
		}
	}
	up := call.StopMaintenance.Machines
	m.maint.down = slices.DeleteFunc(m.maint.down, func(id api.MachineID) bool { return slices.Contains(up, id) })
	for i := range m.maint.schedule.Windows {
		w := &m.maint.schedule.Windows[i]
		w.MachineIDs = slices.DeleteFunc(w.MachineIDs, func(id api.MachineID) bool { return slices.Contains(up, id) })
	}
	m.maint.schedule.Windows = slices.DeleteFunc(m.maint.schedule.Windows, func(w api.MaintenanceWindow) bool { return len(w.MachineIDs) == 0 })
	m.saveMaintenance()
	for _, a := range m.agents {
		if a.deactivated && a.drain == nil && slices.ContainsFunc(up, func(id api.MachineID) bool { return sameMachine(id, machineOf(a)) }) {
			a.deactivated = false
			m.saveAgent(a)
			m.alloc.ActivateAgent(a.id)
		}
	}
	m.needFullPass()
	return nil
}

func machineString(id api.MachineID) string {
	switch {
	case id.Hostname != "" && id.IP != "":
		return id.Hostname + " (" + id.IP + ")"
	case id.Hostname != "":
		return id.Hostname
	}
	return id.IP
}

// authorizeMachines checks that the principal may drain the agents of
// every machine a maintenance call names (drain_agents, by hostname, or
// by IP for a machine named by IP alone). m.mu must be held.
func (m *Master) authorizeMachines(ctx context.Context, call *api.OperatorCall) error {
	var ids []api.MachineID
	switch {
	case call.UpdateMaintenanceSchedule != nil:
		for _, w := range call.UpdateMaintenanceSchedule.Schedule.Windows {
			ids = append(ids, w.MachineIDs...)
		}
		// Machines leaving the schedule are affected too.
		for _, w := range m.maint.schedule.Windows {
			ids = append(ids, w.MachineIDs...)
		}
	case call.StartMaintenance != nil:
		ids = call.StartMaintenance.Machines
	case call.StopMaintenance != nil:
		ids = call.StopMaintenance.Machines
	}
	for _, id := range ids {
		object := id.Hostname
		if object == "" {
			object = id.IP
		}
		if err := m.authorize(ctx, acl.DrainAgents, object, false); err != nil {
			return err
		}
	}
	return nil
}
