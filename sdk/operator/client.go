package operator

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
)

// HTTPError is returned for a call the master refused, with its status and
// message; it is the same type as scheduler.HTTPError.
type HTTPError = httpapi.Error

// ErrInsecureRedirect is returned (wrapped) when a master reached over
// https, or a client made WithTLS, is redirected to plain http: the
// client does not follow, since its credentials would go with it
// unencrypted. It is the same error as scheduler.ErrInsecureRedirect.
var ErrInsecureRedirect = httpapi.ErrInsecureRedirect

// Client talks to one master.
type Client struct {
	base string
	http *http.Client
}

// Option configures a Client.
type Option func(*settings)

// settings are what the options set; New builds the client from them, so
// that options may come in any order.
type settings struct {
	principal, secret, token string
	tls                      *tls.Config
}

// WithCredential makes the client authenticate as principal with HTTP
// Basic, for masters that require credentials.
func WithCredential(principal, secret string) Option {
	return func(s *settings) { s.principal, s.secret = principal, secret }
}

// WithToken makes the client authenticate with a bearer token.
func WithToken(token string) Option {
	return func(s *settings) { s.token = token }
}

// WithTLS makes the client reach masters given as HOST:PORT over https,
// verifying their certificates with cfg (cfg.RootCAs, or the system pool
// when nil) and presenting cfg.Certificates when the master asks. A
// master given as an https:// URL is verified the same way; without
// this option it is verified against the system pool.
func WithTLS(cfg *tls.Config) Option {
	return func(s *settings) { s.tls = cfg }
}

// FromEnv returns the options the mezzo CLI's environment asks for:
// WithCredential from MEZZO_PRINCIPAL with MEZZO_SECRET_FILE or
// MEZZO_SECRET, and WithTLS from MEZZO_TLS_CA (with MEZZO_TLS_CERT and
// MEZZO_TLS_KEY for a client certificate), so that a program reaches a
// secured cluster as the CLI does (see scheduler.Config.FromEnv). getenv
// is os.Getenv but in tests. The error names the variable at fault.
func FromEnv(getenv func(string) string) ([]Option, error) {
	conn, err := httpapi.ConnectionFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("operator client: %w", err)
	}
	var opts []Option
	if conn.Principal != "" {
		opts = append(opts, WithCredential(conn.Principal, conn.Secret))
	}
	if conn.TLS != nil {
		opts = append(opts, WithTLS(conn.TLS))
	}
	return opts, nil
}

func (s *settings) transport() http.RoundTripper {
	var t http.RoundTripper = http.DefaultTransport
	if s.tls != nil {
		t = tlsconf.Transport(s.tls)
	}
	if s.principal != "" || s.token != "" {
		t = &auth.Transport{Base: t, Principal: s.principal, Secret: s.secret, Token: s.token, HTTPSOnly: s.tls != nil}
	}
	return t
}

// client returns an HTTP client with the settings' transport, timeout
// (0 for none) and redirect policy.
func (s *settings) client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: s.transport(), CheckRedirect: s.checkRedirect}
}

// checkRedirect is the clients' redirect policy. A standby master
// redirects to the leader, so redirects are followed, to any host; but
// auth.Transport adds the credentials to every request, the redirected
// ones included, so http.Client's dropping of Authorization on a
// redirect to another host does not apply, and the policy must keep them
// from plain http (httpapi.CheckRedirect) and stop a loop early.
func (s *settings) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= httpapi.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	return httpapi.CheckRedirect(via[len(via)-1].URL, req.URL, s.tls != nil)
}

func apply(opts []Option) *settings {
	s := &settings{}
	for _, o := range opts {
		o(s)
	}
	return s
}

// New returns a client of the master at HOST:PORT or a base URL. Its
// calls follow up to 5 redirects (a standby's to the leader), but never
// from https, or WithTLS, to plain http (ErrInsecureRedirect).
func New(master string, opts ...Option) *Client {
	s := apply(opts)
	return &Client{base: tlsconf.BaseURL(master, s.tls != nil), http: s.client(5 * time.Minute)}
}

// NewFirst returns a client of the first of masters that answers
// /health, or of the first of them if none does, so that a tool given
// every master's address works whichever are down. Any master will do: a
// standby redirects the client's calls to the leader.
func NewFirst(ctx context.Context, masters []string, opts ...Option) *Client {
	if len(masters) == 0 {
		return New("", opts...)
	}
	s := apply(opts)
	probe := s.client(2 * time.Second)
	for _, m := range masters {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tlsconf.BaseURL(m, s.tls != nil)+"/health", nil)
		if err != nil {
			continue
		}
		if resp, err := probe.Do(req); err == nil {
			resp.Body.Close()
			return New(m, opts...)
		}
	}
	return New(masters[0], opts...)
}

// Module describes a stored module, as POST /api/v1/modules answers.
type Module struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created,omitempty"`
}

// PushModule uploads a module. An invalid module is refused with an
// *HTTPError whose message says what is wrong.
func (c *Client) PushModule(ctx context.Context, wasm []byte) (Module, error) {
	var m Module
	err := c.do(ctx, http.MethodPost, "/api/v1/modules", "application/wasm", bytes.NewReader(wasm), &m)
	if err != nil {
		return Module{}, fmt.Errorf("push module: %w", err)
	}
	return m, nil
}

// Modules lists the stored modules, newest first.
func (c *Client) Modules(ctx context.Context) ([]Module, error) {
	var out struct {
		Modules []Module `json:"modules"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/modules", "", nil, &out); err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	return out.Modules, nil
}

// DeleteModule deletes the module named by its sha256 from the masters'
// store (a standby redirects the call to the leader), so that no new task
// can launch it; tasks already running it, and agents' caches of it, are
// untouched. A module the masters do not hold is refused with an
// *HTTPError of status 404, a malformed name with 400.
func (c *Client) DeleteModule(ctx context.Context, sha256 string) error {
	if err := c.do(ctx, http.MethodDelete, "/api/v1/modules/"+url.PathEscape(sha256), "", nil, nil); err != nil {
		return fmt.Errorf("delete module %s: %w", sha256, err)
	}
	return nil
}

// Call makes an operator call and decodes the answer.
func (c *Client) Call(ctx context.Context, call *api.OperatorCall) (*api.OperatorResponse, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	var resp api.OperatorResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1", "application/json", bytes.NewReader(body), &resp); err != nil {
		return nil, fmt.Errorf("%s: %w", call.Type, err)
	}
	return &resp, nil
}

// Tasks returns GET_TASKS.
func (c *Client) Tasks(ctx context.Context) (*api.GetTasksResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetTasks})
	if err != nil {
		return nil, err
	}
	if resp.GetTasks == nil {
		return &api.GetTasksResponse{}, nil
	}
	return resp.GetTasks, nil
}

// FileChunk is a window of a sandbox file, as /files/read answers.
type FileChunk struct {
	Offset int64  `json:"offset"`
	Data   string `json:"data"`
}

// ReadFile reads up to length bytes of a sandbox file at offset, through
// the master's proxy of the agent's files API. An offset of -1 returns the
// file's size in Offset and no data.
func (c *Client) ReadFile(ctx context.Context, agentID, path string, offset, length int64) (FileChunk, error) {
	q := url.Values{}
	q.Set("path", path)
	q.Set("offset", strconv.FormatInt(offset, 10))
	q.Set("length", strconv.FormatInt(length, 10))
	var chunk FileChunk
	err := c.do(ctx, http.MethodGet, "/agents/"+url.PathEscape(agentID)+"/files/read?"+q.Encode(), "", nil, &chunk)
	if err != nil {
		return FileChunk{}, fmt.Errorf("read %s: %w", path, err)
	}
	return chunk, nil
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return httpapi.ReadError(resp)
	}
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	// Calls that change the cluster answer an empty 200.
	if out == nil || len(bytes.TrimSpace(answer)) == 0 {
		return nil
	}
	return json.Unmarshal(answer, out)
}

// State returns GET_STATE: agents, frameworks, tasks and executors.
func (c *Client) State(ctx context.Context) (*api.GetStateResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetState})
	if err != nil {
		return nil, err
	}
	if resp.GetState == nil {
		return &api.GetStateResponse{}, nil
	}
	return resp.GetState, nil
}

// Agents returns GET_AGENTS.
func (c *Client) Agents(ctx context.Context) (*api.GetAgentsResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetAgents})
	if err != nil {
		return nil, err
	}
	if resp.GetAgents == nil {
		return &api.GetAgentsResponse{}, nil
	}
	return resp.GetAgents, nil
}

// Frameworks returns GET_FRAMEWORKS, including each framework's
// diagnostics (why its demand is not being met).
func (c *Client) Frameworks(ctx context.Context) (*api.GetFrameworksResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetFrameworks})
	if err != nil {
		return nil, err
	}
	if resp.GetFrameworks == nil {
		return &api.GetFrameworksResponse{}, nil
	}
	return resp.GetFrameworks, nil
}

// Executors returns GET_EXECUTORS: the executors frameworks named
// (custom executors and task groups' default executors) that the master
// counts as running, idle ones included, which hold their resources until
// they exit.
func (c *Client) Executors(ctx context.Context) (*api.GetExecutorsResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetExecutors})
	if err != nil {
		return nil, err
	}
	if resp.GetExecutors == nil {
		return &api.GetExecutorsResponse{}, nil
	}
	return resp.GetExecutors, nil
}

// Roles returns GET_ROLES.
func (c *Client) Roles(ctx context.Context) (*api.GetRolesResponse, error) {
	resp, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorGetRoles})
	if err != nil {
		return nil, err
	}
	if resp.GetRoles == nil {
		return &api.GetRolesResponse{}, nil
	}
	return resp.GetRoles, nil
}

// Drain deactivates an agent and kills its tasks, each within maxGrace
// (0 means the tasks' own kill policies).
func (c *Client) Drain(ctx context.Context, agentID string, maxGrace time.Duration, markGone bool) error {
	d := &api.DrainAgent{AgentID: api.AgentID{Value: agentID}, MarkGone: markGone}
	if maxGrace > 0 {
		d.MaxGracePeriod = &api.ProtoDuration{Seconds: api.Int64(maxGrace / time.Second), Nanos: api.Int64(maxGrace % time.Second)}
	}
	_, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorDrainAgent, DrainAgent: d})
	return err
}

// SetQuota sets a role's quota limits (and guarantees), as UPDATE_QUOTA.
func (c *Client) SetQuota(ctx context.Context, q api.QuotaConfig, force bool) error {
	_, err := c.Call(ctx, &api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
		Force: force, QuotaConfigs: []api.QuotaConfig{q},
	}})
	return err
}

// SetWeights sets roles' weights, as UPDATE_WEIGHTS.
func (c *Client) SetWeights(ctx context.Context, weights map[string]float64) error {
	call := &api.OperatorCall{Type: api.OperatorUpdateWeights, UpdateWeights: &api.UpdateWeights{}}
	for role, w := range weights {
		call.UpdateWeights.WeightInfos = append(call.UpdateWeights.WeightInfos, api.WeightInfo{Role: role, Weight: api.Float64(w)})
	}
	_, err := c.Call(ctx, call)
	return err
}

// ErrMissedHeartbeats is returned (wrapped) by Watch when no event,
// heartbeats included, arrived for 5 of the master's heartbeat
// intervals: the master or the network path to it died without closing
// the connection. It is the same error as scheduler.ErrMissedHeartbeats.
var ErrMissedHeartbeats = httpapi.ErrMissedHeartbeats

// Watch subscribes to the operator event stream and calls fn for each
// event, SUBSCRIBED first, until ctx ends (nil), the stream breaks or fn
// returns an error. An event may be up to 1 GiB, for the snapshot in
// SUBSCRIBED of a large cluster. A stream that stays silent for 5 of the heartbeat
// intervals SUBSCRIBED names (15 s until it arrives; the interval taken
// as between 1 s and 1 h) ends Watch with an error wrapping
// ErrMissedHeartbeats; bytes of an event still arriving count as life,
// and the time fn takes does not count.
func (c *Client) Watch(ctx context.Context, fn func(*api.OperatorEvent) error) error {
	body, err := json.Marshal(api.OperatorCall{Type: api.OperatorSubscribe})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := httpapi.NewWatchdog(watchTimeout(httpapi.DefaultHeartbeat), func() { cancel(ErrMissedHeartbeats) })
	defer wd.Stop()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, c.base+"/api/v1", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// The stream has no timeout; redirects are the calls'.
	resp, err := (&http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect}).Do(req)
	if err != nil {
		return watchEnd(ctx, sctx, fmt.Errorf("subscribe: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httpapi.ReadError(resp)
	}
	rr := api.NewRecordReaderLimit(wd.Reader(resp.Body), maxEventSize)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return watchEnd(ctx, sctx, fmt.Errorf("read events: %w", err))
		}
		var ev api.OperatorEvent
		if err := json.Unmarshal(rec, &ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if s := ev.Subscribed; ev.Type == api.OperatorEventSubscribed && s != nil && s.HeartbeatIntervalSeconds != nil {
			if interval, ok := httpapi.HeartbeatInterval(float64(*s.HeartbeatIntervalSeconds)); ok {
				wd.SetTimeout(watchTimeout(interval))
			}
		}
		wd.Pause()
		if err := fn(&ev); err != nil {
			return err
		}
		wd.Resume()
	}
}

// maxEventSize bounds one event of the operator stream. Why not
// api.MaxRecordSize: SUBSCRIBED carries the whole GET_STATE snapshot in
// one record, over 16 MiB from about 60,000 tasks, and Watch could not
// subscribe to such a cluster at all. What bounds memory is the bytes
// that arrive, not this limit: the reader's buffer grows with them (see
// api.NewRecordReaderLimit); the events decoded from a snapshot this
// large take a few times its size.
const maxEventSize = 1 << 30

// watchTimeout is how long Watch's stream may stay silent.
func watchTimeout(interval time.Duration) time.Duration {
	return httpapi.SilenceTimeout(httpapi.DefaultMissedHeartbeats, interval)
}

// watchEnd is what Watch returns for err, which ended its stream: nil
// once ctx ended, the watchdog's reason if it cut the stream (sctx's
// cause), else err.
func watchEnd(ctx, sctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if cause := context.Cause(sctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}
