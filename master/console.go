package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/master/modules"
	"github.com/mezzo-cluster/mezzo/master/registry"
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
// principal ""): the ACLs decide the calls that change the cluster, and
// queries leave out what its view ACLs do not grant, exactly as over HTTP.
// SUBSCRIBE is refused: use Subscribe. Errors the API answers with a 4xx
// or 5xx status are *CallError. It is safe for concurrent use.
func (m *Master) Call(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, error) {
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
	m.mu.Lock()
	err := m.authorizeOperator(ctx, call)
	if err == nil {
		err = op(m, call, resp, time.Now())
	}
	if err == nil {
		m.filterViews(ctx, resp)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, callError(err)
	}
	return resp, nil
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
// many tasks run, and reads what it shows through Call for each viewer. It is closed when ctx ends, when the master shuts
// down, or when the reader falls more than the stream's buffer behind (the
// reader then subscribes again for a fresh snapshot). The reader must keep
// reading until the channel is closed or ctx ends.
func (m *Master) Subscribe(ctx context.Context) (<-chan api.OperatorEvent, error) {
	s := m.addWatcher(ctx, false)
	out := make(chan api.OperatorEvent)
	go func() {
		defer close(out)
		defer m.removeWatcher(s)
		var batch [][]byte
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
				var ev api.OperatorEvent
				if err := json.Unmarshal(rec, &ev); err != nil {
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
// wrong.
func (m *Master) PutModule(ctx context.Context, wasm []byte) (api.ModuleInfo, error) {
	if err := m.authorize(ctx, acl.UploadModules, "", false); err != nil {
		return api.ModuleInfo{}, callError(err)
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
	if err := m.persistNow(ctx, registry.PutModule(mod.SHA256, mod)); err != nil {
		return api.ModuleInfo{}, &CallError{Code: http.StatusServiceUnavailable, Message: "Could not record the module in the registry: " + err.Error()}
	}
	return moduleInfo(mod), nil
}

// MaxModuleBytes is the largest module PutModule accepts, so that an
// uploader can refuse a larger one before reading it all.
func (m *Master) MaxModuleBytes() int64 { return m.cfg.MaxModuleBytes }

// Files calls an agent's files API (op is browse, read or download) through
// the master for the principal in ctx, as GET /agents/{agent}/files/{op}
// does: view_sandboxes must grant the sandbox's framework user (else a
// *CallError with status 403). An unknown agent is a *CallError with
// status 404; an unreachable one, 502. The caller closes the response
// body; the status is the agent's.
func (m *Master) Files(ctx context.Context, agentID, op string, query url.Values) (*http.Response, error) {
	if err := m.authorizeSandbox(ctx, query.Get("path")); err != nil {
		return nil, callError(err)
	}
	resp, err := m.agentFiles(ctx, agentID, op, query.Encode())
	return resp, callError(err)
}

func moduleInfo(mod modules.Module) api.ModuleInfo {
	return api.ModuleInfo{SHA256: mod.SHA256, Size: mod.Size, Created: mod.Created}
}
