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

// shutdownExecutor kills every task of an executor on an agent; a command
// or Wasm task's executor is the task itself. m.mu must be held.
func (m *Master) shutdownExecutor(f *framework, s *api.Shutdown) {
	a := m.agents[s.AgentID.Value]
	if a == nil {
		return
	}
	for _, t := range f.tasks {
		if t.agent != a.id || t.state.IsTerminal() || t.executorID().Value != s.ExecutorID.Value {
			continue
		}
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
