package master

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
)

// updateFramework carries out UPDATE_FRAMEWORK, all or nothing: the user,
// principal and checkpoint may not change; offers for roles the framework
// leaves are rescinded. It answers 200 as Mesos does. m.mu must be held.
func (m *Master) updateFramework(f *framework, u *api.UpdateFramework, now time.Time) error {
	info := u.FrameworkInfo
	if info.ID != nil && info.ID.Value != f.id {
		return echo.NewHTTPError(http.StatusBadRequest, "'framework_info.id' does not match 'framework_id'")
	}
	switch {
	case info.User != f.info.User:
		return echo.NewHTTPError(http.StatusBadRequest, "Updating 'FrameworkInfo.user' is unsupported")
	case info.Principal != f.info.Principal:
		return echo.NewHTTPError(http.StatusBadRequest, "Changing framework's principal is not allowed")
	case info.Checkpoint != f.info.Checkpoint:
		return echo.NewHTTPError(http.StatusBadRequest, "Updating 'FrameworkInfo.checkpoint' is unsupported")
	}
	info.ID = &api.FrameworkID{Value: f.id}
	roles := info.AllRoles()
	for _, o := range f.offers {
		if !slices.Contains(roles, o.role) {
			m.rescindOffer(o, now)
		}
	}
	f.info = info
	m.alloc.UpdateFramework(f.id, frameworkOptions(info, u.SuppressedRoles))
	m.frameworkChanged(f, false)
	m.needFullPass()
	return nil
}

// shutdownExecutor carries out SHUTDOWN as Mesos's master does: it tells
// the agent to shut the executor down (SHUTDOWN_EXECUTOR), whether or not
// the master knows of tasks on it, since a custom executor whose tasks
// have all ended still runs until told. The executor's shutdown ends its
// tasks, so none is killed one by one, except a task that names no
// executor and whose ID the call names: its executor is the task itself
// (Mesos's command executor takes its task's ID), which the agent knows
// by no such ID. The event carries f's ID, never one the caller gives, so
// a framework shuts down only its own executors. m.mu must be held.
func (m *Master) shutdownExecutor(f *framework, s *api.Shutdown) {
	a := m.agents[s.AgentID.Value]
	if a == nil || !a.connected() {
		m.log.Info("dropping SHUTDOWN for an agent not connected", "framework", f.id, "agent", s.AgentID.Value,
			"executor", s.ExecutorID.Value)
		return
	}
	a.stream.send(api.AgentEvent{Type: api.AgentEventShutdownExecutor, ShutdownExecutor: &api.AgentShutdownExecutor{
		FrameworkID: api.FrameworkID{Value: f.id}, ExecutorID: s.ExecutorID,
	}})
	if t := f.tasks[s.ExecutorID.Value]; t != nil && t.agent == a.id && t.info.Executor == nil && !t.state.IsTerminal() {
		a.stream.send(api.AgentEvent{Type: api.AgentEventKill, Kill: &api.AgentKill{
			FrameworkID: api.FrameworkID{Value: f.id}, TaskID: t.info.TaskID, KillPolicy: t.info.KillPolicy,
		}})
	}
}

// frameworkMessage relays a framework's message towards its executor,
// best effort as in Mesos. m.mu must be held.
func (m *Master) frameworkMessage(f *framework, msg *api.FrameworkMessage) {
	a := m.agents[msg.AgentID.Value]
	if a == nil {
		m.log.Debug("dropping a framework message for an unknown agent", "framework", f.id, "agent", msg.AgentID.Value)
		return
	}
	a.stream.send(api.AgentEvent{Type: api.AgentEventMessage, Message: &api.AgentMessage{
		FrameworkID: api.FrameworkID{Value: f.id}, ExecutorID: msg.ExecutorID, Data: msg.Data,
	}})
}

// reconcileOperations answers RECONCILE_OPERATIONS. This master keeps no
// offer operations (it answers RESERVE and the like with
// OPERATION_UNSUPPORTED), so every named operation is unknown. m.mu must
// be held.
func (m *Master) reconcileOperations(f *framework, r *api.ReconcileOperations, now time.Time) {
	for _, op := range r.Operations {
		id := op.OperationID
		f.send(api.Event{Type: api.EventUpdateOperationStatus, UpdateOperationStatus: &api.UpdateOperationStatus{
			Status: api.OperationStatus{OperationID: &id, State: "OPERATION_UNKNOWN", AgentID: op.AgentID,
				Message: fmt.Sprintf("Reconciliation: operation %s is unknown", id.Value)},
		}})
	}
}
