package master

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

func maintenanceCall(typ api.OperatorCallType, machines ...api.MachineID) api.OperatorCall {
	c := api.OperatorCall{Type: typ}
	switch typ {
	case api.OperatorStartMaintenance:
		c.StartMaintenance = &api.StartMaintenance{Machines: machines}
	case api.OperatorStopMaintenance:
		c.StopMaintenance = &api.StopMaintenance{Machines: machines}
	}
	return c
}

func scheduleCall(windows ...api.MaintenanceWindow) api.OperatorCall {
	return api.OperatorCall{Type: api.OperatorUpdateMaintenanceSchedule,
		UpdateMaintenanceSchedule: &api.UpdateMaintenanceSchedule{Schedule: api.MaintenanceSchedule{Windows: windows}}}
}

// TestMaintenance schedules the agent's machine and another for
// maintenance on a master with a real registry, brings the agent's machine
// down, checks what Mesos refuses, fails the master over, and brings the
// machine up again: offers carry the window, a machine that is down keeps
// its agent deactivated, and the schedule and the down machines survive
// the failover.
func TestMaintenance(t *testing.T) {
	dir := t.TempDir()
	first := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := first.reg.Addr()
	ag := first.agent(t, "cpus:2;mem:1024")
	here, other := api.MachineID{Hostname: "127.0.0.1"}, api.MachineID{Hostname: "other"}
	start := time.Now().Add(time.Hour)
	window := api.MaintenanceWindow{MachineIDs: []api.MachineID{here, other},
		Unavailability: api.Unavailability{Start: api.TimeInfo{Nanoseconds: api.Int64(start.UnixNano())},
			Duration: &api.DurationInfo{Nanoseconds: api.Int64(time.Hour)}}}
	must := func(tm *testMaster, call api.OperatorCall) *api.OperatorResponse {
		t.Helper()
		code, resp, body := tm.operator(t, call)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", call.Type, code, body)
		}
		return resp
	}
	must(first.testMaster, scheduleCall(window))
	fw := first.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	if o := fw.offer(); o.Unavailability == nil || o.Unavailability.Start.Nanoseconds != api.Int64(start.UnixNano()) {
		t.Errorf("offer of a draining machine carries %+v, want the window's unavailability", o.Unavailability)
	}
	must(first.testMaster, maintenanceCall(api.OperatorStartMaintenance, here))
	refused := []struct {
		name string
		call api.OperatorCall
		want string
	}{
		{"window without machines", scheduleCall(api.MaintenanceWindow{}), "names no machine"},
		{"machine without a name", scheduleCall(api.MaintenanceWindow{MachineIDs: []api.MachineID{{}}}), "neither hostname nor IP"},
		{"machine in two windows", scheduleCall(window, api.MaintenanceWindow{MachineIDs: []api.MachineID{other}}), "more than one window"},
		{"negative duration", scheduleCall(api.MaintenanceWindow{MachineIDs: []api.MachineID{here},
			Unavailability: api.Unavailability{Duration: &api.DurationInfo{Nanoseconds: -1}}}), "negative duration"},
		{"down machine unscheduled", scheduleCall(api.MaintenanceWindow{MachineIDs: []api.MachineID{other}}), "is down and must stay scheduled"},
		{"start unscheduled machine", maintenanceCall(api.OperatorStartMaintenance, api.MachineID{Hostname: "elsewhere"}), "not in the maintenance schedule"},
		{"start a machine twice", maintenanceCall(api.OperatorStartMaintenance, here), "already down"},
		{"stop a machine that is up", maintenanceCall(api.OperatorStopMaintenance, other), "is not down"},
		{"start nothing", maintenanceCall(api.OperatorStartMaintenance), "to name machines"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, body := first.operator(t, tt.call); code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %q, want 400 saying %q", tt.call.Type, code, body, tt.want)
			}
		})
	}
	wantStatus := api.MaintenanceStatus{DrainingMachines: []api.DrainingMachine{{ID: other}}, DownMachines: []api.MachineID{here}}
	check := func(tm *testMaster, when string) {
		t.Helper()
		if got := must(tm, api.OperatorCall{Type: api.OperatorGetMaintenanceStatus}).GetMaintenanceStatus; got == nil || !reflect.DeepEqual(got.Status, wantStatus) {
			t.Errorf("maintenance status %s: %+v, want %+v", when, got, wantStatus)
		}
		if got := must(tm, api.OperatorCall{Type: api.OperatorGetMaintenanceSchedule}).GetMaintenanceSchedule; got == nil ||
			!reflect.DeepEqual(got.Schedule.Windows, []api.MaintenanceWindow{window}) {
			t.Errorf("maintenance schedule %s: %+v, want %+v", when, got, window)
		}
		tm.mu.Lock()
		a := tm.agents[ag.id]
		deactivated := a != nil && a.deactivated
		tm.mu.Unlock()
		if !deactivated {
			t.Errorf("agent on the machine that is down %s: %+v, want deactivated", when, a)
		}
	}
	check(first.testMaster, "before the failover")
	// Operator writes answer once queued: wait for the commit.
	waitRegistry(t, first.reg, "the machine down and its agent deactivated", func(s *registry.State) bool {
		return s.Maintenance != nil && len(s.Maintenance.Down) == 1 && s.Agents[ag.id].Deactivated
	})
	first.stop()

	second := startReplicatedMaster(t, dir, raftAddr)
	check(second.testMaster, "after the failover")
	again := second.agent(t, "cpus:2;mem:1024") // a new agent on the machine that is down
	second.mu.Lock()
	deactivated := second.agents[again.id].deactivated
	second.mu.Unlock()
	if !deactivated {
		t.Error("an agent registering on a machine that is down is active, want deactivated")
	}
	must(second.testMaster, maintenanceCall(api.OperatorStopMaintenance, here))
	status := must(second.testMaster, api.OperatorCall{Type: api.OperatorGetMaintenanceStatus}).GetMaintenanceStatus
	schedule := must(second.testMaster, api.OperatorCall{Type: api.OperatorGetMaintenanceSchedule}).GetMaintenanceSchedule
	second.mu.Lock()
	deactivated = second.agents[again.id].deactivated
	second.mu.Unlock()
	if status == nil || len(status.Status.DownMachines) != 0 || schedule == nil || len(schedule.Schedule.Windows) != 1 ||
		!reflect.DeepEqual(schedule.Schedule.Windows[0].MachineIDs, []api.MachineID{other}) || deactivated {
		t.Errorf("after STOP_MAINTENANCE: status %+v, schedule %+v, agent deactivated %v; want the machine up, unscheduled, its agent active",
			status, schedule, deactivated)
	}
}
