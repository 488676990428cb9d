package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/master/modules"
)

// The methods in this file are the master's side of the web console's
// seam (webui.Cluster): the console reads and changes the cluster through
// them in-process, without importing this package; cmd/mezzo hands the
// *Master to webui.New.

// CallError is an operator call the master refused, with the HTTP status
// POST /api/v1 would have answered, so that an in-process caller can tell
// bad input (4xx) from a failure (5xx).
type CallError struct {
	Code    int
	Message string
}

// Error returns the master's sentence.
func (e *CallError) Error() string { return e.Message }

// StatusCode is the HTTP status the call would have answered.
func (e *CallError) StatusCode() int { return e.Code }

// Call answers one operator call as POST /api/v1 would, in-process, for
// the principal in ctx (auth.WithPrincipal; none is the unauthenticated
// principal ""): the ACLs decide the calls that change the cluster, a
// change returns once the registry has committed it, and queries leave
// out what its view ACLs do not grant, exactly as over HTTP. SUBSCRIBE is
// refused: use Subscribe. Errors the API answers with a 4xx
// or 5xx status are *CallError. It is safe for concurrent use.
func (m *Master) Call(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, error) {
	if m.stopped.Load() {
		return nil, callError(errStopped())
	}
	resp := &api.OperatorResponse{Type: call.Type}
	switch call.Type {
	case api.OperatorSubscribe:
		return nil, &CallError{Code: http.StatusBadRequest, Message: "SUBSCRIBE is a stream: use Subscribe"}
	case api.OperatorGetMetrics:
		metrics, err := m.metricsList()
		if err != nil {
			return nil, err
		}
		resp.GetMetrics = &api.GetMetricsResponse{Metrics: metrics}
		return resp, nil
	}
	if err := call.Validate(); err != nil {
		return nil, &CallError{Code: http.StatusBadRequest, Message: err.Error()}
	}
	op := operatorCalls[call.Type]
	if op == nil {
		return nil, &CallError{Code: http.StatusNotImplemented, Message: "Operator call " + string(call.Type) + " is not implemented by this master yet"}
	}
	if m.reg != nil && !m.leading.Load() && !answeredByStandbys[call.Type] {
		// As POST /api/v1 on a standby: views from the replica, and
		// every other call refused at once (over HTTP, redirected),
		// rather than run against a standby's empty memory.
		if !servedByStandbys[call.Type] {
			return nil, m.notLeader()
		}
		resp, _, err := m.replicaView(ctx, call)
		if err != nil {
			return nil, callError(err)
		}
		return resp, nil
	}
	m.mu.Lock()
	err := m.authorizeOperator(ctx, call)
	if err == nil {
		err = op(m, call, resp, time.Now())
	}
	var durable <-chan struct{}
	if err == nil && !isQuery(call.Type) {
		durable = m.durableMarker()
	}
	if err == nil {
		m.filterViews(ctx, resp)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, callError(err)
	}
	if durable != nil {
		if err := m.awaitCommit(ctx, durable); err != nil {
			return nil, &CallError{Code: http.StatusServiceUnavailable, Message: "Change not recorded: " + err.Error()}
		}
	}
	m.addMasters(resp)
	return resp, nil
}

// notLeader is the error of a call only the leader answers, made on a
// master that does not lead: 503 naming the leader, so that the caller
// (the console) can send the person there. Over HTTP the same call is
// redirected to the leader (redirect).
func (m *Master) notLeader() *CallError {
	leader := m.reg.Leader()
	switch leader {
	case "":
		return &CallError{Code: http.StatusServiceUnavailable, Message: "No leader elected"}
	case m.reg.Addr():
		return &CallError{Code: http.StatusServiceUnavailable, Message: "Master has not finished recovery"}
	}
	return &CallError{Code: http.StatusServiceUnavailable, Message: "This master is not the leader; the leader is " + leader}
}

// Standby reports whether this master does not lead, so that its views
// and its event stream come from its replica (possibly behind) and it
// refuses changes, and the leader's address when another master is known
// to lead. The console says so on every page, with a link to the leader
// (webui.Standby).
func (m *Master) Standby() (standby bool, leader string) {
	if m.reg == nil || m.leading.Load() {
		return false, ""
	}
	if l := m.reg.Leader(); l != m.reg.Addr() {
		leader = l
	}
	return true, leader
}

// callError turns a handler's echo error into a *CallError.
func callError(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return &CallError{Code: he.Code, Message: fmt.Sprint(he.Message)}
	}
	return err
}

// Subscribe opens an operator event stream in-process: the channel yields
// SUBSCRIBED with a snapshot of the state, then every change, as SUBSCRIBE
// on POST /api/v1 does, but unfiltered by the view ACLs: its one reader,
// the console, shows browsers only which kinds of objects changed and how
// many tasks run (counting for each viewer the tasks of the framework
// users its view_tasks grants), and reads what it shows through Call for
// each viewer. On a master that does not lead, the snapshot is its
// replica's, as GET_STATE answers there, and the events are those the
// leader published for each change, sent as the replica applies it
// (replicafeed.go): a standby's console is as live as the leader's, a
// replication delay behind. It is closed when ctx ends, when the master
// shuts down, when it takes or loses the lead, or when the reader falls
// more than the stream's buffer behind (the reader then subscribes again
// for a fresh snapshot). The reader must keep reading until the channel
// is closed or ctx ends. Once Run has returned it opens nothing and
// answers a *CallError with status 503.
func (m *Master) Subscribe(ctx context.Context) (<-chan api.OperatorEvent, error) {
	s, err := m.addWatcher(ctx, false)
	if err != nil {
		return nil, callError(err)
	}
	out := make(chan api.OperatorEvent)
	go func() {
		defer close(out)
		defer m.removeWatcher(s)
		var batch []record
		for {
			select {
			case <-s.wake:
			case <-s.done:
				return
			case <-ctx.Done():
				s.close()
				return
			}
			batch = s.take(batch)
			for _, rec := range batch {
				b, err := rec.bytes()
				if err != nil {
					m.log.Error("encode operator event", "err", err)
					continue
				}
				var ev api.OperatorEvent
				if err := json.Unmarshal(b, &ev); err != nil {
					m.log.Error("decode operator event", "err", err)
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					s.close()
					return
				}
			}
		}
	}()
	return out, nil
}

// Modules lists the module store, newest first, as GET /api/v1/modules.
func (m *Master) Modules(context.Context) ([]api.ModuleInfo, error) {
	var out []api.ModuleInfo
	for _, mod := range m.modules.List() {
		out = append(out, moduleInfo(mod))
	}
	return out, nil
}

// PutModule validates and stores a module for the principal in ctx, as
// POST /api/v1/modules does: upload_modules must allow it (else a
// *CallError with status 403), and the module's metadata goes through the
// replicated registry so that standbys copy it. A module that fails
// validation is a *CallError with status 400 whose message says what is
// wrong. A master that does not lead refuses it at once with status 503
// naming the leader, before storing anything: a module it kept would be
// listed by its console as uploaded though the registry never recorded
// it.
func (m *Master) PutModule(ctx context.Context, wasm []byte) (api.ModuleInfo, error) {
	if err := m.authorize(ctx, acl.UploadModules, "", false); err != nil {
		return api.ModuleInfo{}, callError(err)
	}
	if m.reg != nil && !m.leading.Load() {
		return api.ModuleInfo{}, m.notLeader()
	}
	if int64(len(wasm)) > m.cfg.MaxModuleBytes {
		return api.ModuleInfo{}, &CallError{Code: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Module exceeds %d bytes", m.cfg.MaxModuleBytes)}
	}
	mod, err := m.modules.Put(ctx, wasm)
	if err != nil {
		var invalid *modules.InvalidError
		if errors.As(err, &invalid) {
			return api.ModuleInfo{}, &CallError{Code: http.StatusBadRequest, Message: err.Error()}
		}
		return api.ModuleInfo{}, fmt.Errorf("store module: %w", err)
	}
	if err := m.recordModule(ctx, mod, wasm); err != nil {
		return api.ModuleInfo{}, &CallError{Code: http.StatusServiceUnavailable, Message: "Module not stored durably: " + err.Error()}
	}
	return moduleInfo(mod), nil
}

// DeleteModule deletes module sha from the cluster for the principal in
// ctx, as DELETE /api/v1/modules/{sha256} does: delete_modules must allow
// it (else a *CallError with status 403); a name that is no lowercase hex
// sha256 is a *CallError with status 400, a module the cluster does not
// hold 404, and a master that does not lead 503. Tasks already running
// the module, and agents' caches of it, are untouched; new launches of it
// are refused.
func (m *Master) DeleteModule(ctx context.Context, sha string) error {
	return callError(m.deleteModule(ctx, sha))
}

// MaxModuleBytes is the largest module PutModule accepts, so that an
// uploader can refuse a larger one before reading it all.
func (m *Master) MaxModuleBytes() int64 { return m.cfg.MaxModuleBytes }

// Files calls an agent's files API (op is browse, read or download) through
// the master for the principal in ctx, as GET /agents/{agent}/files/{op}
// does: view_sandboxes must grant the sandbox's framework user (else a
// *CallError with status 403). An unknown agent is a *CallError with
// status 404; an unreachable one, 502. The caller closes the response
// body; the status is the agent's. A standby finds the agent and the
// framework in its replica: sandboxes are read from the agents, which
// serve every master alike, so its console browses them as the leader's
// does (over HTTP the route still redirects to the leader).
func (m *Master) Files(ctx context.Context, agentID, op string, query url.Values) (*http.Response, error) {
	if err := m.authorizeSandbox(ctx, query.Get("path")); err != nil {
		return nil, callError(err)
	}
	resp, err := m.agentFiles(ctx, http.MethodGet, agentID, op, query.Encode(), nil)
	return resp, callError(err)
}

func moduleInfo(mod modules.Module) api.ModuleInfo {
	return api.ModuleInfo{SHA256: mod.SHA256, Size: mod.Size, Created: mod.Created}
}

// maxContainersAnswer bounds what the master reads of an agent's
// GET_CONTAINERS answer.
const maxContainersAnswer = 16 << 20

// Containers asks an agent for its containers and their usage
// (GET_CONTAINERS with nested containers: each executor, then each task it
// runs, with the CPU seconds and memory its executor last reported), for
// the principal in ctx: containers of frameworks whose tasks view_tasks
// does not let it see are left out. The console shows usage this way, so
// browsers never reach agents. An unknown agent is a *CallError with
// status 404; one that cannot be reached or answers badly, 502. A
// standby finds the agent and the frameworks in its replica, as Files.
func (m *Master) Containers(ctx context.Context, agentID string) ([]api.AgentContainer, error) {
	base, ok, err := m.agentEndpoint(agentID)
	if err != nil {
		return nil, callError(err)
	}
	if !ok {
		return nil, &CallError{Code: http.StatusNotFound, Message: "Agent cannot be found"}
	}
	body, err := json.Marshal(api.AgentOperatorCall{Type: api.OperatorGetContainers, GetContainers: &api.AgentGetContainersCall{ShowNested: true}})
	if err != nil {
		return nil, fmt.Errorf("encode GET_CONTAINERS: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("GET_CONTAINERS request to agent %s: %w", agentID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, &CallError{Code: http.StatusBadGateway, Message: "Agent is not reachable: " + err.Error()}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxContainersAnswer))
	if err != nil {
		return nil, &CallError{Code: http.StatusBadGateway, Message: "Agent's GET_CONTAINERS answer broke off: " + err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &CallError{Code: http.StatusBadGateway, Message: fmt.Sprintf("Agent answered GET_CONTAINERS with %d: %s", resp.StatusCode, bytes.TrimSpace(answer))}
	}
	var out api.AgentOperatorResponse
	if err := json.Unmarshal(answer, &out); err != nil || out.GetContainers == nil {
		return nil, &CallError{Code: http.StatusBadGateway, Message: fmt.Sprintf("Agent's GET_CONTAINERS answer is not one: %v", err)}
	}
	containers := out.GetContainers.Containers
	if m.cfg.ACLs != nil {
		v, err := m.view()
		if err != nil {
			return nil, callError(err)
		}
		principal := principalOf(ctx)
		v.mu.Lock()
		containers = slices.DeleteFunc(containers, func(c api.AgentContainer) bool {
			fid := ""
			if c.FrameworkID != nil {
				fid = c.FrameworkID.Value
			}
			return m.cfg.ACLs.Allow(acl.Request{Principal: principal, Action: acl.ViewTasks, Object: v.frameworkUser(fid)}) != nil
		})
		v.mu.Unlock()
	}
	return containers, nil
}
