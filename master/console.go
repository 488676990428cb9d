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

// Call answers one operator call as POST /api/v1 would, in-process: a
// change returns once the registry has committed it. SUBSCRIBE is
// refused: use Subscribe. Errors the API answers with a 4xx
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
	op := operatorCalls[call.Type]
	if op == nil {
		return nil, &CallError{Code: http.StatusNotImplemented, Message: "Operator call " + string(call.Type) + " is not implemented by this master yet"}
	}
	m.mu.Lock()
	err := op(m, call, resp, time.Now())
	var durable <-chan struct{}
	if err == nil && !isQuery(call.Type) {
		durable = m.durableMarker()
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
// on POST /api/v1 does. It is closed when ctx ends, when the master shuts
// down, or when the reader falls more than the stream's buffer behind (the
// reader then subscribes again for a fresh snapshot). The reader must keep
// reading until the channel is closed or ctx ends.
func (m *Master) Subscribe(ctx context.Context) (<-chan api.OperatorEvent, error) {
	s := m.addWatcher()
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

// PutModule validates and stores a module, as POST /api/v1/modules. A
// module that fails validation is a *CallError with status 400 whose
// message says what is wrong.
func (m *Master) PutModule(ctx context.Context, wasm []byte) (api.ModuleInfo, error) {
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
	if err := m.recordModule(ctx, mod); err != nil {
		return api.ModuleInfo{}, &CallError{Code: http.StatusServiceUnavailable, Message: "Module not stored durably: " + err.Error()}
	}
	return moduleInfo(mod), nil
}

// MaxModuleBytes is the largest module PutModule accepts, so that an
// uploader can refuse a larger one before reading it all.
func (m *Master) MaxModuleBytes() int64 { return m.cfg.MaxModuleBytes }

// Files calls an agent's files API (op is browse, read or download) through
// the master, as GET /agents/{agent}/files/{op} does. An unknown agent is a
// *CallError with status 404; an unreachable one, 502. The caller closes
// the response body; the status is the agent's.
func (m *Master) Files(ctx context.Context, agentID, op string, query url.Values) (*http.Response, error) {
	resp, err := m.agentFiles(ctx, agentID, op, query.Encode())
	return resp, callError(err)
}

func moduleInfo(mod modules.Module) api.ModuleInfo {
	return api.ModuleInfo{SHA256: mod.SHA256, Size: mod.Size, Created: mod.Created}
}
