package master

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

// principalOf returns the principal a request authenticated as (or an
// in-process caller such as the console acts for); "" when
// authentication is off.
func principalOf(ctx context.Context) string { return auth.PrincipalFrom(ctx) }

// openPaths answer without credentials: what a load balancer or a
// monitoring system probes, and nothing that reveals or changes state.
var openPaths = map[string]bool{"/health": true, "/version": true, "/master/health": true, "/master/version": true}

// authenticate refuses, with 401 and a challenge naming both schemes,
// every request without valid credentials when Config.Authenticator is
// set; it records the principal of those it lets through.
func (m *Master) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := m.cfg.Authenticator
		path := c.Path()
		if a == nil || openPaths[path] || (m.cfg.OpenMetrics && strings.HasSuffix(path, "/metrics")) {
			return next(c)
		}
		p, err := a.Authenticate(c.Request())
		if err != nil {
			m.metrics.authFailures.Inc()
			c.Response().Header().Set("WWW-Authenticate", auth.Challenge)
			return echo.NewHTTPError(http.StatusUnauthorized, fmt.Sprintf("Unauthorized: %v", err))
		}
		r := c.Request()
		c.SetRequest(r.WithContext(auth.WithPrincipal(r.Context(), p)))
		return next(c)
	}
}

// authorize asks the ACLs (nil: everything is allowed) and turns a
// refusal into a 403 whose message names the missing permission.
func (m *Master) authorize(ctx context.Context, action acl.Action, object string, native bool) error {
	if m.cfg.ACLs == nil {
		return nil
	}
	err := m.cfg.ACLs.Allow(acl.Request{Principal: principalOf(ctx), Action: action, Object: object, Native: native})
	if err != nil {
		m.metrics.authzDenials.Inc()
		return echo.NewHTTPError(http.StatusForbidden, err.Error())
	}
	return nil
}

// authorizeSubscribe checks a framework's SUBSCRIBE: with authentication
// on, FrameworkInfo.principal is the authenticated principal (filled in
// when empty, refused when different, as Mesos refuses it), and the ACLs
// must let it register with each of its roles.
func (m *Master) authorizeSubscribe(ctx context.Context, info *api.FrameworkInfo) error {
	if m.cfg.Authenticator != nil {
		p := principalOf(ctx)
		switch info.Principal {
		case "":
			info.Principal = p
		case p:
		default:
			return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
				"Framework principal %q does not match the authenticated principal %q", info.Principal, p))
		}
	}
	for _, role := range info.AllRoles() {
		if err := m.authorize(ctx, acl.RegisterFrameworks, role, false); err != nil {
			return err
		}
	}
	return nil
}

// authorizeSchedulerCall checks a call on a subscribed framework: only
// the principal it subscribed as may make it, and the tasks an ACCEPT
// launches must be allowed to run as their users (native ones
// explicitly). m.mu must be held.
func (m *Master) authorizeSchedulerCall(ctx context.Context, f *framework, call *api.Call) error {
	if m.cfg.Authenticator != nil && f.info.Principal != principalOf(ctx) {
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf(
			"Principal %q may not make calls for framework %s of principal %q", principalOf(ctx), f.id, f.info.Principal))
	}
	if call.Type != api.CallAccept || call.Accept == nil {
		return nil
	}
	for _, op := range call.Accept.Operations {
		tasks := op.Tasks()
		for i := range tasks {
			t := &tasks[i]
			if err := m.authorize(ctx, acl.RunTasks, api.RunAs(&f.info, t.Command), t.RunsNativeCode()); err != nil {
				return err
			}
			if e := t.Executor; e != nil && e.Command != nil {
				if err := m.authorize(ctx, acl.RunTasks, api.RunAs(&f.info, e.Command), true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// rootRefused says why a task may not run native code as root — its
// command, its custom executor or its COMMAND checks — or returns nil.
// Root needs a run_tasks rule that names it for the framework's principal
// (acl.AllowExplicit): no ANY rule, no permissive ACLs and no open mode
// grant it, since a task as root owns the agent. The agents never default
// to root (agent.Config.TaskUser), so a task that names no user is never
// refused here. The launch answers a refusal with TASK_ERROR (RATIONALE.md,
// "Why does root need a rule that names it?"). m.mu must be held.
func (m *Master) rootRefused(f *framework, ti *api.TaskInfo) error {
	var users []string
	if !ti.IsWasm() && ti.Command != nil || ti.RunsCommandChecks() {
		users = append(users, api.RunAs(&f.info, ti.Command))
	}
	if e := ti.Executor; e != nil && e.Command != nil {
		users = append(users, api.RunAs(&f.info, e.Command))
	}
	if !slices.Contains(users, "root") {
		return nil
	}
	principal := "" // unauthenticated, as principalOf says with authentication off
	if m.cfg.Authenticator != nil {
		principal = f.info.Principal // the authenticated one (authorizeSchedulerCall)
	}
	err := m.cfg.ACLs.AllowExplicit(acl.Request{Principal: principal, Action: acl.RunTasks, Object: "root", Native: true})
	if err != nil {
		m.metrics.authzDenials.Inc()
		return fmt.Errorf("Task may not run as root: %w", err)
	}
	return nil
}

// authorizeOperator checks an operator call that changes the cluster
// (queries are filtered afterwards by filterViews). kill_tasks, like
// teardown_frameworks, names the principals of the frameworks whose tasks
// a principal may kill through the operator API or the console; a
// framework killing its own tasks with the scheduler API's KILL needs no
// ACL, as in Mesos, since only its own principal may drive it. m.mu must
// be held.
func (m *Master) authorizeOperator(ctx context.Context, call *api.OperatorCall) error {
	hostname := func(id api.AgentID) string {
		if a := m.agents[id.Value]; a != nil {
			return a.info.Hostname
		}
		return id.Value
	}
	switch call.Type {
	case api.OperatorUpdateWeights:
		for _, w := range call.UpdateWeights.WeightInfos {
			if err := m.authorize(ctx, acl.UpdateWeights, w.Role, false); err != nil {
				return err
			}
		}
	case api.OperatorUpdateQuota:
		for _, q := range call.UpdateQuota.QuotaConfigs {
			if err := m.authorize(ctx, acl.UpdateQuota, q.Role, false); err != nil {
				return err
			}
		}
	case api.OperatorTeardown:
		return m.authorize(ctx, acl.TeardownFrameworks, m.frameworkPrincipal(call.Teardown.FrameworkID.Value), false)
	case api.OperatorKillTask:
		return m.authorize(ctx, acl.KillTasks, m.frameworkPrincipal(call.KillTask.FrameworkID.Value), false)
	case api.OperatorDrainAgent:
		return m.authorize(ctx, acl.DrainAgents, hostname(call.DrainAgent.AgentID), false)
	case api.OperatorDeactivateAgent:
		return m.authorize(ctx, acl.DrainAgents, hostname(call.DeactivateAgent.AgentID), false)
	case api.OperatorReactivateAgent:
		return m.authorize(ctx, acl.DrainAgents, hostname(call.ReactivateAgent.AgentID), false)
	case api.OperatorMarkAgentGone:
		return m.authorize(ctx, acl.DrainAgents, hostname(call.MarkAgentGone.AgentID), false)
	case api.OperatorUpdateMaintenanceSchedule, api.OperatorStartMaintenance, api.OperatorStopMaintenance:
		// Maintenance takes machines' agents out of service, as draining
		// does: the same permission, for each machine's hostname.
		return m.authorizeMachines(ctx, call)
	}
	return nil
}

// Authenticator returns the credentials the master requires (nil when
// open), so that what serves beside its API — the console — asks for the
// same.
func (m *Master) Authenticator() *auth.Authenticator { return m.cfg.Authenticator }

// ACLs returns the ACLs the master enforces (nil when none), for the
// console's decisions.
func (m *Master) ACLs() *acl.ACLs { return m.cfg.ACLs }

// filterViews removes from an operator query's answer what the principal
// may not see: frameworks by their user (view_frameworks), tasks and
// executors by their framework's user (view_tasks), agents and the
// machines of the maintenance schedule by hostname (view_agents), and the
// frameworks GET_ROLES lists under each role (view_frameworks). Without ACLs it does nothing. m.mu must be held.
func (m *Master) filterViews(ctx context.Context, r *api.OperatorResponse) {
	if m.cfg.ACLs == nil {
		return
	}
	sees := func(action acl.Action, object string) bool {
		return m.cfg.ACLs.Allow(acl.Request{Principal: principalOf(ctx), Action: action, Object: object}) == nil
	}
	userOf := m.frameworkUser
	frameworks := func(fr *api.GetFrameworksResponse) {
		if fr == nil {
			return
		}
		keep := func(rs []api.FrameworkRecord) []api.FrameworkRecord {
			return slices.DeleteFunc(rs, func(f api.FrameworkRecord) bool { return !sees(acl.ViewFrameworks, f.FrameworkInfo.User) })
		}
		fr.Frameworks, fr.CompletedFrameworks = keep(fr.Frameworks), keep(fr.CompletedFrameworks)
	}
	tasks := func(tr *api.GetTasksResponse) {
		if tr == nil {
			return
		}
		keep := func(ts []api.Task) []api.Task {
			return slices.DeleteFunc(ts, func(t api.Task) bool { return !sees(acl.ViewTasks, userOf(t.FrameworkID.Value)) })
		}
		tr.Tasks, tr.UnreachableTasks, tr.CompletedTasks = keep(tr.Tasks), keep(tr.UnreachableTasks), keep(tr.CompletedTasks)
	}
	agents := func(ar *api.GetAgentsResponse) {
		if ar == nil {
			return
		}
		ar.Agents = slices.DeleteFunc(ar.Agents, func(a api.AgentRecord) bool { return !sees(acl.ViewAgents, a.AgentInfo.Hostname) })
		ar.RecoveredAgents = slices.DeleteFunc(ar.RecoveredAgents, func(a api.AgentInfo) bool { return !sees(acl.ViewAgents, a.Hostname) })
	}
	executors := func(er *api.GetExecutorsResponse) {
		if er == nil {
			return
		}
		er.Executors = slices.DeleteFunc(er.Executors, func(e api.ExecutorRecord) bool {
			fid := ""
			if e.ExecutorInfo.FrameworkID != nil {
				fid = e.ExecutorInfo.FrameworkID.Value
			}
			return !sees(acl.ViewTasks, userOf(fid))
		})
	}
	frameworks(r.GetFrameworks)
	tasks(r.GetTasks)
	agents(r.GetAgents)
	executors(r.GetExecutors)
	if rr := r.GetRoles; rr != nil {
		for i := range rr.Roles {
			rr.Roles[i].Frameworks = slices.DeleteFunc(rr.Roles[i].Frameworks, func(id api.FrameworkID) bool {
				return !sees(acl.ViewFrameworks, userOf(id.Value))
			})
		}
	}
	if ms := r.GetMaintenanceSchedule; ms != nil {
		windows := ms.Schedule.Windows[:0]
		for _, w := range ms.Schedule.Windows {
			n := len(w.MachineIDs)
			w.MachineIDs = slices.DeleteFunc(w.MachineIDs, func(id api.MachineID) bool { return !sees(acl.ViewAgents, machineName(id)) })
			ms.HiddenMachines += n - len(w.MachineIDs)
			if len(w.MachineIDs) > 0 {
				windows = append(windows, w)
			}
		}
		ms.Schedule.Windows = windows
	}
	if st := r.GetMaintenanceStatus; st != nil {
		st.Status.DrainingMachines = slices.DeleteFunc(st.Status.DrainingMachines, func(d api.DrainingMachine) bool { return !sees(acl.ViewAgents, machineName(d.ID)) })
	}
	if s := r.GetState; s != nil {
		frameworks(s.GetFrameworks)
		tasks(s.GetTasks)
		agents(s.GetAgents)
		executors(s.GetExecutors)
	}
}

// authorizeSandbox checks view_sandboxes for a files request through the
// master: the first element of the path names the framework, whose user
// is the object. The path is read as the agent reads it ("" and "."
// elements dropped), and one with ".." is refused: "/a/../b" names
// framework a and reaches framework b's sandboxes. (Links in the
// sandboxes cannot do the same: the agent resolves them within the
// framework's directory, files.TopDirRoots.)
func (m *Master) authorizeSandbox(ctx context.Context, path string) error {
	if m.cfg.ACLs == nil {
		return nil
	}
	fid := ""
	for _, s := range strings.Split(path, "/") {
		switch {
		case s == ".." || strings.Contains(s, "\\"):
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("Sandbox path %q may not contain '..' or a backslash", path))
		case s != "" && s != "." && fid == "":
			fid = s
		}
	}
	v, err := m.view()
	if err != nil {
		return err
	}
	v.mu.Lock()
	user := v.frameworkUser(fid)
	v.mu.Unlock()
	return m.authorize(ctx, acl.ViewSandboxes, user, false)
}

// frameworkPrincipal is the principal a subscribed framework registered
// with, the object of teardown_frameworks and kill_tasks; "" for one the
// master does not know. m.mu must be held.
func (m *Master) frameworkPrincipal(fid string) string {
	if f := m.frameworks[fid]; f != nil {
		return f.info.Principal
	}
	return ""
}

// frameworkUser is the user of a framework, subscribed or completed, the
// object of the view ACLs; "" for one the master does not know. m.mu
// must be held.
func (m *Master) frameworkUser(fid string) string {
	if f := m.frameworks[fid]; f != nil {
		return f.info.User
	}
	for _, f := range m.completed {
		if f.id == fid {
			return f.info.User
		}
	}
	return ""
}
