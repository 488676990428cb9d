package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/master/modules"
)

// errNotImplemented marks calls this master does not carry out yet; they
// answer 501 as Mesos answers calls it does not know.
var errNotImplemented = errors.New("call not implemented")

// Handler returns the master's HTTP API. Every route is also reachable
// under /master, as in Mesos. Once Run has returned, the scheduler, agent
// and operator APIs and the module changes answer 503 (errStopped).
func (m *Master) Handler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = httpError
	e.Use(m.countCalls)
	e.Use(m.authenticate)
	e.Use(m.limitClients)
	for _, prefix := range []string{"", "/master"} {
		g := e.Group(prefix)
		g.POST("/api/v1/scheduler", m.handleScheduler, m.running, m.leaderOnly)
		g.POST("/api/v1/agent", m.handleAgent, m.running, m.leaderOnly)
		g.POST("/api/v1", m.handleOperator, m.running, m.standbyReads)
		g.POST("/api/v1/modules", m.handleModulePut, m.running, m.leaderOnly)
		g.GET("/api/v1/modules", m.handleModuleList)
		g.GET("/api/v1/modules/:sha256", m.handleModuleGet)
		g.HEAD("/api/v1/modules/:sha256", m.handleModuleGet)
		g.DELETE("/api/v1/modules/:sha256", m.handleModuleDelete, m.running, m.leaderOnly)
		g.GET("/version", m.handleVersion)
		g.GET("/health", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
		g.GET("/agents/:agent/files/:op", m.handleFiles, m.leaderOnly)
		g.HEAD("/agents/:agent/files/:op", m.handleFiles, m.leaderOnly)
		g.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(m.metrics.registry, promhttp.HandlerOpts{})))
	}
	return e
}

// httpError answers errors as plain text sentences, as Mesos does.
func httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	msg := err.Error()
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg = fmt.Sprint(he.Message)
	}
	if code == http.StatusInternalServerError {
		slog.Error("http handler", "path", c.Path(), "err", err)
	}
	_ = c.String(code, msg+"\n")
}

// readCall checks the content type and reads a JSON call body within the
// size limit, answering the errors Mesos answers.
func (m *Master) readCall(c echo.Context) ([]byte, error) {
	r := c.Request()
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType,
			fmt.Sprintf("Expecting 'Content-Type' of application/json; got %q (protobuf is not supported)", ct))
	}
	if !acceptsJSON(r.Header.Values("Accept")) {
		return nil, echo.NewHTTPError(http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, m.cfg.MaxCallBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Request body exceeds %d bytes", m.cfg.MaxCallBytes))
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Failed to read request body: "+err.Error())
	}
	return body, nil
}

// acceptsJSON reports whether the Accept headers (possibly repeated, or
// absent) allow a JSON answer.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if mt == "application/json" || mt == "*/*" || mt == "application/*" {
				return true
			}
		}
	}
	return false
}

// callTypeKey is where handlers leave the decoded call's type for
// countCalls.
const callTypeKey = "mezzo.call_type"

// countCalls counts API calls by API, call type and status.
func (m *Master) countCalls(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		apiName := ""
		switch strings.TrimPrefix(c.Path(), "/master") {
		case "/api/v1/scheduler":
			apiName = "scheduler"
		case "/api/v1/agent":
			apiName = "agent"
		case "/api/v1":
			apiName = "operator"
		default:
			return err
		}
		code := c.Response().Status
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		}
		callType, _ := c.Get(callTypeKey).(string)
		m.metrics.calls.WithLabelValues(apiName, callType, strconv.Itoa(code)).Inc()
		return err
	}
}

func (m *Master) handleScheduler(c echo.Context) error {
	body, err := m.readCall(c)
	if err != nil {
		return err
	}
	call, err := api.DecodeCall(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	c.Set(callTypeKey, string(call.Type))
	streamID := c.Request().Header.Get("Mesos-Stream-Id")
	if call.Type == api.CallSubscribe {
		if streamID != "" {
			return echo.NewHTTPError(http.StatusBadRequest, "Expecting no 'Mesos-Stream-Id' header in a SUBSCRIBE call")
		}
		if err := m.authorizeSubscribe(c.Request().Context(), &call.Subscribe.FrameworkInfo); err != nil {
			return err
		}
		return m.subscribe(c.Response(), c.Request(), call)
	}
	if streamID == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header")
	}
	m.ensureModules(c.Request().Context(), call)
	durable, err := m.schedulerCall(c, call, streamID)
	if err != nil || durable == nil {
		return err
	}
	// An ACCEPT that launched tasks answers once the registry holds them,
	// so that 202 means the launch survives a failover.
	if err := m.awaitCommit(c.Request().Context(), durable); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Launch not recorded: "+err.Error())
	}
	return c.NoContent(http.StatusAccepted)
}

// schedulerCall carries out a scheduler call other than SUBSCRIBE. It
// answers the call itself, unless the call launched tasks: then it returns
// a channel closed once they are committed, and the caller answers.
func (m *Master) schedulerCall(c echo.Context, call *api.Call, streamID string) (<-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[call.FrameworkID.Value]
	switch {
	case f == nil:
		return nil, echo.NewHTTPError(http.StatusBadRequest, "Framework cannot be found")
	case !f.connected():
		return nil, echo.NewHTTPError(http.StatusForbidden, "Framework is not subscribed")
	case f.stream.id != streamID:
		return nil, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(
			"The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s",
			streamID, f.id))
	}
	if err := m.checkAcceptSize(call); err != nil {
		return nil, err
	}
	if err := m.authorizeSchedulerCall(c.Request().Context(), f, call); err != nil {
		return nil, err
	}
	if call.Type == api.CallUpdateFramework {
		if err := m.updateFramework(f, call.UpdateFramework, time.Now()); err != nil {
			return nil, err
		}
		return nil, c.NoContent(http.StatusOK)
	}
	durable, err := m.dispatch(f, call, time.Now())
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotImplemented, err.Error())
	}
	if durable != nil {
		return durable, nil
	}
	return nil, c.NoContent(http.StatusAccepted)
}

func (m *Master) handleAgent(c echo.Context) error {
	body, err := m.readCall(c)
	if err != nil {
		return err
	}
	call, err := api.DecodeAgentCall(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	c.Set(callTypeKey, string(call.Type))
	if call.Type == api.AgentCallSubscribe {
		if err := api.ValidateResources(call.Subscribe.AgentInfo.Resources); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "Invalid agent resources: "+err.Error())
		}
		if err := m.authorize(c.Request().Context(), acl.RegisterAgents, call.Subscribe.AgentInfo.Hostname, false); err != nil {
			return err
		}
		return m.agentSubscribe(c.Response(), c.Request(), call)
	}
	streamID := c.Request().Header.Get("Mesos-Stream-Id")
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[call.AgentID.Value]
	switch {
	case a == nil:
		return echo.NewHTTPError(http.StatusBadRequest, "Agent cannot be found")
	case !a.connected():
		return echo.NewHTTPError(http.StatusForbidden, "Agent is not subscribed")
	case a.stream.id != streamID:
		return echo.NewHTTPError(http.StatusBadRequest, "The 'Mesos-Stream-Id' does not match the agent's stream")
	}
	switch call.Type {
	case api.AgentCallUpdate:
		for i := range call.Updates {
			m.agentUpdate(a, &call.Updates[i])
		}
	case api.AgentCallMessage:
		if f := m.frameworks[call.Message.FrameworkID.Value]; f != nil {
			f.send(api.Event{Type: api.EventMessage, Message: &api.FrameworkMessage{
				AgentID: api.AgentID{Value: a.id}, ExecutorID: call.Message.ExecutorID, Data: call.Message.Data,
			}})
		}
	case api.AgentCallExecutorExited:
		m.executorExited(a, call.ExecutorExited, time.Now())
	}
	return c.NoContent(http.StatusAccepted)
}

func (m *Master) handleModulePut(c echo.Context) error {
	if err := m.authorize(c.Request().Context(), acl.UploadModules, "", false); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, m.cfg.MaxModuleBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Module exceeds %d bytes", m.cfg.MaxModuleBytes))
		}
		return echo.NewHTTPError(http.StatusBadRequest, "Failed to read module: "+err.Error())
	}
	mod, err := m.modules.Put(c.Request().Context(), body)
	if err != nil {
		var invalid *modules.InvalidError
		if errors.As(err, &invalid) {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return err
	}
	if err := m.recordModule(c.Request().Context(), mod, body); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Module not stored durably: "+err.Error())
	}
	return c.JSON(http.StatusOK, mod)
}

func (m *Master) handleModuleGet(c echo.Context) error {
	sha := c.Param("sha256")
	if !modules.ValidHash(sha) {
		return echo.NewHTTPError(http.StatusBadRequest, "Module names are lowercase hex sha256 digests")
	}
	if m.leading.Load() {
		// A new leader may not have copied it yet: agents fetch from it.
		m.ensureModule(c.Request().Context(), sha)
	}
	f, err := m.modules.Open(sha)
	if errors.Is(err, modules.ErrNotFound) && !m.leading.Load() {
		return m.redirect(c) // a standby that has not copied it yet
	}
	if errors.Is(err, modules.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("Module %s not found", sha))
	}
	if err != nil {
		return err
	}
	defer f.Close()
	c.Response().Header().Set("Content-Type", "application/wasm")
	http.ServeContent(c.Response(), c.Request(), sha+".wasm", time.Time{}, f)
	return nil
}

// handleModuleDelete deletes a module from the cluster, answering 204
// (moduledelete.go).
func (m *Master) handleModuleDelete(c echo.Context) error {
	if err := m.deleteModule(c.Request().Context(), c.Param("sha256")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (m *Master) handleVersion(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"version": Version, "build_user": "mezzo"})
}

// filesRequestHeaders are the headers of a files request the master
// passes on to the agent, and filesResponseHeaders those of the agent's
// answer it passes back: with them a client resumes a large download (a
// rotated log, say) with Range, made safe by If-Range, and revalidates a
// copy with the conditional headers, through the master as from the
// agent itself.
var (
	filesRequestHeaders = []string{"Range", "If-Range", "If-Match", "If-None-Match",
		"If-Modified-Since", "If-Unmodified-Since"}
	filesResponseHeaders = []string{"Content-Type", "Content-Length", "Content-Disposition", "Content-Range",
		"Accept-Ranges", "Last-Modified", "ETag", api.ListingTruncatedHeader}
)

// handleFiles proxies the files API of an agent, so browsers and the CLI
// never need to reach agents directly. It answers GET and HEAD as the
// agent does, partial content (206) included.
func (m *Master) handleFiles(c echo.Context) error {
	req := c.Request()
	if err := m.authorizeSandbox(req.Context(), c.QueryParam("path")); err != nil {
		return err
	}
	header := http.Header{}
	for _, h := range filesRequestHeaders {
		if vs := req.Header.Values(h); len(vs) > 0 {
			header[h] = vs
		}
	}
	resp, err := m.agentFiles(req.Context(), req.Method, c.Param("agent"), c.Param("op"), req.URL.RawQuery, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	for _, h := range filesResponseHeaders {
		if v := resp.Header.Get(h); v != "" {
			c.Response().Header().Set(h, v)
		}
	}
	c.Response().WriteHeader(resp.StatusCode)
	if req.Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(c.Response(), resp.Body)
	return err
}

// agentFiles calls an agent's files API operation op with the raw query,
// by method (GET or HEAD) and with header added to the request. Errors
// are echo errors with the status to answer.
func (m *Master) agentFiles(ctx context.Context, method, agentID, op, rawQuery string, header http.Header) (*http.Response, error) {
	if op != "browse" && op != "read" && op != "download" {
		return nil, echo.NewHTTPError(http.StatusNotFound, "Unknown files operation "+op)
	}
	base, ok, err := m.agentEndpoint(agentID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, echo.NewHTTPError(http.StatusNotFound, "Agent cannot be found")
	}
	req, err := http.NewRequestWithContext(ctx, method, base+"/files/"+op+"?"+rawQuery, nil)
	if err != nil {
		return nil, fmt.Errorf("files request to agent %s: %w", agentID, err)
	}
	for h, vs := range header {
		req.Header[h] = vs
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadGateway, "Agent is not reachable: "+err.Error())
	}
	return resp, nil
}

// writeJSON answers v with status 200.
func writeJSON(c echo.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/json", b)
}

// agentEndpoint returns the base URL at which the master reaches an
// agent's own HTTP API (files, containers), and false for an unknown
// agent. A standby finds the agent in its replica (view), so that its
// console browses sandboxes as the leader's does. It takes the view's mu.
// Errors are echo errors.
func (m *Master) agentEndpoint(agentID string) (string, bool, error) {
	v, err := m.view()
	if err != nil {
		return "", false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	a := v.agents[agentID]
	if a == nil {
		return "", false, nil
	}
	return a.endpoint(m.cfg.scheme()), true, nil
}
