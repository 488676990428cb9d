package operator_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
)

// The tests run the client against a real master and agent on loopback,
// in this process: the client is what the mezzo CLI and the samples use,
// so its answers must be the master's, not a stand-in's.

const waitTime = 10 * time.Second

// emptyModule is the smallest valid WebAssembly module: the magic number
// and version, no sections.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

// cluster is a master and one agent serving on loopback ports.
type cluster struct {
	addr     string // the master's HOST:PORT
	agentDir string // the agent's work directory
}

// startCluster starts a master (tweaked by tweak) and an agent that
// subscribes to it, and waits until the master lists the agent.
func startCluster(t *testing.T, tweak func(*master.Config)) *cluster {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ln := listen(t)
	addr := ln.Addr().String()
	mcfg := master.DefaultConfig()
	mcfg.WorkDir = filepath.Join(dir, "master")
	mcfg.Port = ln.Addr().(*net.TCPAddr).Port
	mcfg.AllocationBatch = time.Millisecond
	if tweak != nil {
		tweak(&mcfg)
	}
	m, err := master.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	msrv := &http.Server{Handler: m.Handler()}
	go msrv.Serve(ln)

	aln := listen(t)
	acfg := agent.DefaultConfig()
	acfg.Masters = []string{addr}
	acfg.WorkDir = filepath.Join(dir, "agent")
	acfg.Hostname = "127.0.0.1"
	acfg.Port = aln.Addr().(*net.TCPAddr).Port
	acfg.RegistrationBackoff = 10 * time.Millisecond
	// No task runs in these tests: an executor started by mistake fails.
	acfg.ExecutorCommand = []string{"/bin/false"}
	acfg.Principal, acfg.Secret = "agent", "agent-secret" // ignored by an open master
	if acfg.Resources, err = api.ParseResources("cpus:2;mem:1024"); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(ctx, acfg)
	if err != nil {
		t.Fatal(err)
	}
	asrv := &http.Server{Handler: a.Handler()}
	go asrv.Serve(aln)

	done := make(chan struct{}, 2)
	go func() { m.Run(ctx); done <- struct{}{} }()
	go func() { a.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		msrv.Close()
		asrv.Close()
	})
	c := &cluster{addr: addr, agentDir: acfg.WorkDir}
	return c
}

// agentID waits for the agent to subscribe and returns its ID.
func (c *cluster) agentID(t *testing.T, client *operator.Client) string {
	t.Helper()
	var id string
	waitFor(t, func() bool {
		agents, err := client.Agents(context.Background())
		if err != nil || len(agents.Agents) != 1 {
			return false
		}
		id = agents.Agents[0].AgentInfo.ID.Value
		return true
	}, "the agent to subscribe")
	return id
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitFor polls cond until it holds, failing the test after waitTime.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// httpError asserts that err is an *operator.HTTPError with the status
// code and a message containing want.
func httpError(t *testing.T, what string, err error, code int, want string) {
	t.Helper()
	var he *operator.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("%s: error %v (%T), want an *operator.HTTPError", what, err, err)
	}
	if he.Code != code || !strings.Contains(he.Message, want) {
		t.Fatalf("%s: %d %q, want %d with %q", what, he.Code, he.Message, code, want)
	}
}

func TestModules(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	ctx := context.Background()

	sum := sha256.Sum256(emptyModule)
	want := hex.EncodeToString(sum[:])
	for i := range 2 { // storing the same bytes again is no error
		m, err := client.PushModule(ctx, emptyModule)
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if m.SHA256 != want || m.Size != int64(len(emptyModule)) || m.Created.IsZero() {
			t.Fatalf("push %d: %+v, want sha256 %s, size %d and a creation time", i, m, want, len(emptyModule))
		}
	}
	mods, err := client.Modules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].SHA256 != want {
		t.Fatalf("modules %+v, want the one pushed", mods)
	}

	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"empty", nil, "magic number"},
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), "magic number"},
		// A type section that declares more bytes than follow.
		{"truncated", append(append([]byte{}, emptyModule...), 0x01, 0x20, 0x01), "bytes declared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PushModule(ctx, tt.wasm)
			httpError(t, "push", err, http.StatusBadRequest, tt.want)
			if !strings.HasPrefix(err.Error(), "push module: 400") {
				t.Fatalf("error %q does not say what failed", err)
			}
		})
	}
	if mods, err := client.Modules(ctx); err != nil || len(mods) != 1 {
		t.Fatalf("after refused pushes: %d modules (%v), want 1", len(mods), err)
	}
}

// TestDeleteModule deletes a module through the client: it leaves the
// list, a second deletion and a malformed name are refused with the
// master's status and message, and pushing it again stores it again.
func TestDeleteModule(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	ctx := context.Background()
	m, err := client.PushModule(ctx, emptyModule)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.DeleteModule(ctx, m.SHA256); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if mods, err := client.Modules(ctx); err != nil || len(mods) != 0 {
		t.Fatalf("modules after the deletion: %+v (%v), want none", mods, err)
	}
	tests := []struct {
		name string
		sha  string
		code int
		want string
	}{
		{"deleted", m.SHA256, http.StatusNotFound, "not found"},
		{"malformed", "not-a-hash", http.StatusBadRequest, "lowercase hex sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := client.DeleteModule(ctx, tt.sha)
			httpError(t, "delete", err, tt.code, tt.want)
			if !strings.HasPrefix(err.Error(), "delete module "+tt.sha+": ") {
				t.Fatalf("error %q does not say what failed", err)
			}
		})
	}
	if _, err := client.PushModule(ctx, emptyModule); err != nil {
		t.Fatalf("push after the deletion: %v", err)
	}
	if mods, err := client.Modules(ctx); err != nil || len(mods) != 1 || mods[0].SHA256 != m.SHA256 {
		t.Fatalf("modules after pushing again: %+v (%v), want the one pushed", mods, err)
	}
}

func TestViews(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	ctx := context.Background()
	id := c.agentID(t, client)

	state, err := client.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if state.GetAgents == nil || len(state.GetAgents.Agents) != 1 || state.GetAgents.Agents[0].AgentInfo.ID.Value != id {
		t.Fatalf("GET_STATE's agents %+v, want agent %s", state.GetAgents, id)
	}
	tasks, err := client.Tasks(ctx)
	if err != nil || len(tasks.Tasks)+len(tasks.CompletedTasks) != 0 {
		t.Fatalf("tasks of a new cluster: %+v, %v", tasks, err)
	}
	fws, err := client.Frameworks(ctx)
	if err != nil || len(fws.Frameworks) != 0 {
		t.Fatalf("frameworks of a new cluster: %+v, %v", fws, err)
	}
	execs, err := client.Executors(ctx)
	if err != nil || len(execs.Executors) != 0 {
		t.Fatalf("executors of a new cluster: %+v, %v", execs, err)
	}
	resp, err := client.Call(ctx, &api.OperatorCall{Type: api.OperatorGetHealth})
	if err != nil || resp.GetHealth == nil || !resp.GetHealth.Healthy {
		t.Fatalf("GET_HEALTH: %+v, %v", resp, err)
	}
}

func TestRoles(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	ctx := context.Background()
	if err := client.SetWeights(ctx, map[string]float64{"web": 2.5}); err != nil {
		t.Fatal(err)
	}
	quota := api.QuotaConfig{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: api.Float64(1)}}}
	if err := client.SetQuota(ctx, quota, false); err != nil {
		t.Fatal(err)
	}
	roles, err := client.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var web *api.Role
	for i := range roles.Roles {
		if roles.Roles[i].Name == "web" {
			web = &roles.Roles[i]
		}
	}
	if web == nil || float64(web.Weight) != 2.5 {
		t.Fatalf("roles %+v, want web with weight 2.5", roles.Roles)
	}

	// What the master refuses comes back as its 400 and message.
	err = client.SetWeights(ctx, map[string]float64{"web": -1})
	httpError(t, "a negative weight", err, http.StatusBadRequest, "must be positive")
	err = client.SetQuota(ctx, api.QuotaConfig{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: api.Float64(-1)}}}, false)
	httpError(t, "a negative quota", err, http.StatusBadRequest, "")
	err = client.Drain(ctx, "no-such-agent", time.Second, false)
	if err == nil {
		t.Fatal("draining an unknown agent: no error")
	}
	if !strings.HasPrefix(err.Error(), string(api.OperatorDrainAgent)+": ") {
		t.Fatalf("error %q does not name the call", err)
	}
}

func TestReadFile(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	ctx := context.Background()
	id := c.agentID(t, client)

	// A file in the agent's sandboxes, as a task would leave it.
	rel := "/frameworks/F/executors/E/runs/R/stdout"
	path := filepath.Join(c.agentDir, "sandboxes", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("hello, operator\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name           string
		offset, length int64
		want           operator.FileChunk
	}{
		{"whole", 0, 1 << 10, operator.FileChunk{Offset: 0, Data: "hello, operator\n"}},
		{"window", 7, 8, operator.FileChunk{Offset: 7, Data: "operator"}},
		{"size", -1, 0, operator.FileChunk{Offset: 16}},
		{"past the end", 100, 10, operator.FileChunk{Offset: 16}}, // the files API answers the size,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.ReadFile(ctx, id, rel, tt.offset, tt.length)
			if err != nil || got != tt.want {
				t.Fatalf("ReadFile(%d, %d) = %+v, %v; want %+v", tt.offset, tt.length, got, err, tt.want)
			}
		})
	}

	bad := []struct {
		name, agent, path string
		code              int
	}{
		{"missing file", id, "/frameworks/F/executors/E/runs/R/stderr", http.StatusNotFound},
		{"outside the sandboxes", id, "/../../etc/passwd", http.StatusForbidden},
		{"unknown agent", "no-such-agent", rel, http.StatusNotFound},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ReadFile(ctx, tt.agent, tt.path, 0, 10)
			httpError(t, "read", err, tt.code, "")
			if !strings.HasPrefix(err.Error(), "read "+tt.path+": ") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	c := startCluster(t, nil)
	client := operator.New(c.addr)
	id := c.agentID(t, client)

	// The stream starts with a snapshot of the cluster; a handler's error
	// ends Watch with that error.
	errEnough := errors.New("enough")
	var first *api.OperatorEvent
	err := client.Watch(context.Background(), func(ev *api.OperatorEvent) error {
		first = ev
		return errEnough
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("Watch ended with %v, want the handler's error", err)
	}
	if first.Type != api.OperatorEventSubscribed || first.Subscribed == nil || first.Subscribed.GetState.GetAgents == nil ||
		len(first.Subscribed.GetState.GetAgents.Agents) != 1 || first.Subscribed.GetState.GetAgents.Agents[0].AgentInfo.ID.Value != id {
		t.Fatalf("first event %+v, want SUBSCRIBED with agent %s", first, id)
	}

	// Cancelling the context ends Watch with nil.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = client.Watch(ctx, func(ev *api.OperatorEvent) error {
		cancel()
		return nil
	})
	if err != nil {
		t.Fatalf("Watch after its context ended: %v, want nil", err)
	}
}

func TestNewFirst(t *testing.T) {
	c := startCluster(t, nil)
	ctx := context.Background()
	down := listen(t)
	downAddr := down.Addr().String()
	down.Close() // nothing answers there now

	client := operator.NewFirst(ctx, []string{downAddr, c.addr})
	if _, err := client.Agents(ctx); err != nil {
		t.Fatalf("a client of the master that answers: %v", err)
	}
	client = operator.NewFirst(ctx, []string{downAddr})
	_, err := client.Agents(ctx)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a client of a master that is down: %v, want connection refused", err)
	}
}

func TestCredentials(t *testing.T) {
	authn, err := auth.New([]auth.Credential{{Principal: "ops", Secret: "s3cret"}, {Principal: "agent", Secret: "agent-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, func(cfg *master.Config) { cfg.Authenticator = authn })
	ctx := context.Background()
	tests := []struct {
		name string
		opts []operator.Option
		code int // 0: allowed
	}{
		{"none", nil, http.StatusUnauthorized},
		{"wrong secret", []operator.Option{operator.WithCredential("ops", "guess")}, http.StatusUnauthorized},
		{"right secret", []operator.Option{operator.WithCredential("ops", "s3cret")}, 0},
		{"unknown token", []operator.Option{operator.WithToken("t0ken")}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := operator.New(c.addr, tt.opts...).Modules(ctx)
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			httpError(t, "list modules", err, tt.code, "")
		})
	}
}

func TestFromEnv(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		options int
		wantErr string
	}{
		{"nothing", nil, 0, ""},
		{"secret file", map[string]string{"MEZZO_PRINCIPAL": "ops", "MEZZO_SECRET_FILE": secret}, 1, ""},
		{"missing secret file", map[string]string{"MEZZO_PRINCIPAL": "ops", "MEZZO_SECRET_FILE": secret + ".nope"}, 0, "MEZZO_SECRET_FILE"},
		{"missing CA", map[string]string{"MEZZO_TLS_CA": secret + ".nope"}, 0, "MEZZO_TLS_CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := operator.FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv: %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(opts) != tt.options {
				t.Fatalf("FromEnv: %d options, %v; want %d", len(opts), err, tt.options)
			}
		})
	}
}

// The port the test master listens on is also what its MasterInfo says.
func TestMasterInfo(t *testing.T) {
	c := startCluster(t, nil)
	resp, err := operator.New(c.addr).Call(context.Background(), &api.OperatorCall{Type: api.OperatorGetMaster})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(c.addr)
	if resp.GetMaster == nil || strconv.Itoa(int(resp.GetMaster.MasterInfo.Port)) != port {
		t.Fatalf("GET_MASTER: %+v, want port %s", resp.GetMaster, port)
	}
}

// TestRedirects: calls and Watch follow a redirect to another master,
// but not from https to plain http, where the credentials would go in
// clear, and not round a loop for long.
func TestRedirects(t *testing.T) {
	tests := []struct {
		name               string
		fromTLS, toTLS     bool
		loop               bool // the master redirects to itself
		watch              bool // Watch rather than Agents
		want               error
		wantText           string // else a substring of the error
		fromSaw, targetSaw int32  // requests each server got
	}{
		{name: "http to http", targetSaw: 1, fromSaw: 1},
		{name: "https to https", fromTLS: true, toTLS: true, fromSaw: 1, targetSaw: 1},
		{name: "https to http", fromTLS: true, want: operator.ErrInsecureRedirect, fromSaw: 1},
		{name: "Watch, https to http", fromTLS: true, watch: true, want: operator.ErrInsecureRedirect, fromSaw: 1},
		{name: "a loop", loop: true, wantText: "stopped after 5 redirects", fromSaw: 5},
		{name: "Watch, a loop", loop: true, watch: true, wantText: "stopped after 5 redirects", fromSaw: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fromSaw, targetSaw atomic.Int32
			var targetAuth atomic.Value
			target := newServer(t, tt.toTLS, func(w http.ResponseWriter, r *http.Request) {
				targetSaw.Add(1)
				targetAuth.Store(r.Header.Get("Authorization"))
				w.Write([]byte(`{"type":"GET_AGENTS","get_agents":{}}`))
			})
			var from *httptest.Server
			from = newServer(t, tt.fromTLS, func(w http.ResponseWriter, r *http.Request) {
				fromSaw.Add(1)
				to := target.URL
				if tt.loop {
					to = from.URL
				}
				w.Header().Set("Location", to+r.URL.RequestURI())
				w.WriteHeader(http.StatusTemporaryRedirect)
			})
			opts := []operator.Option{operator.WithCredential("ops", "s3cret")}
			if tt.fromTLS {
				opts = append(opts, operator.WithTLS(from.Client().Transport.(*http.Transport).TLSClientConfig))
			}
			client := operator.New(from.URL, opts...)
			var err error
			if tt.watch {
				err = client.Watch(context.Background(), func(*api.OperatorEvent) error { return nil })
			} else {
				_, err = client.Agents(context.Background())
			}
			switch {
			case tt.want == nil && tt.wantText == "":
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := targetAuth.Load().(string); got == "" {
					t.Error("the credentials did not follow the redirect")
				}
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("error %v, want %v", err, tt.want)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Errorf("error %v, want one saying %q", err, tt.wantText)
			}
			if f, g := fromSaw.Load(), targetSaw.Load(); f != tt.fromSaw || g != tt.targetSaw {
				t.Fatalf("the first master got %d requests and the one it redirects to %d, want %d and %d", f, g, tt.fromSaw, tt.targetSaw)
			}
		})
	}
}

// newServer serves h over https when tls is set, else over http.
func newServer(t *testing.T, tls bool, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestWatchSilentMaster: a master that goes silent after SUBSCRIBED,
// without closing the stream, ends Watch with ErrMissedHeartbeats after
// 5 of the heartbeat intervals it named (taken as 1 s), also when it
// stops inside an event.
func TestWatchSilentMaster(t *testing.T) {
	subscribed, err := json.Marshal(api.OperatorEvent{Type: api.OperatorEventSubscribed,
		Subscribed: &api.OperatorSubscribed{GetState: &api.GetStateResponse{}, HeartbeatIntervalSeconds: ptr(api.Float64(0.05))}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after string // what the master sends after SUBSCRIBED before it falls silent
	}{
		{name: "after SUBSCRIBED"},
		{name: "inside an event", after: "20\n{\"type\":\"HEAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
				w.Write(api.AppendRecord(nil, subscribed))
				w.Write([]byte(tt.after))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})
			// The deadline only keeps a broken client from hanging the test.
			ctx, cancel := context.WithTimeout(context.Background(), 4*waitTime)
			defer cancel()
			var events []api.OperatorEventType
			err := operator.New(master.URL).Watch(ctx, func(ev *api.OperatorEvent) error {
				events = append(events, ev.Type)
				return nil
			})
			if !errors.Is(err, operator.ErrMissedHeartbeats) {
				t.Fatalf("Watch: %v, want ErrMissedHeartbeats", err)
			}
			if len(events) != 1 || events[0] != api.OperatorEventSubscribed {
				t.Fatalf("events %v, want SUBSCRIBED", events)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestWatchLargeSnapshot: Watch subscribes to a cluster whose snapshot
// in SUBSCRIBED is over api.MaxRecordSize, one record, as a master sends
// it for tens of thousands of tasks.
func TestWatchLargeSnapshot(t *testing.T) {
	const tasks = 20000
	name := strings.Repeat("n", 900)
	state := &api.GetStateResponse{GetTasks: &api.GetTasksResponse{}}
	for i := range tasks {
		state.GetTasks.Tasks = append(state.GetTasks.Tasks, api.Task{Name: name, TaskID: api.TaskID{Value: "task-" + strconv.Itoa(i)},
			FrameworkID: api.FrameworkID{Value: "fw-1"}, AgentID: api.AgentID{Value: "agent-1"}, State: api.TaskRunning})
	}
	subscribed, err := json.Marshal(api.OperatorEvent{Type: api.OperatorEventSubscribed, Subscribed: &api.OperatorSubscribed{GetState: state}})
	if err != nil {
		t.Fatal(err)
	}
	if len(subscribed) <= api.MaxRecordSize {
		t.Fatalf("SUBSCRIBED of %d bytes, want one over %d", len(subscribed), api.MaxRecordSize)
	}
	master := newServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Write(api.AppendRecord(nil, subscribed))
	})
	errEnough := errors.New("enough")
	got := -1
	err = operator.New(master.URL).Watch(context.Background(), func(ev *api.OperatorEvent) error {
		if ev.Type == api.OperatorEventSubscribed && ev.Subscribed.GetState != nil && ev.Subscribed.GetState.GetTasks != nil {
			got = len(ev.Subscribed.GetState.GetTasks.Tasks)
		}
		return errEnough
	})
	if !errors.Is(err, errEnough) || got != tasks {
		t.Fatalf("Watch: %v, with %d tasks in SUBSCRIBED; want the handler's error after %d tasks", err, got, tasks)
	}
}

// TestCredentialsNotToPlainHTTPWithTLS: a client set for TLS and given a
// master as http:// by mistake sends nothing there, rather than its
// credentials unencrypted.
func TestCredentialsNotToPlainHTTPWithTLS(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := operator.New(srv.URL, operator.WithTLS(&tls.Config{}), operator.WithCredential("ops", "s3cret"))
	if _, err := c.Modules(context.Background()); !errors.Is(err, auth.ErrPlainHTTP) {
		t.Errorf("Modules: %v, want ErrPlainHTTP", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the plain http master got %d requests", n)
	}
}
